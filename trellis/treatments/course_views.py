"""Pages for treatment courses, the day's sessions and clinic closure days.

Thin views: load through ``access`` (clinic → 404, role → 403, audited read), call one service,
render. The calendar and the day list are arranged here for the page; the rules are in
``services`` and ``schedule``.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import capfirst
from django.views.decorators.http import require_POST

from trellis.accounts.permissions import Perm
from trellis.lib.errors import Conflict, InputError
from trellis.patients import access
from trellis.patients.selectors import draft_screening
from trellis.patients.services import current_screening
from trellis.treatments import concomitant, hooks, selectors, services
from trellis.treatments.course_forms import (
    ClosureForm,
    DayForm,
    HolidayClosureForm,
    RemoveClosureForm,
    ReplanForm,
    StartCourseForm,
    StopCourseForm,
)
from trellis.treatments.models import (
    MODALITY_CHOICES,
    ClosureDay,
    Course,
    CourseStatus,
    Session,
    SessionStatus,
)
from trellis.treatments.views import begin_panel

# --- Starting a course -------------------------------------------------------------------------


@login_required
def course_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.COURSE_CHANGE)
    actor = request.actor
    screening = current_screening(patient)
    protocols = services.protocol_library(actor.clinic)
    form = StartCourseForm(
        request.POST or None, protocols=protocols, today=services.clinic_today(actor.clinic)
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            course = services.start_course(
                actor,
                patient,
                data["protocol"],
                data["start_date"],
                override_reason=data["override_reason"],
                payer=data["payer"].strip(),
                authorization_ref=data["authorization_ref"].strip(),
                authorized_units=data["authorized_units"],
                with_antidepressant=concomitant.Concomitant(
                    monotherapy=data["esketamine_monotherapy"],
                    name=data["concomitant_antidepressant"],
                    dose=data["concomitant_dose"],
                    started_on=data["concomitant_started_on"],
                ),
            )
        except InputError as error:
            form.add_error(
                error.field if error.field in form.fields else None, capfirst(error.message)
            )
        except Conflict as error:
            _conflict_on_form(form, error, actor)
        except PermissionDenied as error:
            form.add_error(None, str(error))
            status = 403
        else:
            messages.success(
                request,
                f"{course.protocol.name} started: {course.sessions.count()} sessions planned.",
            )
            for warning in course.warnings:
                messages.warning(request, warning)
            return redirect("course_detail", course.id)
    can_override = actor.can(Perm.COURSE_OVERRIDE)
    groups = _protocol_groups(protocols, screening, can_override)
    return render(
        request,
        "treatments/course_new.html",
        {
            "patient": patient,
            "screening": screening,
            "draft": draft_screening(patient),
            "form": form,
            "groups": groups,
            "chosen": form["protocol"].value(),
            "can_override": can_override,
            "any_contraindicated": any(g["contraindicated"] for g in groups),
            "can_screen": actor.can(Perm.SCREENING_CHANGE),
            "active_courses": services.active_courses(patient),
        },
        status=status,
    )


def _conflict_on_form(form: StartCourseForm, error: Conflict, actor) -> None:
    if error.code != "contraindicated":
        form.add_error(None, error.message)
    elif actor.can(Perm.COURSE_OVERRIDE):
        form.add_error(
            "override_reason",
            "Required: the signed screening contraindicates this treatment. Say why it is "
            "right for this patient.",
        )
    else:
        form.add_error(
            "protocol",
            "The signed screening contraindicates this treatment; only a prescriber can start "
            "it, with a written reason.",
        )


def _protocol_groups(protocols, screening, can_override: bool) -> list[dict]:
    """Protocols by modality, each group with what the signed screening says about it."""
    groups = []
    for modality, label in MODALITY_CHOICES:
        finding = screening.findings.get(modality, {}) if screening else {}
        contraindicated = finding.get("status") == "contraindicated"
        groups.append(
            {
                "modality": modality,
                "label": label,
                "finding": finding,
                "contraindicated": contraindicated,
                "blocked": contraindicated and not can_override,
                "protocols": [p for p in protocols if p.modality == modality],
            }
        )
    return [g for g in groups if g["protocols"]]


# --- The course page ---------------------------------------------------------------------------


@dataclass
class CalendarRow:
    day: date
    session: Session | None = None
    closure: ClosureDay | None = None
    beyond_authorisation: bool = False


@dataclass
class CalendarWeek:
    number: int
    start: date
    end: date
    rows: list[CalendarRow] = field(default_factory=list)


@login_required
def course_detail(request: HttpRequest, course_id: UUID) -> HttpResponse:
    course = access.load(
        request.actor,
        Course.objects.select_related(
            "clinic", "patient", "protocol", "screening__signed_by", "override_by", "created_by"
        ),
        course_id,
        Perm.COURSE_READ,
    )
    actor = request.actor
    sessions = selectors.course_sessions(course)
    bookings = hooks.session_bookings(sessions)
    for session in sessions:
        session.booking = bookings.get(session.pk)
    today = services.clinic_today(course.clinic)
    closures = _closures_during(course, sessions)
    progress = services.progress(sessions)
    remaining = [s for s in sessions if services.is_replannable(s)]
    can_change = actor.can(Perm.COURSE_CHANGE) and course.status == CourseStatus.ACTIVE
    next_session = next((s for s in sessions if s.is_open), None)
    authorisation = services.authorisation(
        course, used=progress.delivered, planned=progress.going_ahead
    )
    context = {
        "course": course,
        "patient": course.patient,
        "sessions": sessions,
        "weeks": _calendar(sessions, closures, authorisation.authorised),
        "has_times": any(s.planned_time or s.booking for s in sessions),
        "can_book": actor.can(Perm.APPOINTMENT_CHANGE)
        and course.status == CourseStatus.ACTIVE
        and any(s.status == SessionStatus.PLANNED for s in sessions),
        "closed_dates": set(closures),
        "today": today,
        "progress": progress,
        "delivered": progress.delivered,
        "total": progress.total,
        "next_session": next_session,
        "authorisation": authorisation,
        # Other apps' parts of the page (billing's prior authorisation card).
        "course_parts": hooks.course_page_parts(actor, course, today),
        "remaining": remaining,
        "can_change": can_change,
        "can_open_sessions": actor.can(Perm.SESSION_READ),
        "can_read_screening": actor.can(Perm.SCREENING_READ),
    }
    if next_session is not None and course.status == CourseStatus.ACTIVE:
        # The first open session: none before it is open, so only its day can hold it back.
        context["begin"] = begin_panel(actor, next_session, today, waiting_for=None)
    if can_change and remaining:
        earliest, why = services.earliest_replan_date(course, sessions)
        context.update(
            replan_form=ReplanForm(initial={"from_date": earliest}),
            replan_earliest=earliest,
            replan_why=why,
        )
    if can_change:
        context["stop_form"] = StopCourseForm()
    return render(request, "treatments/course_detail.html", context)


def _closures_during(course: Course, sessions: list[Session]) -> dict[date, ClosureDay]:
    if not sessions:
        return {}
    first = min(s.planned_date for s in sessions)
    last = max(s.planned_date for s in sessions)
    rows = ClosureDay.objects.filter(clinic=course.clinic, date__range=(first, last))
    return {closure.date: closure for closure in rows}


def _calendar(
    sessions: list[Session], closures: dict[date, ClosureDay], authorised: int | None
) -> list[CalendarWeek]:
    """Sessions and closure days in treatment weeks: seven-day blocks from the first session
    day, as the protocols count them (schedule.py)."""
    if not sessions:
        return []
    rows = []
    counted = 0
    for session in sessions:
        beyond = False
        if not session.is_undelivered:  # uses (or will use) an authorised session
            counted += 1
            beyond = authorised is not None and counted > authorised
        rows.append(CalendarRow(session.planned_date, session, beyond_authorisation=beyond))
    session_days = {s.planned_date for s in sessions}
    rows += [CalendarRow(day, closure=c) for day, c in closures.items() if day not in session_days]
    rows.sort(key=_row_order)
    first = min(s.planned_date for s in sessions)
    weeks: dict[int, CalendarWeek] = {}
    for row in rows:
        number = (row.day - first).days // 7 + 1
        if number not in weeks:
            start = first + timedelta(weeks=number - 1)
            weeks[number] = CalendarWeek(number, start, start + timedelta(days=6))
        weeks[number].rows.append(row)
    return list(weeks.values())


def _row_order(row: CalendarRow) -> tuple:
    if row.session is None:
        return (row.day, 0, time.min, 0)
    return (row.day, 1, row.session.planned_time or time.min, row.session.number)


@require_POST
@login_required
def course_replan(request: HttpRequest, course_id: UUID) -> HttpResponse:
    course = access.load(
        request.actor,
        Course.objects.select_related("clinic", "patient", "protocol"),
        course_id,
        Perm.COURSE_CHANGE,
    )
    form = ReplanForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Re-plan from: enter a date.")
        return redirect("course_detail", course.id)
    try:
        moved = services.replan_course(request.actor, course, form.cleaned_data["from_date"])
    except InputError as error:
        messages.error(request, f"Re-plan from: {error.message}.")
    except Conflict as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"Re-planned sessions {moved[0].number}–{moved[-1].number}: from "
            f"{moved[0].planned_date:%a %b %-d} to {moved[-1].planned_date:%a %b %-d, %Y}.",
        )
    return redirect("course_detail", course.id)


@require_POST
@login_required
def course_stop(request: HttpRequest, course_id: UUID) -> HttpResponse:
    course = access.load(
        request.actor,
        Course.objects.select_related("clinic", "patient", "protocol"),
        course_id,
        Perm.COURSE_CHANGE,
    )
    form = StopCourseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "To stop a course, say why (up to 200 characters).")
        return redirect("course_detail", course.id)
    try:
        services.stop_course(request.actor, course, form.cleaned_data["reason"])
    except (InputError, Conflict) as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Course stopped; its remaining planned sessions are cancelled.")
    return redirect("course_detail", course.id)


# --- The day's sessions ------------------------------------------------------------------------


@login_required
def sessions_today(request: HttpRequest) -> HttpResponse:
    # The calendar of the day (``course.read``): the front desk sees who comes when; the
    # sessions' documentation stays behind ``session.read`` on their own pages.
    actor = access.require(request.actor, Perm.COURSE_READ)
    today = services.clinic_today(actor.clinic)
    form = DayForm(request.GET, today=today)
    day, date_error = today, ""
    if form.is_valid():
        day = form.cleaned_data["date"]
    else:
        date_error = f"Date: {' '.join(form.errors['date'])}; showing today."
    rows = selectors.sessions_on(actor, day)
    bookings = hooks.session_bookings(rows)
    by_modality = defaultdict(list)
    for session in rows:
        session.booking = bookings.get(session.pk)
        waiting_for = None
        if session.waiting_number is not None:
            waiting_for = Session(
                id=session.waiting_id,
                number=session.waiting_number,
                status=session.waiting_status,
                planned_date=session.waiting_date,
            )
        session.begin = begin_panel(actor, session, today, waiting_for)
        by_modality[session.course.modality].append(session)
    groups = [
        {"modality": modality, "label": label, "sessions": by_modality[modality]}
        for modality, label in MODALITY_CHOICES
        if by_modality[modality]
    ]
    return render(
        request,
        "treatments/today.html",
        {
            "day": day,
            "today": today,
            "groups": groups,
            "count": len(rows),
            "closure": ClosureDay.objects.filter(clinic=actor.clinic, date=day).first(),
            "previous_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
            "date_error": date_error,
        },
    )


# --- Clinic closure days -----------------------------------------------------------------------


@login_required
def closures(request: HttpRequest) -> HttpResponse:
    actor = access.require(request.actor, Perm.CLINIC_CHANGE)
    form = ClosureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            closure = services.add_closure(
                actor, form.cleaned_data["date"], form.cleaned_data["reason"]
            )
        except InputError as error:
            form.add_error(
                error.field if error.field in form.fields else None, capfirst(error.message)
            )
        else:
            _closed(request, closure)
            return redirect("closures")
    today = services.clinic_today(actor.clinic)
    upcoming = list(ClosureDay.objects.filter(clinic=actor.clinic, date__gte=today))
    booked = _planned_on([c.date for c in upcoming], actor.clinic)
    for closure in upcoming:
        closure.planned_sessions = booked.get(closure.date, 0)
    return render(
        request,
        "treatments/closures.html",
        {
            "form": form,
            "closures": upcoming,
            "today": today,
            "holidays": services.holiday_proposals(actor),
        },
    )


def _planned_on(days: list[date], clinic) -> dict[date, int]:
    """How many planned sessions fall on each of ``days`` (a count: no patient is named)."""
    if not days:
        return {}
    rows = (
        Session.objects.filter(clinic=clinic, planned_date__in=days, status=SessionStatus.PLANNED)
        .values("planned_date")
        .annotate(n=Count("pk"))
    )
    return {row["planned_date"]: row["n"] for row in rows}


@require_POST
@login_required
def closure_holiday(request: HttpRequest) -> HttpResponse:
    """One click on a proposed public holiday makes it a closure day."""
    actor = access.require(request.actor, Perm.CLINIC_CHANGE)
    form = HolidayClosureForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Date: enter a date.")
        return redirect("closures")
    try:
        closure = services.add_holiday_closure(actor, form.cleaned_data["date"])
    except InputError as error:
        messages.error(request, f"{error.field.capitalize()}: {error.message}.")
        return redirect("closures")
    _closed(request, closure)
    return redirect("closures")


def _closed(request: HttpRequest, closure: ClosureDay) -> None:
    """Say the clinic is now closed that day, and warn of sessions already planned on it."""
    reason = f" ({closure.reason})" if closure.reason else ""
    messages.success(request, f"The clinic is closed on {closure.date:%A, %B %-d, %Y}{reason}.")
    booked = _planned_on([closure.date], closure.clinic).get(closure.date, 0)
    if booked:
        messages.warning(
            request,
            f"{booked} planned session{'s fall' if booked != 1 else ' falls'} on that day already. "
            "They stay until a clinician re-plans their courses; the course pages mark them.",
        )


@require_POST
@login_required
def closure_remove(request: HttpRequest) -> HttpResponse:
    actor = access.require(request.actor, Perm.CLINIC_CHANGE)
    form = RemoveClosureForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Date: enter a date.")
        return redirect("closures")
    try:
        services.remove_closure(actor, form.cleaned_data["date"])
    except InputError as error:
        messages.error(request, f"{error.field.capitalize()}: {error.message}.")
    else:
        messages.success(
            request, f"The clinic is open again on {form.cleaned_data['date']:%A, %B %-d, %Y}."
        )
    return redirect("closures")
