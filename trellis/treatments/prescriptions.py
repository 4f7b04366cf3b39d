"""At-home oral ketamine: prescriptions, the PDMP checks and urine drug screens they rest on,
their fills, and the bladder and urinary symptoms asked of patients on oral ketamine.

Every change is one function, in one transaction, audited; the rules are the pure functions of
``prescribing`` and ``urinary`` (DOMAIN.md §9). Audit details name fields and outcomes, never
free text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from trellis.accounts.access import require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.lib.errors import Conflict, InputError
from trellis.patients.modality import Modality
from trellis.patients.models import Patient
from trellis.safety.models import AlertKind
from trellis.safety.services import raise_alert
from trellis.treatments import dosing, hooks, prescribing, urinary
from trellis.treatments.models import (
    BladderCheck,
    Course,
    OralDoseRecord,
    OralForm,
    OralPrescription,
    OralRoute,
    PdmpCheck,
    PdmpResult,
    PrescriptionFill,
    Session,
    UdsResult,
    UrineDrugScreen,
)

TEXT_LIMIT = 2_000


class PrescriptionRefused(InputError):
    """The prescription was not issued: every problem, each naming its field and rule."""

    def __init__(self, problems: list[prescribing.Problem]) -> None:
        first = problems[0]
        super().__init__(first.field, first.message)
        self.problems = problems

    def __str__(self) -> str:
        return "; ".join(f"{p.field}: {p.message}" for p in self.problems)


def home_prescribing_enabled(clinic) -> bool:
    return bool(clinic.setting("oral_home_prescribing"))


def _same_clinic(actor, patient: Patient) -> None:
    if patient.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")


def _text(name: str, value, *, required: bool = False, limit: int = TEXT_LIMIT) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        raise InputError(name, "must be text")
    if required and not text:
        raise InputError(name, "is required")
    if len(text) > limit:
        raise InputError(name, f"must be at most {limit:,} characters")
    return text


def _day(name: str, value, today: date) -> date:
    if not isinstance(value, date):
        raise InputError(name, "must be a date (YYYY-MM-DD)")
    if value > today:
        raise InputError(name, "cannot be in the future")
    return value


def _choice(name: str, value, choices) -> str:
    if value not in choices.values:
        raise InputError(name, f"must be one of {', '.join(choices.values)}")
    return value


# --- PDMP checks and urine drug screens ----------------------------------------------------------


def record_pdmp_check(
    actor, patient: Patient, *, checked_on: date, result: str, note: str = ""
) -> PdmpCheck:
    """The prescriber looked the patient up in the state PDMP [R89]: when, and what it showed.
    Concerns must be described."""
    require(actor, Perm.PRESCRIPTION_CHANGE)
    _same_clinic(actor, patient)
    checked_on = _day("checked_on", checked_on, patient.clinic.today())
    result = _choice("result", result, PdmpResult)
    note = _text("note", note, required=result == PdmpResult.CONCERNS)
    with transaction.atomic():
        check = PdmpCheck.objects.create(
            clinic=patient.clinic,
            patient=patient,
            checked_on=checked_on,
            result=result,
            note=note,
            checked_by=actor.user,
        )
        record_for(actor, Action.CREATE, patient=patient, obj=check, detail={"result": result})
    return check


def record_urine_drug_screen(
    actor,
    patient: Patient,
    *,
    collected_on: date,
    result: str,
    substances: str = "",
    note: str = "",
) -> UrineDrugScreen:
    """A urine drug screen's result [R89]; an unexpected one names what was found."""
    require(actor, Perm.PRESCRIPTION_CHANGE)
    _same_clinic(actor, patient)
    collected_on = _day("collected_on", collected_on, patient.clinic.today())
    result = _choice("result", result, UdsResult)
    substances = _text("substances", substances, required=result == UdsResult.UNEXPECTED, limit=200)
    note = _text("note", note)
    with transaction.atomic():
        screen = UrineDrugScreen.objects.create(
            clinic=patient.clinic,
            patient=patient,
            collected_on=collected_on,
            result=result,
            substances=substances,
            note=note,
            recorded_by=actor.user,
        )
        record_for(actor, Action.CREATE, patient=patient, obj=screen, detail={"result": result})
    return screen


# --- Prescriptions -------------------------------------------------------------------------------


@dataclass
class PrescriptionChecks:
    """What stands before a new prescription today: the problems that refuse it, the warnings a
    prescriber should read, and the checks it would rest on."""

    problems: list[prescribing.Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    pdmp: PdmpCheck | None = None
    uds: UrineDrugScreen | None = None
    pdmp_days: int = 0
    uds_days: int = 0


def _latest_supply(patient: Patient) -> tuple[date, int] | None:
    """When the patient's latest at-home supply began and for how many days: the latest fill,
    or the latest prescription's issue when nothing later was filled."""
    fill = (
        PrescriptionFill.objects.filter(patient=patient)
        .select_related("prescription")
        .order_by("-filled_on", "-recorded_at")
        .first()
    )
    # A cancelled prescription that was never filled supplied nothing.
    issued = (
        OralPrescription.objects.filter(patient=patient, cancelled_at__isnull=True)
        .order_by("-issued_on")
        .first()
    )
    candidates = []
    if fill is not None:
        candidates.append((fill.filled_on, fill.prescription.days_supply))
    if issued is not None:
        candidates.append((issued.issued_on, issued.days_supply))
    return max(candidates, key=lambda c: c[0]) if candidates else None


def checks_before_prescribing(patient: Patient, today: date) -> PrescriptionChecks:
    """The PDMP check and urine drug screen the clinic asks for (refusing without them), and
    what the prescriber should know: unexpected results, an early supply, a rising dose, bladder
    symptoms not asked lately."""
    clinic = patient.clinic
    checks = PrescriptionChecks(
        pdmp_days=clinic.setting("oral_home_pdmp_days"),
        uds_days=clinic.setting("oral_home_uds_days"),
    )
    if not home_prescribing_enabled(clinic):
        checks.problems.append(
            prescribing.Problem(
                "clinic", "this clinic does not prescribe oral ketamine for use at home"
            )
        )
    # The same eligibility as a course of oral ketamine: the latest signed screening decides.
    screening = patient.screenings.current()
    if screening is None:
        checks.problems.append(
            prescribing.Problem("screening", "no signed screening; a prescriber signs one first")
        )
    elif Modality.ORAL_KETAMINE not in screening.findings:
        checks.problems.append(
            prescribing.Problem(
                "screening",
                "the latest signed screening did not decide oral ketamine; sign a new one",
            )
        )
    elif screening.status(Modality.ORAL_KETAMINE) == "contraindicated":
        checks.problems.append(
            prescribing.Problem(
                "screening", "the latest signed screening contraindicates oral ketamine"
            )
        )
    checks.pdmp = PdmpCheck.objects.filter(patient=patient).first()
    problem = prescribing.check_is_current(
        "pdmp_check",
        "PDMP check",
        checks.pdmp.checked_on if checks.pdmp else None,
        today,
        checks.pdmp_days,
    )
    if problem:
        checks.problems.append(problem)
    elif checks.pdmp.result == PdmpResult.CONCERNS:
        checks.warnings.append(
            "The PDMP check of " + prescribing.day_text(checks.pdmp.checked_on) + " found concerns."
        )
    uds_days = checks.uds_days
    checks.uds = UrineDrugScreen.objects.filter(patient=patient).first()
    if uds_days:
        problem = prescribing.check_is_current(
            "urine_drug_screen",
            "urine drug screen",
            checks.uds.collected_on if checks.uds else None,
            today,
            uds_days,
        )
        if problem:
            checks.problems.append(problem)
    if checks.uds is not None and checks.uds.result == UdsResult.UNEXPECTED:
        checks.warnings.append(
            f"The urine drug screen of {prescribing.day_text(checks.uds.collected_on)} was "
            f"unexpected ({checks.uds.substances})."
        )
    supply = _latest_supply(patient)
    if supply is not None:
        early = prescribing.early_refill(
            previous_filled_on=supply[0],
            previous_days_supply=supply[1],
            filled_on=today,
            tolerance_days=clinic.setting("oral_home_early_refill_tolerance_days"),
        )
        if early:
            checks.warnings.append(f"This prescription would be {early.message()}. Say why below.")
    escalation = oral_dose_escalation(patient)
    for reason in escalation.reasons:
        checks.warnings.append(f"Rising oral ketamine dose: {reason}.")
    if bladder_due(patient, today):
        checks.warnings.append("Bladder and urinary symptoms have not been asked lately.")
    return checks


def issue_prescription(
    actor,
    patient: Patient,
    *,
    product: str,
    pharmacy: str,
    form: str,
    route: str,
    strength_mg,
    units_per_dose: int,
    quantity: int,
    days_supply: int,
    directions: str,
    refills: int,
    basis: str,
    peer_monitor_name: str,
    peer_monitor_relationship: str = "",
    early_reason: str = "",
    course: Course | None = None,
) -> OralPrescription:
    """Issue an at-home prescription, if the clinic prescribes for home, with a PDMP check
    (and a urine drug screen, when the clinic asks for one) within the clinic's interval; each
    problem names its field and rule. A prescription before the previous supply should run out
    is flagged, and needs the prescriber's reason."""
    require(actor, Perm.PRESCRIPTION_CHANGE)
    _same_clinic(actor, patient)
    clinic = patient.clinic
    today = clinic.today()
    try:
        strength = Decimal(str(strength_mg)) if strength_mg is not None else None
    except InvalidOperation:
        raise InputError("strength_mg", "must be a number of mg") from None
    if strength is not None and not strength.is_finite():
        raise InputError("strength_mg", "must be a number of mg")
    values = {
        "product": _text("product", product, required=True, limit=120),
        "pharmacy": _text("pharmacy", pharmacy, required=True, limit=200),
        "form": _choice("form", form, OralForm),
        "route": _choice("route", route, OralRoute),
        "directions": _text("directions", directions, required=True),
        "peer_monitor_name": _text(
            "peer_monitor_name", peer_monitor_name, required=True, limit=120
        ),
        "peer_monitor_relationship": _text(
            "peer_monitor_relationship", peer_monitor_relationship, limit=60
        ),
    }
    early_reason = _text("early_reason", early_reason)
    if course is not None and (
        course.patient_id != patient.pk or course.modality != Modality.ORAL_KETAMINE
    ):
        raise InputError("course", "must be one of this patient's oral ketamine courses")
    problems = prescribing.prescription_problems(
        strength_mg=strength,
        units_per_dose=units_per_dose,
        quantity=quantity,
        days_supply=days_supply,
        refills=refills,
        max_quantity=clinic.setting("oral_home_max_quantity"),
        max_days_supply=clinic.setting("oral_home_max_days_supply"),
        max_dose_mg=clinic.setting("oral_ketamine_max_mg"),
    )
    problems += prescribing.basis_problems(basis, today)
    if problems:
        raise PrescriptionRefused(problems)
    with transaction.atomic():
        # One prescription at a time per patient: the early-supply rule reads the last one.
        Patient.objects.select_for_update().filter(pk=patient.pk).first()
        checks = checks_before_prescribing(patient, today)
        if checks.problems:
            refusal = checks.problems
            if refusal[0].field == "clinic":
                raise Conflict(refusal[0].message, code="home_prescribing_off")
            raise Conflict(
                "Not issued: " + "; ".join(f"{p.field}: {p.message}" for p in refusal) + ".",
                code="checks_missing",
            )
        supply = _latest_supply(patient)
        early = None
        if supply is not None:
            early = prescribing.early_refill(
                previous_filled_on=supply[0],
                previous_days_supply=supply[1],
                filled_on=today,
                tolerance_days=clinic.setting("oral_home_early_refill_tolerance_days"),
            )
        if early and not early_reason:
            raise InputError("early_reason", f"{early.message()}: say why it is needed now")
        prescription = OralPrescription.objects.create(
            clinic=clinic,
            patient=patient,
            course=course,
            strength_mg=strength,
            units_per_dose=units_per_dose,
            quantity=quantity,
            days_supply=days_supply,
            refills=refills,
            basis=basis,
            issued_on=today,
            prescriber=actor.user,
            pdmp_check=checks.pdmp,
            urine_drug_screen=checks.uds,
            early_days=early.days_early if early else None,
            early_reason=early_reason if early else "",
            **values,
        )
        record_for(
            actor,
            Action.CREATE,
            patient=patient,
            obj=prescription,
            detail={
                "strength_mg": str(strength),
                "quantity": quantity,
                "days_supply": days_supply,
                "refills": refills,
                "basis": basis,
                "pdmp_check": str(checks.pdmp.pk),
                "early_days": prescription.early_days,
            },
        )
        # Aftercare plans the check-ins of the supply, in this transaction.
        hooks.home_supply_started(actor, prescription, today)
    return prescription


def record_fill(actor, prescription: OralPrescription, *, filled_on: date) -> PrescriptionFill:
    """The pharmacy dispensed the prescription (as it or the PDMP reports): refused after the
    void date or past its refills [R88]; flagged when it came before the previous supply should
    have run out, less the clinic's tolerance."""
    require(actor, Perm.PRESCRIPTION_CHANGE)
    _same_clinic(actor, prescription.patient)
    filled_on = _day("filled_on", filled_on, prescription.clinic.today())
    with transaction.atomic():
        locked = OralPrescription.objects.select_for_update().get(pk=prescription.pk)
        if locked.cancelled_at is not None:
            raise InputError("filled_on", "the prescription was cancelled; no fill after that")
        fills = list(locked.fills.all())
        problems = prescribing.fill_problems(
            issued_on=locked.issued_on,
            refills=locked.refills,
            fills_so_far=len(fills),
            filled_on=filled_on,
        )
        if problems:
            raise PrescriptionRefused(problems)
        previous = (
            PrescriptionFill.objects.filter(patient=locked.patient, filled_on__lte=filled_on)
            .select_related("prescription")
            .order_by("-filled_on", "-recorded_at")
            .first()
        )
        early = None
        if previous is not None:
            early = prescribing.early_refill(
                previous_filled_on=previous.filled_on,
                previous_days_supply=previous.prescription.days_supply,
                filled_on=filled_on,
                tolerance_days=locked.clinic.setting("oral_home_early_refill_tolerance_days"),
            )
        fill = PrescriptionFill.objects.create(
            clinic=locked.clinic,
            patient=locked.patient,
            prescription=locked,
            filled_on=filled_on,
            early_days=early.days_early if early else None,
            recorded_by=actor.user,
        )
        record_for(
            actor,
            Action.CREATE,
            patient=locked.patient,
            obj=fill,
            detail={"fill": len(fills) + 1, "early_days": fill.early_days},
        )
        if fills:
            # A refill starts a new supply from its day; the first fill is the supply the
            # prescription's issue already planned for.
            hooks.home_supply_started(actor, locked, filled_on)
    return fill


def cancel_prescription(actor, prescription: OralPrescription, *, reason: str) -> OralPrescription:
    """The prescriber cancels a prescription (and tells the pharmacy to void it): no fill is
    recorded after, and the check-ins of its supply not yet sent are not sent. The reason is
    required. Conflict ``already_cancelled`` the second time."""
    require(actor, Perm.PRESCRIPTION_CHANGE)
    _same_clinic(actor, prescription.patient)
    reason = _text("reason", reason, required=True)
    with transaction.atomic():
        locked = OralPrescription.objects.select_for_update().get(pk=prescription.pk)
        if locked.cancelled_at is not None:
            raise Conflict("This prescription is already cancelled.", code="already_cancelled")
        locked.cancelled_at = timezone.now()
        locked.cancelled_by = actor.user
        locked.cancel_reason = reason
        locked.save(update_fields=["cancelled_at", "cancelled_by", "cancel_reason"])
        record_for(
            actor, Action.UPDATE, patient=locked.patient, obj=locked, detail={"cancelled": True}
        )
        hooks.prescription_cancelled(actor, locked)
    return locked


# --- Bladder and urinary symptoms ----------------------------------------------------------------


def bladder_due(patient: Patient, today: date) -> bool:
    last = BladderCheck.objects.filter(patient=patient).values_list("asked_on", flat=True).first()
    return urinary.is_due(last, today, patient.clinic.setting("bladder_symptom_interval_days"))


def record_bladder_check(
    actor,
    patient: Patient,
    answers: dict,
    *,
    asked_on: date | None = None,
    session: Session | None = None,
    note: str = "",
) -> BladderCheck:
    """The six bladder and urinary symptoms, asked at an oral session or a follow-up [R90]. Any
    yes raises a safety alert for the prescriber in the same transaction: high for blood in
    the urine or bladder pain, elevated otherwise."""
    require(actor, Perm.MEASURE_CHANGE)
    _same_clinic(actor, patient)
    assessed = urinary.assess(answers)
    today = patient.clinic.today()
    asked_on = _day("asked_on", asked_on or today, today)
    note = _text("note", note)
    if session is not None and session.patient_id != patient.pk:
        raise InputError("session", "must be one of this patient's sessions")
    with transaction.atomic():
        check = BladderCheck.objects.create(
            clinic=patient.clinic,
            patient=patient,
            session=session,
            asked_on=asked_on,
            note=note,
            recorded_by=actor.user,
            **{key: key in assessed.present for key in urinary.SYMPTOMS},
        )
        record_for(
            actor,
            Action.CREATE,
            patient=patient,
            obj=check,
            detail={"symptoms": list(assessed.present)},
        )
        if assessed.positive:
            check.alert = raise_alert(
                actor,
                patient,
                AlertKind.URINARY_SYMPTOMS,
                assessed.severity,
                assessed.summary(),
                source=check,
            )
            check.save(update_fields=["alert"])
    return check


# --- The oral dose over time ---------------------------------------------------------------------


def oral_dose_history(patient: Patient) -> list[tuple[date, Decimal, str]]:
    """Every oral or sublingual dose in mg, oldest first: those given in the clinic (each
    session's record) and those prescribed for home (strength × units per dose), each with
    where it came from."""
    tz = patient.clinic.tzinfo
    doses: list[tuple[date, Decimal, str]] = []
    records = OralDoseRecord.objects.filter(
        session__patient=patient, dose_mg__isnull=False, session__started_at__isnull=False
    ).select_related("session")
    for record in records:
        given = record.given_at or record.session.started_at
        doses.append((given.astimezone(tz).date(), record.dose_mg, "in the clinic"))
    for rx in OralPrescription.objects.filter(patient=patient):
        doses.append((rx.issued_on, rx.dose_mg, "prescribed for home"))
    doses.sort(key=lambda d: d[0])
    return doses


def oral_dose_escalation(patient: Patient) -> dosing.DoseEscalation:
    """The clinic's escalating-dose rule, applied to the patient's oral doses in mg."""
    clinic = patient.clinic
    return dosing.check_dose_escalation(
        [dose for _, dose, _ in oral_dose_history(patient)],
        consecutive_increases=clinic.setting("escalation_consecutive_increases"),
        rise_pct=clinic.setting("escalation_rise_pct"),
        unit="mg",
        doses_word="oral doses",
    )
