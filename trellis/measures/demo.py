"""Demo questionnaires for a course: realistic PHQ-9 and GAD-7 trajectories, for the demo
clinic network (``trellis.demo``). Deterministic for a given ``rng``.

Trajectories (PHQ-9; GAD-7 follows at baseline, end and follow-ups):

- ``responding`` — falls by 50-65 % from a baseline of 16-24, not to remission;
- ``remitting`` — falls to 1-4;
- ``non_responding`` — falls by 5-25 %;
- ``item9_alert`` — responding, but the latest PHQ-9 (answered 40 minutes before ``now``
  through the patient's link) has item 9 above 0: one open safety alert.

About a third of the baselines have item 9 at 1; their alert is already acknowledged with an
action note, as a clinic's history would show.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from trellis.measures import services
from trellis.measures.models import EnteredVia, Measure, ScheduledMeasure
from trellis.safety import services as alerts
from trellis.safety.models import SafetyAlert
from trellis.treatments.models import Course

PATTERNS = ("responding", "remitting", "non_responding")
ITEM9_ALERT = "item9_alert"


def add_demo_measures(
    actor,
    course: Course,
    rng: random.Random,
    *,
    pattern: str | None = None,
    today: date | None = None,
    now: datetime | None = None,
) -> list[Measure]:
    """Plan ``course``'s schedule and answer what was due up to ``today`` along a trajectory.

    ``actor`` is a clinician of the course's clinic who may record questionnaires and
    acknowledge alerts (the clinic's prescriber); about half the answers come "from the
    patient's phone" instead. ``pattern`` is one of ``PATTERNS`` or ``"item9_alert"``; None
    picks one of ``PATTERNS`` with ``rng``. A course that already has questionnaires is left
    alone (returns []), so the demo loader stays idempotent.
    """
    if Measure.objects.filter(course=course).exists():
        return []
    clinic = course.clinic
    now = now or timezone.now()
    today = today or timezone.localtime(now, clinic.tzinfo).date()
    pattern = pattern or rng.choice(PATTERNS)
    if pattern not in (*PATTERNS, ITEM9_ALERT):
        raise ValueError(f"unknown demo pattern {pattern!r}")
    services.schedule_course(course)
    due = list(
        ScheduledMeasure.objects.filter(course=course, opens_on__lte=today).order_by(
            "due_on", "instrument"
        )
    )
    phq_slots = [s for s in due if s.instrument == "phq9"]
    if not phq_slots:
        return []
    baseline = {"phq9": rng.randint(16, 24), "gad7": rng.randint(10, 17)}
    final_share = {
        "responding": rng.uniform(0.35, 0.5),
        "item9_alert": rng.uniform(0.4, 0.5),
        "remitting": None,
        "non_responding": rng.uniform(0.75, 0.95),
    }[pattern]
    baseline_item9 = 1 if pattern != ITEM9_ALERT and rng.random() < 0.33 else 0
    measures: list[Measure] = []
    with transaction.atomic():
        answered = [
            (slot, _moment(clinic, slot, today, rng))
            for slot in due
            # A missed questionnaire now and then (never a baseline, end or follow-up).
            if not (slot.occasion in ("before_session", "weekly") and rng.random() < 0.1)
        ]
        # Only what was answered an hour ago or more: the latest lies on the trajectory's end.
        answered = [(slot, at) for slot, at in answered if at <= now - timedelta(hours=1)]
        phq_slots = [slot for slot, _ in answered if slot.instrument == "phq9"] or phq_slots
        last_index = len(phq_slots) - 1
        for slot, observed in answered:
            position = phq_slots.index(slot) if slot in phq_slots else _nearest(phq_slots, slot)
            start = baseline[slot.instrument]
            final = rng.randint(1, 4) if final_share is None else math.floor(start * final_share)
            total = _along(start, final, position / last_index if last_index else 1.0, rng)
            item9 = baseline_item9 if (slot.key, slot.instrument) == ("baseline", "phq9") else 0
            via_link = rng.random() < 0.5
            measures.append(_record(actor, course, slot, total, item9, observed, rng, via_link))
        if pattern == ITEM9_ALERT:
            # Answered on the patient's phone 40 minutes ago: the alert is open and due to
            # escalate in 20 minutes (with the clinic's default of 60).
            total = round(baseline["phq9"] * final_share) + 2
            answered = now - timedelta(minutes=40)
            item9 = rng.choice([1, 2])
            measures.append(_record(actor, course, None, total, item9, answered, rng, True))
        raised = SafetyAlert.objects.filter(
            source_type="measures.measure",
            source_id__in=[str(m.pk) for m in measures],
            status="open",
            created_at__lt=now - timedelta(hours=2),
        )
        for alert in raised:
            alerts.acknowledge_alert(
                actor,
                alert,
                "Phoned the patient the same day: passive thoughts, no plan or intent. Safety "
                "plan reviewed; 988 and the clinic's number given. Continue the course.",
                ["contacted_patient", "risk_assessment", "safety_plan"],
                now=alert.created_at + timedelta(minutes=rng.randint(12, 45)),
            )
    return measures


def _nearest(phq_slots: list[ScheduledMeasure], slot: ScheduledMeasure) -> int:
    """A GAD-7's place on the PHQ-9's time line: the PHQ-9 slot due closest to it."""
    return min(range(len(phq_slots)), key=lambda i: abs((phq_slots[i].due_on - slot.due_on).days))


def _along(start: int, final: int, share: float, rng: random.Random) -> int:
    """Most of the fall early (as with ketamine), a point of noise either way."""
    if share >= 1:
        return final
    eased = (1 - math.exp(-3 * share)) / (1 - math.exp(-3))
    return max(0, round(start - (start - final) * eased) + rng.choice([-1, 0, 0, 1]))


def _moment(clinic, slot: ScheduledMeasure, today: date, rng: random.Random) -> datetime:
    """In the slot's window: baselines a few days before the first session, others on the day."""
    day = min(slot.due_on, today)
    if slot.key == "baseline":
        day = slot.due_on - timedelta(days=rng.randint(1, 6))
    return datetime.combine(
        day, time(rng.randint(8, 11), rng.choice([0, 15, 30, 45])), tzinfo=clinic.tzinfo
    )


def _answers(count: int, total: int, item9: int, rng: random.Random) -> list[int]:
    total = min(total, (count - 1) * 3 + item9 if count == 9 else count * 3)
    answers = [0] * count
    if count == 9:
        answers[8] = item9
    spread = [i for i in range(count) if not (count == 9 and i == 8)]
    remaining = max(total - (item9 if count == 9 else 0), 0)
    while remaining:
        i = rng.choice(spread)
        if answers[i] < 3:
            answers[i] += 1
            remaining -= 1
    return answers


def _record(actor, course, slot, total, item9, observed, rng, via_link: bool) -> Measure:
    code = slot.instrument if slot is not None else "phq9"
    count = 9 if code == "phq9" else 7
    total = min(total, 27 if code == "phq9" else 21)
    answers = _answers(count, total, item9, rng)
    difficulty = rng.choice([0, 1, 1, 2, 2, 3]) if code == "phq9" else None
    if not via_link:
        return services.record_measure(
            actor,
            course.patient,
            code,
            answers,
            difficulty=difficulty,
            observed_at=observed,
            course=course,
            scheduled=slot,
            now=observed + timedelta(minutes=5),
        )
    return services._create_measure(  # as if answered through the patient's link
        patient=course.patient,
        instrument=code,
        answers=answers,
        difficulty=difficulty,
        observed_at=observed,
        course=course,
        entered_via=EnteredVia.PATIENT_LINK,
        recorded_by=None,
        scheduled=slot,
        now=observed,
        source_address="demo-loader",
    )
