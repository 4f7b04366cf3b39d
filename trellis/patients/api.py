"""JSON API for patients and screenings (DESIGN.md §5)."""

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from django.utils import timezone
from ninja import Field, Router, Schema, Status
from pydantic import AfterValidator, WithJsonSchema

from trellis.accounts.permissions import Perm
from trellis.lib.apidoc import errors
from trellis.lib.schema import (
    Boolean,
    Date,
    DateTime,
    Name,
    PlainText,
    TextRule,
    bounded,
    text,
    walk_text,
    whole_numbers,
)
from trellis.patients import access, eligibility, services
from trellis.patients.models import ContactChannel, Patient, Screening, Sex

router = Router(tags=["patients"])


CONTACT_CHANNEL = (
    "How automated messages (reminders, confirmations, questionnaire links) reach the patient: "
    "text, email, both, none (no automated messages), or empty: not chosen, by text when a "
    "phone is on file, else by e-mail. text and both need a phone, email and both an e-mail "
    "address (else a 422 naming contact_channel). Where the clinic requires it, no text is "
    "sent without sms_consent_at."
)


class PatientIn(Schema):
    given_name: Name
    family_name: Name
    birth_date: Date = Field(
        ..., description="YYYY-MM-DD; not in the future, at most 125 years ago"
    )
    sex: Sex
    phone: text(32) = ""
    email: text(254) = Field("", description="An e-mail address, or empty")
    contact_channel: ContactChannel = Field(
        ContactChannel.USUAL,
        description=CONTACT_CHANNEL,
    )
    sms_consent_at: DateTime | None = Field(
        None,
        description="When the patient agreed to automated text messages (ISO 8601 with an "
        "offset; not in the future), or null: not recorded",
    )
    address: text(1000, multiline=True) = ""
    emergency_contact_name: text(200, name=True) = ""
    emergency_contact_phone: text(32) = ""
    emergency_contact_relation: text(60) = ""
    weight_kg: bounded(20, 400) | None = None
    height_cm: bounded(100, 250) | None = None
    confirm_duplicate: Boolean = Field(
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
    contact_channel: str = Field(description=CONTACT_CHANNEL)
    sms_consent_at: datetime | None = Field(
        description="When the patient agreed to automated text messages, or null"
    )
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
    if patient.sms_consent_at is not None:
        data["sms_consent_at"] = timezone.localtime(patient.sms_consent_at, patient.clinic.tzinfo)
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
    response={201: PatientOut, 409: PossibleDuplicateOut, **errors(403)},
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


@router.get(
    "/patients/{patient_id}",
    response={200: PatientOut, **errors(403)},
    summary="A patient of your clinic",
)
def get_patient(request, patient_id: str):
    return _patient_out(access.patient(request.auth, patient_id))


@router.get(
    "/patients",
    response={200: list[PatientOut], **errors(403)},
    summary="Search by name, MRN or birth date",
)
def search_patients(request, q: PlainText = ""):
    return [_patient_out(p) for p in access.search_patients(request.auth, q)]


# The screening vocabulary (DESIGN.md §6) as JSON Schema. The service checks it and names the
# field it breaks (answers.bp_systolic, trials[1].weeks); this documents the same rules.
def _answer_schema(key: str) -> dict:
    if key in eligibility.CHOICE_ANSWERS:
        return {"type": "string", "enum": list(eligibility.CHOICE_ANSWERS[key])}
    if key in eligibility.BP_RANGES:
        low, high = eligibility.BP_RANGES[key]
        return {"type": "integer", "minimum": low, "maximum": high, "description": "mmHg"}
    if key in eligibility.BOOLEAN_ANSWERS:
        return {"type": "boolean"}
    return {"type": "number", "minimum": 0, "maximum": eligibility.BENZODIAZEPINE_MAX_MG}


ANSWERS_SCHEMA = {
    "type": "object",
    "description": "Screening answers, each key as listed; leave out what is unknown (it is "
    "never taken as a no). bp_systolic must be greater than bp_diastolic.",
    "properties": {key: _answer_schema(key) for key in eligibility.ANSWER_KEYS},
    "additionalProperties": False,
}
MAX_TRIALS = 50
TRIALS_SCHEMA = {
    "type": "array",
    "maxItems": MAX_TRIALS,
    "description": "Antidepressant trials in the current episode; may be empty",
    "items": {
        "type": "object",
        "required": list(eligibility.TRIAL_FIELDS),
        "additionalProperties": False,
        "properties": {
            "drug": {
                "type": "string",
                "minLength": 1,
                "maxLength": eligibility.MAX_DRUG_NAME,
                "pattern": TextRule(required=True).pattern,
            },
            "weeks": {"type": "number", "minimum": 0, "maximum": eligibility.MAX_TRIAL_WEEKS},
            "adequate_dose": {"type": "boolean"},
            "outcome": {"type": "string", "enum": list(eligibility.TRIAL_OUTCOMES)},
        },
    },
}


class ScreeningIn(Schema):
    answers: Annotated[
        dict[str, Any],
        AfterValidator(walk_text),
        AfterValidator(whole_numbers),
        WithJsonSchema(ANSWERS_SCHEMA),
    ] = Field(default_factory=dict)
    trials: Annotated[
        list[Any],
        Field(max_length=MAX_TRIALS),
        AfterValidator(walk_text),
        AfterValidator(whole_numbers),
        WithJsonSchema(TRIALS_SCHEMA),
    ] = Field(default_factory=list)


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
    response={201: ScreeningOut, **errors(403)},
    summary="Record a screening and get eligibility per modality",
)
def create_screening(request, patient_id: str, payload: ScreeningIn):
    patient = access.patient(request.auth, patient_id, Perm.SCREENING_CHANGE)
    screening = services.create_screening(request.auth, patient, payload.answers, payload.trials)
    return Status(201, _screening_out(screening))


@router.get(
    "/screenings/{screening_id}", response={200: ScreeningOut, **errors(403)}, summary="A screening"
)
def get_screening(request, screening_id: str):
    screening = access.load(
        request.auth,
        Screening.objects.select_related("signed_by"),
        screening_id,
        Perm.SCREENING_READ,
    )
    return _screening_out(screening)


class SignIn(Schema):
    acknowledge_cautions: Boolean = False


@router.post(
    "/screenings/{screening_id}/sign",
    response={200: ScreeningOut, **errors(403, 409)},
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
