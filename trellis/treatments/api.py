"""JSON API for protocols, courses and the two calculators (DESIGN.md §5).

Thin: parse, call one service or pure calculator, shape the answer. Bad input is an
``InputError`` naming the field (422), a clash with the record's state a ``Conflict`` (409).
"""

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from ninja import Field, Router, Schema, Status

from trellis.accounts.permissions import Perm
from trellis.lib.apidoc import errors
from trellis.lib.schema import Date, bounded, number, text
from trellis.patients import access
from trellis.treatments import concomitant, dosing, selectors, services, targeting
from trellis.treatments.models import Course, Session, SessionStatus

router = Router(tags=["treatments"])


# --- Protocols ---------------------------------------------------------------------------------


class ProtocolOut(Schema):
    code: str
    modality: str
    name: str
    sessions: int
    source: str
    description: str
    builtin: bool


@router.get(
    "/protocols",
    response=list[ProtocolOut],
    summary="Protocols a course can start on",
)
def list_protocols(request):
    """The built-in library and your clinic's own protocols (one per code: a clinic's own
    protocol replaces a built-in one with the same code)."""
    return [
        {
            "code": p.code,
            "modality": p.modality,
            "name": p.name,
            "sessions": p.sessions,
            "source": p.source,
            "description": p.description,
            "builtin": p.clinic_id is None,
        }
        for p in services.protocol_library(request.auth.clinic)
    ]


# --- Courses -----------------------------------------------------------------------------------


class CourseIn(Schema):
    protocol: text(60) = Field(
        ..., description="A protocol code from GET /protocols, e.g. tms-10hz"
    )
    start_date: Date = Field(
        ..., description="YYYY-MM-DD, within a year of today", examples=["2026-03-09"]
    )
    override_reason: text(2000, multiline=True) = Field(
        "",
        description="Prescribers only, and only when the screening contraindicates the "
        "modality: why it is overridden",
    )
    payer: text(120) = ""
    authorization_ref: text(60) = ""
    authorized_units: bounded(1, 500, whole=True) | None = None
    concomitant_antidepressant: text(120) = Field(
        "",
        description="Esketamine courses: the oral antidepressant given with it [R95, R23]; "
        "required unless esketamine_monotherapy",
        examples=["Sertraline"],
    )
    concomitant_dose: text(60) = Field("", description="Its dose", examples=["100 mg daily"])
    concomitant_started_on: Date | None = Field(
        None, description="The day it was started, on or before start_date"
    )
    esketamine_monotherapy: bool = Field(
        False,
        description="Esketamine alone: for TRD since 21 January 2025 [R95, R25]; not for MDSI "
        "[R23]",
    )


class SessionOut(Schema):
    id: UUID
    number: int
    planned_date: date = Field(..., description="Clinic-local day; once begun, the day it began")
    planned_time: str | None
    phase: str
    status: Literal[tuple(SessionStatus.values)] = Field(
        ...,
        description="signed is the only delivered status; cancelled, no_show and not_given "
        "are over without treatment and use no authorised session",
    )
    signed: bool
    reason: str = Field(
        "", description="Why it was cancelled, a no-show or not given, or begun off its day"
    )


class CourseOut(Schema):
    id: UUID
    patient: UUID
    modality: str
    protocol: str
    protocol_name: str
    status: str
    start_date: date
    screening: UUID
    override_reason: str | None = Field(
        description="Why a prescriber overrode a contraindication (empty when none was); "
        "null for a role that may not read screenings (front desk)"
    )
    payer: str
    authorization_ref: str
    authorized_units: int | None
    concomitant_antidepressant: str = Field(
        description="Esketamine: the oral antidepressant, its dose and start, in words; "
        '"Monotherapy (no oral antidepressant)"; empty for other modalities'
    )
    delivered: int
    cancelled: int
    no_show: int
    not_given: int
    sessions: list[SessionOut]
    warnings: list[str] = []


def _session_out(session: Session) -> dict:
    return {
        "id": session.id,
        "number": session.number,
        "planned_date": session.planned_date,
        "planned_time": (
            session.planned_time.isoformat(timespec="minutes") if session.planned_time else None
        ),
        "phase": session.phase,
        "status": session.status,
        "signed": session.is_signed,
        "reason": session.closed_reason or session.begin_override_reason,
    }


def _course_out(course: Course, actor) -> dict:
    sessions = selectors.course_sessions(course)
    progress = services.progress(sessions)
    return {
        "id": course.id,
        "patient": course.patient_id,
        "modality": course.modality,
        "protocol": course.protocol.code,
        "protocol_name": course.protocol.name,
        "status": course.status,
        "start_date": course.start_date,
        "screening": course.screening_id,
        # Why a contraindication was overridden is screening content (docs/permissions.md).
        "override_reason": course.override_reason if actor.can(Perm.SCREENING_READ) else None,
        "payer": course.payer,
        "authorization_ref": course.authorization_ref,
        "authorized_units": course.authorized_units,
        "concomitant_antidepressant": course.concomitant_text(),
        "delivered": progress.delivered,
        "cancelled": progress.cancelled,
        "no_show": progress.no_show,
        "not_given": progress.not_given,
        "sessions": [_session_out(s) for s in sessions],
        # Set when the course was just started (services.active_course_warnings).
        "warnings": getattr(course, "warnings", []),
    }


@router.post(
    "/patients/{patient_id}/courses",
    response={201: CourseOut, **errors(403, 409)},
    summary="Start a course from the latest signed screening; 409 without one, when it was "
    "signed before the modality could be screened, or when it contraindicates the modality "
    "and no prescriber override is given",
)
def start_course(request, patient_id: str, payload: CourseIn):
    patient = access.patient(request.auth, patient_id, Perm.COURSE_CHANGE)
    course = services.start_course(
        request.auth,
        patient,
        payload.protocol,
        payload.start_date,
        override_reason=payload.override_reason,
        payer=payload.payer.strip(),
        authorization_ref=payload.authorization_ref.strip(),
        authorized_units=payload.authorized_units,
        with_antidepressant=concomitant.Concomitant(
            monotherapy=payload.esketamine_monotherapy,
            name=payload.concomitant_antidepressant,
            dose=payload.concomitant_dose,
            started_on=payload.concomitant_started_on,
        ),
    )
    return Status(201, _course_out(course, request.auth))


def _load_course(request, course_id: str, perm: Perm) -> Course:
    return access.load(
        request.auth,
        Course.objects.select_related("clinic", "patient", "protocol"),
        course_id,
        perm,
    )


@router.get(
    "/courses/{course_id}",
    response={200: CourseOut, **errors(403)},
    summary="A course with its sessions",
)
def get_course(request, course_id: str):
    return _course_out(_load_course(request, course_id, Perm.COURSE_READ), request.auth)


class ReplanIn(Schema):
    from_date: Date = Field(..., description="YYYY-MM-DD", examples=["2026-03-16"])


@router.post(
    "/courses/{course_id}/replan",
    response={200: CourseOut, **errors(403, 409)},
    summary="Re-plan the remaining planned sessions from a date, keeping their numbers",
)
def replan_course(request, course_id: str, payload: ReplanIn):
    course = _load_course(request, course_id, Perm.COURSE_CHANGE)
    services.replan_course(request.auth, course, payload.from_date)
    return _course_out(course, request.auth)


class StopIn(Schema):
    reason: text(Course._meta.get_field("end_reason").max_length, multiline=True, required=True)


@router.post(
    "/courses/{course_id}/stop",
    response={200: CourseOut, **errors(403, 409)},
    summary="Stop a course with a reason; its untouched planned sessions are cancelled",
)
def stop_course(request, course_id: str, payload: StopIn):
    course = _load_course(request, course_id, Perm.COURSE_CHANGE)
    services.stop_course(request.auth, course, payload.reason)
    return _course_out(course, request.auth)


# --- Calculators -------------------------------------------------------------------------------


def _infusion_input(field: str, description: str):
    low, high = dosing.INPUT_RANGES[field]
    return Annotated[number(float(low), float(high)), Field(description=description)]


class InfusionIn(Schema):
    """The ranges are plausibility limits (outside them the value was mistyped); the rate must
    also be one a pump can run, at most 999 mL/h (dosing.MAX_PUMP_RATE_ML_PER_H)."""

    weight_kg: _infusion_input("weight_kg", "kg")
    dose_mg_per_kg: _infusion_input("dose_mg_per_kg", "mg/kg")
    minutes: _infusion_input("minutes", "min")
    vial_mg_per_ml: _infusion_input("vial_mg_per_ml", "mg/mL")
    diluent_ml: _infusion_input("diluent_ml", "mL")


class InfusionOut(Schema):
    dose_mg: float
    drug_ml: float
    total_ml: float
    bag_mg_per_ml: float
    rate_ml_per_h: float
    warnings: list[str]


@router.post(
    "/calculators/ketamine-infusion",
    response=InfusionOut,
    summary="IV ketamine dose, volumes, bag concentration and pump rate "
    "(Andrade 2017 [R1]; Fava 2018 [R11])",
)
def ketamine_infusion(request, payload: InfusionIn):
    return dosing.calculate_infusion(**payload.model_dump()).as_dict()


def _head_measurement(field: str, description: str):
    low, high = targeting.HEAD_RANGES_CM[field]
    return Annotated[number(low, high), Field(description=description)]


class BeamF3In(Schema):
    tragus_tragus_cm: _head_measurement("tragus_tragus_cm", "cm, ear to ear over the vertex")
    nasion_inion_cm: _head_measurement("nasion_inion_cm", "cm, nasion to inion over the vertex")
    circumference_cm: _head_measurement("circumference_cm", "cm, round the head")


class BeamF3Out(Schema):
    x_cm: float
    y_cm: float


@router.post(
    "/calculators/beam-f3",
    response=BeamF3Out,
    summary="Where to mark F3 for left DLPFC TMS, from three head measurements (Beam 2009 [R44])",
)
def beam_f3(request, payload: BeamF3In):
    return targeting.beam_f3(**payload.model_dump()).as_dict()
