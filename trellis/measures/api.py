"""JSON API for questionnaires and course outcomes (DESIGN.md §5); the alerts a questionnaire
raised are listed with it, the alerts themselves are the safety app's API."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from ninja import Field, Router, Schema, Status
from pydantic import AfterValidator, WithJsonSchema

from trellis.accounts.permissions import Perm
from trellis.lib.apidoc import errors
from trellis.lib.errors import InputError
from trellis.lib.schema import DateTime, whole_numbers
from trellis.measures import instruments, selectors, services
from trellis.measures.models import EnteredVia, Measure
from trellis.patients import access
from trellis.safety import selectors as alert_selectors
from trellis.safety.models import SafetyAlert
from trellis.treatments import selectors as treatment_selectors
from trellis.treatments.models import Course

router = Router(tags=["measures"])

InstrumentCode = Literal["phq9", "gad7"]
ANSWER = {"type": "integer", "minimum": 0, "maximum": 3}


class MeasureIn(Schema):
    instrument: InstrumentCode
    # Any JSON values: the scoring names the item that is missing or out of range (422).
    answers: Annotated[
        list[Any],
        Field(max_length=9),
        AfterValidator(whole_numbers),
        WithJsonSchema({"type": "array", "items": ANSWER, "minItems": 7, "maxItems": 9}),
    ] = Field(..., description="9 (PHQ-9) or 7 (GAD-7) answers of 0-3, in order")
    difficulty: Annotated[
        Any, AfterValidator(whole_numbers), WithJsonSchema({"anyOf": [ANSWER, {"type": "null"}]})
    ] = Field(None, description="The difficulty question, 0-3; not scored")
    observed_at: DateTime | None = Field(
        None,
        description="When the patient answered; default now; not in the future nor before the "
        "patient was born; no zone = clinic time",
    )
    course: UUID | None = Field(
        None, description="A course of this patient that the score belongs to"
    )


class AlertBrief(Schema):
    id: UUID
    kind: str
    severity: str


class MeasureOut(Schema):
    id: UUID
    patient: UUID
    instrument: str
    answers: list[int]
    difficulty: int | None
    total: int
    max_total: int
    severity: str
    severity_label: str
    loinc_panel: str
    loinc_total: str
    observed_at: datetime
    course: UUID | None
    entered_via: str
    alerts: list[AlertBrief]


def _measure_out(measure: Measure, raised: list[SafetyAlert]) -> dict:
    definition = measure.definition
    return {
        "id": measure.pk,
        "patient": measure.patient_id,
        "instrument": measure.instrument,
        "answers": measure.answers,
        "difficulty": measure.difficulty,
        "total": measure.total,
        "max_total": definition.max_total,
        "severity": measure.severity,
        "severity_label": measure.get_severity_display(),
        "loinc_panel": definition.loinc_panel,
        "loinc_total": definition.loinc_total,
        "observed_at": measure.observed_at,
        "course": measure.course_id,
        "entered_via": measure.entered_via,
        "alerts": [{"id": a.pk, "kind": a.kind, "severity": a.severity} for a in raised],
    }


@router.post(
    "/patients/{patient_id}/measures",
    response={201: MeasureOut, **errors(403)},
    summary="Record a PHQ-9 or GAD-7; a non-zero PHQ-9 item 9 raises a safety alert",
)
def create_measure(request, patient_id: str, payload: MeasureIn):
    patient = access.patient(request.auth, patient_id, Perm.MEASURE_CHANGE)
    course = None
    if payload.course is not None:
        course = treatment_selectors.patient_course(patient, payload.course)
        if course is None:
            raise InputError("course", "is not a course of this patient")
    measure = services.record_measure(
        request.auth,
        patient,
        payload.instrument,
        payload.answers,
        difficulty=payload.difficulty,
        observed_at=payload.observed_at,
        course=course,
        entered_via=EnteredVia.API,
    )
    return Status(
        201,
        _measure_out(
            measure,
            alert_selectors.alerts_raised_by_each(request.auth, [measure]).get(str(measure.pk), []),
        ),
    )


@router.get(
    "/patients/{patient_id}/measures",
    response={200: list[MeasureOut], **errors(403)},
    summary="A patient's questionnaires, oldest first",
)
def list_measures(request, patient_id: str, instrument: InstrumentCode | None = None):
    patient = access.patient(request.auth, patient_id, Perm.MEASURE_READ)
    measures = selectors.patient_measures(patient, instrument)
    raised = alert_selectors.alerts_raised_by_each(request.auth, measures)
    return [_measure_out(m, raised.get(str(m.pk), [])) for m in measures]


class OutcomeOut(Schema):
    course: UUID
    instrument: str
    baseline: int | None
    latest: int | None
    change: int | None
    change_pct: float | None = Field(
        None, description="The fall as a percentage of baseline (positive = better)"
    )
    response: bool
    remission: bool
    mcid_met: bool
    measurement_count: int
    baseline_at: datetime | None
    latest_at: datetime | None
    thresholds: dict[str, float]


@router.get(
    "/courses/{course_id}/outcome",
    response={200: OutcomeOut, **errors(403)},
    summary="Baseline, latest, change, response and remission from the course's PHQ-9s",
)
def course_outcome(request, course_id: str):
    course = access.load(
        request.auth, Course.objects.select_related("patient"), course_id, Perm.MEASURE_READ
    )
    outcome = services.course_outcome(course)
    return {
        "course": course.pk,
        "instrument": instruments.PHQ9.code,
        "baseline": outcome.baseline,
        "latest": outcome.latest,
        "change": outcome.change,
        "change_pct": outcome.change_pct,
        "response": outcome.response,
        "remission": outcome.remission,
        "mcid_met": outcome.mcid_met,
        "measurement_count": outcome.measurement_count,
        "baseline_at": outcome.baseline_at,
        "latest_at": outcome.latest_at,
        "thresholds": {
            "response_fall_pct": outcome.response_fall_pct,
            "remission_below": outcome.remission_below,
            "mcid_points": outcome.mcid_points,
        },
    }
