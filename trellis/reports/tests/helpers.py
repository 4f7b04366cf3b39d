"""Hand-built courses and questionnaires with known outcomes, written straight to the tables
(the services would refuse the back-dating these need)."""

from datetime import UTC, date, datetime, timedelta

from trellis.measures.models import Measure
from trellis.patients.models import Patient, Screening
from trellis.treatments.models import Course, Protocol

PROTOCOLS = {
    "iv_ketamine": "ketamine-iv-induction",
    "esketamine": "esketamine-trd",
    "tms": "tms-10hz",
}
# A fixed moment the fixtures count from: a Monday in the first quarter of 2026.
T0 = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)


def make_course(
    patient: Patient,
    user,
    *,
    modality: str = "iv_ketamine",
    start: date = date(2026, 1, 5),
    status: str = "completed",
    ended_at: datetime | None = None,
) -> Course:
    """A course; a completed or stopped one ends at ``ended_at`` (default: 2 weeks after T0)."""
    screening = Screening.objects.create(
        clinic=patient.clinic,
        patient=patient,
        created_by=user,
        signed_by=user,
        signed_at=T0 - timedelta(days=10),
        findings={},
    )
    if status != "active" and ended_at is None:
        ended_at = T0 + timedelta(days=14)
    return Course.objects.create(
        clinic=patient.clinic,
        patient=patient,
        protocol=Protocol.objects.get(code=PROTOCOLS[modality], clinic=None),
        modality=modality,
        start_date=start,
        status=status,
        screening=screening,
        created_by=user,
        ended_at=ended_at if status != "active" else None,
    )


def phq9(course: Course, total: int, at: datetime, *, instrument: str = "phq9") -> Measure:
    """A questionnaire for ``course`` with ``total``, answered at ``at``."""
    items = 9 if instrument == "phq9" else 7
    answers = [min(3, max(0, total - 3 * i)) for i in range(items)]
    return Measure.objects.create(
        clinic=course.clinic,
        patient=course.patient,
        course=course,
        instrument=instrument,
        answers=answers,
        total=total,
        severity="moderate",
        suicide_item=0 if instrument == "phq9" else None,
        observed_at=at,
        entered_via="staff",
    )


def trajectory(course: Course, totals: list[int], *, start: datetime = T0, every_days: int = 7):
    """PHQ-9s ``totals`` a week apart from ``start``."""
    return [
        phq9(course, total, start + timedelta(days=every_days * i))
        for i, total in enumerate(totals)
    ]
