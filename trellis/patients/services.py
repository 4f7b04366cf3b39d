"""Named operations on patients, assessment requests and screenings.

Each runs in one transaction and writes its audit event in that transaction.
"""

import hashlib
import hmac
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from trellis.accounts.access import require
from trellis.accounts.models import Clinic
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record, record_for
from trellis.lib import phones
from trellis.lib.errors import Conflict
from trellis.lib.text import text_problem
from trellis.patients import eligibility
from trellis.patients.models import (
    AssessmentRequest,
    BodyMeasurement,
    ContactMethod,
    ContactOutcome,
    Patient,
    RequestContact,
    RequestSource,
    RequestStatus,
    Screening,
)

# --- Patients ----------------------------------------------------------------------------------


def next_mrn(clinic: Clinic) -> str:
    """Take the clinic's next medical record number (call inside a transaction)."""
    Clinic.objects.filter(pk=clinic.pk).update(next_mrn=F("next_mrn") + 1)
    number = Clinic.objects.values_list("next_mrn", flat=True).get(pk=clinic.pk) - 1
    return f"{clinic.mrn_prefix}-{number:06d}"


PHONE_FIELDS = ("phone", "emergency_contact_phone")


def _phones_in_e164(clinic: Clinic, fields: dict) -> tuple[dict, dict[str, str]]:
    """``fields`` with their phone numbers in E.164, read in the clinic's country, and the
    fields whose number is not a valid one (left as given) with why. Blank stays blank."""
    region = phones.region_of(clinic)
    cleaned, errors = dict(fields), {}
    for name in PHONE_FIELDS:
        if name in cleaned:
            try:
                cleaned[name] = phones.to_e164(cleaned[name] or "", region)
            except phones.InvalidPhone as error:
                errors[name] = str(error)
    return cleaned, errors


def normalise_phones(clinic: Clinic, fields: dict) -> dict:
    """``fields`` with their phone numbers in E.164; ValidationError names each invalid one."""
    cleaned, errors = _phones_in_e164(clinic, fields)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _aware(clinic: Clinic, fields: dict) -> dict:
    """``fields`` with a consent time given without an offset read in the clinic's timezone."""
    value = fields.get("sms_consent_at")
    if isinstance(value, datetime) and timezone.is_naive(value):
        return {**fields, "sms_consent_at": timezone.make_aware(value, clinic.tzinfo)}
    return fields


def _full_clean(row, extra_errors: dict[str, str], **kwargs) -> None:
    """``row.full_clean()``, reporting ``extra_errors`` (field: message) with its own."""
    errors = {name: [message] for name, message in extra_errors.items()}
    try:
        row.full_clean(exclude=[*kwargs.get("exclude", []), *errors])
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@dataclass(frozen=True)
class PossibleDuplicate:
    """A patient already registered who may be the one being registered, and why."""

    patient: Patient
    matched_on: tuple[str, ...]  # "name_and_birth_date", "phone", "email"

    def reasons(self) -> str:
        words = {
            "name_and_birth_date": "the same name and date of birth",
            "phone": "the same phone number",
            "email": "the same e-mail address",
        }
        return " and ".join(words[m] for m in self.matched_on)


class DuplicatePatient(Conflict):
    """Registering would create a second chart for someone the clinic already has."""

    def __init__(self, matches: list[PossibleDuplicate]) -> None:
        first = matches[0].patient
        super().__init__(
            f"{first.full_name}, born {first.birth_date.isoformat()}, MRN {first.mrn}, is "
            "already registered; open that chart, or confirm this is someone else "
            "(confirm_duplicate).",
            code="possible_duplicate",
        )
        self.matches = matches


# At most this many possible duplicates are shown.
DUPLICATES_SHOWN = 5


def possible_duplicates(
    actor,
    *,
    given_name: str,
    family_name: str,
    birth_date: date | None,
    phone: str = "",
    email: str = "",
) -> list[PossibleDuplicate]:
    """The actor's clinic's patients with the same name and date of birth, the same phone
    (E.164) or the same e-mail. Each one found is audited as a query of that patient: the
    warning shows who they are."""
    require(actor, Perm.PATIENT_CHANGE)
    same_person = Q(
        given_name__iexact=(given_name or "").strip(),
        family_name__iexact=(family_name or "").strip(),
        birth_date=birth_date,
    )
    condition = same_person if birth_date else Q(pk__in=[])
    if phone:
        condition |= Q(phone=phone)
    if email.strip():
        condition |= Q(email__iexact=email.strip())
    found = []
    for patient in Patient.objects.filter(clinic=actor.clinic).filter(condition)[:DUPLICATES_SHOWN]:
        matched = []
        if (
            patient.birth_date == birth_date
            and patient.given_name.casefold() == (given_name or "").strip().casefold()
            and patient.family_name.casefold() == (family_name or "").strip().casefold()
        ):
            matched.append("name_and_birth_date")
        if phone and patient.phone == phone:
            matched.append("phone")
        if email.strip() and patient.email.casefold() == email.strip().casefold():
            matched.append("email")
        found.append(PossibleDuplicate(patient, tuple(matched)))
    for match in found:
        record_for(
            actor,
            Action.QUERY,
            patient=match.patient,
            obj=match.patient,
            detail={"duplicate_check": list(match.matched_on)},
        )
    return found


def register_patient(
    actor,
    *,
    weight_kg: Decimal | float | None = None,
    height_cm: Decimal | float | None = None,
    confirm_duplicate: bool = False,
    **fields,
) -> Patient:
    """Add a patient to the actor's clinic, with a first weight and height if given.

    Phone numbers are stored in E.164 (ValidationError naming the field for one that is not
    valid). Someone with the same name and date of birth, phone or e-mail already in the
    clinic raises DuplicatePatient (its possible duplicates audited, and committed, first),
    unless ``confirm_duplicate`` says this is someone else.
    """
    require(actor, Perm.PATIENT_CHANGE)
    fields, phone_errors = _phones_in_e164(actor.clinic, _aware(actor.clinic, fields))
    patient = Patient(clinic=actor.clinic, mrn="pending", **fields)
    _full_clean(patient, phone_errors, exclude=["mrn"])
    if not confirm_duplicate:
        _refuse_duplicates(actor, fields)
    with transaction.atomic():
        measurement = None
        if weight_kg is not None or height_cm is not None:
            measurement = BodyMeasurement(
                clinic=actor.clinic,
                patient=patient,
                measured_on=actor.clinic.today(),
                weight_kg=_decimal(weight_kg),
                height_cm=_decimal(height_cm),
                recorded_by=actor.user,
            )
            measurement.full_clean(exclude=["patient"])
        patient.mrn = next_mrn(actor.clinic)
        patient.save(force_insert=True)
        record_for(actor, Action.CREATE, patient=patient, obj=patient)
        if measurement is not None:
            measurement.save(force_insert=True)
            record_for(actor, Action.CREATE, patient=patient, obj=measurement)
    return patient


def _refuse_duplicates(actor, fields: dict) -> None:
    with transaction.atomic():
        matches = possible_duplicates(
            actor,
            given_name=fields.get("given_name", ""),
            family_name=fields.get("family_name", ""),
            birth_date=fields.get("birth_date"),
            phone=fields.get("phone", ""),
            email=fields.get("email", ""),
        )
    if matches:
        raise DuplicatePatient(matches)


def update_patient(actor, patient: Patient, changes: dict) -> Patient:
    require(actor, Perm.PATIENT_CHANGE)
    changes, phone_errors = _phones_in_e164(patient.clinic, _aware(patient.clinic, changes))
    with transaction.atomic():
        for name, value in changes.items():
            setattr(patient, name, value)
        _full_clean(patient, phone_errors)
        patient.save(update_fields=[*changes, "updated_at"])
        record_for(
            actor, Action.UPDATE, patient=patient, obj=patient, detail={"changed": sorted(changes)}
        )
    return patient


def record_measurement(
    actor, patient: Patient, *, measured_on: date, weight_kg=None, height_cm=None
) -> BodyMeasurement:
    require(actor, Perm.PATIENT_CHANGE)
    with transaction.atomic():
        measurement = BodyMeasurement(
            clinic=patient.clinic,
            patient=patient,
            measured_on=measured_on,
            weight_kg=_decimal(weight_kg),
            height_cm=_decimal(height_cm),
            recorded_by=actor.user,
        )
        measurement.full_clean()
        measurement.save(force_insert=True)
        record_for(actor, Action.CREATE, patient=patient, obj=measurement)
    return measurement


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value)).quantize(Decimal("0.1"))


# --- Assessment requests -----------------------------------------------------------------------

# At most this many requests from one address per clinic in an hour (the public form).
REQUESTS_PER_HOUR = 5


def sender_key(address: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), address.encode(), hashlib.sha256).hexdigest()


class TooManyRequests(Exception):
    """More requests from one address than the public form takes in an hour."""


def submit_public_request(clinic: Clinic, fields: dict, *, address: str) -> AssessmentRequest:
    """File a request from the public page, at most ``REQUESTS_PER_HOUR`` an hour per address.

    The count and the insert share one transaction that holds the clinic's public-request lock,
    so simultaneous posts are counted one after another and cannot all slip under the limit.
    """
    with transaction.atomic():
        _hold_public_request_lock(clinic)
        since = timezone.now() - timedelta(hours=1)
        recent = AssessmentRequest.objects.filter(
            clinic=clinic, sender_key=sender_key(address), submitted_at__gte=since
        )
        if recent.count() >= REQUESTS_PER_HOUR:
            raise TooManyRequests(address)
        return submit_request(clinic, fields, address=address)


def _hold_public_request_lock(clinic: Clinic) -> None:
    """Serialise public requests per clinic until the transaction ends.

    PostgreSQL: the clinic's row, FOR NO KEY UPDATE, which does not block rows that merely refer
    to the clinic. SQLite: every transaction begins IMMEDIATE and so already holds the write lock.
    """
    Clinic.objects.select_for_update(no_key=True).filter(pk=clinic.pk).values_list(
        "pk", flat=True
    ).get()


def submit_request(
    clinic: Clinic, fields: dict, *, address: str, source: str = RequestSource.WEB, actor=None
) -> AssessmentRequest:
    """File an assessment request: from the public page (no actor) or the front desk."""
    fields, phone_errors = _phones_in_e164(clinic, fields)
    with transaction.atomic():
        request = AssessmentRequest(
            clinic=clinic, source=source, sender_key=sender_key(address), **fields
        )
        _full_clean(request, phone_errors)
        request.save(force_insert=True)
        if actor is not None:
            record_for(actor, Action.CREATE, obj=request)
        else:
            record(
                Action.CREATE,
                clinic=clinic,
                obj=request,
                source_address=address,
                username="(public request form)",
            )
    return request


def _check_declinable(request: AssessmentRequest) -> None:
    if request.patient_id is not None:
        raise Conflict(
            f"{request.full_name} is registered as {request.patient.mrn}: a request whose "
            "patient is registered cannot be declined.",
            code="request_registered",
        )


def set_request_status(actor, request: AssessmentRequest, status: str, note: str = "") -> None:
    """Move a request on (contacted, booked, declined); a note joins its contact history.

    A request whose patient is registered cannot be declined (Conflict).
    """
    require(actor, Perm.REQUEST_CHANGE)
    if status not in RequestStatus.values:
        raise ValidationError({"status": f"Unknown status {status!r}."})
    if problem := text_problem(note, multiline=True, name=False):
        raise ValidationError({"note": f"The front-desk note {problem}."})
    with transaction.atomic():
        locked = (
            AssessmentRequest.objects.select_for_update(of=("self",))
            .select_related("patient")
            .get(pk=request.pk)
        )
        if status == RequestStatus.DECLINED:
            _check_declinable(locked)
        request.status = status
        request.handled_by = actor.user
        request.save(update_fields=["status", "handled_by", "updated_at"])
        if note.strip():
            _add_contact(
                actor, request, ContactMethod.NOTE, ContactOutcome.STATUS, note, status=status
            )
        record_for(
            actor, Action.UPDATE, patient=request.patient, obj=request, detail={"status": status}
        )


def log_request_contact(
    actor, request: AssessmentRequest, *, method: str, outcome: str, note: str = ""
) -> RequestContact:
    """Record a call, text or e-mail to the person behind a request, and how it went.

    A new request becomes *contacted*. Raises ValidationError naming ``method``, ``outcome``
    or ``note``.
    """
    require(actor, Perm.REQUEST_CHANGE)
    if method not in ContactMethod.values or method == ContactMethod.NOTE:
        raise ValidationError({"method": "Choose a phone call, a text message or an e-mail."})
    if outcome not in ContactOutcome.values or outcome == ContactOutcome.STATUS:
        raise ValidationError({"outcome": "Choose how the contact went."})
    with transaction.atomic():
        locked = AssessmentRequest.objects.select_for_update().get(pk=request.pk)
        contact = _add_contact(actor, request, method, outcome, note)
        if locked.status == RequestStatus.NEW:
            request.status = RequestStatus.CONTACTED
            request.handled_by = actor.user
            request.save(update_fields=["status", "handled_by", "updated_at"])
        record_for(
            actor,
            Action.UPDATE,
            patient=request.patient,
            obj=request,
            detail={"contact": method, "outcome": outcome, "status": request.status},
        )
    return contact


def _add_contact(
    actor, request: AssessmentRequest, method: str, outcome: str, note: str, status: str = ""
) -> RequestContact:
    note = note.strip()
    if status:
        note = f"Marked {RequestStatus(status).label.lower()}: {note}"
    contact = RequestContact(
        clinic_id=request.clinic_id,
        request=request,
        method=method,
        outcome=outcome,
        note=note,
        by=actor.user,
    )
    contact.full_clean()
    contact.save(force_insert=True)
    return contact


def register_from_request(
    actor,
    request: AssessmentRequest,
    *,
    birth_date: date,
    sex: str,
    confirm_duplicate: bool = False,
    **extra,
) -> Patient:
    """Turn a request into a patient in one step; the request becomes booked.

    Raises DuplicatePatient, as ``register_patient`` does, unless ``confirm_duplicate``.
    """
    require(actor, Perm.REQUEST_CHANGE)
    if request.patient_id is not None:
        raise Conflict(f"This request is already registered as {request.patient.mrn}.")
    fields = {
        "given_name": request.given_name,
        "family_name": request.family_name,
        "phone": request.phone,
        "email": request.email,
        "birth_date": birth_date,
        "sex": sex,
        **extra,
    }
    fields = normalise_phones(actor.clinic, fields)
    if not confirm_duplicate:
        # Checked, and its audit committed, before the registration's own transaction.
        _refuse_duplicates(actor, fields)
    with transaction.atomic():
        patient = register_patient(actor, confirm_duplicate=True, **fields)
        request.patient = patient
        request.status = RequestStatus.BOOKED
        request.handled_by = actor.user
        request.save(update_fields=["patient", "status", "handled_by", "updated_at"])
        record_for(
            actor,
            Action.UPDATE,
            patient=patient,
            obj=request,
            detail={"status": RequestStatus.BOOKED, "registered": patient.mrn},
        )
    return patient


# --- Screenings --------------------------------------------------------------------------------


def clinic_thresholds(clinic: Clinic) -> eligibility.Thresholds:
    """The eligibility thresholds in force at a clinic (its settings, else the cited defaults)."""
    return eligibility.Thresholds(
        bp_systolic_caution=clinic.setting("screening_bp_systolic_caution"),
        bp_diastolic_caution=clinic.setting("screening_bp_diastolic_caution"),
        lorazepam_eq_max_mg_per_day=clinic.setting("screening_lorazepam_eq_max"),
        minimum_age=clinic.setting("screening_minimum_age"),
        adequacy_weeks=clinic.setting("trd_adequacy_weeks"),
        min_failed_trials=clinic.setting("trd_min_failed_trials"),
    )


def _evaluate_into(screening: Screening, answers: dict, trials: list) -> None:
    clinic = screening.patient.clinic
    thresholds = clinic_thresholds(clinic)
    age = screening.patient.age_on(clinic.today())
    result = eligibility.evaluate(answers, trials, age, thresholds)
    screening.answers = dict(answers)
    screening.trials = [dict(trial) for trial in trials]
    screening.age_years = age
    screening.thresholds = asdict(thresholds)
    screening.trd = result.trd
    screening.findings = result.as_dict()["findings"]


def create_screening(actor, patient: Patient, answers: dict, trials: list) -> Screening:
    """Record intake answers and trials as a draft screening with its eligibility."""
    require(actor, Perm.SCREENING_CHANGE)
    with transaction.atomic():
        screening = Screening(clinic=patient.clinic, patient=patient, created_by=actor.user)
        _evaluate_into(screening, answers, trials)
        screening.save(force_insert=True)
        record_for(actor, Action.CREATE, patient=patient, obj=screening)
    return screening


def update_screening(actor, screening: Screening, answers: dict, trials: list) -> Screening:
    require(actor, Perm.SCREENING_CHANGE)
    with transaction.atomic():
        locked = Screening.objects.select_for_update().get(pk=screening.pk)
        if locked.is_signed:
            raise Conflict("This screening is signed and cannot change; start a new screening.")
        _evaluate_into(screening, answers, trials)
        screening.save(
            update_fields=[
                "answers",
                "trials",
                "age_years",
                "thresholds",
                "trd",
                "findings",
                "updated_at",
            ]
        )
        record_for(actor, Action.UPDATE, patient=screening.patient, obj=screening)
    return screening


def sign_screening(actor, screening: Screening, *, acknowledge_cautions: bool = False) -> Screening:
    """A prescriber signs: cautions and unknown answers need an explicit acknowledgement."""
    require(actor, Perm.SCREENING_SIGN)
    with transaction.atomic():
        locked = Screening.objects.select_for_update().get(pk=screening.pk)
        if locked.is_signed:
            raise Conflict("This screening is already signed.", code="already_signed")
        if locked.needs_acknowledgement() and not acknowledge_cautions:
            raise Conflict(
                "This screening has cautions or unknown answers: acknowledge them to sign "
                "(acknowledge_cautions).",
                code="cautions_not_acknowledged",
            )
        previous = current_screening(screening.patient)
        screening.signed_by = actor.user
        screening.signed_at = timezone.now()
        screening.cautions_acknowledged = locked.needs_acknowledgement()
        screening.supersedes = previous
        screening.save(
            update_fields=[
                "signed_by",
                "signed_at",
                "cautions_acknowledged",
                "supersedes",
                "updated_at",
            ]
        )
        record_for(
            actor,
            Action.UPDATE,
            patient=screening.patient,
            obj=screening,
            detail={"signed": True, "cautions_acknowledged": screening.cautions_acknowledged},
        )
    return screening


def current_screening(patient: Patient) -> Screening | None:
    """The latest signed screening: the one that decides whether a course may start
    (``ScreeningQuerySet.current``)."""
    return patient.screenings.current()
