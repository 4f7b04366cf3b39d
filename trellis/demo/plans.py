"""The demo's plans: one combined TMS + IV ketamine plan booked on one calendar, and one
maintenance plan after an IV induction (with a PHQ-9 that rose, so the relapse watch shows).

Through the same services staff use. Idempotent: a clinic with any combined or maintenance plan
keeps what it has; a clinic without resources or eligible patients gets none.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from trellis.accounts.access import Actor
from trellis.accounts.models import Clinic, Membership
from trellis.accounts.permissions import Role
from trellis.lib.errors import Conflict, InputError
from trellis.measures import relapse
from trellis.measures import services as measures
from trellis.patients.models import Patient
from trellis.plans import services, watch
from trellis.plans.models import MaintenancePlan, TreatmentPlan
from trellis.treatments.models import Course, CourseStatus

# A PHQ-9 whose answers add up to ``total`` (item 9 at 0).
PHQ9_ROWS = [3, 3, 3, 3, 3, 3, 3, 3, 0]


def _actor(clinic: Clinic, role: str) -> Actor | None:
    member = (
        Membership.objects.filter(clinic=clinic, role=role, is_active=True)
        .select_related("user", "clinic")
        .order_by("user__username")
        .first()
    )
    return Actor(member.user, member, "demo-loader") if member else None


def _answers(total: int) -> list[int]:
    answers, left = [], total
    for most in PHQ9_ROWS:
        answers.append(min(most, left))
        left -= answers[-1]
    return answers


def add_plans(clinic: Clinic, today: date | None = None) -> int:
    """A combined plan and a maintenance plan at ``clinic``; returns how many were added."""
    if (
        TreatmentPlan.objects.filter(clinic=clinic).exists()
        or MaintenancePlan.objects.filter(clinic=clinic).exists()
        # Plans come after the demo's courses: a clinic without them yet gets none.
        or not Course.objects.filter(clinic=clinic).exists()
    ):
        return 0
    prescriber = _actor(clinic, Role.PRESCRIBER)
    desk = _actor(clinic, Role.FRONT_DESK) or prescriber
    if prescriber is None:
        return 0
    today = today or clinic.today()
    return _combined(clinic, prescriber, desk, today) + _maintenance(clinic, prescriber, today)


def _combined(clinic: Clinic, prescriber: Actor, desk: Actor, today: date) -> int:
    busy = Course.objects.filter(clinic=clinic, status=CourseStatus.ACTIVE).values("patient_id")
    for patient in Patient.objects.filter(clinic=clinic).exclude(pk__in=busy).order_by("-mrn"):
        screening = patient.screenings.current()
        if not screening or any(
            screening.status(m) not in ("eligible", "caution") for m in ("iv_ketamine", "tms")
        ):
            continue
        start = today + timedelta(days=(7 - today.weekday()) % 7 or 7)  # next Monday
        try:
            plan = services.start_plan(
                prescriber,
                patient,
                tms_protocol="tms-10hz",
                dose_protocol="ketamine-iv-induction",
                start_date=start,
                note="TMS on the days between infusions; escort arranged for infusion days.",
            )
        except (Conflict, InputError):
            continue
        with contextlib.suppress(Conflict, InputError):  # nothing free: it stays planned
            services.book_plan(desk, plan)
        return 1
    return 0


def _maintenance(clinic: Clinic, prescriber: Actor, today: date) -> int:
    """Maintenance after the first IV induction with a response; a PHQ-9 today that meets the
    relapse rule brings its next session forward."""
    for course in (
        Course.objects.filter(
            clinic=clinic, modality="iv_ketamine", protocol__code="ketamine-iv-induction"
        )
        .select_related("patient__clinic")
        .order_by("start_date")
    ):
        try:
            plan = services.start_maintenance(prescriber, course.patient, after_course=course)
        except (Conflict, InputError):
            continue
        _, verdict = watch.verdict_for(course.patient, rule=relapse.DEFAULT_RULE)
        if verdict is not None and not verdict.relapsed and verdict.nadir is not None:
            total = min(27, max(relapse.PHQ9_MODERATE_FROM, verdict.nadir + 5))
            measures.record_measure(
                prescriber,
                course.patient,
                "phq9",
                _answers(total),
                # 09:00 today, or now when the demo is loaded before nine.
                observed_at=min(datetime.combine(today, time(9), clinic.tzinfo), timezone.now()),
            )
        return 1 if plan else 0
    return 0
