"""Reads of the appointment book for the calendar pages, work lists and the API."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.core.paginator import Page
from django.db.models import F, QuerySet
from django.utils import timezone

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.selectors import audited_page
from trellis.audit.services import record_for
from trellis.patients import access
from trellis.patients.models import Patient
from trellis.scheduling import availability, kinds
from trellis.scheduling.kinds import AppointmentStatus
from trellis.scheduling.models import Appointment, Resource


def day_appointments(actor: Actor, day: date, *, include_closed: bool = True) -> list[Appointment]:
    """The clinic's appointments on ``day`` (clinic-local), in start order, with patient,
    resource, staff and session joined: one query (and the audit event of the read).
    ``include_closed=False`` leaves out cancelled and no-show appointments."""
    require(actor, Perm.APPOINTMENT_READ)
    rows = Appointment.objects.filter(clinic=actor.clinic, day=day).select_related(
        "patient", "resource", "staff", "session"
    )
    if not include_closed:
        rows = rows.active()
    rows = list(rows.order_by("start", "resource__ordering", "resource__name"))
    record_for(
        actor,
        Action.QUERY,
        object_type="scheduling.appointment",
        detail={"day": day.isoformat(), "count": len(rows)},
    )
    return rows


def upcoming_for_patient(
    actor: Actor, patient: Patient, *, now: datetime | None = None, limit: int = 20
) -> list[Appointment]:
    """The patient's active appointments that have not ended, soonest first. The caller loaded
    (and audited) the patient through ``patients.access``."""
    require(actor, Perm.APPOINTMENT_READ)
    return list(
        Appointment.objects.active()
        .filter(clinic=actor.clinic, patient=patient, end__gt=now or timezone.now())
        .select_related("resource", "staff")
        .order_by("start")[:limit]
    )


def resources(clinic, *, kind: str | None = None, active_only: bool = True) -> list[Resource]:
    """The clinic's resources in the day view's column order."""
    rows = Resource.objects.filter(clinic=clinic)
    if kind is not None:
        rows = rows.filter(kind=kind)
    if active_only:
        rows = rows.filter(is_active=True)
    return list(rows.order_by("ordering", "name"))


def free_slots(resource: Resource, day: date, minutes: int) -> list[datetime]:
    """Start times (aware, every ``availability.STEP_MINUTES``) on ``day`` at which ``minutes``
    fit on ``resource``: open, not blocked, not booked."""
    kinds.check_minutes(minutes)
    return availability.free_starts(resource, day, minutes)


# --- Work lists of the role home pages (desk.sections) ------------------------------------------
# Each: the actor's clinic only, one page read in two queries with patient, resource, staff and
# session joined, audited as one query event (``audit.selectors.audited_page``).

_IN_DAY_ORDER = ("start", "resource__ordering", "resource__name", "id")
_BY_RESOURCE = (
    F("resource__ordering").asc(nulls_last=True),
    "resource__name",
    "start",
    "id",
)


def _book(actor: Actor) -> QuerySet:
    require(actor, Perm.APPOINTMENT_READ)
    return Appointment.objects.filter(clinic=actor.clinic).select_related(
        "patient", "resource", "staff", "session"
    )


def _list(actor: Actor, rows: QuerySet, name: str, page) -> Page:
    return audited_page(actor, rows, object_type="scheduling.appointment", name=name, page=page)


def arrivals(actor: Actor, page=1) -> Page:
    """Today's appointments at the clinic (its local day) in start order, whatever became of
    them but cancelled: who arrives, when, for what and where, and whether they are in."""
    rows = (
        _book(actor)
        .filter(day=actor.clinic.today())
        .exclude(status=AppointmentStatus.CANCELLED)
        .order_by(*_IN_DAY_ORDER)
    )
    return _list(actor, rows, "arrivals", page)


def unconfirmed_tomorrow(actor: Actor, page=1) -> Page:
    """Tomorrow's appointments still only booked: the patients to call and confirm."""
    rows = (
        _book(actor)
        .select_related("patient__clinic")  # the phone is written the clinic's way
        .filter(day=actor.clinic.today() + timedelta(days=1), status=AppointmentStatus.BOOKED)
        .order_by(*_IN_DAY_ORDER)
    )
    return _list(actor, rows, "unconfirmed-tomorrow", page)


def today_by_resource(actor: Actor, page=1, *, of_kinds: Iterable[str], name: str) -> Page:
    """Today's active appointments of ``of_kinds``, resource by resource (the day view's column
    order), each in start order: a nurse's chairs, a TMS technician's devices."""
    rows = (
        _book(actor)
        .active()
        .filter(day=actor.clinic.today(), kind__in=sorted(of_kinds))
        .order_by(*_BY_RESOURCE)
    )
    return _list(actor, rows, name, page)


def my_therapy_today(actor: Actor, page=1) -> Page:
    """Today's active therapy, group and coaching appointments the actor is booked to see."""
    rows = (
        _book(actor)
        .active()
        .filter(day=actor.clinic.today(), kind__in=sorted(kinds.THERAPY_KINDS), staff=actor.user)
        .order_by(*_IN_DAY_ORDER)
    )
    return _list(actor, rows, "my-therapy-today", page)


def no_shows_this_week(actor: Actor, page=1) -> Page:
    """No-shows from Monday of the clinic's week to today, the latest first."""
    today = actor.clinic.today()
    rows = (
        _book(actor)
        .filter(
            status=AppointmentStatus.NO_SHOW,
            day__gte=today - timedelta(days=today.weekday()),
            day__lte=today,
        )
        .order_by("-start", "id")
    )
    return _list(actor, rows, "no-shows-week", page)


def appointment(actor: Actor | None, pk) -> Appointment:
    """One appointment of the actor's clinic (another clinic's, or none: 404), with what its
    work-list row shows; the read is audited."""
    return access.load(
        actor,
        Appointment.objects.select_related("clinic", "patient", "resource", "staff", "session"),
        pk,
        Perm.APPOINTMENT_READ,
    )
