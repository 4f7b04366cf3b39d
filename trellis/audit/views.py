from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils import timezone

from trellis.accounts.access import require
from trellis.accounts.permissions import Perm
from trellis.audit import naming, selectors
from trellis.audit.forms import AuditFilterForm
from trellis.audit.models import AuditEvent
from trellis.lib import csvfile


@login_required
def report(request: HttpRequest) -> HttpResponse:
    actor = require(request.actor, Perm.AUDIT_READ)
    form = AuditFilterForm(actor.clinic, request.GET)
    events = selectors.report_events(actor, _filters(form))
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    # Records and staff in words: one query per record type on the page, never one per row.
    names = naming.record_names(page.object_list, actor.clinic.tzinfo)
    rows = [
        AuditRow(event, names.get((event.object_type, event.object_id), ""), staff_name(event))
        for event in page.object_list
    ]
    # Filters that cannot be read are a bad request: the page says which field and why.
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(
        request,
        "audit/report.html",
        {"form": form, "page": page, "rows": rows, "query": request.GET.urlencode()},
        status=status,
    )


@dataclass
class AuditRow:
    event: AuditEvent
    record: str  # the record in words, "" when the event names none
    staff: str


def staff_name(event: AuditEvent) -> str:
    """The member of staff by name ("Priya Raman"); the username the event kept otherwise."""
    if event.user is not None and event.user.get_full_name():
        return event.user.get_full_name()
    return event.username


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    actor = require(request.actor, Perm.AUDIT_READ)
    form = AuditFilterForm(actor.clinic, request.GET)
    if not form.is_valid():
        problems = "; ".join(
            f"{form.fields[name].label if name in form.fields else 'Filters'}: {' '.join(errors)}"
            for name, errors in form.errors.items()
        )
        return HttpResponseBadRequest(problems, content_type="text/plain; charset=utf-8")
    events = selectors.export_events(actor, _filters(form))
    tz = actor.clinic.tzinfo
    writer = csvfile.writer(_Echo())

    def rows():
        yield writer.writerow(
            [
                "seq",
                "time",
                "user",
                "action",
                "patient_mrn",
                "patient",
                "object_type",
                "object_id",
                "source_address",
                "hash",
            ]
        )
        for event in events.iterator(chunk_size=2000):
            patient = event.patient
            yield writer.writerow(
                [
                    event.seq,
                    timezone.localtime(event.occurred_at, tz).isoformat(timespec="seconds"),
                    event.username,
                    event.action,
                    patient.mrn if patient else "",
                    patient.full_name if patient else "",
                    event.object_type,
                    event.object_id,
                    event.source_address,
                    event.hash,
                ]
            )

    stamp = timezone.localtime(timezone.now(), tz).strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="audit-{actor.clinic.slug}-{stamp}.csv"'
    )
    return response


def _filters(form: AuditFilterForm) -> dict | None:
    """The filters as data; None when they cannot be read (the page then lists nothing)."""
    if not form.is_valid():
        return None
    return form.cleaned_data
