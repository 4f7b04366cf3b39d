"""JSON API for oral and sublingual ketamine (DESIGN.md §5 conventions): a session's supervised
dose record, read and recorded; at-home prescriptions, read and issued, with the PDMP checks and
urine drug screens they rest on; bladder and urinary symptoms.

Thin: parse, call the one service, shape the answer. Bad input is a 422 naming the field, a
clash with the record's state a 409 with its ``code``.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from django.http import Http404
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from trellis.accounts.permissions import Perm
from trellis.lib.apidoc import errors
from trellis.lib.errors import Conflict, InputError
from trellis.lib.schema import Boolean, Date, DateTime, bounded, text
from trellis.patients import access
from trellis.patients.modality import Modality
from trellis.treatments import documentation as doc
from trellis.treatments import prescriptions, sessions, urinary
from trellis.treatments.models import (
    OralDoseRecord,
    OralForm,
    OralPrescription,
    OralRoute,
    PdmpResult,
    PrescribingBasis,
    Session,
    SessionStatus,
    UdsResult,
)

router = Router(tags=["oral ketamine"])

_SESSIONS = Session.objects.select_related("course__protocol", "patient", "clinic")


# --- A session's supervised dose -------------------------------------------------------------


class OralDoseOut(Schema):
    session: UUID
    patient: UUID
    number: int
    status: Literal[tuple(SessionStatus.values)]
    signed: bool
    route: Literal[tuple(["", *OralRoute.values])]
    form: Literal[tuple(["", *OralForm.values])]
    dose_mg: float | None
    given_at: datetime | None
    lot_number: str
    cadss6: list[int] = Field(..., description="CADSS items 1, 2, 6, 7, 15, 22, each 0–4 [R14]")
    moaas_lowest: int | None = Field(..., description="Lowest MOAA/S, 0–5 [R15]")
    side_effects: list[str]
    discharge_vitals_in_range: bool | None
    discharge_moaas_5: bool | None
    escort_present: bool | None
    escort_name: str
    discharged_at: datetime | None
    note: str
    dose_override_reason: str
    max_dose_mg: int = Field(
        ..., description="The lower of the protocol's maximum and the clinic's limit"
    )
    missing_for_signing: list[str] = Field(
        ..., description="What the note still needs before it can be signed (empty once signed)"
    )


def _oral_session(request, session_id: str, perm: Perm) -> Session:
    session = access.load(request.auth, _SESSIONS, session_id, perm)
    if session.course.modality != Modality.ORAL_KETAMINE:
        raise Conflict(
            f"Session {session.number} is a {session.course.get_modality_display()} session; "
            "it has no oral dose record.",
            code="not_oral",
        )
    if not OralDoseRecord.objects.filter(session=session).exists():
        raise Conflict("The session has not begun: its dose record opens then.", code="not_begun")
    return session


def _oral_out(session: Session) -> dict:
    record = OralDoseRecord.objects.get(session=session)
    protocol_max, clinic_max = sessions.oral_dose_limits(session)
    return {
        "session": session.pk,
        "patient": session.patient_id,
        "number": session.number,
        "status": session.status,
        "signed": session.is_signed,
        "route": record.route,
        "form": record.form,
        "dose_mg": float(record.dose_mg) if record.dose_mg is not None else None,
        "given_at": record.given_at,
        "lot_number": record.lot_number,
        "cadss6": record.cadss6 or [],
        "moaas_lowest": record.moaas_lowest,
        "side_effects": record.side_effects or [],
        "discharge_vitals_in_range": record.discharge_vitals_in_range,
        "discharge_moaas_5": record.discharge_moaas_5,
        "escort_present": record.escort_present,
        "escort_name": record.escort_name,
        "discharged_at": record.discharged_at,
        "note": record.note,
        "dose_override_reason": record.dose_override_reason,
        "max_dose_mg": min(m for m in (protocol_max, clinic_max) if m is not None),
        "missing_for_signing": sessions.missing_for_signing(session) if session.is_open else [],
    }


@router.get(
    "/sessions/{session_id}/oral",
    response={200: OralDoseOut, **errors(403, 409)},
    summary="An oral or sublingual ketamine session's dose record; 409 not_oral for another "
    "kind of session, not_begun before the session begins",
)
def get_oral_dose(request, session_id: str):
    return _oral_out(_oral_session(request, session_id, Perm.SESSION_READ))


class OralDoseIn(Schema):
    """Only the fields sent change; a field sent as null is cleared."""

    route: Literal[tuple(OralRoute.values)] | None = None
    form: Literal[tuple(OralForm.values)] | None = None
    dose_mg: bounded(0, 1000) | None = Field(
        None, description="mg; above the protocol's or clinic's maximum needs override_reason"
    )
    given_at: DateTime | None = Field(None, description="With its offset, on the session's day")
    lot_number: text(60) | None = None
    cadss6: list[bounded(0, 4, whole=True)] | None = Field(
        None, min_length=6, max_length=6, description="Six items, each 0–4 [R14]"
    )
    moaas_lowest: bounded(0, 5, whole=True) | None = None
    side_effects: list[Literal[tuple(doc.ORAL_KETAMINE_SIDE_EFFECTS)]] | None = Field(
        None, max_length=len(doc.ORAL_KETAMINE_SIDE_EFFECTS)
    )
    discharge_vitals_in_range: Boolean | None = None
    discharge_moaas_5: Boolean | None = None
    escort_present: Boolean | None = None
    escort_name: text(120) | None = None
    discharged_at: DateTime | None = None
    note: text(5000, multiline=True) | None = None
    override_reason: text(2000, multiline=True) = Field(
        "",
        description="A prescriber's reason to go past a safety stop the prescriber may override "
        "(the dose limit, the pre-dose hold, a second ketamine-family dose that day)",
    )


_BLANK_TEXT = ("route", "form", "lot_number", "escort_name", "note")
_LISTS = ("cadss6", "side_effects")


@router.put(
    "/sessions/{session_id}/oral",
    response={200: OralDoseOut, **errors(403, 409)},
    summary="Record an oral or sublingual ketamine dose and its monitoring; 409 safety_stop "
    "names each stop (a prescriber may override some with override_reason), 409 signed once "
    "the session is signed",
)
def record_oral_dose(request, session_id: str, payload: OralDoseIn):
    session = _oral_session(request, session_id, Perm.SESSION_CHANGE)
    data = payload.model_dump(exclude_unset=True)
    override_reason = data.pop("override_reason", "")
    for name in _BLANK_TEXT:
        if name in data and data[name] is None:
            data[name] = ""
    for name in _LISTS:
        if name in data and data[name] is None:
            data[name] = []
    day = sessions.session_day(session)
    for name in ("given_at", "discharged_at"):
        when = data.get(name)
        if when is not None and timezone.localtime(when, session.clinic.tzinfo).date() != day:
            raise InputError(name, f"must be on the session's day, {day.isoformat()}")
    if "dose_mg" in data and data["dose_mg"] is not None:
        data["dose_mg"] = Decimal(str(data["dose_mg"])).quantize(Decimal("0.1"))
    sessions.save_oral(request.auth, session, data, override_reason=override_reason)
    session.refresh_from_db()
    return _oral_out(session)


# --- At-home prescriptions -------------------------------------------------------------------


class FillOut(Schema):
    filled_on: date
    early_days: int | None


class PrescriptionOut(Schema):
    id: UUID
    patient: UUID
    course: UUID | None
    product: str
    pharmacy: str
    form: Literal[tuple(OralForm.values)]
    route: Literal[tuple(OralRoute.values)]
    strength_mg: float
    units_per_dose: int
    dose_mg: float
    quantity: int
    days_supply: int
    directions: str
    refills: int
    basis: Literal[tuple(PrescribingBasis.values)]
    peer_monitor_name: str
    peer_monitor_relationship: str
    issued_on: date
    void_on: date = Field(..., description="Six months after issue: no fill from this day [R88]")
    prescriber: str
    pdmp_check: UUID
    urine_drug_screen: UUID | None
    early_days: int | None = Field(
        ..., description="Issued this many days before the previous supply should run out"
    )
    early_reason: str
    fills: list[FillOut]
    cancelled_at: datetime | None = Field(
        ..., description="When the prescriber cancelled it: no fill after, no more check-ins"
    )
    cancel_reason: str


def _prescription_out(rx: OralPrescription) -> dict:
    return {
        "id": rx.pk,
        "patient": rx.patient_id,
        "course": rx.course_id,
        "product": rx.product,
        "pharmacy": rx.pharmacy,
        "form": rx.form,
        "route": rx.route,
        "strength_mg": float(rx.strength_mg),
        "units_per_dose": rx.units_per_dose,
        "dose_mg": float(rx.dose_mg),
        "quantity": rx.quantity,
        "days_supply": rx.days_supply,
        "directions": rx.directions,
        "refills": rx.refills,
        "basis": rx.basis,
        "peer_monitor_name": rx.peer_monitor_name,
        "peer_monitor_relationship": rx.peer_monitor_relationship,
        "issued_on": rx.issued_on,
        "void_on": rx.void_on,
        "prescriber": rx.prescriber.username,
        "pdmp_check": rx.pdmp_check_id,
        "urine_drug_screen": rx.urine_drug_screen_id,
        "early_days": rx.early_days,
        "early_reason": rx.early_reason,
        "fills": [{"filled_on": f.filled_on, "early_days": f.early_days} for f in rx.fills.all()],
        "cancelled_at": rx.cancelled_at,
        "cancel_reason": rx.cancel_reason,
    }


@router.get(
    "/patients/{patient_id}/prescriptions",
    response={200: list[PrescriptionOut], **errors(403)},
    summary="A patient's at-home oral ketamine prescriptions, newest first",
)
def list_prescriptions(request, patient_id: str):
    patient = access.patient(request.auth, patient_id, Perm.SESSION_READ)
    rows = (
        OralPrescription.objects.filter(patient=patient)
        .select_related("prescriber")
        .prefetch_related("fills")
    )
    return [_prescription_out(rx) for rx in rows]


class PrescriptionIn(Schema):
    product: text(120, required=True) = Field(..., examples=["Ketamine HCl sublingual troche"])
    pharmacy: text(200, required=True) = Field(..., description="The 503A compounding pharmacy")
    form: Literal[tuple(OralForm.values)]
    route: Literal[tuple(OralRoute.values)]
    strength_mg: bounded(0.1, 1000) = Field(..., description="mg per tablet or troche")
    units_per_dose: bounded(1, 20, whole=True) = 1
    quantity: bounded(1, 999, whole=True) = Field(
        ..., description="Tablets or troches; at most the clinic's maximum"
    )
    days_supply: bounded(1, 365, whole=True) = Field(
        ..., description="Days; at most the clinic's maximum"
    )
    refills: bounded(0, 99, whole=True) = Field(0, description="At most 5 (Schedule III) [R88]")
    directions: text(2000, multiline=True, required=True)
    basis: Literal[tuple(PrescribingBasis.values)] = Field(
        ...,
        description="telemedicine only while the DEA flexibilities last (through 31 Dec 2026) "
        "[R91]",
    )
    peer_monitor_name: text(120, name=True, required=True) = Field(
        ..., description="The adult present for every at-home session [R85]"
    )
    peer_monitor_relationship: text(60) = ""
    early_reason: text(2000, multiline=True) = Field(
        "", description="Required when the previous supply should not have run out yet"
    )
    course: UUID | None = Field(None, description="One of the patient's oral ketamine courses")


@router.post(
    "/patients/{patient_id}/prescriptions",
    response={201: PrescriptionOut, **errors(403, 409)},
    summary="Issue an at-home oral ketamine prescription (prescribers); 409 "
    "home_prescribing_off where the clinic does not prescribe for home, 409 checks_missing "
    "without a PDMP check (or a urine drug screen the clinic requires) within its interval",
)
def issue_prescription(request, patient_id: str, payload: PrescriptionIn):
    patient = access.patient(request.auth, patient_id, Perm.PRESCRIPTION_CHANGE)
    data = payload.model_dump()
    course_id = data.pop("course")
    course = None
    if course_id is not None:
        course = patient.courses.filter(pk=course_id).first()
        if course is None:
            raise Http404("No such course.")
    rx = prescriptions.issue_prescription(request.auth, patient, course=course, **data)
    return Status(201, _prescription_out(rx))


class PrescriptionCancelIn(Schema):
    reason: text(2000, multiline=True, required=True) = Field(
        ..., description="Why it is cancelled (the pharmacy is told to void it)"
    )


@router.post(
    "/prescriptions/{prescription_id}/cancel",
    response={200: PrescriptionOut, **errors(403, 409)},
    summary="Cancel an at-home prescription (prescribers): no fill is recorded after, and its "
    "check-ins not yet sent are not sent; 409 already_cancelled",
)
def cancel_prescription(request, prescription_id: str, payload: PrescriptionCancelIn):
    rx = access.load(
        request.auth,
        OralPrescription.objects.select_related("clinic", "patient__clinic", "prescriber"),
        prescription_id,
        Perm.PRESCRIPTION_CHANGE,
    )
    rx = prescriptions.cancel_prescription(request.auth, rx, reason=payload.reason)
    return _prescription_out(rx)


class PdmpCheckIn(Schema):
    checked_on: Date = Field(..., description="YYYY-MM-DD, not in the future")
    result: Literal[tuple(PdmpResult.values)]
    note: text(2000, multiline=True) = Field("", description="Required when concerns were found")


class PdmpCheckOut(Schema):
    id: UUID
    checked_on: date
    result: str
    checked_by: str


@router.post(
    "/patients/{patient_id}/pdmp-checks",
    response={201: PdmpCheckOut, **errors(403)},
    summary="Record a PDMP check before prescribing (prescribers) [R89]",
)
def record_pdmp_check(request, patient_id: str, payload: PdmpCheckIn):
    patient = access.patient(request.auth, patient_id, Perm.PRESCRIPTION_CHANGE)
    check = prescriptions.record_pdmp_check(request.auth, patient, **payload.model_dump())
    return Status(
        201,
        {
            "id": check.pk,
            "checked_on": check.checked_on,
            "result": check.result,
            "checked_by": request.auth.user.username,
        },
    )


class UrineDrugScreenIn(Schema):
    collected_on: Date = Field(..., description="YYYY-MM-DD, not in the future")
    result: Literal[tuple(UdsResult.values)]
    substances: text(200) = Field("", description="Required when the result is unexpected")
    note: text(2000, multiline=True) = ""


class UrineDrugScreenOut(Schema):
    id: UUID
    collected_on: date
    result: str


@router.post(
    "/patients/{patient_id}/urine-drug-screens",
    response={201: UrineDrugScreenOut, **errors(403)},
    summary="Record a urine drug screen's result (prescribers) [R89]",
)
def record_urine_drug_screen(request, patient_id: str, payload: UrineDrugScreenIn):
    patient = access.patient(request.auth, patient_id, Perm.PRESCRIPTION_CHANGE)
    screen = prescriptions.record_urine_drug_screen(request.auth, patient, **payload.model_dump())
    return Status(
        201, {"id": screen.pk, "collected_on": screen.collected_on, "result": screen.result}
    )


class BladderCheckIn(Schema):
    frequency: Boolean
    urgency: Boolean
    nocturia: Boolean
    dysuria: Boolean
    haematuria: Boolean
    bladder_pain: Boolean
    session: UUID | None = Field(None, description="The oral session it was asked at, if any")
    note: text(2000, multiline=True) = ""


class BladderCheckOut(Schema):
    id: UUID
    asked_on: date
    symptoms: list[str]
    alert: UUID | None = Field(..., description="The safety alert a yes raised")


@router.post(
    "/patients/{patient_id}/bladder-checks",
    response={201: BladderCheckOut, **errors(403)},
    summary="Record the six bladder and urinary symptoms [R90]; any yes raises a safety alert "
    "of kind urinary_symptoms",
)
def record_bladder_check(request, patient_id: str, payload: BladderCheckIn):
    patient = access.patient(request.auth, patient_id, Perm.MEASURE_CHANGE)
    data = payload.model_dump()
    session = None
    if data["session"] is not None:
        session = patient.sessions.filter(pk=data["session"]).first()
        if session is None:
            raise Http404("No such session.")
    answers = {key: data[key] for key in urinary.SYMPTOMS}
    check = prescriptions.record_bladder_check(
        request.auth, patient, answers, session=session, note=data["note"]
    )
    return Status(
        201,
        {
            "id": check.pk,
            "asked_on": check.asked_on,
            "symptoms": [key for key in urinary.SYMPTOMS if getattr(check, key)],
            "alert": check.alert_id,
        },
    )
