"""The audit report's events: filtered to the actor's clinic, and the report's own reading of
them audited here as one event (a QUERY for the page, an EXPORT for the file), never in a view."""

from datetime import datetime, time, timedelta

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action, AuditEvent
from trellis.audit.services import record_for


def report_events(actor: Actor, filters: dict | None) -> QuerySet[AuditEvent]:
    """The clinic's events matching ``filters`` (None: unreadable filters, no events), newest
    first, for the report page (audited as a query). The page shows the trail as it stood when
    asked: its own QUERY event is not among them."""
    require(actor, Perm.AUDIT_READ)
    asked = record_for(
        actor, Action.QUERY, object_type="audit.auditevent", detail={"filters": _detail(filters)}
    )
    return _filtered(actor, filters).filter(seq__lt=asked.seq)


def export_events(actor: Actor, filters: dict) -> QuerySet[AuditEvent]:
    """The same events for the CSV file (audited as an export)."""
    require(actor, Perm.AUDIT_READ)
    record_for(
        actor,
        Action.EXPORT,
        object_type="audit.auditevent",
        detail={"filters": _detail(filters), "format": "csv"},
    )
    return _filtered(actor, filters)


def _detail(filters: dict | None) -> dict:
    return {key: str(value) for key, value in (filters or {}).items() if value}


def _filtered(actor: Actor, data: dict | None) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(clinic=actor.clinic).select_related("patient", "user")
    if data is None:
        return events.none()
    tz = actor.clinic.tzinfo
    if data.get("patient"):
        events = events.filter(patient=data["patient"])
    if data.get("user"):
        events = events.filter(user=data["user"])
    if data.get("action"):
        events = events.filter(action=data["action"])
    if data.get("date_from"):
        events = events.filter(occurred_at__gte=datetime.combine(data["date_from"], time.min, tz))
    if data.get("date_to"):
        end = datetime.combine(data["date_to"] + timedelta(days=1), time.min, tz)
        events = events.filter(occurred_at__lt=end)
    return events.order_by("-seq")


# A work list shows this many rows a page (the home page's sections).
PAGE_SIZE = 10


def audited_page(
    actor: Actor, rows: QuerySet, *, object_type: str, name: str, page=1, per_page: int = PAGE_SIZE
) -> Page:
    """One page of a clinic's work list, read in two queries (its count and its rows) and
    audited as one query event naming the list, the page and how many rows it showed. The
    owning app's selector builds ``rows`` (clinic-scoped, ordered) and checks the permission."""
    found = Paginator(rows, per_page).get_page(page)
    found.object_list = list(found.object_list)
    record_for(
        actor,
        Action.QUERY,
        object_type=object_type,
        detail={
            "list": name,
            "page": found.number,
            "results": len(found.object_list),
            "total": found.paginator.count,
        },
    )
    return found
