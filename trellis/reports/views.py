from itertools import groupby

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from trellis.accounts.access import Actor
from trellis.accounts.models import Membership
from trellis.accounts.permissions import Perm
from trellis.lib import csvfile, replica
from trellis.reports import outcomes, selectors
from trellis.reports.forms import OutcomeFilterForm
from trellis.reports.outcomes import BY_CLINIC, BY_QUARTER, OVERALL, OutcomeRow

# Fewer assessed courses than this and a rate is marked as resting on few courses.
FEW = 10


def _report_memberships(request: HttpRequest) -> list[Membership]:
    """The user's memberships whose role may read reports; 403 when there are none."""
    if request.actor is None:
        raise PermissionDenied("You have no role at a clinic.")
    allowed = [m for m in request.memberships if m.can(Perm.REPORT_READ)]
    if not allowed:
        raise PermissionDenied(
            f"Your role ({request.actor.membership.get_role_display()}) may not read "
            "outcome reports."
        )
    return allowed


def _report(
    request: HttpRequest, form: OutcomeFilterForm, levels: tuple[int, ...], *, export: bool = False
) -> dict[int, list[OutcomeRow]]:
    """The figures for the clinics chosen on the form, audited by the selector that reads them;
    read from the replica when there is one (``trellis.lib.replica``)."""
    data = form.cleaned_data
    with replica.from_replica():
        return selectors.outcome_report(
            [Actor(request.user, m, request.actor.source_address) for m in form.chosen()],
            date_from=data["date_from"],
            date_to=data["date_to"],
            modality=data["modality"] or None,
            levels=levels,
            filters=form.as_detail(),
            export=export,
        )


@login_required
def outcomes_page(request: HttpRequest) -> HttpResponse:
    memberships = _report_memberships(request)
    form = OutcomeFilterForm(memberships, request.GET)
    context = {
        "form": form,
        "query": request.GET.urlencode(),
        "few": FEW,
        "outcome_window": outcomes.OUTCOME_WINDOW_TEXT,
        "outcome_window_days": outcomes.OUTCOME_WINDOW_DAYS,
    }
    if not form.is_valid():
        return render(request, "reports/outcomes.html", context, status=400)
    report = _report(request, form, (BY_CLINIC, BY_QUARTER, OVERALL))
    chosen = form.chosen()
    by_clinic = []  # (treatment, its rows), for one table body per treatment
    for _, group in groupby(report[BY_CLINIC], key=lambda row: row.modality):
        rows = list(group)
        by_clinic.append((rows[0].modality_label, rows))
    context.update(
        {
            "scope": chosen[0].clinic.name if len(chosen) == 1 else f"{len(chosen)} clinics",
            "overall": report[OVERALL],
            "by_clinic": by_clinic,
            "chart": _chart(report[BY_QUARTER]),
            "several_clinics": len(chosen) > 1,
        }
    )
    return render(request, "reports/outcomes.html", context)


def _chart(rows: list[OutcomeRow]) -> dict:
    """The pooled rows by quarter as series for outcomes.js (one per modality)."""
    quarters = sorted({row.quarter for row in rows})
    series = []
    for modality, group in groupby(rows, key=lambda row: row.modality):
        by_quarter = {row.quarter: row for row in group}

        def values(name: str, by_quarter=by_quarter) -> list:
            return [getattr(by_quarter[q], name) if q in by_quarter else None for q in quarters]

        series.append(
            {
                "modality": modality,
                "label": outcomes.MODALITY_LABELS.get(modality, modality),
                "started": values("courses_started"),
                "assessed": values("assessed"),
                "responders": values("responders"),
                "remitters": values("remitters"),
                "response": values("response_rate"),
                "remission": values("remission_rate"),
            }
        )
    return {"quarters": quarters, "series": series}


CSV_COLUMNS = [
    "modality",
    "treatment",
    "clinic_id",
    "clinic",
    "quarter",
    "courses_started",
    "courses_completed",
    "assessed",
    "responders",
    "remitters",
    "response_rate",
    "remission_rate",
    "median_weeks_to_response",
    "durable_3m_assessed",
    "durable_3m",
    "durable_3m_rate",
    "durable_6m_assessed",
    "durable_6m",
    "durable_6m_rate",
]


def _number(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


@login_required
def outcomes_csv(request: HttpRequest) -> HttpResponse:
    """The page's figures per clinic and quarter, then pooled over the clinics (rows with
    an empty clinic_id) when there are several."""
    memberships = _report_memberships(request)
    form = OutcomeFilterForm(memberships, request.GET)
    if not form.is_valid():
        errors = "; ".join(f"{name}: {' '.join(e)}" for name, e in form.errors.items())
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    several = len(form.chosen()) > 1
    report = _report(
        request, form, (BY_CLINIC, BY_QUARTER) if several else (BY_CLINIC,), export=True
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime(timezone.now(), request.actor.clinic.tzinfo).strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="outcomes-{stamp}.csv"'
    writer = csvfile.writer(response)
    writer.writerow(CSV_COLUMNS)
    for row in [*report[BY_CLINIC], *report.get(BY_QUARTER, [])]:
        writer.writerow(_csv_row(row))
    return response


def _csv_row(row: OutcomeRow) -> list[str]:
    values = {name: getattr(row, name) for name in outcomes.FIELDS}
    values.update(
        treatment=row.modality_label,
        clinic=row.clinic_name,
        clinic_id=row.clinic_id,
        durable_3m_rate=row.durable_3m_rate,
        durable_6m_rate=row.durable_6m_rate,
    )
    return [_number(values[name]) for name in CSV_COLUMNS]
