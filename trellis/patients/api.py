"""JSON API for patients and screenings (DESIGN.md §5)."""

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from ninja import Field, Router, Schema, Status
from pydantic import StringConstraints

from trellis.accounts import access
from trellis.accounts.permissions import Perm
from trellis.patients import services
from trellis.patients.models import Patient, Screening, Sex

router = Router(tags=["patients"])

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class PatientIn(Schema):
    given_name: Name
    family_name: Name
    birth_date: date
    sex: Sex
    phone: str = Field("", max_length=32)
    email: str = Field("", max_length=254)
    address: str = Field("", max_length=1000)
    emergency_contact_name: str = Field("", max_length=200)
    emergency_contact_phone: str = Field("", max_length=32)
    emergency_contact_relation: str = Field("", max_length=60)
    weight_kg: float | None = Field(None, ge=20, le=400)
    height_cm: float | None = Field(None, ge=100, le=250)
    confirm_duplicate: bool = Field(
        False,
        description="Register even though the clinic has a patient with the same name and date "
        "of birth, phone or e-mail (the 409 names them): this is someone else.",
    )


class DuplicateOut(Schema):
    id: UUID
    mrn: str
    given_name: str
    family_name: str
    birth_date: date
    matched_on: list[str] = Field(
        description="Why: name_and_birth_date, phone and/or email",
    )


class PossibleDuplicateOut(Schema):
    detail: str
    code: str = Field(description="possible_duplicate")
    existing_id: UUID = Field(description="The first possible duplicate's id")
    existing: list[DuplicateOut]


class MeasurementOut(Schema):
    value: float
    measured_on: date


class PatientOut(Schema):
    id: UUID
    mrn: str
    given_name: str
    family_name: str
    birth_date: date
    sex: str
    phone: str
    email: str
    address: str
    emergency_contact_name: str
    emergency_contact_phone: str
    emergency_contact_relation: str
    weight_kg: MeasurementOut | None
    height_cm: MeasurementOut | None


def _patient_out(patient: Patient) -> dict:
    data = {
        name: getattr(patient, name)
        for name in PatientOut.model_fields
        if name not in ("weight_kg", "height_cm")
    }
    for field in ("weight_kg", "height_cm"):
        latest = patient.latest_measurement(field)
        data[field] = (
            {"value": float(getattr(latest, field)), "measured_on": latest.measured_on}
            if latest
            else None
        )
    return data


@router.post(
    "/patients",
    response={201: PatientOut, 409: PossibleDuplicateOut},
    summary="Register a patient",
    description="Phone numbers are read in the clinic's country unless they start with + and "
    "a country code, and stored in E.164 (+16175550134); an invalid one is a 422 naming the "
    "field. A patient with the same name and date of birth, phone or e-mail already in the "
    "clinic is a 409 naming them (existing_id); send confirm_duplicate: true to register "
    "someone else all the same.",
)
def create_patient(request, payload: PatientIn):
    try:
        patient = services.register_patient(request.auth, **payload.model_dump())
    except services.DuplicatePatient as found:
        return Status(
            409,
            {
                "detail": found.message,
                "code": found.code,
                "existing_id": found.matches[0].patient.pk,
                "existing": [
                    {
                        "id": m.patient.pk,
                        "mrn": m.patient.mrn,
                        "given_name": m.patient.given_name,
                        "family_name": m.patient.family_name,
                        "birth_date": m.patient.birth_date,
                        "matched_on": list(m.matched_on),
                    }
                    for m in found.matches
                ],
            },
        )
    return Status(201, _patient_out(patient))


@router.get("/patients/{patient_id}", response=PatientOut, summary="A patient of your clinic")
def get_patient(request, patient_id: str):
    return _patient_out(access.patient(request.auth, patient_id))


@router.get("/patients", response=list[PatientOut], summary="Search by name, MRN or birth date")
def search_patients(request, q: str = ""):
    return [_patient_out(p) for p in access.search_patients(request.auth, q)]


class Trial(Schema):
    drug: str
    weeks: float
    adequate_dose: bool
    outcome: str


class ScreeningIn(Schema):
    answers: dict[str, Any] = Field(default_factory=dict)
    trials: list[dict[str, Any]] = Field(default_factory=list)


class ReasonOut(Schema):
    rule: str
    status: str
    message: str
    source: str


class FindingOut(Schema):
    status: str
    reasons: list[ReasonOut]


class FindingsOut(Schema):
    iv_ketamine: FindingOut
    esketamine: FindingOut
    tms: FindingOut


class ScreeningOut(Schema):
    id: UUID
    patient: UUID
    answers: dict[str, Any]
    trials: list[dict[str, Any]]
    age_years: int | None
    trd: bool
    findings: FindingsOut
    signed: bool
    signed_at: str | None
    signed_by: str | None
    cautions_acknowledged: bool
    created_at: str


def _screening_out(screening: Screening) -> dict:
    return {
        "id": screening.id,
        "patient": screening.patient_id,
        "answers": screening.answers,
        "trials": screening.trials,
        "age_years": screening.age_years,
        "trd": screening.trd,
        "findings": screening.findings,
        "signed": screening.is_signed,
        "signed_at": screening.signed_at.isoformat() if screening.signed_at else None,
        "signed_by": screening.signed_by.username if screening.signed_by_id else None,
        "cautions_acknowledged": screening.cautions_acknowledged,
        "created_at": screening.created_at.isoformat(),
    }


@router.post(
    "/patients/{patient_id}/screenings",
    response={201: ScreeningOut},
    summary="Record a screening and get eligibility per modality",
)
def create_screening(request, patient_id: str, payload: ScreeningIn):
    patient = access.patient(request.auth, patient_id, Perm.SCREENING_CHANGE)
    screening = services.create_screening(request.auth, patient, payload.answers, payload.trials)
    return Status(201, _screening_out(screening))


@router.get("/screenings/{screening_id}", response=ScreeningOut, summary="A screening")
def get_screening(request, screening_id: str):
    screening = access.load(
        request.auth,
        Screening.objects.select_related("signed_by"),
        screening_id,
        Perm.SCREENING_READ,
    )
    return _screening_out(screening)


class SignIn(Schema):
    acknowledge_cautions: bool = False


@router.post(
    "/screenings/{screening_id}/sign",
    response=ScreeningOut,
    summary="Sign a screening (prescribers); 409 when cautions are not acknowledged",
)
def sign_screening(request, screening_id: str, payload: SignIn | None = None):
    screening = access.load(
        request.auth, Screening.objects.select_related("patient"), screening_id, Perm.SCREENING_SIGN
    )
    services.sign_screening(
        request.auth, screening, acknowledge_cautions=bool(payload and payload.acknowledge_cautions)
    )
    return _screening_out(screening)
