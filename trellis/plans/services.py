"""Named operations on combined and maintenance plans. Each runs in one transaction and is audited.

- ``create_plan`` joins a TMS course and an IV ketamine or esketamine course of one patient under
  the clinic's sequencing rule; ``start_plan`` starts both courses and joins them. Under
  "separate days" the TMS sessions planned on a dose day move to the next free day
  (``sequencing.arrange_separate_days``).
- ``propose_plan`` / ``book_plan``: the two courses' sessions proposed and booked together, so
  they never clash and the rule holds (``sequencing.problems``).
- ``start_maintenance``, ``propose_maintenance``, ``book_maintenance``, ``end_maintenance``: a
  maintenance plan after an induction, its next session from the interval, brought forward by an
  open relapse flag (``maintenance.next_due``).
- ``review_flag``: a clinician has seen a relapse flag and says what they did.

Errors: ``InputError`` (422) naming the field, ``Conflict`` (409) with a code, PermissionDenied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.lib.errors import Conflict, InputError
from trellis.measures import instruments, outcomes
from trellis.measures.models import Measure
from trellis.patients.modality import Modality
from trellis.patients.models import Patient
from trellis.plans import maintenance, sequencing
from trellis.plans.models import (
    MAINTENANCE_MODALITIES,
    FlagStatus,
    MaintenanceBooking,
    MaintenancePlan,
    MaintenanceStatus,
    RelapseFlag,
    TreatmentPlan,
)
from trellis.scheduling import availability, kinds
from trellis.scheduling import services as booking
from trellis.scheduling.models import Appointment
from trellis.treatments import concomitant
from trellis.treatments import services as courses
from trellis.treatments.models import (
    OPEN_STATUSES,
    Course,
    CourseStatus,
    Session,
    SessionStatus,
    delivered_q,
)

DOSE_MODALITIES = (Modality.IV_KETAMINE, Modality.ESKETAMINE)
NOTE_MAX = 2000
REASON_MAX = 200

# The appointment kind that gives each maintenance treatment.
KIND_FOR = {modality: kind for kind, modality in kinds.MODALITY.items()}


def sequencing_setting(clinic) -> str:
    """The clinic's ``plan_sequencing`` setting as a rule code (default separate days)."""
    return sequencing.BY_SETTING[int(clinic.setting("plan_sequencing"))]


def _check_note(name: str, value: str, limit: int) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise InputError(name, f"must be at most {limit} characters")
    return value


# --- Combined plans ------------------------------------------------------------------------------


def _check_courses(patient: Patient, tms_course: Course, dose_course: Course) -> None:
    if tms_course.patient_id != patient.pk:
        raise InputError("tms_course", "is not a course of this patient")
    if dose_course.patient_id != patient.pk:
        raise InputError("dose_course", "is not a course of this patient")
    if tms_course.modality != Modality.TMS:
        raise InputError("tms_course", f"is a {tms_course.get_modality_display()} course, not TMS")
    if dose_course.modality not in DOSE_MODALITIES:
        raise InputError(
            "dose_course",
            f"is a {dose_course.get_modality_display()} course; a combined plan pairs TMS with "
            "IV ketamine or esketamine",
        )
    for name, course in (("tms_course", tms_course), ("dose_course", dose_course)):
        if course.status != CourseStatus.ACTIVE:
            raise Conflict(
                f"{name}: the course is {course.get_modality_display()} and "
                f"{course.get_status_display().lower()}; a plan joins active courses.",
                code="course_not_active",
            )
        if TreatmentPlan.objects.filter(Q(tms_course=course) | Q(dose_course=course)).exists():
            raise Conflict(
                f"{name}: this course already belongs to a combined plan.",
                code="course_in_plan",
            )


def _arrange(actor: Actor, plan: TreatmentPlan) -> list[Session]:
    """Under "separate days", move the TMS sessions planned on a dose day (planned or booked
    doses alike) to the next free day; nothing moves under the same-day rule."""
    if plan.sequencing != sequencing.SEPARATE_DAYS:
        return []
    dose_days = set(
        plan.dose_course.sessions.filter(status__in=OPEN_STATUSES).values_list(
            "planned_date", flat=True
        )
    )
    tms = [
        s
        for s in plan.tms_course.sessions.order_by("number")
        if s.status == SessionStatus.PLANNED and courses.is_replannable(s)
    ]
    closed = courses.closed_dates(plan.clinic)
    today = plan.clinic.today()
    try:
        moves = sequencing.arrange_separate_days(
            [(s.number, s.planned_date) for s in tms],
            dose_days,
            is_open=lambda day: day.weekday() < 5 and day not in closed,
            earliest=today,
        )
    except ValueError:
        raise Conflict(
            "No open day without a dose was found within a year for the TMS sessions.",
            code="no_day_free",
        ) from None
    return courses.move_planned_sessions(
        actor, plan.tms_course, moves, why="combined plan: TMS on separate days from doses"
    )


@transaction.atomic
def create_plan(
    actor: Actor,
    patient: Patient,
    *,
    tms_course: Course,
    dose_course: Course,
    rule: str | None = None,
    note: str = "",
) -> TreatmentPlan:
    """Join two active courses of ``patient`` in a combined plan under ``rule`` (the clinic's
    ``plan_sequencing`` setting when None). Under separate days, the TMS sessions planned on a
    dose day move; ``plan.moved`` lists them."""
    require(actor, Perm.COURSE_CHANGE)
    if patient.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    rule = rule or sequencing_setting(actor.clinic)
    if rule not in sequencing.RULES:
        raise InputError("sequencing", f"must be one of {', '.join(sequencing.RULES)}")
    note = _check_note("note", note, NOTE_MAX)
    _check_courses(patient, tms_course, dose_course)
    plan = TreatmentPlan(
        clinic=actor.clinic,
        patient=patient,
        tms_course=tms_course,
        dose_course=dose_course,
        sequencing=rule,
        note=note,
        created_by=actor.user,
    )
    try:
        with transaction.atomic():
            plan.save(force_insert=True)
    except IntegrityError:
        raise Conflict(
            "One of these courses already belongs to a combined plan.", code="course_in_plan"
        ) from None
    plan.moved = _arrange(actor, plan)
    record_for(
        actor,
        Action.CREATE,
        patient=patient,
        obj=plan,
        detail={
            "tms_course": str(tms_course.pk),
            "dose_course": str(dose_course.pk),
            "sequencing": rule,
            "moved": [s.number for s in plan.moved],
        },
    )
    return plan


@transaction.atomic
def start_plan(
    actor: Actor,
    patient: Patient,
    *,
    tms_course: Course | None = None,
    dose_course: Course | None = None,
    tms_protocol: str = "",
    dose_protocol: str = "",
    start_date: date | None = None,
    with_antidepressant: concomitant.Concomitant | None = None,
    rule: str | None = None,
    note: str = "",
) -> TreatmentPlan:
    """A combined plan from an existing course or a new one on each side: a side without a
    course starts one of its protocol on ``start_date`` (``with_antidepressant`` for a new
    esketamine course). All or nothing."""
    require(actor, Perm.COURSE_CHANGE)
    if patient.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    for side, course, code, allowed in (
        ("tms", tms_course, tms_protocol, (Modality.TMS,)),
        ("dose", dose_course, dose_protocol, DOSE_MODALITIES),
    ):
        if course is None:
            if not code:
                raise InputError(f"{side}_protocol", "choose a course or a protocol to start")
            protocol = courses.find_protocol(actor.clinic, code)
            if protocol.modality not in allowed:
                raise InputError(
                    f"{side}_protocol",
                    f"{protocol.name} is not "
                    + ("a TMS protocol" if side == "tms" else "IV ketamine or esketamine"),
                )
            if start_date is None:
                raise InputError("start_date", "give the day the new course starts")
    if dose_course is None:
        try:
            dose_course = courses.start_course(
                actor, patient, dose_protocol, start_date, with_antidepressant=with_antidepressant
            )
        except InputError as error:
            raise InputError(
                "dose_protocol" if error.field == "protocol" else error.field, error.message
            ) from error
    if tms_course is None:
        try:
            tms_course = courses.start_course(actor, patient, tms_protocol, start_date)
        except InputError as error:
            raise InputError(
                "tms_protocol" if error.field == "protocol" else error.field, error.message
            ) from error
    return create_plan(
        actor, patient, tms_course=tms_course, dose_course=dose_course, rule=rule, note=note
    )


def plan_outcome(plan: TreatmentPlan, measures=None) -> outcomes.Outcome:
    """One outcome for the plan: the PHQ-9s of either course, judged by the outcome module as a
    course's are [R4, R52, R59] — baseline the earliest, latest the most recent, inside the
    outcome window after the later course ended (every one while a course is still going)."""
    ids = {plan.tms_course_id, plan.dose_course_id}
    if measures is None:
        measures = Measure.objects.filter(course_id__in=ids, instrument=instruments.PHQ9.code)
    pairs = [
        (m.observed_at, m.total)
        for m in measures
        if m.instrument == instruments.PHQ9.code and m.course_id in ids
    ]
    ends = [plan.tms_course.ended_at, plan.dose_course.ended_at]
    ended_at = None if None in ends else max(ends)
    return outcomes.course_outcome(pairs, ended_at=ended_at)


@dataclass
class PlanProposal:
    dose: list[booking.Proposal]
    tms: list[booking.Proposal]
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def bookable(self) -> list[booking.Proposal]:
        return [p for p in self.dose + self.tms if p.start is not None]


def _label(session: Session) -> str:
    return f"{session.course.get_modality_display()} session {session.number}"


def _slot(clinic, label: str, start: datetime, end: datetime) -> sequencing.Slot:
    return sequencing.Slot(label, availability.clinic_day(clinic, start), start, end)


def booked_slots(plan: TreatmentPlan) -> tuple[list[sequencing.Slot], list[sequencing.Slot]]:
    """The plan's booked dose and TMS appointments as slots."""
    rows = (
        Appointment.objects.active()
        .filter(session__course_id__in=[plan.dose_course_id, plan.tms_course_id])
        .select_related("session__course")
    )
    dose, tms = [], []
    for a in rows:
        slot = _slot(plan.clinic, _label(a.session), a.start, a.end)
        (tms if a.session.course_id == plan.tms_course_id else dose).append(slot)
    return dose, tms


def propose_plan(plan: TreatmentPlan) -> PlanProposal:
    """Free times for the planned sessions of both courses: the doses first, then TMS clear of
    them and of everything the patient has booked, after each dose's discharge on a shared day
    (same-day rule). A TMS session that would break the rule gets no time and says why. Reads
    only."""
    clinic = plan.clinic
    esketamine = plan.dose_course.modality == Modality.ESKETAMINE
    dose = booking.propose_course_slots(plan.dose_course)
    booked_dose, booked_tms = booked_slots(plan)
    dose_slots = booked_dose + [
        _slot(clinic, _label(p.session), p.start, p.start + _minutes(p))
        for p in dose
        if p.start is not None
    ]
    ready = {}
    for slot in dose_slots:
        ready[slot.day] = max(
            ready.get(slot.day, slot.end), sequencing.tms_not_before(slot, esketamine=esketamine)
        )
    tms = booking.propose_course_slots(
        plan.tms_course,
        busy=[(s.start, s.end) for s in dose_slots],
        not_before_on=ready if plan.sequencing == sequencing.SAME_DAY_AFTER_DISCHARGE else None,
    )
    tms_slots = booked_tms + [
        _slot(clinic, _label(p.session), p.start, p.start + _minutes(p))
        for p in tms
        if p.start is not None
    ]
    found = sequencing.problems(
        plan.sequencing, dose_slots, tms_slots, esketamine=esketamine, tz=clinic.tzinfo
    )
    for p in tms:
        why = found.get(_label(p.session))
        if why:
            p.start, p.resource, p.problem = None, None, why
    # Sessions with no time yet but planned on a dose day under "separate days".
    if plan.sequencing == sequencing.SEPARATE_DAYS:
        dose_days = {s.day for s in dose_slots} | {
            p.session.planned_date for p in dose if p.start is None
        }
        for p in tms:
            if p.start is None and not p.problem and p.session.planned_date in dose_days:
                p.problem = "is planned on a dose day; this plan keeps TMS on separate days"
    problems = {_label(p.session): p.problem for p in dose + tms if p.problem}
    for slot in booked_tms:  # booked before the plan, or moved since: said, not changed
        if slot.label in found:
            problems[slot.label] = f"(booked) {found[slot.label]}"
    return PlanProposal(dose, tms, problems)


def _minutes(proposal: booking.Proposal) -> timedelta:
    return timedelta(minutes=proposal.minutes)


@transaction.atomic
def book_plan(actor: Actor, plan: TreatmentPlan) -> tuple[list[Appointment], dict[str, str]]:
    """Book every session of the plan that ``propose_plan`` found a time for, in one transaction
    (all or nothing), and check the booked calendar against the rule once more. Returns the
    appointments and the sessions left unbooked with why."""
    if plan.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    require(actor, Perm.APPOINTMENT_CHANGE)
    proposal = propose_plan(plan)
    if not proposal.bookable:
        raise Conflict(
            "No planned session of the plan could be given a time: "
            + ("; ".join(f"{k} {v}" for k, v in proposal.problems.items()) or "none is left"),
            code="nothing_to_book",
        )
    booked = booking.book_course(actor, plan.dose_course, [p for p in proposal.dose if p.start])
    booked += booking.book_course(actor, plan.tms_course, [p for p in proposal.tms if p.start])
    dose, tms = booked_slots(plan)
    esketamine = plan.dose_course.modality == Modality.ESKETAMINE
    broken = sequencing.problems(
        plan.sequencing, dose, tms, esketamine=esketamine, tz=plan.clinic.tzinfo
    )
    if broken:
        label, why = next(iter(broken.items()))
        raise Conflict(f"{label} {why}.", code="plan_sequencing")
    record_for(
        actor,
        Action.UPDATE,
        patient=plan.patient,
        obj=plan,
        detail={"booked": len(booked), "unbooked": proposal.problems},
    )
    return booked, proposal.problems


# --- Maintenance ---------------------------------------------------------------------------------


@transaction.atomic
def start_maintenance(
    actor: Actor,
    patient: Patient,
    *,
    after_course: Course,
    interval_days: int | None = None,
    note: str = "",
) -> MaintenancePlan:
    """A maintenance plan after ``after_course`` (an induction with at least one session given),
    every ``interval_days`` (the treatment's default when None) [R1, R22, R111, R113]."""
    require(actor, Perm.COURSE_CHANGE)
    if patient.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    if after_course.patient_id != patient.pk:
        raise InputError("after_course", "is not a course of this patient")
    if after_course.modality not in MAINTENANCE_MODALITIES:
        raise InputError(
            "after_course",
            f"is a {after_course.get_modality_display()} course; maintenance is planned after "
            "IV ketamine, esketamine or TMS",
        )
    if not after_course.sessions.filter(delivered_q()).exists():
        raise Conflict(
            "after_course: no session of this course has been given yet; maintenance follows an "
            "induction.",
            code="induction_not_given",
        )
    modality = after_course.modality
    if interval_days is None:
        interval_days = maintenance.INTERVALS[modality].default_days
    interval_days = maintenance.check_interval(modality, interval_days)
    note = _check_note("note", note, NOTE_MAX)
    if MaintenancePlan.objects.filter(
        patient=patient, modality=modality, status=MaintenanceStatus.ACTIVE
    ).exists():
        raise Conflict(
            f"{patient.full_name} already has an active {after_course.get_modality_display()} "
            "maintenance plan; end it first.",
            code="maintenance_active",
        )
    plan = MaintenancePlan(
        clinic=actor.clinic,
        patient=patient,
        after_course=after_course,
        modality=modality,
        interval_days=interval_days,
        note=note,
        created_by=actor.user,
    )
    try:
        with transaction.atomic():
            plan.save(force_insert=True)
    except IntegrityError:
        raise Conflict(
            "An active maintenance plan of this treatment exists.", code="maintenance_active"
        ) from None
    record_for(
        actor,
        Action.CREATE,
        patient=patient,
        obj=plan,
        detail={"after_course": str(after_course.pk), "interval_days": interval_days},
    )
    return plan


@dataclass(frozen=True)
class MaintenanceState:
    """Where a maintenance plan stands: the last session, the next one booked (if any), when the
    next is due, and a free time proposed for it (None when nothing is free or one is booked)."""

    plan: MaintenancePlan
    last: date | None
    upcoming: Appointment | None
    due: maintenance.Due | None
    flag: RelapseFlag | None
    proposal: tuple[datetime, int, object] | None
    # The next session is booked later than it is due, but no earlier time is free (the due day
    # was full, say): it stays where it is.
    booked_earliest: bool = False

    @property
    def needs_booking(self) -> bool:
        return (
            self.due is not None
            and not self.booked_earliest
            and (
                self.upcoming is None
                or availability.clinic_day(self.plan.clinic, self.upcoming.start) > self.due.day
            )
        )

    @property
    def moves_upcoming(self) -> bool:
        """The next session is booked, but later than it is now due (the relapse watch brought
        it forward): booking moves that appointment rather than adding a second one."""
        return self.needs_booking and self.upcoming is not None


def _last_and_upcoming(plan: MaintenancePlan) -> tuple[date | None, Appointment | None]:
    """The day of the last session given (the induction's last, or a maintenance booking whose
    time has begun) and the next booked maintenance appointment still to come. A booking later
    today has not been given: comparing by the moment, not the day, keeps it upcoming."""
    given = (
        Session.objects.filter(course_id=plan.after_course_id)
        .filter(delivered_q())
        .order_by("-planned_date")
        .values_list("planned_date", flat=True)
        .first()
    )
    appointments = list(
        Appointment.objects.active()
        .filter(pk__in=plan.bookings.values("appointment_id"))
        .order_by("start")
    )
    now = timezone.now()
    past = [a.day for a in appointments if a.start <= now]
    upcoming = next((a for a in appointments if a.start > now), None)
    days = [d for d in [given, *past] if d is not None]
    return (max(days) if days else None), upcoming


def open_flag(patient: Patient) -> RelapseFlag | None:
    return RelapseFlag.objects.filter(patient=patient, status=FlagStatus.OPEN).first()


def maintenance_state(plan: MaintenancePlan, *, propose: bool = True) -> MaintenanceState:
    """The plan's last and next sessions, and when the next is due: by the interval, or brought
    forward by an open relapse flag (``maintenance.next_due``)."""
    clinic = plan.clinic
    today = clinic.today()
    last, upcoming = _last_and_upcoming(plan)
    flag = open_flag(plan.patient)
    due = None
    proposal = None
    if plan.status == MaintenanceStatus.ACTIVE and last is not None:
        closed = courses.closed_dates(clinic)
        due = maintenance.next_due(
            plan.modality,
            last=last,
            interval_days=plan.interval_days,
            today=today,
            flagged_on=availability.clinic_day(clinic, flag.raised_at) if flag else None,
            is_open=lambda day: day.weekday() < 5 and day not in closed,
        )
    state = MaintenanceState(plan, last, upcoming, due, flag, None)
    if propose and state.needs_booking:
        proposal = booking.propose_slot(clinic, plan.patient, KIND_FOR[plan.modality], due.day)
        if upcoming is not None and (proposal is None or proposal[0] >= upcoming.start):
            state = MaintenanceState(plan, last, upcoming, due, flag, None, booked_earliest=True)
        else:
            state = MaintenanceState(plan, last, upcoming, due, flag, proposal)
    return state


@transaction.atomic
def book_maintenance(
    actor: Actor, plan: MaintenancePlan, *, start: datetime | None = None, resource=None
) -> MaintenanceBooking:
    """Book the plan's next session: at ``start`` on ``resource``, or at the proposed free time
    when ``start`` is None. When the next session is already booked but later than it is now
    due (brought forward by the relapse watch), that appointment is moved there through the
    appointment book's move, never booked a second time beside it. Refused when the next
    session is already booked in time, or the plan has ended. The appointment book's own rules
    (clashes, one dose a day) apply."""
    if plan.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    require(actor, Perm.APPOINTMENT_CHANGE)
    locked = MaintenancePlan.objects.select_for_update().get(pk=plan.pk)
    if locked.status != MaintenanceStatus.ACTIVE:
        raise Conflict("This maintenance plan has ended.", code="maintenance_ended")
    state = maintenance_state(plan, propose=start is None)
    if state.due is None:
        raise Conflict(
            "No session of the induction has been given, so no maintenance session is due yet.",
            code="nothing_due",
        )
    if not state.needs_booking:
        raise Conflict(
            "The next maintenance session is already booked "
            f"({availability.clinic_day(plan.clinic, state.upcoming.start):%b %-d}).",
            code="already_booked",
        )
    minutes = None
    if start is None:
        if state.proposal is None:
            raise Conflict(
                f"No suitable chair, room or device is free for the patient from "
                f"{state.due.day:%b %-d} for two weeks; choose a time on the calendar.",
                code="no_free_time",
            )
        start, minutes, resource = state.proposal
    if state.moves_upcoming:
        return _move_upcoming(actor, plan, state, start=start, minutes=minutes, resource=resource)
    appointment = booking.book_appointment(
        actor,
        patient=plan.patient,
        kind=KIND_FOR[plan.modality],
        start=start,
        minutes=minutes,
        resource=resource,
    )
    row = MaintenanceBooking.objects.create(
        plan=plan, appointment=appointment, brought_forward=state.due.brought_forward
    )
    record_for(
        actor,
        Action.UPDATE,
        patient=plan.patient,
        obj=plan,
        detail={
            "booked": str(appointment.pk),
            "due": state.due.day.isoformat(),
            "brought_forward": state.due.brought_forward,
        },
    )
    return row


def _move_upcoming(actor, plan, state, *, start, minutes, resource) -> MaintenanceBooking:
    """Bring the booked next session forward to ``start`` (inside the caller's transaction)."""
    appointment = state.upcoming
    moved_from = appointment.start
    booking.move_appointment(actor, appointment, start=start, resource=resource, minutes=minutes)
    row = MaintenanceBooking.objects.select_related("appointment").get(
        plan=plan, appointment=appointment
    )
    row.brought_forward = state.due.brought_forward
    row.save(update_fields=["brought_forward"])
    row.moved_from = moved_from
    record_for(
        actor,
        Action.UPDATE,
        patient=plan.patient,
        obj=plan,
        detail={
            "moved": str(appointment.pk),
            "from": moved_from.isoformat(),
            "due": state.due.day.isoformat(),
            "brought_forward": state.due.brought_forward,
        },
    )
    return row


@transaction.atomic
def end_maintenance(actor: Actor, plan: MaintenancePlan, reason: str) -> MaintenancePlan:
    require(actor, Perm.COURSE_CHANGE)
    if plan.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    reason = _check_note("reason", reason, REASON_MAX)
    if not reason:
        raise InputError("reason", "say why the maintenance plan ends")
    locked = MaintenancePlan.objects.select_for_update().get(pk=plan.pk)
    if locked.status != MaintenanceStatus.ACTIVE:
        raise Conflict("This maintenance plan has already ended.", code="maintenance_ended")
    locked.status = MaintenanceStatus.ENDED
    locked.ended_at = timezone.now()
    locked.end_reason = reason
    locked.save(update_fields=["status", "ended_at", "end_reason"])
    record_for(actor, Action.UPDATE, patient=plan.patient, obj=locked, detail={"ended": reason})
    plan.status, plan.ended_at, plan.end_reason = locked.status, locked.ended_at, reason
    return locked


def proposed_session(patient: Patient, course: Course, flagged_on: date) -> tuple:
    """The maintenance session proposed for a patient flagged on ``flagged_on``: (day or None,
    the active maintenance plan or None, words). With a plan: its next session, brought forward
    (``maintenance_state``). Without: the first open day after the flag, as a maintenance plan of
    the course's treatment at its default interval would have it."""
    plan = (
        MaintenancePlan.objects.filter(patient=patient, status=MaintenanceStatus.ACTIVE)
        .select_related("clinic", "patient")
        .order_by("-created_at")
        .first()
    )
    if plan is not None:
        state = maintenance_state(plan, propose=False)
        if state.upcoming is not None and not state.needs_booking:
            return state.upcoming.day, plan, "maintenance session booked"
        if state.due is not None:
            return state.due.day, plan, state.due.reason
    last = (
        Session.objects.filter(course=course)
        .filter(delivered_q())
        .order_by("-planned_date")
        .values_list("planned_date", flat=True)
        .first()
    )
    if course.modality not in maintenance.INTERVALS or last is None:
        return None, None, "no maintenance plan"
    closed = courses.closed_dates(course.clinic)
    due = maintenance.next_due(
        course.modality,
        last=last,
        interval_days=maintenance.INTERVALS[course.modality].default_days,
        today=course.clinic.today(),
        flagged_on=flagged_on,
        is_open=lambda day: day.weekday() < 5 and day not in closed,
    )
    return due.day, None, "no maintenance plan yet: plan one"


# --- Relapse flags ------------------------------------------------------------------------------


@transaction.atomic
def review_flag(actor: Actor, flag: RelapseFlag, note: str) -> RelapseFlag:
    """A clinician has seen the flag: it leaves the lists, with what they did."""
    if actor is None or not actor.can(Perm.MEASURE_CHANGE):
        raise PermissionDenied("Your role may not review a relapse flag.")
    if flag.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    note = _check_note("note", note, NOTE_MAX)
    if not note:
        raise InputError("note", "say what was done (e.g. maintenance booked, prescriber told)")
    updated = RelapseFlag.objects.filter(pk=flag.pk, status=FlagStatus.OPEN).update(
        status=FlagStatus.REVIEWED,
        reviewed_by=actor.user,
        reviewed_at=timezone.now(),
        review_note=note,
    )
    if not updated:
        raise Conflict("This relapse flag has already been reviewed.", code="flag_reviewed")
    flag.refresh_from_db()
    record_for(actor, Action.UPDATE, patient=flag.patient, obj=flag, detail={"reviewed": note})
    return flag
