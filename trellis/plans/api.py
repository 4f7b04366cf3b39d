"""JSON API for combined plans and maintenance plans (DESIGN.md §5 conventions).

Thin: parse, call one service, shape the answer. Bad input is an ``InputError`` naming the field
(422), a clash with the record's state a ``Conflict`` (409, with a code), another clinic's record
404, a role without the right 403.
"""

from datetime import date
from typing import Literal
from uuid import UUID

from ninja import Field, Router, Schema, Status

from trellis.accounts.permissions import Perm
from trellis.lib.apidoc import errors
from trellis.lib.errors import InputError
from trellis.lib.schema import Date, DateTime, bounded, text
from trellis.measures import outcomes
from trellis.patients import access
from trellis.plans import maintenance, selectors, services
from trellis.plans.models import MaintenancePlan, TreatmentPlan
from trellis.plans.sequencing import RULES
from trellis.scheduling.api import AppointmentOut, _resource
from trellis.scheduling.api import _out as appointment_out
from trellis.treatments import concomitant
from trellis.treatments.models import Course

router = Router(tags=["plans"])
SEQUENCING_RULES = tuple(RULES)


class PlanOutcomeOut(Schema):
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


class PlanCourseOut(Schema):
    id: UUID
    modality: str
    protocol: str
    status: str
    start_date: date
    concomitant_antidepressant: str = Field(
        description="Esketamine: the oral antidepressant or monotherapy, in words; else empty"
    )
    outcome: PlanOutcomeOut | None = Field(
        description="The course's own outcome; null for a role that may not read questionnaires"
    )


class PlanOut(Schema):
    id: UUID
    patient: UUID
    sequencing: Literal[SEQUENCING_RULES] = Field(
        ..., description="separate_days (default) or same_day_after_discharge [R94, R16, R22]"
    )
    courses: list[PlanCourseOut]
    outcome: PlanOutcomeOut | None = Field(
        description="One outcome for the plan from both courses' PHQ-9s [R4, R52, R59]; null "
        "for a role that may not read questionnaires"
    )
    problems: dict[str, str] = Field(
        description="Sessions whose booked times break the sequencing rule, and why"
    )


def _outcome(o: outcomes.Outcome) -> dict:
    return {
        "baseline": o.baseline,
        "latest": o.latest,
        "change": o.change,
        "change_pct": o.change_pct,
        "response": o.response,
        "remission": o.remission,
        "mcid_met": o.mcid_met,
        "measurement_count": o.measurement_count,
    }


def _plan_out(plan: TreatmentPlan, actor) -> dict:
    page = selectors.plan_page(actor, plan)
    reads = actor.can(Perm.MEASURE_READ)
    return {
        "id": plan.id,
        "patient": plan.patient_id,
        "sequencing": plan.sequencing,
        "courses": [
            {
                "id": c.id,
                "modality": c.modality,
                "protocol": c.protocol.code,
                "status": c.status,
                "start_date": c.start_date,
                "concomitant_antidepressant": c.concomitant_text(),
                "outcome": _outcome(o) if reads else None,
            }
            for c, o in page.course_outcomes
        ],
        "outcome": _outcome(page.outcome) if reads else None,
        "problems": page.problems,
    }


def _load_plan(request, plan_id: str, perm: Perm) -> TreatmentPlan:
    return access.load(
        request.auth,
        TreatmentPlan.objects.select_related(
            "clinic", "patient", "tms_course__protocol", "dose_course__protocol"
        ),
        plan_id,
        perm,
    )


@router.get(
    "/plans/{plan_id}",
    response={200: PlanOut, **errors(403)},
    summary="A combined plan with its two courses, its outcome and each course's",
)
def get_plan(request, plan_id: str):
    return _plan_out(_load_plan(request, plan_id, Perm.COURSE_READ), request.auth)


class PlanIn(Schema):
    tms_course: UUID | None = Field(None, description="An active TMS course of the patient")
    dose_course: UUID | None = Field(
        None, description="An active IV ketamine or esketamine course of the patient"
    )
    tms_protocol: text(60) = Field("", description="Start a new TMS course of this protocol")
    dose_protocol: text(60) = Field(
        "", description="Start a new IV ketamine or esketamine course of this protocol"
    )
    start_date: Date | None = Field(None, description="YYYY-MM-DD, for new courses")
    sequencing: Literal[SEQUENCING_RULES] | None = Field(
        None, description="Default: the clinic's plan_sequencing setting (separate_days)"
    )
    concomitant_antidepressant: text(concomitant.NAME_MAX) = ""
    concomitant_dose: text(concomitant.DOSE_MAX) = ""
    concomitant_started_on: Date | None = None
    esketamine_monotherapy: bool = False
    note: text(services.NOTE_MAX, multiline=True) = ""


def _course(patient, pk: UUID | None, field: str) -> Course | None:
    if pk is None:
        return None
    course = Course.objects.filter(pk=pk, patient=patient).select_related("protocol").first()
    if course is None:
        raise InputError(field, "is not a course of this patient")
    return course


@router.post(
    "/patients/{patient_id}/plans",
    response={201: PlanOut, **errors(403, 409)},
    summary="Create a combined plan from two courses, or start new ones; 409 when a course is "
    "not active, already in a plan, or there is no signed screening for a new one",
)
def create_plan(request, patient_id: str, payload: PlanIn):
    patient = access.patient(request.auth, patient_id, Perm.COURSE_CHANGE)
    plan = services.start_plan(
        request.auth,
        patient,
        tms_course=_course(patient, payload.tms_course, "tms_course"),
        dose_course=_course(patient, payload.dose_course, "dose_course"),
        tms_protocol=payload.tms_protocol,
        dose_protocol=payload.dose_protocol,
        start_date=payload.start_date,
        with_antidepressant=concomitant.Concomitant(
            monotherapy=payload.esketamine_monotherapy,
            name=payload.concomitant_antidepressant,
            dose=payload.concomitant_dose,
            started_on=payload.concomitant_started_on,
        ),
        rule=payload.sequencing,
        note=payload.note,
    )
    return Status(201, _plan_out(plan, request.auth))


class PlanBookingOut(Schema):
    booked: list[AppointmentOut]
    unbooked: dict[str, str] = Field(description="Sessions left without a time, and why")


@router.post(
    "/plans/{plan_id}/book",
    response={200: PlanBookingOut, **errors(403, 409)},
    summary="Book both courses' planned sessions together, never clashing and keeping the "
    "sequencing rule; 409 when none can be booked or a booking would break the rule",
)
def book_plan(request, plan_id: str):
    plan = _load_plan(request, plan_id, Perm.APPOINTMENT_CHANGE)
    booked, unbooked = services.book_plan(request.auth, plan)
    return {"booked": [appointment_out(a) for a in booked], "unbooked": unbooked}


# --- Maintenance ---------------------------------------------------------------------------------


class DueOut(Schema):
    day: date
    brought_forward: bool = Field(description="True when an open relapse flag brought it forward")
    reason: str


class ProposalOut(Schema):
    start: str = Field(description="ISO 8601 in the clinic's timezone")
    minutes: int
    resource: UUID


class MaintenanceOut(Schema):
    id: UUID
    patient: UUID
    after_course: UUID
    modality: str
    interval_days: int
    interval_source: str
    status: str
    last_session: date | None
    next_booked: AppointmentOut | None
    due: DueOut | None
    proposed: ProposalOut | None = Field(description="A free time for the next session")
    relapse_flag: bool = Field(description="An open relapse flag (false without measure.read)")


def _maintenance_out(plan: MaintenancePlan, actor) -> dict:
    state = services.maintenance_state(plan)
    tz = plan.clinic.tzinfo
    return {
        "id": plan.id,
        "patient": plan.patient_id,
        "after_course": plan.after_course_id,
        "modality": plan.modality,
        "interval_days": plan.interval_days,
        "interval_source": maintenance.INTERVALS[plan.modality].source,
        "status": plan.status,
        "last_session": state.last,
        "next_booked": appointment_out(state.upcoming) if state.upcoming else None,
        "due": (
            {
                "day": state.due.day,
                "brought_forward": state.due.brought_forward,
                "reason": state.due.reason,
            }
            if state.due
            else None
        ),
        "proposed": (
            {
                "start": state.proposal[0].astimezone(tz).isoformat(),
                "minutes": state.proposal[1],
                "resource": state.proposal[2].pk,
            }
            if state.proposal
            else None
        ),
        "relapse_flag": bool(state.flag) and actor.can(Perm.MEASURE_READ),
    }


def _load_maintenance(request, plan_id: str, perm: Perm) -> MaintenancePlan:
    return access.load(
        request.auth,
        MaintenancePlan.objects.select_related("clinic", "patient", "after_course"),
        plan_id,
        perm,
    )


class MaintenanceIn(Schema):
    after_course: UUID = Field(..., description="The induction course, with a session given")
    interval_days: bounded(1, 366, whole=True) | None = Field(
        None,
        description="Default per treatment: IV ketamine 28 (2–84) [R111, R113], esketamine 14 "
        "(7–14) [R22], TMS 28 (7–84)",
    )
    note: text(services.NOTE_MAX, multiline=True) = ""


@router.post(
    "/patients/{patient_id}/maintenance-plans",
    response={201: MaintenanceOut, **errors(403, 409)},
    summary="Plan maintenance after an induction; 409 when no session of it was given or an "
    "active maintenance plan of that treatment exists",
)
def create_maintenance(request, patient_id: str, payload: MaintenanceIn):
    patient = access.patient(request.auth, patient_id, Perm.COURSE_CHANGE)
    plan = services.start_maintenance(
        request.auth,
        patient,
        after_course=_course(patient, payload.after_course, "after_course"),
        interval_days=payload.interval_days,
        note=payload.note,
    )
    return Status(201, _maintenance_out(plan, request.auth))


@router.get(
    "/maintenance-plans/{plan_id}",
    response={200: MaintenanceOut, **errors(403)},
    summary="A maintenance plan: the last session, the next booked, when the next is due "
    "(brought forward by the relapse watch) and a free time proposed for it",
)
def get_maintenance(request, plan_id: str):
    return _maintenance_out(_load_maintenance(request, plan_id, Perm.COURSE_READ), request.auth)


class MaintenanceBookIn(Schema):
    start: DateTime | None = Field(
        None, description="ISO 8601; default: the proposed free time of the due day"
    )
    resource: UUID | None = Field(None, description="With start: a chair, room or TMS device")


@router.post(
    "/maintenance-plans/{plan_id}/book",
    response={200: AppointmentOut, 201: AppointmentOut, **errors(403, 409)},
    summary="Book the next maintenance session at the proposed time or a given one (201); when "
    "it is booked later than it is now due (brought forward by a relapse flag), that "
    "appointment is moved there instead (200); 409 when it is already booked in time, the plan "
    "has ended, nothing is free, or the appointment book refuses (a clash, a second dose that "
    "day)",
)
def book_maintenance(request, plan_id: str, payload: MaintenanceBookIn):
    plan = _load_maintenance(request, plan_id, Perm.APPOINTMENT_CHANGE)
    if payload.resource is not None and payload.start is None:
        raise InputError("start", "give the start with a resource")
    row = services.book_maintenance(
        request.auth,
        plan,
        start=payload.start,
        resource=_resource(request.auth, payload.resource),
    )
    moved = getattr(row, "moved_from", None) is not None
    return Status(200 if moved else 201, appointment_out(row.appointment))
