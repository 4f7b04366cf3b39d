"""Reads of the appointment book for the calendar pages, work lists and the API."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.core.paginator import Page
from django.db.models import F, QuerySet
from django.utils import timezone

from trellis.accounts.access import Actor, require
from trellis.accounts.models import Membership
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.selectors import audited_page
from trellis.audit.services import record_for
from trellis.patients import access, contact
from trellis.patients.models import Patient
from trellis.scheduling import availability, kinds, reminders
from trellis.scheduling.kinds import AppointmentStatus
from trellis.scheduling.models import (
    Appointment,
    AppointmentLink,
    CalendarFeed,
    LinkAnswer,
    Resource,
)


def day_appointments(actor: Actor, day: date, *, include_closed: bool = True) -> list[Appointment]:
    """The clinic's appointments on ``day`` (clinic-local), in start order, with patient,
    resource and staff joined: one query (and the audit event of the read).
    ``include_closed=False`` leaves out cancelled and no-show appointments."""
    require(actor, Perm.APPOINTMENT_READ)
    rows = Appointment.objects.filter(clinic=actor.clinic, day=day).select_related(
        "patient", "resource", "staff"
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


def week_appointments(
    actor: Actor, first_day: date, *, resource: Resource | None = None
) -> list[Appointment]:
    """The clinic's active appointments on the seven days from ``first_day`` (clinic-local), in
    start order, optionally on one ``resource``: one query (and the audit event of the read)."""
    require(actor, Perm.APPOINTMENT_READ)
    last_day = first_day + timedelta(days=6)
    rows = (
        Appointment.objects.active()
        .filter(clinic=actor.clinic, day__range=(first_day, last_day))
        .select_related("patient", "resource", "staff")
    )
    if resource is not None:
        rows = rows.filter(resource=resource)
    rows = list(rows.order_by("start", "resource__ordering"))
    record_for(
        actor,
        Action.QUERY,
        object_type="scheduling.appointment",
        detail={"week": first_day.isoformat(), "count": len(rows)},
    )
    return rows


# The patient page's card shows this many of the next appointments.
CARD_LIMIT = 5


def patient_card(actor: Actor, patient: Patient) -> dict:
    """The patient's next appointments for their page, in one query; for staff who may change
    appointments, one more for the patient's calendar link (``calendar_link``).

    Registered as a patient-page card (``patients.panels``), which has checked the clinic and
    ``appointment.read`` and audited the patient."""
    appointments = upcoming_for_patient(actor, patient, limit=CARD_LIMIT)
    for appointment in appointments:
        appointment.local_start = wall_clock(actor.clinic, appointment.start)
    card = {
        "patient": patient,
        "appointments": appointments,
        "can_book": actor.can(Perm.APPOINTMENT_CHANGE) or actor.can(Perm.APPOINTMENT_THERAPY),
    }
    if actor.can(Perm.APPOINTMENT_CHANGE):
        card.update(calendar_link(actor, patient))
    return card


def calendar_link(actor: Actor, patient: Patient) -> dict:
    """The patient's calendar address for their card, one query: ``feed`` (the one in use, or
    None), ``can_feed``, and ``feed_reach``, how sending it would reach them ("" for no way)."""
    return {
        "can_feed": True,
        "feed": CalendarFeed.objects.filter(
            clinic=actor.clinic, patient=patient, revoked_at__isnull=True
        )
        .select_related("created_by")
        .first(),
        "feed_reach": contact.in_words(reminders.channels(patient, actor.clinic)).lower(),
    }


def session_bookings(sessions) -> dict:
    """When and where each of ``sessions`` is booked, by session id: ``start`` (clinic-local),
    ``resource`` (its name, or "") and ``status``. The course page reads it through
    ``treatments.hooks.session_bookings``, which this app feeds."""
    ids = [s.pk for s in sessions]
    if not ids:
        return {}
    rows = (
        Appointment.objects.active()
        .filter(session_id__in=ids)
        .select_related("resource", "clinic")
        .order_by("start")
    )
    return {
        a.session_id: {
            "start": wall_clock(a.clinic, a.start),
            "resource": a.resource.name if a.resource_id else "",
            "status": a.get_status_display(),
        }
        for a in rows
    }


def bookable_staff(clinic) -> list:
    """The clinic's active members of staff, by name, for an appointment's staff field."""
    members = (
        Membership.objects.filter(clinic=clinic, is_active=True, user__is_active=True)
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "user__username")
    )
    seen, users = set(), []
    for member in members:
        if member.user_id not in seen:
            seen.add(member.user_id)
            users.append(member.user)
    return users


def wall_clock(clinic, moment: datetime) -> datetime:
    """``moment`` as the clinic's wall clock reads it, without an offset, so that a template's
    ``date`` and ``time`` filters show it as it is, whatever timezone is active."""
    return availability.local(clinic, moment).replace(tzinfo=None)


def _cancel_request_rows(actor: Actor, now: datetime | None) -> QuerySet[AppointmentLink]:
    require(actor, Perm.APPOINTMENT_READ)
    return (
        AppointmentLink.objects.filter(
            clinic=actor.clinic,
            answer=LinkAnswer.CANCEL_REQUESTED,
            appointment__status__in=(
                kinds.AppointmentStatus.BOOKED,
                kinds.AppointmentStatus.CONFIRMED,
            ),
            appointment__start__gte=now or timezone.now(),
        )
        .select_related("appointment__patient__clinic", "appointment__resource")
        .order_by("appointment__start", "id")
    )


def cancel_requests(actor: Actor, *, now: datetime | None = None) -> list[AppointmentLink]:
    """Upcoming appointments whose patient asked by link to cancel or reschedule, soonest
    first: front desk calls them, then moves or cancels the appointment."""
    return list(_cancel_request_rows(actor, now))


def cancel_requests_page(actor: Actor, page=1, *, now: datetime | None = None) -> Page:
    """``cancel_requests`` a page at a time, audited as one query: front desk's work list."""
    return audited_page(
        actor,
        _cancel_request_rows(actor, now),
        object_type="scheduling.appointmentlink",
        name="cancel_requests",
        page=page,
    )


def feed_appointments(feed: CalendarFeed, *, now: datetime | None = None) -> list[Appointment]:
    """A calendar feed's appointments: its patient's at its clinic that have not ended, the
    cancelled ones too (as cancelled, so a subscribed calendar drops them)."""
    return list(
        Appointment.objects.filter(
            clinic_id=feed.clinic_id,
            patient_id=feed.patient_id,
            end__gte=now or timezone.now(),
        )
        .exclude(status=kinds.AppointmentStatus.NO_SHOW)
        .order_by("start")[:500]
    )


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
