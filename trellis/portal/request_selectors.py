"""Reads of portal requests: the patient's appointments page (their own rows alone, as every
portal read), and the front desk's list of what patients asked (their clinic's alone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import Page
from django.db.models import Count, QuerySet
from django.utils import timezone

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.selectors import audited_page
from trellis.patients import access
from trellis.portal.models import PortalAccount, PortalRequest, RequestStatus
from trellis.portal.requests import can_ask_about
from trellis.scheduling import patient_words
from trellis.scheduling.models import Appointment

UPCOMING_LIMIT = 20
PAST_LIMIT = 5
REQUESTS_LIMIT = 20

# --- The patient's own ---------------------------------------------------------------------


@dataclass(frozen=True)
class AppointmentLine:
    appointment: Appointment
    words: str  # its kind as a patient says it: "follow-up visit"
    waiting: PortalRequest | None  # the patient's open request about it, if any
    askable: bool = False  # whether the patient may ask to cancel or move it here


@dataclass(frozen=True)
class AppointmentsPage:
    upcoming: list[AppointmentLine]
    past: list[AppointmentLine]
    requests: list[PortalRequest]


def appointments_page(account: PortalAccount, *, now: datetime | None = None) -> AppointmentsPage:
    """The patient's appointments that have not ended (soonest first), the last few that have
    (latest first, whatever became of them), and their requests (newest first)."""
    now = now or timezone.now()
    own = Appointment.objects.filter(clinic=account.clinic, patient=account.patient)
    upcoming = list(
        own.active()
        .filter(end__gt=now)
        .select_related("resource")
        .order_by("start")[:UPCOMING_LIMIT]
    )
    past = list(own.filter(end__lte=now).select_related("resource").order_by("-start")[:PAST_LIMIT])
    requests = list(
        PortalRequest.objects.filter(clinic=account.clinic, patient=account.patient)
        .select_related("appointment")
        .order_by("-created_at")[:REQUESTS_LIMIT]
    )
    waiting = {row.appointment_id: row for row in requests if row.is_open and row.appointment_id}
    # An open request about an upcoming appointment may be older than the newest few.
    missing = [a.pk for a in upcoming if a.pk not in waiting]
    if missing and len(requests) == REQUESTS_LIMIT:
        for row in PortalRequest.objects.filter(
            appointment_id__in=missing, status=RequestStatus.OPEN
        ):
            waiting[row.appointment_id] = row
    today = account.clinic.today()
    return AppointmentsPage(
        [
            AppointmentLine(
                a, patient_words.plain(a.kind), waiting.get(a.pk), can_ask_about(a, today)
            )
            for a in upcoming
        ],
        [AppointmentLine(a, patient_words.plain(a.kind), None) for a in past],
        requests,
    )


def own_upcoming_appointment(
    account: PortalAccount, appointment_id, *, now: datetime | None = None
) -> Appointment | None:
    """One of the patient's own active appointments that has not ended, or None (someone
    else's, over, cancelled, or no such id)."""
    return (
        Appointment.objects.active()
        .filter(
            pk=appointment_id,
            clinic=account.clinic,
            patient=account.patient,
            end__gt=now or timezone.now(),
        )
        .select_related("resource")
        .first()
    )


# --- The front desk's ----------------------------------------------------------------------


def _rows(actor: Actor, status: str) -> QuerySet[PortalRequest]:
    require(actor, Perm.APPOINTMENT_READ)
    rows = PortalRequest.objects.filter(clinic=actor.clinic, status=status).select_related(
        "patient__clinic", "appointment__resource", "handled_by"
    )
    # Open requests oldest first (the longest waiting); answered ones the latest answer first.
    if status == RequestStatus.OPEN:
        return rows.order_by("created_at", "id")
    return rows.order_by("-handled_at", "id")


def open_requests_page(actor: Actor, page=1) -> Page:
    """The clinic's open portal requests, oldest first, a page at a time, audited as one
    query: the front desk's work list (``desk.sections``)."""
    return audited_page(
        actor,
        _rows(actor, RequestStatus.OPEN),
        object_type="portal.portalrequest",
        name="portal-requests",
        page=page,
    )


def request_list(actor: Actor, status: str, page=1) -> tuple[Page, dict[str, int]]:
    """The clinic's portal requests in ``status`` (open when it is no status), a page at a
    time and audited, and how many there are in each status."""
    if status not in RequestStatus.values:
        status = RequestStatus.OPEN
    found = audited_page(
        actor,
        _rows(actor, status),
        object_type="portal.portalrequest",
        name=f"portal-requests-{status}",
        page=page,
    )
    counts = dict.fromkeys(RequestStatus.values, 0)
    by_status = (
        PortalRequest.objects.filter(clinic=actor.clinic)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts.update({row["status"]: row["n"] for row in by_status})
    return found, counts


def portal_request(actor: Actor | None, pk) -> PortalRequest:
    """One portal request of the actor's clinic, to answer (another clinic's, or none: 404;
    a role that may not change appointments: 403); the read is audited."""
    return access.load(
        actor,
        PortalRequest.objects.select_related("clinic", "patient", "appointment__resource"),
        pk,
        Perm.APPOINTMENT_CHANGE,
    )
