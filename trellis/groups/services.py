"""Every change to programs, cohorts, enrolments, attendance and group notes: one function each,
one transaction, audited. Audit details name fields and counts, never what a note says, and a
member's events never name another member.

The waitlist moves up inside the transaction that frees a place: each change of a cohort's
membership first locks the cohort's row (``_lock``), so two cancellations at the same moment
are applied one after the other and promote exactly two patients from the waitlist.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from trellis.accounts.access import Actor, require
from trellis.accounts.models import Clinic, Membership
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record, record_for
from trellis.billing import coding
from trellis.billing import services as billing_services
from trellis.groups import rules
from trellis.groups.models import (
    OPEN_ENROLMENT,
    Attendance,
    AttendanceStatus,
    Cohort,
    Enrolment,
    EnrolmentStatus,
    GroupInterest,
    GroupNote,
    GroupNoteAddendum,
    GroupProgram,
    InterestSource,
    InterestStatus,
    Meeting,
    MeetingBooking,
    MemberSection,
    NoteStatus,
)
from trellis.lib.errors import Conflict, InputError
from trellis.messaging.models import Channel
from trellis.messaging.services import enqueue_email, enqueue_sms
from trellis.patients.models import Patient
from trellis.patients.services import REQUESTS_PER_HOUR, TooManyRequests, normalise_phones
from trellis.patients.services import sender_key as hashed_sender
from trellis.safety.models import AlertKind
from trellis.safety.services import raise_alert
from trellis.scheduling import availability, reminders, resource_services
from trellis.scheduling import services as booking
from trellis.scheduling.kinds import AppointmentKind, AppointmentStatus, ResourceKind
from trellis.scheduling.models import Appointment, BlockKind, Resource, ResourceBlock
from trellis.therapy.models import RiskLevel
from trellis.therapy.rules import RISK_TO_ALERT

logger = logging.getLogger(__name__)

TEXT_LIMIT = 3000
REASON_LIMIT = 300


def _same_clinic(actor: Actor, row) -> None:
    if row.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")


def _text(field: str, value, limit: int, *, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InputError(field, "is required")
    if len(text) > limit:
        raise InputError(field, f"must be at most {limit:,} characters")
    return text


# --- programs and cohorts ------------------------------------------------------------------------


def create_program(
    actor: Actor,
    *,
    name: str,
    sessions: int,
    minutes: int,
    description: str = "",
    eligibility_notes: str = "",
) -> GroupProgram:
    require(actor, Perm.GROUP_PROGRAM_CHANGE)
    name = " ".join((name or "").split())
    if not name:
        raise InputError("name", "is required")
    if len(name) > 120:
        raise InputError("name", "must be at most 120 characters")
    sessions = rules.check_sessions(sessions)
    minutes = rules.check_minutes(minutes)
    description = _text("description", description, 2000)
    eligibility_notes = _text("eligibility_notes", eligibility_notes, 2000)
    with transaction.atomic():
        if GroupProgram.objects.filter(clinic=actor.clinic, name__iexact=name).exists():
            raise InputError("name", "is the name of another of the clinic's programs")
        program = GroupProgram.objects.create(
            clinic=actor.clinic,
            name=name,
            sessions=sessions,
            minutes=minutes,
            description=description,
            eligibility_notes=eligibility_notes,
            created_by=actor.user,
        )
        record_for(
            actor, Action.CREATE, obj=program, detail={"sessions": sessions, "minutes": minutes}
        )
    return program


def set_program_active(actor: Actor, program: GroupProgram, active: bool) -> GroupProgram:
    """Retire a program (it takes no new cohorts and leaves the public page and the portal;
    its cohorts already planned run on), or bring it back."""
    require(actor, Perm.GROUP_PROGRAM_CHANGE)
    _same_clinic(actor, program)
    with transaction.atomic():
        locked = GroupProgram.objects.select_for_update().get(pk=program.pk)
        if locked.is_active == bool(active):
            raise Conflict(
                f"{locked.name} is {'in use' if locked.is_active else 'retired'} already.",
                code="unchanged",
            )
        locked.is_active = bool(active)
        locked.save(update_fields=["is_active"])
        record_for(actor, Action.UPDATE, obj=locked, detail={"is_active": locked.is_active})
    return locked


def _facilitators(actor: Actor, users) -> list:
    users = list(users or [])
    if not users:
        raise InputError("facilitators", "choose at least one therapist to lead the group")
    memberships = Membership.objects.filter(
        clinic=actor.clinic, user__in=users, is_active=True
    ).select_related("user")
    by_user = {m.user_id: m for m in memberships}
    for user in users:
        membership = by_user.get(user.pk)
        if membership is None:
            raise InputError("facilitators", f"{user} is not a member of staff at this clinic")
        if not membership.can(Perm.GROUP_DOCUMENT):
            raise InputError("facilitators", f"{user} may not lead a group: choose a therapist")
    return users


def _check_room_free(
    clinic: Clinic, room: Resource, start: datetime, end: datetime, field: str = "start_time"
) -> None:
    """Refuse a time the room cannot take, naming the day and what holds the room then."""
    local = availability.local(clinic, start)
    when = f"{local:%a %b} {local.day}, {local:%H:%M}"
    if not availability.is_open(room, start, end):
        raise InputError(field, f"{room.name} is not open for all of the session on {when}")
    block = availability.blocking(room, start, end)
    if block is not None:
        what = block.get_kind_display().lower()
        if block.kind == BlockKind.GROUP and block.note:
            what = f"held for {block.note}"
        raise booking.ResourceUnavailable(f"{room.name} is out ({what}) on {when}.")
    taken = Appointment.objects.active().filter(resource=room).overlapping(start, end).first()
    if taken is not None:
        since = availability.local(clinic, taken.start)
        until = availability.local(clinic, taken.end)
        raise booking.SlotTaken(
            f"room: {room.name} is booked on {when} ({taken.get_kind_display()} "
            f"{since:%H:%M}–{until:%H:%M})."
        )


def _check_room(clinic: Clinic, room: Resource | None) -> Resource:
    if room is None or room.clinic_id != clinic.pk:
        raise InputError("room", "is not one of this clinic's rooms")
    if room.kind != ResourceKind.ROOM:
        raise InputError("room", "must be a room, not a chair or a device")
    if not room.is_active:
        raise InputError("room", f"{room.name} is not in use")
    return room


def create_cohort(
    actor: Actor,
    program: GroupProgram,
    *,
    start_date: date,
    start_time: time,
    room: Resource,
    facilitators,
    capacity: int = rules.MAX_CAPACITY,
    late_join_until: int = 2,
    listed: bool = True,
    now: datetime | None = None,
) -> Cohort:
    """A cohort of ``program`` meeting weekly from ``start_date`` at ``start_time`` in
    ``room``: its sessions are created and the room is held for each."""
    require(actor, Perm.GROUP_PROGRAM_CHANGE)
    _same_clinic(actor, program)
    clinic = actor.clinic
    if not isinstance(start_date, date):
        raise InputError("start_date", "must be a date")
    if start_date < availability.clinic_day(clinic, now or timezone.now()):
        raise InputError("start_date", "must be today or later at the clinic")
    if not isinstance(start_time, time):
        raise InputError("start_time", "must be a time of day")
    _check_room(clinic, room)
    capacity = rules.check_capacity(capacity)
    late_join_until = rules.check_late_join(late_join_until, program.sessions)
    users = _facilitators(actor, facilitators)
    with transaction.atomic():
        # Read under a lock: a program retired at this moment takes no new cohort.
        in_use = GroupProgram.objects.select_for_update().filter(pk=program.pk)
        if not in_use.values_list("is_active", flat=True).get():
            raise InputError(
                "program", f"{program.name} is retired: bring it back to plan a cohort"
            )
        Resource.objects.select_for_update().filter(pk=room.pk).get()
        cohort = Cohort.objects.create(
            clinic=clinic,
            program=program,
            start_date=start_date,
            start_time=start_time,
            room=room,
            capacity=capacity,
            late_join_until=late_join_until,
            listed=bool(listed),
            created_by=actor.user,
        )
        cohort.facilitators.set(users)
        for number, day in enumerate(rules.meeting_dates(start_date, program.sessions), 1):
            start = datetime.combine(day, start_time, clinic.tzinfo)
            end = start + timedelta(minutes=program.minutes)
            _check_room_free(clinic, room, start, end)
            block = ResourceBlock.objects.create(
                clinic=clinic,
                resource=room,
                start=start,
                end=end,
                kind=BlockKind.GROUP,
                note=f"{program.name[:150]}, session {number}",
                created_by=actor.user,
            )
            Meeting.objects.create(
                clinic=clinic,
                cohort=cohort,
                number=number,
                start=start,
                end=end,
                day=day,
                room_block=block,
            )
        record_for(
            actor,
            Action.CREATE,
            obj=cohort,
            detail={
                "program": str(program.pk),
                "start_date": start_date.isoformat(),
                "capacity": capacity,
                "room": str(room.pk),
            },
        )
    return cohort


# --- enrolment and the waitlist ------------------------------------------------------------------


def _lock(cohort: Cohort) -> Cohort:
    """The cohort's row, locked until the transaction ends: changes to its membership are
    applied one after another."""
    return Cohort.objects.select_for_update().select_related("program", "clinic").get(pk=cohort.pk)


def begun(cohort: Cohort, now: datetime | None = None) -> int:
    return cohort.meetings.filter(start__lte=now or timezone.now()).count()


def joining_open(cohort: Cohort, now: datetime | None = None) -> bool:
    return cohort.cancelled_at is None and rules.joining_open(
        cohort.late_join_until, begun(cohort, now)
    )


def _enrolled(cohort: Cohort) -> int:
    return cohort.enrolments.filter(status=EnrolmentStatus.ENROLLED).count()


def _book(actor: Actor, enrolment: Enrolment, now: datetime) -> list[int]:
    """Group appointments for the member at each of the cohort's sessions still to come; the
    numbers of those skipped because the patient has another appointment then."""
    cohort = enrolment.cohort
    lead = cohort.facilitators.order_by("pk").first()
    skipped: list[int] = []
    with reminders.one_message():
        for meeting in cohort.meetings.filter(start__gt=now).order_by("number"):
            try:
                with transaction.atomic():
                    appointment = booking.book_appointment(
                        actor,
                        patient=enrolment.patient,
                        kind=AppointmentKind.GROUP,
                        start=meeting.start,
                        minutes=cohort.program.minutes,
                        staff=lead,
                        now=now,
                    )
            except booking.PatientBusy:
                skipped.append(meeting.number)
                continue
            MeetingBooking.objects.create(
                clinic=cohort.clinic, meeting=meeting, enrolment=enrolment, appointment=appointment
            )
    return skipped


def _unbook(
    actor: Actor, enrolment: Enrolment, reason: str, now: datetime, *, tell: bool = True
) -> int:
    """Cancel the member's group appointments still to come (``tell=False``: without a message
    for each; the caller tells the patient once)."""
    count = 0
    rows = MeetingBooking.objects.filter(enrolment=enrolment, meeting__start__gt=now)
    for row in rows.select_related("appointment"):
        if row.appointment.is_active and row.appointment.status != AppointmentStatus.COMPLETED:
            booking.set_status(
                actor,
                row.appointment,
                AppointmentStatus.CANCELLED,
                reason[:200],
                now=now,
                tell_patient=tell,
            )
            count += 1
    return count


class Enrolled:
    """What an enrolment did: the row, and the sessions not booked because of a clash."""

    def __init__(self, enrolment: Enrolment, skipped: list[int]) -> None:
        self.enrolment = enrolment
        self.skipped = skipped


def enrol(actor: Actor, cohort: Cohort, patient: Patient, *, now: datetime | None = None):
    """Give ``patient`` a place in ``cohort``, or a place on its waitlist when it is full.
    Refused once late joining has closed (``Conflict`` code ``late_join``)."""
    require(actor, Perm.GROUP_ENROL)
    _same_clinic(actor, cohort)
    _same_clinic(actor, patient)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(cohort)
        if locked.cancelled_at is not None:
            raise Conflict("The cohort was cancelled.", code="cancelled")
        if not rules.joining_open(locked.late_join_until, begun(locked, now)):
            raise Conflict(
                f"Joining closed when session {locked.late_join_until} began.", code="late_join"
            )
        if locked.enrolments.filter(
            patient=patient, status__in=[EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITLISTED]
        ).exists():
            raise Conflict(
                f"{patient.full_name} is already enrolled or waitlisted.", code="already"
            )
        full = _enrolled(locked) >= locked.capacity
        enrolment = Enrolment.objects.create(
            clinic=locked.clinic,
            cohort=locked,
            patient=patient,
            status=EnrolmentStatus.WAITLISTED if full else EnrolmentStatus.ENROLLED,
            joined_at=now,
            enrolled_at=None if full else now,
            created_by=actor.user,
        )
        enrolment.cohort = locked
        skipped = [] if full else _book(actor, enrolment, now)
        record_for(
            actor,
            Action.CREATE,
            patient=patient,
            obj=enrolment,
            detail={"status": enrolment.status, **({"not_booked": skipped} if skipped else {})},
        )
    return Enrolled(enrolment, skipped)


def _promote(actor: Actor, cohort: Cohort, now: datetime) -> list[Enrolment]:
    """Give freed places to the waitlist, first joined first, while joining is open."""
    promoted: list[Enrolment] = []
    if not rules.joining_open(cohort.late_join_until, begun(cohort, now)):
        return promoted
    free = cohort.capacity - _enrolled(cohort)
    waiting = cohort.enrolments.filter(status=EnrolmentStatus.WAITLISTED).select_related("patient")
    for enrolment in waiting.order_by("joined_at", "pk")[: max(free, 0)]:
        enrolment.status = EnrolmentStatus.ENROLLED
        enrolment.enrolled_at = enrolment.promoted_at = now
        enrolment.save(update_fields=["status", "enrolled_at", "promoted_at"])
        enrolment.cohort = cohort
        skipped = _book(actor, enrolment, now)
        record_for(
            actor,
            Action.UPDATE,
            patient=enrolment.patient,
            obj=enrolment,
            detail={
                "status": "enrolled",
                "from": "waitlist",
                **({"not_booked": skipped} if skipped else {}),
            },
        )
        promoted.append(enrolment)
    return promoted


def withdraw(
    actor: Actor, enrolment: Enrolment, reason: str, *, now: datetime | None = None
) -> list[Enrolment]:
    """Take a member (or someone waitlisted) out of the cohort, cancel their sessions still to
    come, and give the freed place to the waitlist; the patients promoted."""
    require(actor, Perm.GROUP_ENROL)
    _same_clinic(actor, enrolment)
    reason = _text("reason", reason, REASON_LIMIT, required=True)
    now = now or timezone.now()
    with transaction.atomic():
        cohort = _lock(enrolment.cohort)
        locked = Enrolment.objects.select_related("patient").get(pk=enrolment.pk)
        if locked.status == EnrolmentStatus.WITHDRAWN:
            raise Conflict("Already withdrawn.", code="withdrawn")
        was = locked.status
        locked.status = EnrolmentStatus.WITHDRAWN
        locked.withdrawn_at = now
        locked.withdrawn_reason = reason
        locked.save(update_fields=["status", "withdrawn_at", "withdrawn_reason"])
        cancelled = _unbook(actor, locked, "Withdrawn from the group", now)
        record_for(
            actor,
            Action.UPDATE,
            patient=locked.patient,
            obj=locked,
            detail={"status": "withdrawn", "was": was, "cancelled_appointments": cancelled},
        )
        promoted = _promote(actor, cohort, now) if was == EnrolmentStatus.ENROLLED else []
    return promoted


def set_capacity(actor: Actor, cohort: Cohort, capacity: int) -> list[Enrolment]:
    """Change the cohort's capacity (never below its members); a larger one promotes."""
    require(actor, Perm.GROUP_PROGRAM_CHANGE)
    _same_clinic(actor, cohort)
    capacity = rules.check_capacity(capacity)
    now = timezone.now()
    with transaction.atomic():
        locked = _lock(cohort)
        enrolled = _enrolled(locked)
        if capacity < enrolled:
            raise InputError("capacity", f"cannot be below the {enrolled} members enrolled")
        locked.capacity = capacity
        locked.save(update_fields=["capacity"])
        record_for(actor, Action.UPDATE, obj=locked, detail={"capacity": capacity})
        return _promote(actor, locked, now)


# --- changing a planned cohort ------------------------------------------------------------------


class Cancelled:
    """What cancelling a cohort did: the counts its page reports."""

    def __init__(self, cohort: Cohort, sessions: int, members: int, waitlisted: int) -> None:
        self.cohort = cohort
        self.sessions = sessions
        self.members = members
        self.waitlisted = waitlisted


def to_come(cohort: Cohort, now: datetime | None = None) -> QuerySet[Meeting]:
    """The cohort's sessions that may still change: not begun, no attendance, no note."""
    return cohort.meetings.filter(
        start__gt=now or timezone.now(), attendance_taken_at__isnull=True, note__isnull=True
    ).order_by("number")


def _free_room(actor: Actor, meeting: Meeting, now: datetime) -> None:
    """Give the session's room back to the appointment book (its hold removed). The
    appointment book asks ``resource.change`` for it, which only the administrator has, as
    ``group.program``: granting the one to another role needs the other too."""
    block = meeting.room_block
    if block is None:
        return
    resource_services.remove_block(actor, block, now=now)
    meeting.room_block = None


def _patient_words(cohort: Cohort, lead: str, subject: str) -> reminders.Words:
    """A message about the cohort to one of its patients. It says when the group was to meet,
    never what it is for (no diagnosis in a text or an e-mail)."""
    clinic = cohort.clinic
    tail = f"To talk about what comes next, call {clinic.phone}." if clinic.phone else ""
    sms = " ".join(part for part in (f"{clinic.name}: {lead}", tail) if part)
    lines = ["Hello,", "", f"This is {clinic.name}: {lead}"]
    lines += ["", tail] if tail else []
    lines += ["", clinic.name]
    return reminders.Words(
        sms=sms, subject=f"{subject} · {clinic.name}"[:200], email="\n".join(lines) + "\n"
    )


def _meets(cohort: Cohort) -> str:
    starts = f"{cohort.start_date:%b} {cohort.start_date.day}"
    return f"meeting {cohort.start_date:%A}s at {cohort.start_time:%-I:%M %p} from {starts}"


def _cancel_words(cohort: Cohort, waitlisted: bool) -> reminders.Words:
    which = "the group you were on the waitlist for" if waitlisted else "your group"
    lead = f"{which}, {_meets(cohort)}, is cancelled."
    if not waitlisted:
        lead += " Its sessions still to come are cancelled."
    return _patient_words(cohort, lead, "Group cancelled")


def _waitlist_closed_words(cohort: Cohort) -> reminders.Words:
    lead = (
        f"the group you were on the waitlist for, {_meets(cohort)}, can no longer be joined "
        "now that it is under way, so your place on its waitlist has ended."
    )
    return _patient_words(cohort, lead, "Group waitlist closed")


def _tell(cohort: Cohort, enrolment: Enrolment, words: reminders.Words, purpose: str) -> list[str]:
    """Queue ``words`` to the patient the way they are reached, in the caller's transaction;
    the channels used (none when nothing usable is on file)."""
    patient, clinic = enrolment.patient, cohort.clinic
    used = []
    for channel in reminders.channels(patient, clinic):
        try:
            if channel == Channel.SMS:
                enqueue_sms(
                    recipient=patient.phone,
                    body=words.sms,
                    purpose=purpose,
                    clinic=clinic,
                    patient=patient,
                )
            else:
                enqueue_email(
                    recipient=patient.email,
                    subject=words.subject,
                    body=words.email,
                    purpose=purpose,
                    clinic=clinic,
                    patient=patient,
                )
        except InputError as error:
            logger.warning("No %s %s for %s: %s", channel, purpose, patient.mrn, error)
            continue
        used.append(channel)
    return used


def cancel_cohort(
    actor: Actor, cohort: Cohort, reason: str, *, now: datetime | None = None
) -> Cancelled:
    """Cancel the cohort: its sessions still to come are cancelled and their room given back,
    its members' appointments then cancelled, each place (and waitlist place) ended as
    *Cohort cancelled*, and each of those patients told. Sessions held stay as they are."""
    require(actor, Perm.GROUP_PROGRAM_CHANGE)
    _same_clinic(actor, cohort)
    reason = _text("reason", reason, REASON_LIMIT - len("Cohort cancelled: "), required=True)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(cohort)
        if locked.cancelled_at is not None:
            raise Conflict("The cohort was cancelled already.", code="cancelled")
        places = list(
            locked.enrolments.filter(status__in=OPEN_ENROLMENT)
            .select_related("patient")
            .order_by("joined_at", "pk")
        )
        enrolled = 0
        for enrolment in places:
            was = enrolment.status
            enrolled += was == EnrolmentStatus.ENROLLED
            enrolment.status = EnrolmentStatus.WITHDRAWN
            enrolment.withdrawn_at = now
            enrolment.withdrawn_reason = f"Cohort cancelled: {reason}"
            enrolment.save(update_fields=["status", "withdrawn_at", "withdrawn_reason"])
            cancelled = _unbook(actor, enrolment, "The group was cancelled", now, tell=False)
            words = _cancel_words(locked, was == EnrolmentStatus.WAITLISTED)
            told = _tell(locked, enrolment, words, "group_cancelled")
            record_for(
                actor,
                Action.UPDATE,
                patient=enrolment.patient,
                obj=enrolment,
                detail={
                    "status": "withdrawn",
                    "was": was,
                    "cohort_cancelled": True,
                    "cancelled_appointments": cancelled,
                    "told": told,
                },
            )
        sessions = 0
        for meeting in locked.meetings.filter(start__gt=now).select_related("room_block"):
            _free_room(actor, meeting, now)
            sessions += 1
        locked.cancelled_at = now
        locked.cancelled_by = actor.user
        locked.cancelled_reason = reason
        locked.save(update_fields=["cancelled_at", "cancelled_by", "cancelled_reason"])
        waitlisted = len(places) - enrolled
        record_for(
            actor,
            Action.UPDATE,
            obj=locked,
            detail={
                "status": "cancelled",
                "sessions_cancelled": sessions,
                "members": enrolled,
                "waitlisted": waitlisted,
            },
        )
    return Cancelled(locked, sessions, enrolled, waitlisted)


def close_waitlist(actor: Actor, cohort: Cohort, *, now: datetime | None = None) -> int:
    """End the waitlist places of a cohort that can no longer be joined (late joining closed),
    each patient told; how many. Refused while joining is still open."""
    require(actor, Perm.GROUP_ENROL)
    _same_clinic(actor, cohort)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(cohort)
        if locked.cancelled_at is None and rules.joining_open(
            locked.late_join_until, begun(locked, now)
        ):
            raise Conflict(
                f"Joining is open until session {locked.late_join_until} begins: the waitlist "
                "may still move up.",
                code="open",
            )
        waiting = list(
            locked.enrolments.filter(status=EnrolmentStatus.WAITLISTED).select_related("patient")
        )
        reason = f"Waitlist closed: joining ended when session {locked.late_join_until} began"
        for enrolment in waiting:
            enrolment.status = EnrolmentStatus.WITHDRAWN
            enrolment.withdrawn_at = now
            enrolment.withdrawn_reason = reason
            enrolment.save(update_fields=["status", "withdrawn_at", "withdrawn_reason"])
            told = _tell(locked, enrolment, _waitlist_closed_words(locked), "group_waitlist_closed")
            record_for(
                actor,
                Action.UPDATE,
                patient=enrolment.patient,
                obj=enrolment,
                detail={"status": "withdrawn", "was": "waitlisted", "told": told},
            )
        if waiting:
            record_for(actor, Action.UPDATE, obj=locked, detail={"waitlist_closed": len(waiting)})
    return len(waiting)


def _reschedule(
    actor: Actor,
    cohort: Cohort,
    moves: list[tuple[Meeting, datetime]],
    room: Resource,
    now: datetime,
    field: str,
) -> int:
    """Move each session of ``moves`` to its new start in ``room``: the room's hold moves with
    it and each member's appointment is moved (and the patient told) through the appointment
    book. A clash refuses it all: the caller's transaction keeps nothing of it."""
    clinic = cohort.clinic
    minutes = cohort.program.minutes
    rooms = {room.pk} | {m.room_block.resource_id for m, _ in moves if m.room_block_id}
    list(Resource.objects.select_for_update().filter(pk__in=rooms).values_list("pk", flat=True))
    # The old holds go first: a session moved by less than its length would clash with itself.
    for meeting, _ in moves:
        _free_room(actor, meeting, now)
    for meeting, start in moves:
        end = start + timedelta(minutes=minutes)
        if start <= now:
            raise InputError(field, f"session {meeting.number} would be in the past")
        try:
            _check_room_free(clinic, room, start, end, field)
        except Conflict as error:
            raise Conflict(
                f"Session {meeting.number}: {error.message.removeprefix('room: ')}",
                code=error.code,
            ) from error
        before = meeting.start
        meeting.room_block = ResourceBlock.objects.create(
            clinic=clinic,
            resource=room,
            start=start,
            end=end,
            kind=BlockKind.GROUP,
            note=f"{cohort.program.name[:150]}, session {meeting.number}",
            created_by=actor.user,
        )
        meeting.start, meeting.end = start, end
        meeting.day = availability.clinic_day(clinic, start)
        meeting.save(update_fields=["start", "end", "day", "room_block"])
        rows = MeetingBooking.objects.filter(
            meeting=meeting,
            appointment__status__in=[AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED],
        ).select_related("appointment", "enrolment__patient")
        for row in rows:
            try:
                booking.move_appointment(actor, row.appointment, start=start, now=now)
            except booking.PatientBusy as error:
                raise Conflict(
                    f"Session {meeting.number}: {row.enrolment.patient.full_name} "
                    f"{error.message.removeprefix('patient: ')} Move that appointment first.",
                    code=error.code,
                ) from error
        record_for(
            actor,
            Action.UPDATE,
            obj=meeting,
            detail={
                "moved_from": before.isoformat(),
                "start": start.isoformat(),
                "room": str(room.pk),
            },
        )
    return len(moves)


def update_cohort(
    actor: Actor,
    cohort: Cohort,
    *,
    start_time: time,
    room: Resource,
    facilitators,
    late_join_until: int,
    listed: bool,
    now: datetime | None = None,
) -> list[str]:
    """Change a planned cohort: its weekly time, room, facilitators, late joining and public
    listing. The sessions still to come (``to_come``) move with a new time or room, with their
    room holds and their members' appointments, all or nothing; sessions begun or documented
    never change. Returns the names of the fields changed."""
    require(actor, Perm.GROUP_PROGRAM_CHANGE)
    _same_clinic(actor, cohort)
    clinic = actor.clinic
    now = now or timezone.now()
    if not isinstance(start_time, time):
        raise InputError("start_time", "must be a time of day")
    _check_room(clinic, room)
    users = _facilitators(actor, facilitators)
    with transaction.atomic():
        locked = _lock(cohort)
        if locked.cancelled_at is not None:
            raise Conflict("The cohort was cancelled: it no longer changes.", code="cancelled")
        late_join_until = rules.check_late_join(late_join_until, locked.program.sessions)
        changed = []
        moved = 0
        if start_time != locked.start_time or room.pk != locked.room_id:
            moves = [
                (m, datetime.combine(m.day, start_time, clinic.tzinfo))
                for m in to_come(locked, now).select_related("room_block")
            ]
            field = "start_time" if start_time != locked.start_time else "room"
            moved = _reschedule(actor, locked, moves, room, now, field)
        values = {
            "start_time": start_time,
            "room_id": room.pk,
            "late_join_until": late_join_until,
            "listed": bool(listed),
        }
        for name, value in values.items():
            if getattr(locked, name) != value:
                setattr(locked, name, value)
                changed.append(name.removesuffix("_id"))
        if changed:
            locked.save(update_fields=changed)
        if {u.pk for u in users} != set(locked.facilitators.values_list("pk", flat=True)):
            locked.facilitators.set(users)
            changed.append("facilitators")
        if changed:
            record_for(
                actor,
                Action.UPDATE,
                obj=locked,
                detail={"changed": changed, "sessions_moved": moved},
            )
    return changed


def move_meeting(
    actor: Actor, meeting: Meeting, *, day: date, start_time: time, now: datetime | None = None
) -> Meeting:
    """Move one session still to come (a holiday, say) to ``day`` at ``start_time``, between
    the sessions before and after it; its room hold and members' appointments move with it,
    refused as a whole when the room or a member is taken then. Moving the first session moves
    the cohort's start date."""
    require(actor, Perm.GROUP_PROGRAM_CHANGE)
    _same_clinic(actor, meeting)
    now = now or timezone.now()
    if not isinstance(day, date):
        raise InputError("day", "must be a date")
    if not isinstance(start_time, time):
        raise InputError("start_time", "must be a time of day")
    with transaction.atomic():
        cohort = _lock(meeting.cohort)
        if cohort.cancelled_at is not None:
            raise Conflict(
                "The cohort was cancelled: its sessions no longer move.", code="cancelled"
            )
        locked = to_come(cohort, now).select_related("room_block").filter(pk=meeting.pk).first()
        if locked is None:
            raise Conflict(
                f"Session {meeting.number} has begun or been documented: it no longer moves.",
                code="held",
            )
        clinic = cohort.clinic
        start = datetime.combine(day, start_time, clinic.tzinfo)
        if start <= now:
            raise InputError("day", "must be later than now")
        end = start + timedelta(minutes=cohort.program.minutes)
        around = {
            m.number: m
            for m in cohort.meetings.filter(number__in=[locked.number - 1, locked.number + 1])
        }
        before, after = around.get(locked.number - 1), around.get(locked.number + 1)
        if before is not None and start < before.end:
            raise InputError(
                "day", f"must be after session {before.number} ({_words(clinic, before.start)})"
            )
        if after is not None and end > after.start:
            raise InputError(
                "day", f"must be before session {after.number} ({_words(clinic, after.start)})"
            )
        _reschedule(actor, cohort, [(locked, start)], cohort.room, now, "day")
        if locked.number == 1 and cohort.start_date != locked.day:
            cohort.start_date = locked.day
            cohort.save(update_fields=["start_date"])
            record_for(actor, Action.UPDATE, obj=cohort, detail={"changed": ["start_date"]})
    return locked


def _words(clinic: Clinic, moment: datetime) -> str:
    local = availability.local(clinic, moment)
    return f"{local:%a %b} {local.day}, {local:%H:%M}"


# --- attendance and the group note ---------------------------------------------------------------


def roster(meeting: Meeting) -> list[MeetingBooking]:
    """The members booked for ``meeting`` (their appointment not cancelled), by name."""
    return list(
        MeetingBooking.objects.filter(meeting=meeting)
        .exclude(appointment__status=AppointmentStatus.CANCELLED)
        .select_related("enrolment__patient", "appointment")
        .order_by("enrolment__patient__family_name", "enrolment__patient__given_name")
    )


def _open_note(meeting: Meeting) -> GroupNote | None:
    note = GroupNote.objects.filter(meeting=meeting).first()
    if note is not None and note.is_signed:
        raise Conflict("The group note is signed: corrections are addenda.", code="signed")
    return note


def take_attendance(
    actor: Actor, meeting: Meeting, statuses: dict[str, str], *, now: datetime | None = None
) -> list[Attendance]:
    """Attendance for the whole room at once: ``statuses`` maps each member's enrolment id to
    present, late, left early or absent. Every member needs one; until the note is signed it
    may be taken again."""
    require(actor, Perm.GROUP_DOCUMENT)
    _same_clinic(actor, meeting)
    now = now or timezone.now()
    if meeting.day > meeting.clinic.today():
        raise Conflict("Attendance is taken on the day of the session.", code="not_yet")
    members = roster(meeting)
    if not members:
        raise Conflict("No one is booked for this session.", code="empty")
    for row in members:
        status = statuses.get(str(row.enrolment_id)) or ""
        if status not in AttendanceStatus.values:
            raise InputError(
                f"status_{row.enrolment_id}",
                f"{row.enrolment.patient.full_name}: choose present, late, left early or absent",
            )
    with transaction.atomic():
        Meeting.objects.select_for_update().filter(pk=meeting.pk).get()
        _open_note(meeting)
        rows = []
        for row in members:
            attendance, _ = Attendance.objects.update_or_create(
                meeting=meeting,
                patient=row.enrolment.patient,
                defaults={
                    "clinic": meeting.clinic,
                    "enrolment": row.enrolment,
                    "status": statuses[str(row.enrolment_id)],
                    "recorded_by": actor.user,
                    "recorded_at": now,
                },
            )
            record_for(
                actor,
                Action.UPDATE,
                patient=row.enrolment.patient,
                obj=attendance,
                detail={"status": attendance.status},
            )
            rows.append(attendance)
        count = rules.participant_count(a.status for a in rows)
        meeting.attendance_taken_at = now
        meeting.attendance_taken_by = actor.user
        meeting.save(update_fields=["attendance_taken_at", "attendance_taken_by"])
        GroupNote.objects.filter(meeting=meeting).update(participant_count=count)
        record_for(actor, Action.UPDATE, obj=meeting, detail={"participants": count})
    return rows


def _clean_section(attendance: Attendance, values: dict) -> dict:
    prefix = f"section_{attendance.pk}"
    risk = values.get("risk_level") or RiskLevel.NONE
    if risk not in RiskLevel.values:
        raise InputError(f"{prefix}_risk_level", f"must be one of {', '.join(RiskLevel.values)}")
    return {
        "participation": _text(f"{prefix}_participation", values.get("participation"), TEXT_LIMIT),
        "response": _text(f"{prefix}_response", values.get("response"), TEXT_LIMIT),
        "risk_level": risk,
        "risk_notes": _text(f"{prefix}_risk_notes", values.get("risk_notes"), TEXT_LIMIT),
    }


def _raise_section_alert(actor: Actor, section: MemberSection, meeting: Meeting) -> None:
    severity = RISK_TO_ALERT.get(section.risk_level)
    if severity is None or section.alert_id is not None:
        return
    local = availability.local(meeting.clinic, meeting.start)
    section.alert = raise_alert(
        actor,
        section.patient,
        AlertKind.THERAPY_RISK,
        severity,
        f"{RiskLevel(section.risk_level).label} risk in the group facilitator's assessment of "
        f"{local:%b} {local.day}",
        source=section,
    )
    section.save(update_fields=["alert"])


def save_note(
    actor: Actor,
    meeting: Meeting,
    *,
    topic: str,
    interventions: str,
    sections: dict[str, dict] | None = None,
) -> GroupNote:
    """The draft group note: the shared part and a section for each attendee (``sections``
    maps an attendance id to its participation, response, risk level and risk notes). A
    moderate or high risk raises a safety alert for that member in the same transaction."""
    require(actor, Perm.GROUP_DOCUMENT)
    _same_clinic(actor, meeting)
    if meeting.attendance_taken_at is None:
        raise Conflict("Take the attendance first.", code="no_attendance")
    topic = _text("topic", topic, 300)
    interventions = _text("interventions", interventions, 5000)
    attendees = [a for a in meeting.attendance.select_related("patient") if a.attended]
    cleaned = {str(a.pk): _clean_section(a, (sections or {}).get(str(a.pk), {})) for a in attendees}
    with transaction.atomic():
        Meeting.objects.select_for_update().filter(pk=meeting.pk).get()
        note = _open_note(meeting)
        if note is not None and note.author_id != actor.user.pk:
            raise PermissionDenied("Only the note's author changes or signs it.")
        count = rules.participant_count(a.status for a in meeting.attendance.all())
        if note is None:
            note = GroupNote.objects.create(
                clinic=meeting.clinic,
                meeting=meeting,
                author=actor.user,
                topic=topic,
                interventions=interventions,
                participant_count=count,
            )
            action = Action.CREATE
        else:
            note.topic, note.interventions, note.participant_count = topic, interventions, count
            note.save(update_fields=["topic", "interventions", "participant_count"])
            action = Action.UPDATE
        record_for(actor, action, obj=note, detail={"participants": count})
        # Sections of members no longer counted as attending are left out of the note.
        MemberSection.objects.filter(note=note).exclude(
            attendance__in=[a.pk for a in attendees]
        ).filter(alert__isnull=True).delete()
        for attendance in attendees:
            values = cleaned[str(attendance.pk)]
            section, created = MemberSection.objects.get_or_create(
                attendance=attendance,
                defaults={
                    "clinic": meeting.clinic,
                    "note": note,
                    "patient": attendance.patient,
                    **values,
                },
            )
            changed = []
            if not created:
                changed = [k for k, v in values.items() if getattr(section, k) != v]
                for name in changed:
                    setattr(section, name, values[name])
                if changed:
                    section.save(update_fields=changed)
            if created or changed:
                record_for(
                    actor,
                    Action.CREATE if created else Action.UPDATE,
                    patient=attendance.patient,
                    obj=section,
                    detail={"changed": sorted(values) if created else changed},
                )
            _raise_section_alert(actor, section, meeting)
    return note


def missing_for_signing(note: GroupNote, attendance: list[Attendance], sections) -> list[str]:
    """What the note still needs [R103, R109]: in words, for the facilitator."""
    missing = []
    if not note.topic:
        missing.append("the topic")
    if not note.interventions:
        missing.append("the interventions")
    attendees = [a for a in attendance if a.attended]
    if not attendees:
        missing.append("at least one participant present")
    by_attendance = {s.attendance_id: s for s in sections}
    for a in attendees:
        section = by_attendance.get(a.pk)
        if section is None or not section.participation or not section.response:
            missing.append(f"{a.patient.full_name}'s participation and response")
        elif section.risk_level in RISK_TO_ALERT and not section.risk_notes:
            missing.append(f"what the risk assessment found for {a.patient.full_name}")
    return missing


def sign_note(actor: Actor, note: GroupNote, *, now: datetime | None = None) -> GroupNote:
    """Sign the group note: it never changes after. Each attendee present gets what billing
    needs on their attendance (90853, one unit, the participant count [R103, R104]), and each
    member's appointment is closed: completed for those who came, a no-show for the others."""
    require(actor, Perm.GROUP_DOCUMENT)
    _same_clinic(actor, note)
    now = now or timezone.now()
    with transaction.atomic():
        Meeting.objects.select_for_update().filter(pk=note.meeting_id).get()
        locked = GroupNote.objects.select_related("meeting").get(pk=note.pk)
        if locked.is_signed:
            raise Conflict("The group note is signed: corrections are addenda.", code="signed")
        if locked.author_id != actor.user.pk:
            raise PermissionDenied("Only the note's author changes or signs it.")
        attendance = list(locked.meeting.attendance.select_related("patient"))
        missing = missing_for_signing(locked, attendance, locked.sections.all())
        if missing:
            raise Conflict("Before signing, add " + ", ".join(missing) + ".", code="incomplete")
        count = rules.participant_count(a.status for a in attendance)
        lines = coding.group_codes(attendees=count)
        for a, line in zip([a for a in attendance if a.attended], lines, strict=True):
            a.billing_code, a.billing_units, a.participant_count = line.code, line.units, count
            a.save(update_fields=["billing_code", "billing_units", "participant_count"])
            billing_services.capture_group_attendance(
                actor,
                attendance_id=a.pk,
                patient=a.patient,
                service_date=locked.meeting.day,
                provider=actor.user,
                line=line,
                participant_count=count,
            )
        for a in attendance:
            if not a.attended:
                a.participant_count = count
                a.save(update_fields=["participant_count"])
        locked.participant_count = count
        locked.status = NoteStatus.SIGNED
        locked.signed_at = now
        locked.signed_by = actor.user
        locked.save(update_fields=["participant_count", "status", "signed_at", "signed_by"])
        record_for(
            actor, Action.UPDATE, obj=locked, detail={"status": "signed", "participants": count}
        )
        _close_appointments(actor, locked.meeting, attendance, now)
    return locked


def _close_appointments(actor, meeting: Meeting, attendance: list[Attendance], now) -> None:
    came = {a.enrolment_id: a.attended for a in attendance}
    for row in MeetingBooking.objects.filter(meeting=meeting).select_related("appointment"):
        appointment = row.appointment
        if row.enrolment_id not in came or appointment.status not in (
            AppointmentStatus.BOOKED,
            AppointmentStatus.CONFIRMED,
            AppointmentStatus.CHECKED_IN,
        ):
            continue
        try:
            with transaction.atomic():
                if not came[row.enrolment_id]:
                    booking.set_status(actor, appointment, AppointmentStatus.NO_SHOW, now=now)
                    continue
                if appointment.status != AppointmentStatus.CHECKED_IN:
                    appointment = booking.set_status(
                        actor, appointment, AppointmentStatus.CHECKED_IN, now=now
                    )
                booking.set_status(actor, appointment, AppointmentStatus.COMPLETED, now=now)
        except (Conflict, InputError):
            continue  # the appointment book keeps what it allows; the attendance is the record


def add_addendum(
    actor: Actor, note: GroupNote, *, reason: str, text: str, section: MemberSection | None = None
) -> GroupNoteAddendum:
    """A correction to a signed note: its shared part, or one member's ``section``."""
    require(actor, Perm.GROUP_DOCUMENT)
    _same_clinic(actor, note)
    note = GroupNote.objects.get(pk=note.pk)
    if not note.is_signed:
        raise Conflict("The note is not signed yet: correct the note itself.", code="unsigned")
    if section is not None and section.note_id != note.pk:
        raise Http404("No such record.")
    reason = _text("reason", reason, 200, required=True)
    text = _text("text", text, 5000, required=True)
    with transaction.atomic():
        addendum = GroupNoteAddendum.objects.create(
            clinic=note.clinic,
            note=note,
            section=section,
            author=actor.user,
            reason=reason,
            text=text,
        )
        record_for(
            actor,
            Action.CREATE,
            patient=section.patient if section else None,
            obj=addendum,
            detail={"part": "member" if section else "shared"},
        )
    return addendum


# --- interest from the public page ---------------------------------------------------------------


def submit_interest(
    clinic: Clinic, fields: dict, *, address: str, now: datetime | None = None
) -> GroupInterest:
    """File an interest request from the public page, at most ``REQUESTS_PER_HOUR`` an hour
    per address (the clinic's row is locked while counting, as for assessment requests).
    ``ValidationError`` names each wrong field."""
    from django.core.exceptions import ValidationError

    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    cohort = fields.get("cohort")
    if cohort is not None and (
        cohort.clinic_id != clinic.pk or cohort.cancelled_at is not None or not cohort.listed
    ):
        errors["cohort"] = ["is not one of the clinic's groups open to join"]
    if not fields.get("consent_to_contact"):
        errors["consent_to_contact"] = ["We can only reply if you agree to be contacted."]
    if not (fields.get("phone") or "").strip() and not (fields.get("email") or "").strip():
        errors["phone"] = ["Give a phone number or an e-mail address."]
    try:
        cleaned = normalise_phones(clinic, {"phone": fields.get("phone") or ""})
    except ValidationError as error:
        errors.setdefault("phone", []).extend(error.message_dict.get("phone", []))
        cleaned = {"phone": ""}
    for name, limit in (("given_name", 100), ("family_name", 100)):
        value = " ".join((fields.get(name) or "").split())
        if not value:
            errors.setdefault(name, []).append("This field is required.")
        elif len(value) > limit:
            errors.setdefault(name, []).append(f"Use at most {limit} characters.")
    if len(fields.get("message") or "") > 1000:
        errors.setdefault("message", []).append("Use at most 1,000 characters.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        Clinic.objects.select_for_update(no_key=True).filter(pk=clinic.pk).values_list(
            "pk", flat=True
        ).get()
        key = hashed_sender(address)
        since = now - timedelta(hours=1)
        if (
            GroupInterest.objects.filter(
                clinic=clinic, sender_key=key, submitted_at__gte=since
            ).count()
            >= REQUESTS_PER_HOUR
        ):
            raise TooManyRequests(address)
        interest = GroupInterest(
            clinic=clinic,
            cohort=cohort,
            given_name=" ".join(fields["given_name"].split()),
            family_name=" ".join(fields["family_name"].split()),
            phone=cleaned["phone"],
            email=(fields.get("email") or "").strip(),
            message=(fields.get("message") or "").strip(),
            consent_to_contact=True,
            sender_key=key,
            submitted_at=now,
        )
        interest.full_clean()
        interest.save(force_insert=True)
        record(
            Action.CREATE,
            clinic=clinic,
            obj=interest,
            source_address=address,
            username="(public group interest form)",
        )
    return interest


def open_to_ask(clinic: Clinic) -> QuerySet[Cohort]:
    """The cohorts someone may ask to join, on the public page or in the portal: listed, not
    cancelled, of an active program, and not yet started at the clinic. (Staff may still enrol
    a patient until late joining closes: ``joining_open``.)"""
    return Cohort.objects.filter(
        clinic=clinic,
        listed=True,
        cancelled_at__isnull=True,
        program__is_active=True,
        start_date__gt=clinic.today(),
    )


def ask_to_join(
    patient: Patient,
    cohort: Cohort,
    *,
    username: str,
    source_address: str = "",
    now: datetime | None = None,
) -> GroupInterest:
    """A registered patient asks, from their portal, for a place in ``cohort``: a request staff
    accept (``enrol_from_interest``, which enrols through ``enrol`` and its rules) or decline.
    Refused (``Conflict``, its message for the patient) when the cohort is not open to ask, has
    started, is full, or the patient is in it or has asked already."""
    if cohort.clinic_id != patient.clinic_id:
        raise Http404("No such group.")
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(cohort)
        if not open_to_ask(locked.clinic).filter(pk=locked.pk).exists():
            if locked.cancelled_at is None and locked.start_date <= locked.clinic.today():
                raise Conflict(
                    "This group has started (or starts today), so it can no longer be joined "
                    "here. Ask the clinic about the next one.",
                    code="started",
                )
            raise Conflict("This group is not open to join.", code="not_open")
        if locked.enrolments.filter(patient=patient, status__in=OPEN_ENROLMENT).exists():
            raise Conflict("You are already in this group or on its waitlist.", code="already")
        if GroupInterest.objects.filter(
            cohort=locked, patient=patient, status=InterestStatus.NEW
        ).exists():
            raise Conflict(
                "You have asked to join this group already; the clinic will reply.",
                code="asked",
            )
        if _enrolled(locked) >= locked.capacity:
            raise Conflict(
                "This group is full. Ask the clinic about its waitlist or the next group.",
                code="full",
            )
        interest = GroupInterest.objects.create(
            clinic=locked.clinic,
            cohort=locked,
            patient=patient,
            source=InterestSource.PORTAL,
            given_name=patient.given_name[:100],
            family_name=patient.family_name[:100],
            consent_to_contact=True,
            submitted_at=now,
        )
        record(
            Action.CREATE,
            clinic=locked.clinic,
            patient=patient,
            obj=interest,
            username=username,
            source_address=source_address,
            detail={"source": InterestSource.PORTAL, "cohort": str(locked.pk)},
        )
    return interest


def enrol_from_interest(
    actor: Actor, interest: GroupInterest, patient: Patient, cohort: Cohort
) -> Enrolled:
    """Enrol (or waitlist, when full) the registered patient behind an interest request. A
    request from the portal enrols the patient who asked, and no one else."""
    require(actor, Perm.GROUP_ENROL)
    _same_clinic(actor, interest)
    with transaction.atomic():
        locked = GroupInterest.objects.select_for_update().get(pk=interest.pk)
        if locked.status != InterestStatus.NEW:
            raise Conflict("The request was handled already.", code="handled")
        if locked.source == InterestSource.PORTAL and locked.patient_id != patient.pk:
            raise InputError("patient", "must be the patient who asked from their portal")
        done = enrol(actor, cohort, patient)
        locked.status = InterestStatus.ENROLLED
        locked.patient = patient
        locked.cohort = cohort
        locked.handled_by = actor.user
        locked.save(update_fields=["status", "patient", "cohort", "handled_by"])
        record_for(actor, Action.UPDATE, patient=patient, obj=locked, detail={"status": "enrolled"})
    return done


@transaction.atomic
def decline_interest(actor: Actor, interest: GroupInterest) -> GroupInterest:
    require(actor, Perm.GROUP_ENROL)
    _same_clinic(actor, interest)
    locked = GroupInterest.objects.select_for_update().get(pk=interest.pk)
    if locked.status != InterestStatus.NEW:
        raise Conflict("The request was handled already.", code="handled")
    locked.status = InterestStatus.DECLINED
    locked.handled_by = actor.user
    locked.save(update_fields=["status", "handled_by"])
    record_for(
        actor, Action.UPDATE, patient=locked.patient, obj=locked, detail={"status": "declined"}
    )
    return locked


def members_count(cohorts) -> dict:
    """Enrolled and waitlisted counts for each cohort, by id, in one query."""
    rows = (
        Enrolment.objects.filter(cohort__in=cohorts)
        .values("cohort")
        .annotate(
            enrolled=Count("pk", filter=Q(status=EnrolmentStatus.ENROLLED)),
            waiting=Count("pk", filter=Q(status=EnrolmentStatus.WAITLISTED)),
        )
    )
    return {r["cohort"]: (r["enrolled"], r["waiting"]) for r in rows}
