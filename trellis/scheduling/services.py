"""Named operations on the appointment book: booking, moving, and each change of status.

Each runs in one transaction and writes its audit event there (``_changed``); that is also
where a later change queues the patient's reminder or cancellation message, so the message
commits with the booking or not at all.

Conflicts are checked here first, for a message that names the other booking, and refused by
the database as well (models.py, migration 0002), so two clients booking at once cannot both
win: the loser's ``IntegrityError`` becomes the same domain error.

- ``SlotTaken`` (409, code ``resource_taken``): the resource is booked at that time.
- ``PatientBusy`` (409, ``patient_busy``): the patient has another appointment then.
- ``KetamineDayTaken`` (409, ``ketamine_day``): a ketamine-family dose is booked for the
  patient that clinic day and no prescriber's ``override_reason`` was given.
- ``ResourceUnavailable`` (409, ``resource_out``): the resource is blocked (closure,
  maintenance) or inactive then.
- ``InputError`` (422) naming the field: a start in the past or outside opening hours, a
  resource unsuited to the kind, minutes out of bounds, a session of another patient.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from trellis.accounts.access import Actor, require
from trellis.accounts.models import Membership
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.lib.errors import Conflict, InputError
from trellis.patients.models import Patient
from trellis.scheduling import availability, kinds, reminders
from trellis.scheduling.kinds import AppointmentKind, AppointmentStatus
from trellis.scheduling.models import Appointment, Resource
from trellis.treatments import sessions as treatment_sessions
from trellis.treatments.models import Course, Session, SessionStatus

OVERRIDE_REASON_MAX = 2000
STATUS_REASON_MAX = 500


class SlotTaken(Conflict):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="resource_taken")


class PatientBusy(Conflict):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="patient_busy")


class KetamineDayTaken(Conflict):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="ketamine_day")


class ResourceUnavailable(Conflict):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="resource_out")


class CourseBookingFailed(Conflict):
    """One of a course's sessions could not be booked; nothing of the course was."""

    def __init__(self, session: Session, cause: Conflict) -> None:
        super().__init__(f"Session {session.number}: {cause.message}", code=cause.code)
        self.session = session
        self.cause = cause


# --- Checks --------------------------------------------------------------------------------------


def _words(appointment: Appointment, clinic) -> str:
    start = availability.local(clinic, appointment.start)
    end = availability.local(clinic, appointment.end)
    return f"{appointment.get_kind_display()} on {start:%a %b %-d}, {start:%H:%M}–{end:%H:%M}"


def change_permission(kind: str) -> Perm:
    """The permission to book, move or change the status of an appointment of ``kind``."""
    return Perm.APPOINTMENT_THERAPY if kind in kinds.THERAPY_KINDS else Perm.APPOINTMENT_CHANGE


def _require_for_kind(actor: Actor, kind: str) -> None:
    require(actor, change_permission(kind))


def _aware(clinic, start: datetime) -> datetime:
    """A start without an offset is read as the clinic's local time."""
    if not isinstance(start, datetime):
        raise InputError("start", "must be a date and time")
    if timezone.is_naive(start):
        start = timezone.make_aware(start, clinic.tzinfo)
    return start


def _check_start(clinic, start: datetime, now: datetime) -> None:
    if availability.clinic_day(clinic, start) < availability.clinic_day(clinic, now):
        raise InputError("start", "must be today or later at the clinic")


def _check_resource(resource: Resource | None, kind: str, start, end, clinic) -> None:
    if resource is None:
        return
    if resource.clinic_id != clinic.pk:
        raise InputError("resource", "is not one of this clinic's resources")
    kinds.check_resource_kind(kind, resource.kind)
    # The resource's row is locked for the rest of the transaction, as adding a block or taking
    # the resource out of use locks it (resource_services): a booking and a block made at the
    # same moment are checked one after the other, never both against the state before.
    in_use = (
        Resource.objects.select_for_update()
        .filter(pk=resource.pk)
        .values_list("is_active", flat=True)
    )
    if not in_use.get():
        raise ResourceUnavailable(f"{resource.name} is not in use.")
    block = availability.blocking(resource, start, end)
    if block is not None:
        raise ResourceUnavailable(
            f"{resource.name} is out ({block.get_kind_display().lower()}) from "
            f"{availability.local(clinic, block.start):%a %b %-d %H:%M} to "
            f"{availability.local(clinic, block.end):%a %b %-d %H:%M}."
        )
    if not availability.is_open(resource, start, end):
        local = availability.local(clinic, start)
        raise InputError(
            "start",
            f"{resource.name} is not open for all of {local:%a %b %-d %H:%M}–"
            f"{availability.local(clinic, end):%H:%M}",
        )


def _check_free(
    clinic,
    *,
    patient: Patient,
    kind: str,
    start: datetime,
    end: datetime,
    day: date,
    resource: Resource | None,
    override_reason: str,
    exclude: Appointment | None = None,
) -> None:
    """The Python side of the database's rules, with the other booking named."""
    others = Appointment.objects.active().select_related("resource")
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    if resource is not None:
        taken = others.filter(resource=resource).overlapping(start, end).first()
        if taken is not None:
            raise SlotTaken(f"resource: {resource.name} is booked then ({_words(taken, clinic)}).")
    busy = others.filter(patient=patient).overlapping(start, end).first()
    if busy is not None:
        raise PatientBusy(f"patient: already has an appointment then ({_words(busy, clinic)}).")
    if kind in kinds.KETAMINE_FAMILY and not override_reason:
        dose = others.filter(patient=patient, day=day, kind__in=kinds.KETAMINE_FAMILY).first()
        if dose is not None:
            raise KetamineDayTaken(
                f"kind: a ketamine-family dose is already booked that day "
                f"({_words(dose, clinic)}); a prescriber may allow a second one with a reason."
            )


def _other_dose(patient, day: date, exclude: Appointment | None) -> bool:
    doses = Appointment.objects.active().filter(
        patient=patient, day=day, kind__in=kinds.KETAMINE_FAMILY
    )
    if exclude is not None:
        doses = doses.exclude(pk=exclude.pk)
    return doses.exists()


def _save(appointment: Appointment, clinic, **kwargs) -> None:
    """Write the row; a rule the database refuses (a booking that won a race) becomes the
    domain error, with the winner named when it can be read."""
    try:
        with transaction.atomic():
            appointment.save(**kwargs)
    except IntegrityError as error:
        text = str(error)
        if "appointment_resource_free" in text:
            _check_free_after_race(appointment, clinic)
            raise SlotTaken(f"resource: {appointment.resource} is booked then.") from error
        if "appointment_patient_free" in text:
            _check_free_after_race(appointment, clinic)
            raise PatientBusy("patient: already has an appointment then.") from error
        if "one_ketamine_dose_per_day" in text or "patient_id, scheduling_appointment.day" in text:
            raise KetamineDayTaken(
                "kind: a ketamine-family dose is already booked that day; a prescriber may "
                "allow a second one with a reason."
            ) from error
        if "one_active_appointment_per_session" in text or "session_id" in text:
            raise Conflict(
                "session: already has an appointment; move that one instead.",
                code="session_booked",
            ) from error
        raise


def _check_free_after_race(appointment: Appointment, clinic) -> None:
    """Name the booking that won, now that it has committed (raises when found)."""
    _check_free(
        clinic,
        patient=appointment.patient,
        kind=appointment.kind,
        start=appointment.start,
        end=appointment.end,
        day=appointment.day,
        resource=appointment.resource,
        override_reason=appointment.override_reason,
        exclude=appointment if appointment._state.adding is False else None,
    )


def _changed(
    actor: Actor, appointment: Appointment, action: Action, detail: dict, *, tell: bool = True
) -> None:
    """What every change of an appointment does in its transaction: the audit event. Reminders,
    confirmations and cancellation messages are queued here too, so they commit with it;
    ``tell=False`` when the caller sends the patient a message of its own for the change."""
    record_for(actor, action, patient=appointment.patient, obj=appointment, detail=detail)
    if tell:
        reminders.appointment_changed(appointment, action, detail)


def _staff_at(clinic, staff) -> None:
    if staff is None:
        return
    if not Membership.objects.filter(user=staff, clinic=clinic, is_active=True).exists():
        raise InputError("staff", "is not a member of staff at this clinic")


def _session_for(clinic, patient: Patient, kind: str, session: Session | None) -> str:
    """Check the session fits the booking; returns its protocol's schedule code."""
    if session is None:
        return ""
    if session.clinic_id != clinic.pk or session.patient_id != patient.pk:
        raise InputError("session", "is not a session of this patient")
    course = session.course
    if kinds.MODALITY.get(kind) != course.modality:
        raise InputError("session", f"is a {course.get_modality_display()} session, not {kind}")
    if session.status not in (SessionStatus.PLANNED, SessionStatus.BOOKED):
        raise Conflict(
            f"session: session {session.number} is {session.get_status_display().lower()}; "
            "only a planned session is booked.",
            code="session_" + session.status,
        )
    return course.protocol.schedule


# --- Booking -------------------------------------------------------------------------------------


@transaction.atomic
def book_appointment(
    actor: Actor,
    *,
    patient: Patient,
    kind: str,
    start: datetime,
    minutes: int | None = None,
    resource: Resource | None = None,
    staff=None,
    session: Session | None = None,
    override_reason: str = "",
    now: datetime | None = None,
) -> Appointment:
    """Book ``patient`` for ``kind`` from ``start`` (aware, or clinic-local when naive) for
    ``minutes`` (the clinic's default for the kind, or the session's protocol, when None), on
    ``resource`` with ``staff``. A ``session`` of the patient's course becomes ``booked`` for
    that day and time. ``override_reason`` lets a prescriber book a second ketamine-family dose
    on one day; it is kept only when there is one to override."""
    kinds.check_kind(kind)
    _require_for_kind(actor, kind)
    clinic = actor.clinic
    if patient.clinic_id != clinic.pk:
        raise Http404("No such record.")
    override_reason = (override_reason or "").strip()
    if override_reason:
        if kind not in kinds.KETAMINE_FAMILY:
            raise InputError("override_reason", "is only for a ketamine-family dose")
        if not actor.can(Perm.APPOINTMENT_OVERRIDE):
            raise PermissionDenied("Only a prescriber may allow a second dose on one day.")
        if len(override_reason) > OVERRIDE_REASON_MAX:
            raise InputError("override_reason", f"must be at most {OVERRIDE_REASON_MAX} characters")
    schedule_code = _session_for(clinic, patient, kind, session)
    if minutes is None:
        minutes = kinds.default_minutes(kind, clinic.setting, protocol_schedule=schedule_code)
    kinds.check_minutes(minutes)
    start = _aware(clinic, start)
    end = start + timedelta(minutes=minutes)
    _check_start(clinic, start, now or timezone.now())
    _staff_at(clinic, staff)
    _check_resource(resource, kind, start, end, clinic)
    day = availability.clinic_day(clinic, start)
    if override_reason and not _other_dose(patient, day, None):
        override_reason = ""
    _check_free(
        clinic,
        patient=patient,
        kind=kind,
        start=start,
        end=end,
        day=day,
        resource=resource,
        override_reason=override_reason,
    )
    appointment = Appointment(
        clinic=clinic,
        patient=patient,
        kind=kind,
        start=start,
        end=end,
        day=day,
        resource=resource,
        staff=staff,
        session=session,
        override_reason=override_reason,
        override_by=actor.user if override_reason else None,
        created_by=actor.user,
    )
    _save(appointment, clinic, force_insert=True)
    if session is not None:
        treatment_sessions.mark_booked(
            actor,
            session,
            planned_date=day,
            planned_time=availability.local(clinic, start).time().replace(tzinfo=None),
        )
    _changed(
        actor,
        appointment,
        Action.CREATE,
        {
            "kind": kind,
            "start": start.isoformat(),
            "minutes": minutes,
            "resource": str(resource.pk) if resource else None,
            **({"override_reason": override_reason} if override_reason else {}),
        },
    )
    return appointment


def _locked(actor: Actor, appointment: Appointment) -> Appointment:
    if appointment.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("patient", "resource", "clinic")
        .get(pk=appointment.pk)
    )


_MOVABLE = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)


@transaction.atomic
def move_appointment(
    actor: Actor,
    appointment: Appointment,
    *,
    start: datetime,
    resource: Resource | None = None,
    minutes: int | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Move a booked or confirmed appointment to ``start``; ``resource`` (None keeps the one it
    has) and ``minutes`` (None keeps its length) may change with it. Its session follows."""
    _require_for_kind(actor, appointment.kind)
    locked = _locked(actor, appointment)
    if locked.status not in _MOVABLE:
        raise Conflict(
            f"A {locked.get_status_display().lower()} appointment cannot be moved.",
            code="not_movable",
        )
    clinic = actor.clinic
    minutes = locked.minutes if minutes is None else kinds.check_minutes(minutes)
    resource = locked.resource if resource is None else resource
    start = _aware(clinic, start)
    end = start + timedelta(minutes=minutes)
    _check_start(clinic, start, now or timezone.now())
    _check_resource(resource, locked.kind, start, end, clinic)
    day = availability.clinic_day(clinic, start)
    override_reason = locked.override_reason
    if override_reason and not _other_dose(locked.patient, day, locked):
        override_reason = ""
    _check_free(
        clinic,
        patient=locked.patient,
        kind=locked.kind,
        start=start,
        end=end,
        day=day,
        resource=resource,
        override_reason=override_reason,
        exclude=locked,
    )
    before = {"start": locked.start.isoformat(), "resource": str(locked.resource_id or "")}
    locked.start, locked.end, locked.day, locked.resource = start, end, day, resource
    locked.override_reason = override_reason
    if not override_reason:
        locked.override_by = None
    _save(
        locked,
        clinic,
        update_fields=["start", "end", "day", "resource", "override_reason", "override_by"],
    )
    if locked.session_id is not None:
        treatment_sessions.mark_booked(
            actor,
            locked.session,
            planned_date=day,
            planned_time=availability.local(clinic, start).time().replace(tzinfo=None),
        )
    _changed(
        actor,
        locked,
        Action.UPDATE,
        {"moved_from": before, "start": start.isoformat(), "minutes": minutes},
    )
    _refresh(appointment, locked)
    return locked


def _refresh(stale: Appointment, fresh: Appointment) -> None:
    """Bring the caller's instance up to date with the locked row that was changed."""
    for field in fresh._meta.concrete_fields:
        setattr(stale, field.attname, getattr(fresh, field.attname))


# The timestamp each status sets.
_STAMPS = {
    AppointmentStatus.CONFIRMED: "confirmed_at",
    AppointmentStatus.CHECKED_IN: "checked_in_at",
    AppointmentStatus.COMPLETED: "completed_at",
    AppointmentStatus.CANCELLED: "cancelled_at",
    AppointmentStatus.NO_SHOW: "no_show_at",
}
# Only on the appointment's day or after.
_NOT_BEFORE_THE_DAY = kinds.NOT_BEFORE_THE_DAY


@transaction.atomic
def set_status(
    actor: Actor,
    appointment: Appointment,
    status: str,
    reason: str = "",
    *,
    now: datetime | None = None,
    tell_patient: bool = True,
) -> Appointment:
    """Move an appointment along ``booked → confirmed → checked_in → completed``, or close it:
    ``cancelled`` (``reason`` required) or ``no_show``, from booked, confirmed or checked in.

    A cancelled appointment's session is planned again (to be booked anew); a no-show marks its
    session a no-show (``treatments.sessions.mark_no_show``). ``tell_patient=False``: no message
    for the change, when the caller tells the patient itself (a cancelled group tells each
    member once, not once per session)."""
    _require_for_kind(actor, appointment.kind)
    reason = (reason or "").strip()
    if len(reason) > STATUS_REASON_MAX:
        raise InputError("reason", f"must be at most {STATUS_REASON_MAX} characters")
    if status in kinds.REASON_REQUIRED and not reason:
        raise InputError("reason", f"say why the appointment is {status}")
    locked = _locked(actor, appointment)
    kinds.check_transition(locked.status, status)
    now = now or timezone.now()
    clinic = actor.clinic
    if status in _NOT_BEFORE_THE_DAY and locked.day > availability.clinic_day(clinic, now):
        raise Conflict(
            f"The appointment is on {locked.day:%a %b %-d}: it cannot be "
            f"{AppointmentStatus(status).label.lower()} before its day.",
            code="not_yet",
        )
    before = locked.status
    locked.status = status
    setattr(locked, _STAMPS[status], now)
    fields = ["status", _STAMPS[status]]
    if reason:
        locked.status_reason = reason
        fields.append("status_reason")
    locked.save(update_fields=fields)
    if locked.session_id is not None:
        if status == AppointmentStatus.CANCELLED:
            treatment_sessions.mark_unbooked(actor, locked.session)
        elif status == AppointmentStatus.NO_SHOW:
            treatment_sessions.mark_no_show(
                actor,
                locked.session,
                reason or "Did not come to the appointment",
                now=now,
                perm=Perm.APPOINTMENT_CHANGE,
            )
    _changed(
        actor,
        locked,
        Action.UPDATE,
        {"status": status, "from": before, **({"reason": reason} if reason else {})},
        tell=tell_patient,
    )
    _refresh(appointment, locked)
    return locked


# --- A course's sessions at once -----------------------------------------------------------------


@dataclass
class Proposal:
    """A proposed booking of one session: ``start`` and ``resource`` are None, with
    ``problem`` saying why, when no free time was found on its planned day."""

    session: Session
    start: datetime | None
    minutes: int
    resource: Resource | None
    problem: str = ""


def propose_course_slots(
    course: Course,
    *,
    first_start: datetime | None = None,
    busy: Iterable[tuple[datetime, datetime]] = (),
    not_before_on: Mapping[date, datetime] | None = None,
    now: datetime | None = None,
) -> list[Proposal]:
    """For each planned session of ``course``, the earliest free time on its planned day on a
    suitable active resource (in ``Resource.ordering``), within opening hours, clear of blocks,
    the resource's and the patient's appointments and the sessions proposed before it. The
    search begins at the session's planned time, else at ``first_start``'s clinic-local time of
    day, else at the opening. Reads only; front desk adjusts, then ``book_course``.

    Two courses proposed together (a combined plan) pass the other's proposals as ``busy`` (the
    patient is taken then) and, for a day when this course must wait, ``not_before_on[day]``:
    nothing is proposed to start before it. Nothing is proposed before ``now`` (the clock's
    time when None)."""
    clinic = course.clinic
    kind = course.modality
    schedule_code = course.protocol.schedule
    minutes = kinds.default_minutes(kind, clinic.setting, protocol_schedule=schedule_code)
    now = now or timezone.now()
    today = availability.clinic_day(clinic, now)
    resources = list(
        Resource.objects.filter(
            clinic=clinic, is_active=True, kind__in=kinds.SUITABLE_RESOURCES[kind]
        )
        .select_related("clinic")
        .prefetch_related("opening_hours")
    )
    planned = list(course.sessions.filter(status=SessionStatus.PLANNED).order_by("number"))
    days = {s.planned_date for s in planned}
    patient_busy = [
        (a.start, a.end)
        for a in Appointment.objects.active().filter(patient=course.patient, day__in=days)
    ]
    patient_busy += list(busy)
    not_before_on = not_before_on or {}
    start_time = (
        availability.local(clinic, first_start).time().replace(tzinfo=None)
        if first_start is not None
        else None
    )
    proposals = []
    for session in planned:
        if session.planned_date < today:
            proposals.append(Proposal(session, None, minutes, None, "its planned day is past"))
            continue
        at = session.planned_time or start_time
        not_before = (
            datetime.combine(session.planned_date, at, clinic.tzinfo) if at is not None else None
        )
        if session.planned_date == today:
            not_before = max(not_before, now) if not_before else now
        waits = not_before_on.get(session.planned_date)
        if waits is not None:
            not_before = max(not_before, waits) if not_before else waits
        best = None
        for resource in resources:
            starts = availability.free_starts(
                resource,
                session.planned_date,
                minutes,
                busy=patient_busy,
                hours=resource.opening_hours.all(),
                not_before=not_before,
            )
            if starts and (best is None or starts[0] < best[0]):
                best = (starts[0], resource)
        if best is None:
            proposals.append(
                Proposal(session, None, minutes, None, "no suitable resource is free that day")
            )
            continue
        start, resource = best
        patient_busy.append((start, start + timedelta(minutes=minutes)))
        proposals.append(Proposal(session, start, minutes, resource))
    return proposals


@transaction.atomic
def book_course(
    actor: Actor, course: Course, proposals: list[Proposal], *, now: datetime | None = None
) -> list[Appointment]:
    """Book every proposal (as adjusted by front desk) in one transaction: all or nothing. A
    session that cannot be booked raises ``CourseBookingFailed`` naming it (or an
    ``InputError`` whose field names it, ``sessions.<number>.<field>``). No start may be before
    ``now`` (the clock's time when None)."""
    if course.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    booked = []
    with reminders.one_message():  # one booking message for the course, not one per session
        _book_each(actor, course, proposals, booked, now)
    return booked


def _book_each(
    actor: Actor, course: Course, proposals: list[Proposal], booked: list, now: datetime | None
) -> None:
    for proposal in proposals:
        session = proposal.session
        if session.course_id != course.pk:
            raise InputError(f"sessions.{session.number}", "is not a session of this course")
        if proposal.start is None:
            raise InputError(
                f"sessions.{session.number}.start", proposal.problem or "choose a time"
            )
        try:
            booked.append(
                book_appointment(
                    actor,
                    patient=course.patient,
                    kind=course.modality,
                    start=proposal.start,
                    minutes=proposal.minutes,
                    resource=proposal.resource,
                    session=session,
                    now=now,
                )
            )
        except InputError as error:
            raise InputError(f"sessions.{session.number}.{error.field}", error.message) from error
        except Conflict as error:
            raise CourseBookingFailed(session, error) from error


def propose_slot(
    clinic, patient: Patient, kind: str, day: date, *, search_days: int = 14
) -> tuple[datetime, int, Resource] | None:
    """The earliest free (start, minutes, resource) for ``patient`` to have ``kind`` on ``day``
    or one of the ``search_days`` after it: a suitable active resource within its opening hours,
    clear of its blocks and appointments and of the patient's own, never in the past, and never
    a second ketamine-family dose on one day. None when nothing is free. Reads only."""
    kinds.check_kind(kind)
    minutes = kinds.default_minutes(kind, clinic.setting)
    resources = list(
        Resource.objects.filter(
            clinic=clinic, is_active=True, kind__in=kinds.SUITABLE_RESOURCES[kind]
        )
        .select_related("clinic")
        .prefetch_related("opening_hours")
    )
    now = timezone.now()
    today = clinic.today()
    for offset in range(search_days + 1):
        on = day + timedelta(days=offset)
        if on < today:
            continue
        if kind in kinds.KETAMINE_FAMILY and _other_dose(patient, on, None):
            continue
        busy = [
            (a.start, a.end) for a in Appointment.objects.active().filter(patient=patient, day=on)
        ]
        best = None
        for resource in resources:
            starts = availability.free_starts(
                resource,
                on,
                minutes,
                busy=busy,
                hours=resource.opening_hours.all(),
                not_before=now if on == today else None,
            )
            if starts and (best is None or starts[0] < best[0]):
                best = (starts[0], resource)
        if best is not None:
            return best[0], minutes, best[1]
    return None


__all__ = [
    "AppointmentKind",
    "CourseBookingFailed",
    "KetamineDayTaken",
    "PatientBusy",
    "Proposal",
    "ResourceUnavailable",
    "SlotTaken",
    "book_appointment",
    "book_course",
    "move_appointment",
    "propose_course_slots",
    "propose_slot",
    "set_status",
]
