"""Reads of plans and relapse flags for pages and the API: the patient page's card, a plan's
calendar (both courses on one grid) and outcome, and the care team's relapse-watch list (audited
as one query, ``audit.selectors.audited_page``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.paginator import Page
from django.db.models import Q

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.selectors import audited_page
from trellis.measures import instruments, outcomes, relapse
from trellis.measures import services as measures
from trellis.measures.models import Measure
from trellis.patients.models import Patient
from trellis.plans import maintenance, sequencing, services
from trellis.plans.models import (
    FlagStatus,
    MaintenancePlan,
    MaintenanceStatus,
    RelapseFlag,
    TreatmentPlan,
)
from trellis.scheduling.models import Appointment
from trellis.scheduling.selectors import wall_clock
from trellis.treatments.models import Course, Session, SessionStatus


def _of_patient(rows, patient: Patient) -> list:
    """``rows`` of one patient's plans, each given the patient and clinic already in hand
    rather than joining them again."""
    rows = list(rows)
    for row in rows:
        row.patient = patient
        row.clinic = patient.clinic
    return rows


def patient_card(actor: Actor, patient: Patient) -> dict:
    """Combined and maintenance plans and the open relapse flag, for the patient's page.

    Registered as a patient-page card (``patients.panels``), which has checked the clinic and
    ``course.read`` and audited the patient; a role without ``measure.read`` (front desk) is not
    shown the relapse flag, which is read from questionnaire totals."""
    # Most patients have no plan: their courses are read only beside a plan there is (a query
    # built with the joins costs two to three times one without, found or not).
    plans = _of_patient(
        TreatmentPlan.objects.filter(patient=patient).prefetch_related(
            "tms_course__protocol", "dose_course__protocol"
        ),
        patient,
    )
    kept = _of_patient(
        MaintenancePlan.objects.filter(patient=patient)
        .prefetch_related("after_course__protocol")
        .order_by("status", "-created_at"),
        patient,
    )
    flag = services.open_flag(patient) if actor.can(Perm.MEASURE_READ) else None
    return {
        "patient": patient,
        "plans": plans,
        "maintenance": [
            services.maintenance_state(m, propose=False)
            for m in kept
            if m.status == MaintenanceStatus.ACTIVE
        ],
        "ended_maintenance": [m for m in kept if m.status != MaintenanceStatus.ACTIVE],
        "flag": flag,
        "flag_rule": relapse.RULES.get(flag.rule) if flag else None,
        "can_change": actor.can(Perm.COURSE_CHANGE),
        "can_review": actor.can(Perm.MEASURE_CHANGE),
    }


# --- A plan's page ---------------------------------------------------------------------------


@dataclass
class Entry:
    session: Session
    modality: str
    code: str  # "K3" / "E3" / "T12": short, with the modality in words beside it
    time: object | None  # clinic-local wall clock when booked
    resource: str
    problem: str = ""


@dataclass
class Day:
    day: date
    in_span: bool
    today: bool
    entries: list[Entry] = field(default_factory=list)


@dataclass
class PlanPage:
    plan: TreatmentPlan
    weeks: list[list[Day]]
    outcome: outcomes.Outcome
    course_outcomes: list[tuple[Course, outcomes.Outcome]]
    problems: dict[str, str]
    counts: dict[str, int]
    rule_text: str


SHORT = {"iv_ketamine": "K", "esketamine": "E", "tms": "T"}


def plan_page(actor: Actor, plan: TreatmentPlan) -> PlanPage:
    """The plan's calendar — both courses' sessions on one grid of weeks, Monday first — its
    outcome and each course's, and what breaks the sequencing rule. The caller loaded ``plan``
    through the access helper (which audited the read)."""
    require(actor, Perm.COURSE_READ)
    clinic = plan.clinic
    sessions = list(
        Session.objects.filter(course_id__in=[plan.dose_course_id, plan.tms_course_id])
        .exclude(status=SessionStatus.CANCELLED)
        .select_related("course")
        .order_by("planned_date", "planned_time", "number")
    )
    booked = {
        a.session_id: a
        for a in Appointment.objects.active()
        .filter(session__in=sessions)
        .select_related("resource")
    }
    dose_slots, tms_slots = services.booked_slots(plan)
    esketamine = plan.dose_course.modality == "esketamine"
    problems = sequencing.problems(
        plan.sequencing, dose_slots, tms_slots, esketamine=esketamine, tz=clinic.tzinfo
    )
    dose_days = {s.planned_date for s in sessions if s.course_id == plan.dose_course_id}
    entries: dict[date, list[Entry]] = {}
    for s in sessions:
        a = booked.get(s.pk)
        label = f"{s.course.get_modality_display()} session {s.number}"
        problem = problems.get(label, "")
        if (
            not problem
            and plan.sequencing == sequencing.SEPARATE_DAYS
            and s.course_id == plan.tms_course_id
            and s.planned_date in dose_days
            and s.status in (SessionStatus.PLANNED, SessionStatus.BOOKED)
        ):
            problem = "on a dose day; this plan keeps TMS on separate days"
            problems[label] = problem
        entries.setdefault(s.planned_date, []).append(
            Entry(
                s,
                s.course.modality,
                f"{SHORT.get(s.course.modality, '?')}{s.number}",
                wall_clock(clinic, a.start) if a else None,
                a.resource.name if a and a.resource_id else "",
                problem,
            )
        )
    today = clinic.today()
    weeks: list[list[Day]] = []
    if sessions:
        first = min(entries)
        last = max(entries)
        start = first - timedelta(days=first.weekday())
        end = last + timedelta(days=6 - last.weekday())
        day = start
        while day <= end:
            week = []
            for _ in range(7):
                week.append(Day(day, first <= day <= last, day == today, entries.get(day, [])))
                day += timedelta(days=1)
            weeks.append(week)
    phq9 = list(
        Measure.objects.filter(
            course_id__in=[plan.dose_course_id, plan.tms_course_id],
            instrument=instruments.PHQ9.code,
        )
    )
    counts = {
        "sessions": len(sessions),
        "booked": sum(1 for s in sessions if s.pk in booked),
        "given": sum(1 for s in sessions if s.is_delivered),
        "planned": sum(1 for s in sessions if s.status == SessionStatus.PLANNED),
    }
    return PlanPage(
        plan=plan,
        weeks=weeks,
        outcome=services.plan_outcome(plan, phq9),
        course_outcomes=[(c, measures.course_outcome(c, phq9)) for c in plan.courses],
        problems=problems,
        counts=counts,
        rule_text=sequencing.RULES[plan.sequencing],
    )


def courses_for_plan(patient: Patient) -> tuple[list[Course], list[Course]]:
    """The patient's active TMS courses and IV ketamine or esketamine courses not yet in a plan."""
    taken = TreatmentPlan.objects.filter(patient=patient)
    used = set(taken.values_list("tms_course_id", flat=True)) | set(
        taken.values_list("dose_course_id", flat=True)
    )
    active = [
        c
        for c in Course.objects.filter(patient=patient, status="active").select_related("protocol")
        if c.pk not in used
    ]
    return (
        [c for c in active if c.modality == "tms"],
        [c for c in active if c.modality in services.DOSE_MODALITIES],
    )


def maintenance_candidates(patient: Patient) -> list[Course]:
    """The patient's courses a maintenance plan may follow: with a session given, of a treatment
    that has a maintenance interval."""
    return list(
        Course.objects.filter(patient=patient, modality__in=list(maintenance.INTERVALS))
        .filter(Q(sessions__status=SessionStatus.SIGNED) | Q(sessions__signed_at__isnull=False))
        .distinct()
        .select_related("protocol")
        .order_by("-start_date")
    )


# --- The relapse watch list ------------------------------------------------------------------


def relapse_watch(actor: Actor, page=1) -> Page:
    """Open relapse flags of the clinic, newest first, each with the maintenance session proposed
    when it was raised (two queries and one audit event, whatever the number of rows)."""
    require(actor, Perm.MEASURE_READ)
    rows = (
        RelapseFlag.objects.filter(clinic=actor.clinic, status=FlagStatus.OPEN)
        .select_related("patient")
        .order_by("-raised_at", "id")
    )
    return audited_page(
        actor, rows, object_type="plans.relapseflag", name="relapse_watch", page=page
    )
