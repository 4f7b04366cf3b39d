"""The aftercare part of the demo: the first IV-ketamine patient's aftercare plan, a coaching
session, and the two check-ins after one of their signed sessions, answered. Once per clinic."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from trellis.accounts.access import Actor
from trellis.accounts.models import Clinic, Membership
from trellis.accounts.permissions import Role
from trellis.aftercare import services
from trellis.aftercare.models import AftercarePlan, CheckIn, CheckInStatus
from trellis.patients.modality import Modality
from trellis.treatments.models import Course

# (hours after the session, mood, sleep, side effects, journal entry shared with the team)
ANSWERS = [
    (24, 6, 1, ["nausea", "dissociation"], "Slept badly but woke up lighter. Walked by the lake."),
    (72, 7, 0, [], ""),
]


def add_aftercare(clinic: Clinic) -> int:
    """The plan and the answered check-ins; how many check-ins were answered."""
    if AftercarePlan.objects.filter(clinic=clinic).exists():
        return 0
    member = (
        Membership.objects.filter(clinic=clinic, role=Role.NURSE).select_related("user").first()
    )
    course = (
        Course.objects.filter(clinic=clinic, modality=Modality.IV_KETAMINE)
        .select_related("patient__clinic")
        .order_by("start_date", "id")
        .first()
    )
    if member is None or course is None:
        return 0
    actor = Actor(member.user, member, "demo-loader")
    patient = course.patient
    today = clinic.today()
    services.save_plan(
        actor,
        patient,
        services.PlanInput(
            course=course,
            check_ins=True,
            journal=True,
            follow_up="external",
            referral_to="Dr. Rosa Okafor, Lakeshore Counselling (integration therapy)",
            referral_date=today - timedelta(days=3),
            referral_status="accepted",
            coaching=True,
            coaching_goals="Walk 20 minutes most days\nBack to part-time work by the end of the "
            "series",
            coaching_sessions_planned=6,
            mindfulness=True,
            mindfulness_resources="10-minute body scan (clinic recording); breathing card",
            group=True,
            group_reference="Integration group, 8 weeks (next cohort)",
        ),
    )
    plan = AftercarePlan.objects.get(patient=patient)
    services.record_coaching_session(
        actor,
        plan,
        held_on=today - timedelta(days=2),
        code="0591T",
        minutes=45,
        progress="Set two goals; walking three days this week.",
    )
    now = timezone.now()
    rows = list(
        CheckIn.objects.filter(
            patient=patient, status=CheckInStatus.PLANNED, due_at__lte=now - timedelta(hours=3)
        ).order_by("-due_at")
    )
    by_session: dict = {}
    for row in rows:
        by_session.setdefault(row.session_id, {})[row.hours_after] = row
    pair = next((pair for pair in by_session.values() if {24, 72} <= set(pair)), None)
    if pair is None:
        return 0
    answered = 0
    for hours, mood, sleep, effects, journal in ANSWERS:
        row = pair[hours]
        sent_at = row.due_at
        with transaction.atomic():
            sent = services.issue_link(row, sent_at)
        token = sent.url.rstrip("/").rsplit("/", 1)[-1]
        services.submit_check_in(
            token,
            mood=mood,
            sleep=sleep,
            side_effects=effects,
            harm_thoughts=False,
            journal_text=journal,
            share_journal=bool(journal),
            source_address="demo-loader",
            now=sent_at + timedelta(hours=2),
        )
        answered += 1
    # What the worker's first pass would do with check-ins long past their link's time.
    window = timedelta(hours=clinic.setting("checkin_link_hours"))
    CheckIn.objects.filter(
        clinic=clinic, status=CheckInStatus.PLANNED, due_at__lt=now - window
    ).update(status=CheckInStatus.MISSED)
    return answered
