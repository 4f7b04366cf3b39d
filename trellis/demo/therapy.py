"""The therapist's part of the demo: progress notes on the first IV-ketamine course's sessions
(ketamine-assisted psychotherapy, support during dosing) and the patient's plan goals. Once per
clinic; a clinic without a therapist gets none. No psychotherapy notes: those are the
therapist's own."""

from __future__ import annotations

from datetime import timedelta

from trellis.accounts.access import Actor
from trellis.accounts.models import Clinic, Membership
from trellis.accounts.permissions import Role
from trellis.patients.modality import Modality
from trellis.therapy import services
from trellis.therapy.models import ProgressNote
from trellis.treatments.models import Course, SessionStatus

NOTES = [
    (
        "Intention for the series: 'to feel less alone with the grief'.",
        "Grounding and breath cues at onset; music set; reassurance at peak dissociation.",
        "Settled within 10 minutes; warmth and memories of her father; calm at emergence.",
        "Integration: journal on the images that came up.",
        "grief, connection",
    ),
    (
        "Returning to the intention; fear of losing control at onset.",
        "Paced breathing; naming sensations; hand on shoulder with consent.",
        "Brief fear at onset, then curious; said she felt 'held'.",
        "Integration: what 'being held' could look like at home.",
        "grief, self-compassion, safety",
    ),
]
GOALS = ["Return to part-time work by the end of the series", "Sleep 7 hours most nights"]


def add_progress_notes(clinic: Clinic) -> int:
    """Signed progress notes on the first IV-ketamine course's signed sessions; their count."""
    if ProgressNote.objects.filter(clinic=clinic).exists():
        return 0
    member = (
        Membership.objects.filter(clinic=clinic, role=Role.THERAPIST)
        .select_related("user", "clinic")
        .first()
    )
    course = (
        Course.objects.filter(clinic=clinic, modality=Modality.IV_KETAMINE)
        .order_by("start_date", "id")
        .first()
    )
    if member is None or course is None:
        return 0
    actor = Actor(member.user, member, "demo-loader")
    signed = course.sessions.filter(status=SessionStatus.SIGNED).order_by("number")
    count = 0
    for session, (focus, interventions, response, plan, themes) in zip(signed, NOTES, strict=False):
        start = session.started_at + timedelta(minutes=5)
        note = services.create_progress_note(
            actor,
            session=session,
            modality="kap",
            phase="dosing",
            started_at=start,
            ended_at=start + timedelta(minutes=42),
            focus=focus,
            interventions=interventions,
            response=response,
            plan=plan,
            risk_level="low",
            risk_notes="Denies suicidal thoughts; protective factors: family, work.",
            themes=themes,
        )
        services.sign_progress_note(actor, note)
        count += 1
    if count:
        for text in GOALS:
            services.add_goal(actor, course.patient, text)
    return count
