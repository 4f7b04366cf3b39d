"""Named operations on courses and sessions. Each runs in one transaction and is audited."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.lib.errors import Conflict, InputError
from trellis.patients.modality import Modality
from trellis.patients.models import Patient
from trellis.patients.services import current_screening
from trellis.treatments import concomitant, hooks, public_holidays, schedule
from trellis.treatments.models import (
    MODALITY_CHOICES,
    ClosureDay,
    Course,
    CourseStatus,
    Protocol,
    Session,
    SessionStatus,
)
from trellis.treatments.protocols import BUILTIN


def protocols_for(clinic) -> list[Protocol]:
    return list(Protocol.objects.filter(Q(clinic__isnull=True) | Q(clinic=clinic), is_active=True))


def find_protocol(clinic, code: str) -> Protocol:
    """The clinic's own protocol with this code, else the built-in one."""
    found = {p.clinic_id is not None: p for p in protocols_for(clinic) if p.code == code}
    protocol = found.get(True) or found.get(False)
    if protocol is None:
        raise InputError("protocol", f"unknown protocol {code!r}")
    return protocol


def closed_dates(clinic) -> set[date]:
    return set(ClosureDay.objects.filter(clinic=clinic).values_list("date", flat=True))


# A course starts within a year from today: a date further out is almost always a typing error.
# It may be entered up to a year after it began (a course documented late, or the demo's
# history); the start page asks for today or later.
START_HORIZON_DAYS = 366


def _check_start_date(start_date: date, today: date) -> None:
    """InputError naming ``start_date`` unless it is within a year of ``today``."""
    if isinstance(start_date, datetime) or not isinstance(start_date, date):
        raise InputError("start_date", "must be a date")
    if start_date > today + timedelta(days=START_HORIZON_DAYS):
        raise InputError("start_date", "must be within a year from today")
    if start_date < today - timedelta(days=START_HORIZON_DAYS):
        raise InputError("start_date", "must be less than a year ago")


def start_course(
    actor,
    patient: Patient,
    protocol_code: str,
    start_date: date,
    *,
    override_reason: str = "",
    payer: str = "",
    authorization_ref: str = "",
    authorized_units: int | None = None,
    with_antidepressant: concomitant.Concomitant | None = None,
) -> Course:
    """Start a course from the patient's current signed screening and plan its sessions.

    An esketamine course records ``with_antidepressant``: the oral antidepressant given with it
    or monotherapy (``concomitant.check``, InputError naming the field) [R95, R25, R23].

    No signed screening: refused. A contraindication: refused unless a prescriber overrides it
    with a written reason, which is kept on the course and in the audit trail. ``start_date``
    must be within a year of today, either way.
    """
    if actor is None or not actor.can(Perm.COURSE_CHANGE):
        raise PermissionDenied("Your role may not start a course.")
    if patient.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    _check_start_date(start_date, clinic_today(actor.clinic))
    protocol = find_protocol(actor.clinic, protocol_code)
    given = concomitant.check(
        with_antidepressant or concomitant.Concomitant(),
        esketamine=protocol.modality == Modality.ESKETAMINE,
        indication=protocol.defaults.get("indication", concomitant.TRD),
        start_date=start_date,
    )
    override_reason = override_reason.strip()
    with transaction.atomic():
        screening = current_screening(patient)
        if screening is None:
            raise Conflict(
                "There is no signed screening for this patient; a prescriber must "
                "sign one before a course can start.",
                code="no_signed_screening",
            )
        if protocol.modality not in screening.findings:
            raise Conflict(
                f"The signed screening predates {protocol.get_modality_display()} in Trellis and "
                "did not decide it; a prescriber must sign a new screening first.",
                code="screening_without_modality",
            )
        contraindicated = screening.status(protocol.modality) == "contraindicated"
        if contraindicated:
            if not override_reason:
                raise Conflict(
                    f"The signed screening contraindicates {protocol.get_modality_display()}; "
                    "a prescriber may override it with a written reason (override_reason).",
                    code="contraindicated",
                )
            if not actor.can(Perm.COURSE_OVERRIDE):
                raise PermissionDenied("Only a prescriber may override a contraindication.")
        elif override_reason:
            raise InputError("override_reason", "is only for overriding a contraindication")
        course = Course(
            clinic=actor.clinic,
            patient=patient,
            protocol=protocol,
            modality=protocol.modality,
            start_date=start_date,
            screening=screening,
            created_by=actor.user,
            override_reason=override_reason if contraindicated else "",
            override_by=actor.user if contraindicated else None,
            payer=payer,
            authorization_ref=authorization_ref,
            authorized_units=authorized_units,
            concomitant_antidepressant=given.name,
            concomitant_dose=given.dose,
            concomitant_started_on=given.started_on,
            esketamine_monotherapy=given.monotherapy,
        )
        course.full_clean()
        course.save(force_insert=True)
        planned = schedule.plan_sessions(protocol.schedule, start_date, closed_dates(actor.clinic))
        Session.objects.bulk_create(
            Session(
                clinic=actor.clinic,
                patient=patient,
                course=course,
                number=p.number,
                planned_date=p.planned_date,
                planned_time=p.planned_time,
                phase=p.phase,
            )
            for p in planned
        )
        hooks.course_planned(course)
        course.warnings = active_course_warnings(patient, protocol.modality, exclude=course)
        detail = {"protocol": protocol.code, "sessions": len(planned)}
        if given.given:
            detail["concomitant"] = course.concomitant_text()
        if course.warnings:
            detail["warnings"] = course.warnings
        if contraindicated:
            detail["override_reason"] = override_reason
        record_for(actor, Action.CREATE, patient=patient, obj=course, detail=detail)
    return course


def active_courses(patient: Patient, *, exclude: Course | None = None) -> list[Course]:
    courses = Course.objects.filter(patient=patient, status=CourseStatus.ACTIVE)
    if exclude is not None:
        courses = courses.exclude(pk=exclude.pk)
    return list(courses.select_related("protocol").order_by("start_date"))


def active_course_warnings(
    patient: Patient, modality: str, *, exclude: Course | None = None
) -> list[str]:
    """A course of ``modality`` would run alongside an active course of another modality:
    say what is already active. Not refused — combined plans exist — but their order and
    spacing are practice, not evidence (DOMAIN.md §10 [R94])."""
    return [
        f"{patient.full_name} already has an active {course.get_modality_display()} course "
        f"({course.protocol.name}, from {course.start_date:%b %-d, %Y}). Check that the two "
        "are meant to run together: combining them is practice, not evidence [R94]."
        for course in active_courses(patient, exclude=exclude)
        if course.modality != modality
    ]


# --- Progress, re-planning and stopping a course -------------------------------------------------


# Delivered and undelivered sessions: ``treatments.models.delivered_q``/``undelivered_q``
# (``Session.objects.delivered()``, ``session.is_delivered``); sessions still open (planned,
# booked, in progress) are what is left of the plan.

# Ketamine and esketamine are never planned on consecutive days (schedule.py's spacing rule);
# TMS at most once a day, so a re-plan starts at least this many days after the last session kept.
_MIN_GAP_DAYS = {Modality.IV_KETAMINE: 2, Modality.ESKETAMINE: 2, Modality.TMS: 1}


def is_replannable(session: Session) -> bool:
    """Planned and untouched: not started, not documented, not signed, not cancelled."""
    return (
        session.status == SessionStatus.PLANNED
        and session.started_at is None
        and session.signed_at is None
    )


@dataclass(frozen=True)
class Progress:
    """A course's sessions counted once, for the course page, the patient page and the API.

    ``delivered``: signed. ``cancelled``, ``no_show``, ``not_given``: over without treatment.
    ``going_ahead``: delivered or still open, the sessions the payer's authorisation is
    measured against (``authorisation(planned=...)``).
    """

    total: int
    delivered: int
    cancelled: int
    no_show: int
    not_given: int

    @property
    def undelivered(self) -> int:
        return self.cancelled + self.no_show + self.not_given

    @property
    def going_ahead(self) -> int:
        return self.total - self.undelivered

    @property
    def open(self) -> int:
        return self.going_ahead - self.delivered


def progress(sessions) -> Progress:
    """``Progress`` of a course's sessions already in memory."""
    sessions = list(sessions)
    statuses = [s.status for s in sessions]
    return Progress(
        total=len(sessions),
        delivered=sum(1 for s in sessions if s.is_delivered),
        cancelled=statuses.count(SessionStatus.CANCELLED),
        no_show=statuses.count(SessionStatus.NO_SHOW),
        not_given=statuses.count(SessionStatus.NOT_GIVEN),
    )


def clinic_today(clinic) -> date:
    return clinic.today()


def protocol_library(clinic) -> list[Protocol]:
    """The protocols a course can start on, one per code as ``find_protocol`` picks them (the
    clinic's own before a built-in one of the same code): by modality, in the library's order
    (induction before maintenance, 10 Hz before iTBS), then the clinic's others by name."""
    chosen: dict[str, Protocol] = {}
    for protocol in protocols_for(clinic):
        if protocol.code not in chosen or protocol.clinic_id is not None:
            chosen[protocol.code] = protocol
    modalities = {code: index for index, (code, _label) in enumerate(MODALITY_CHOICES)}
    library = {spec["code"]: index for index, spec in enumerate(BUILTIN)}
    return sorted(
        chosen.values(),
        key=lambda p: (modalities.get(p.modality, 99), library.get(p.code, 99), p.name),
    )


def earliest_replan_date(course: Course, sessions: list[Session]) -> tuple[date, str]:
    """The first day the course's remaining sessions may be re-planned from, and why.

    Not before today, and not before the spacing rule allows after the last session that stays
    where it is (started, documented or signed): 2 days for ketamine and esketamine, which are
    never on consecutive days, 1 day for TMS.
    """
    today = clinic_today(course.clinic)
    kept = [s for s in sessions if not is_replannable(s) and not s.is_undelivered]
    if kept:
        last = max(kept, key=lambda s: (s.planned_date, s.number))
        after = last.planned_date + timedelta(days=_MIN_GAP_DAYS.get(course.modality, 1))
        if after > today:
            return after, f"session {last.number} is on {last.planned_date.isoformat()}"
    return today, "a course cannot be re-planned into the past"


@dataclass(frozen=True)
class Authorisation:
    """The payer's authorised sessions against those delivered, and how worried to be.

    ``level`` is ``none`` (nothing authorised to track), ``ok``, ``low`` (the clinic's warning
    threshold or fewer remain), ``used_up`` (none remain) or ``exceeded`` (more delivered than
    authorised). ``low`` and ``used_up`` need sessions still to come: a course whose sessions
    are all delivered or over without treatment has nothing left to authorise.
    """

    authorised: int | None
    used: int
    planned: int
    warn_remaining: int

    @property
    def remaining(self) -> int | None:
        return None if self.authorised is None else self.authorised - self.used

    @property
    def level(self) -> str:
        if self.authorised is None:
            return "none"
        if self.used > self.authorised:
            return "exceeded"
        if self.planned <= self.used:
            return "ok"  # nothing more is to come on this course
        if self.remaining == 0:
            return "used_up"
        if self.remaining <= self.warn_remaining:
            return "low"
        return "ok"

    @property
    def plan_exceeds(self) -> bool:
        """The calendar plans more sessions than the payer authorised."""
        return self.authorised is not None and self.planned > self.authorised


_FROM_HOOKS = object()


def authorisation(
    course: Course, *, used: int, planned: int, authorised=_FROM_HOOKS
) -> Authorisation:
    """``used``: sessions delivered; ``planned``: sessions going ahead (``Progress.going_ahead``:
    the calendar without its cancelled, no-show and not-given sessions). ``authorised``: the
    sessions the payer authorised, by default from the prior authorisations (``hooks``), else
    the course's own figure."""
    if authorised is _FROM_HOOKS:
        authorised = authorised_units([course]).get(course.pk)
    return Authorisation(
        authorised=authorised,
        used=used,
        planned=planned,
        warn_remaining=int(course.clinic.setting("authorization_warn_remaining")),
    )


# A re-plan starts within a year from today; a date further out is almost always a typing error.
REPLAN_HORIZON_DAYS = 366


def replan_course(actor, course: Course, from_date: date) -> list[Session]:
    """Move the course's remaining planned sessions to a calendar that starts on ``from_date``.

    Only sessions that are planned and untouched move (see ``is_replannable``); they keep their
    numbers and phases. The first of them goes on ``from_date`` (or the first open day after it,
    skipping weekends and closure days) and the rest follow the protocol's rhythm from there: the
    protocol's calendar is laid out as if the course had started on the day that puts that
    session on ``from_date``, so a TMS course half-way through its daily weeks carries on daily
    and then tapers 3-2-1. When session 1 moves too (nothing has happened yet), the course's
    start date becomes ``from_date``. ``from_date`` may not be in the past, nor more than a year
    ahead, nor before the spacing rule allows after the last session that is kept (2 days for
    ketamine and esketamine, 1 for TMS). Returns the moved sessions.
    """
    if actor is None or not actor.can(Perm.COURSE_CHANGE):
        raise PermissionDenied("Your role may not re-plan a course.")
    if course.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    if isinstance(from_date, datetime) or not isinstance(from_date, date):
        raise InputError("from_date", "must be a date")
    if from_date > clinic_today(course.clinic) + timedelta(days=REPLAN_HORIZON_DAYS):
        raise InputError("from_date", "must be within a year from today")
    with transaction.atomic():
        locked = Course.objects.select_for_update().get(pk=course.pk)
        if locked.status != CourseStatus.ACTIVE:
            raise Conflict(
                f"This course is {locked.get_status_display().lower()}; only an active course "
                "can be re-planned.",
                code="course_not_active",
            )
        sessions = list(
            Session.objects.select_for_update().filter(course=course).order_by("number")
        )
        remaining = [s for s in sessions if is_replannable(s)]
        if not remaining:
            raise Conflict("No planned sessions are left to re-plan.", code="nothing_to_replan")
        earliest, why = earliest_replan_date(course, sessions)
        if from_date < earliest:
            raise InputError("from_date", f"must be {earliest.isoformat()} or later: {why}")
        plan = _continued_plan(
            course.protocol.schedule, remaining[0].number, from_date, closed_dates(course.clinic)
        )
        if remaining[-1].number not in plan:
            raise Conflict(
                f"The {course.protocol.name} calendar has no session {remaining[-1].number}; "
                "this course cannot be re-planned automatically.",
                code="cannot_replan",
            )
        moves = []
        for session in remaining:
            planned = plan[session.number]
            moves.append(
                {
                    "number": session.number,
                    "from": session.planned_date.isoformat(),
                    "to": planned.planned_date.isoformat(),
                }
            )
            session.planned_date = planned.planned_date
            session.planned_time = planned.planned_time
        Session.objects.bulk_update(remaining, ["planned_date", "planned_time"])
        hooks.course_planned(course)
        detail = {"replanned_from": from_date.isoformat(), "sessions": moves}
        if remaining[0].number == 1 and course.start_date != from_date:
            # Nothing has happened yet: the course now starts on the new date.
            detail["start_date"] = {
                "from": course.start_date.isoformat(),
                "to": from_date.isoformat(),
            }
            course.start_date = from_date
            course.save(update_fields=["start_date"])
        record_for(actor, Action.UPDATE, patient=course.patient, obj=course, detail=detail)
    return remaining


def _continued_plan(
    schedule_code: str, first_number: int, from_date: date, closed: set[date]
) -> dict[int, schedule.PlannedSession]:
    """The protocol's calendar in which session ``first_number`` is on the first open day on or
    after ``from_date``, keyed by session number.

    ``schedule.plan_sessions`` lays a whole course out from its start date, so this looks for the
    start date that puts session ``first_number`` there, trying each day back from it. Where
    closures make that day unreachable it takes the plan that puts the session soonest after.
    """
    target = from_date
    while target.weekday() >= 5 or target in closed:  # Saturday, Sunday or a closure day
        target += timedelta(days=1)
        if (target - from_date).days > schedule.SEARCH_LIMIT_DAYS:
            raise InputError("from_date", "leaves no open weekday within a year")
    index = first_number - 1
    straight = schedule.plan_sessions(schedule_code, target, closed)
    if index >= len(straight):
        return {}
    lead = (straight[index].planned_date - target).days
    best: list[schedule.PlannedSession] = straight
    for back in range(1, lead + 15):
        plan = schedule.plan_sessions(schedule_code, target - timedelta(days=back), closed)
        day = plan[index].planned_date
        if day == target:
            best = plan
            break
        if target < day < best[index].planned_date:
            best = plan
    return {p.number: p for p in best[index:]}


def stop_course(actor, course: Course, reason: str) -> Course:
    """Stop an active course early, with the reason; its untouched planned sessions are
    cancelled (sessions already started or signed stay as they are)."""
    if actor is None or not actor.can(Perm.COURSE_CHANGE):
        raise PermissionDenied("Your role may not stop a course.")
    if course.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    reason = (reason or "").strip()
    if not reason:
        raise InputError("reason", "say why the course is stopping")
    limit = Course._meta.get_field("end_reason").max_length
    if len(reason) > limit:
        raise InputError("reason", f"must be at most {limit} characters")
    with transaction.atomic():
        locked = Course.objects.select_for_update().get(pk=course.pk)
        if locked.status != CourseStatus.ACTIVE:
            raise Conflict(
                f"This course is already {locked.get_status_display().lower()}.",
                code="course_not_active",
            )
        course.status = CourseStatus.STOPPED
        course.ended_at = timezone.now()
        course.end_reason = reason
        course.save(update_fields=["status", "ended_at", "end_reason"])
        cancelled = [s for s in Session.objects.filter(course=course) if is_replannable(s)]
        for session in cancelled:
            session.status = SessionStatus.CANCELLED
            session.closed_reason = f"Course stopped: {reason}"
            session.closed_by = actor.user
            session.closed_at = course.ended_at
        Session.objects.bulk_update(
            cancelled, ["status", "closed_reason", "closed_by", "closed_at"]
        )
        hooks.course_planned(course)
        record_for(
            actor,
            Action.UPDATE,
            patient=course.patient,
            obj=course,
            detail={
                "status": CourseStatus.STOPPED,
                "reason": reason,
                "cancelled_sessions": [s.number for s in cancelled],
            },
        )
    return course


# --- Clinic closure days -------------------------------------------------------------------------

# How far ahead a closure may be entered: far enough for next year's holidays.
CLOSURE_HORIZON_DAYS = 2 * 366


def add_closure(actor, day: date, reason: str = "") -> ClosureDay:
    """Close the clinic on ``day`` (today or later). Planning skips it from now on; sessions
    already planned on it stay where they are until their course is re-planned."""
    if actor is None or not actor.can(Perm.CLINIC_CHANGE):
        raise PermissionDenied("Only a clinic administrator may change closure days.")
    if isinstance(day, datetime) or not isinstance(day, date):
        raise InputError("date", "must be a date")
    today = clinic_today(actor.clinic)
    if day < today:
        raise InputError("date", "is in the past; closures are for today or later")
    if (day - today).days > CLOSURE_HORIZON_DAYS:
        raise InputError("date", "is more than two years ahead")
    reason = (reason or "").strip()
    limit = ClosureDay._meta.get_field("reason").max_length
    if len(reason) > limit:
        raise InputError("reason", f"must be at most {limit} characters")
    with transaction.atomic():
        existing = ClosureDay.objects.filter(clinic=actor.clinic, date=day).first()
        if existing is not None:
            raise InputError(
                "date",
                f"is already a closure day{f' ({existing.reason})' if existing.reason else ''}",
            )
        try:
            with transaction.atomic():
                closure = ClosureDay.objects.create(clinic=actor.clinic, date=day, reason=reason)
        except IntegrityError:  # entered a moment ago, by another request
            raise InputError("date", "is already a closure day") from None
        record_for(
            actor,
            Action.CREATE,
            obj=closure,
            object_id=day.isoformat(),
            detail={"date": day.isoformat(), "reason": reason},
        )
    return closure


def holiday_proposals(actor) -> list[public_holidays.Holiday]:
    """The coming year's public holidays where the clinic is, on weekdays, that are not
    closure days yet: proposed on the closures page, never added without an administrator."""
    if actor is None or not actor.can(Perm.CLINIC_CHANGE):
        raise PermissionDenied("Only a clinic administrator may change closure days.")
    clinic = actor.clinic
    today = clinic_today(clinic)
    closed = set(
        ClosureDay.objects.filter(clinic=clinic, date__gte=today).values_list("date", flat=True)
    )
    return public_holidays.proposals(clinic.country, clinic.subdivision, today, closed)


def add_holiday_closure(actor, day: date) -> ClosureDay:
    """Accept the proposed public holiday on ``day``: ``add_closure`` with the holiday's name
    as the reason. A day that is not among the proposals is refused by name."""
    holiday = next((h for h in holiday_proposals(actor) if h.date == day), None)
    if holiday is None:
        raise InputError("date", "is not a proposed public holiday of the coming year")
    limit = ClosureDay._meta.get_field("reason").max_length
    return add_closure(actor, day, holiday.name[:limit])


def remove_closure(actor, day: date) -> None:
    """Open the clinic again on a closure day that is today or later; past closures stay."""
    if actor is None or not actor.can(Perm.CLINIC_CHANGE):
        raise PermissionDenied("Only a clinic administrator may change closure days.")
    if isinstance(day, datetime) or not isinstance(day, date):
        raise InputError("date", "must be a date")
    if day < clinic_today(actor.clinic):
        raise InputError("date", "is in the past; past closures stay on record")
    with transaction.atomic():
        closure = ClosureDay.objects.filter(clinic=actor.clinic, date=day).first()
        if closure is None:
            raise InputError("date", "is not a closure day")
        detail = {"date": day.isoformat(), "reason": closure.reason}
        closure.delete()
        record_for(
            actor,
            Action.DELETE,
            object_type="treatments.closureday",
            object_id=day.isoformat(),
            detail=detail,
        )


def authorised_units(courses) -> dict:
    """The payer-authorised sessions of ``courses`` by course id: from the prior authorisations
    when an app provides them (``hooks.on_authorised_units``), else each course's own figure."""
    found = hooks.authorised_units(courses)
    if found is None:
        return {course.pk: course.authorized_units for course in courses}
    return found


def move_planned_sessions(
    actor, course: Course, dates: dict[int, date], *, why: str
) -> list[Session]:
    """Give some of the course's planned, untouched sessions new days, ``{number: date}`` — as a
    combined plan does to keep TMS off the days of ketamine doses — keeping the sessions in
    number order. Each day must be today or later. Audited with ``why``; the course's
    questionnaires are planned again (``hooks.course_planned``). Returns the moved sessions."""
    if actor is None or not actor.can(Perm.COURSE_CHANGE):
        raise PermissionDenied("Your role may not re-plan a course.")
    if course.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    if not dates:
        return []
    today = clinic_today(course.clinic)
    with transaction.atomic():
        locked = Course.objects.select_for_update().get(pk=course.pk)
        if locked.status != CourseStatus.ACTIVE:
            raise Conflict(
                f"This course is {locked.get_status_display().lower()}; only an active course "
                "can be re-planned.",
                code="course_not_active",
            )
        sessions = list(
            Session.objects.select_for_update().filter(course=course).order_by("number")
        )
        by_number = {s.number: s for s in sessions}
        moved = []
        for number, day in sorted(dates.items()):
            session = by_number.get(number)
            if session is None or not is_replannable(session):
                raise InputError(f"sessions.{number}", "is not a planned session left to move")
            if day < today:
                raise InputError(f"sessions.{number}.planned_date", "must be today or later")
            moves = {"number": number, "from": session.planned_date.isoformat()}
            session.planned_date = day
            moves["to"] = day.isoformat()
            moved.append((session, moves))
        days = [s.planned_date for s in sessions]
        if days != sorted(days):
            raise InputError("sessions", "the new days would put the sessions out of order")
        Session.objects.bulk_update([s for s, _ in moved], ["planned_date"])
        hooks.course_planned(course)
        record_for(
            actor,
            Action.UPDATE,
            patient=course.patient,
            obj=course,
            detail={"moved": [m for _, m in moved], "why": why},
        )
    return [s for s, _ in moved]
