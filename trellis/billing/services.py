"""Changing what a clinic bills: its fee schedule, a patient's problem list, the charges
written when documentation is signed, their corrections, and payments. One audited service
per change, each in one transaction."""

import re
import uuid
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models import Sum
from django.http import Http404
from django.utils import timezone

from trellis.accounts.access import require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.billing import coding, diagnoses, ledger, selectors
from trellis.billing.models import (
    Allocation,
    Charge,
    ChargeSource,
    Diagnosis,
    Fee,
    Payment,
    PaymentMethod,
    PlaceOfService,
)
from trellis.lib.errors import Conflict, InputError
from trellis.patients.modality import Modality
from trellis.treatments.models import Session

MAX_FEE = Decimal("9999999.99")


def clean_amount(value) -> Decimal:
    """A fee in US dollars: a number (or a decimal string) from 0 to 9,999,999.99 with at most
    two decimal places. Raises ``InputError`` naming ``amount``."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise InputError("amount", "must be a number of US dollars")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise InputError("amount", "must be a number of US dollars") from None
    if not amount.is_finite():
        raise InputError("amount", "must be a finite number of US dollars")
    if amount < 0:
        raise InputError("amount", "must be 0 or more US dollars")
    if amount > MAX_FEE:
        raise InputError("amount", f"must be at most {MAX_FEE:,} US dollars")
    if amount != amount.quantize(Decimal("0.01")):
        raise InputError("amount", "must have at most two decimal places (cents)")
    return amount.quantize(Decimal("0.01"))


def clean_code(value: str) -> str:
    code = (value or "").strip().upper()
    if not coding.is_known(code):
        raise InputError("code", f"{value!r} is not a code Trellis bills")
    return code


@transaction.atomic
def set_fee(actor, code: str, amount) -> Fee:
    """Set the actor's clinic's fee for ``code`` (a code of ``coding.CODES``) to ``amount`` US
    dollars; audited as a create or an update with the amounts before and after."""
    require(actor, Perm.FEE_CHANGE)
    code = clean_code(code)
    amount = clean_amount(amount)
    fee = Fee.objects.select_for_update().filter(clinic=actor.clinic, code=code).first()
    before = None if fee is None else str(fee.amount)
    if fee is None:
        fee = Fee(clinic=actor.clinic, code=code)
    fee.amount = amount
    fee.updated_by = actor.user
    fee.updated_at = timezone.now()
    fee.save()
    record_for(
        actor,
        Action.CREATE if before is None else Action.UPDATE,
        obj=fee,
        detail={"code": code, "amount": str(amount), "before": before},
    )
    return fee


# --- The problem list ---------------------------------------------------------------------------


@transaction.atomic
def add_diagnosis(actor, patient, code: str, label: str = "") -> Diagnosis:
    """Put an ICD-10-CM ``code`` on ``patient``'s problem list (a prescriber), with Trellis's
    label unless one is given; a code already active is refused (``InputError`` on code)."""
    require(actor, Perm.DIAGNOSIS_CHANGE)
    _same_clinic(actor, patient)
    code = diagnoses.clean_code(code)
    label = diagnoses.label_for(code, label)
    if Diagnosis.objects.filter(patient=patient, code=code, resolved_at__isnull=True).exists():
        raise InputError("code", f"{code} is already on the problem list")
    row = Diagnosis.objects.create(
        clinic=patient.clinic, patient=patient, code=code, label=label, added_by=actor.user
    )
    record_for(actor, Action.CREATE, patient=patient, obj=row, detail={"code": code})
    return row


@transaction.atomic
def resolve_diagnosis(actor, diagnosis: Diagnosis) -> Diagnosis:
    """Take a diagnosis off the active list; it is kept, with who resolved it and when.
    Charges already written keep the codes they were written with."""
    require(actor, Perm.DIAGNOSIS_CHANGE)
    row = Diagnosis.objects.select_for_update().get(pk=diagnosis.pk)
    _same_clinic(actor, row)
    if row.resolved_at is not None:
        raise Conflict(f"{row.code} is already resolved.", code="resolved")
    row.resolved_at = timezone.now()
    row.resolved_by = actor.user
    row.save(update_fields=["resolved_at", "resolved_by"])
    record_for(actor, Action.UPDATE, patient=row.patient, obj=row, detail={"resolved": row.code})
    return row


def active_codes(patient) -> list[str]:
    """The patient's active diagnoses in item-21 order (oldest first), at most 12 [R124]."""
    codes = Diagnosis.objects.filter(patient=patient, resolved_at__isnull=True).order_by("added_at")
    return diagnoses.for_claim(list(codes.values_list("code", flat=True)))


def _same_clinic(actor, row) -> None:
    if row.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")


# --- Charges written at signing -----------------------------------------------------------------


def session_codes(session) -> list[coding.CodeLine]:
    """The lines a signed treatment session is billed with, from what was documented:
    IV ketamine by the infusion's minutes [R126, R127]; esketamine by dose and the payer (the
    patient's primary coverage that day, else the clinic's default) [R71, R72]; TMS by whether
    it is the course's first delivered session and whether the motor threshold was measured
    that day [R50]. Oral ketamine has no code in
    the rules: nothing is billed."""
    modality = session.course.modality
    clinic = session.clinic
    if modality == Modality.IV_KETAMINE:
        return coding.infusion_codes(minutes=_infusion_minutes(session.infusion))
    if modality == Modality.ESKETAMINE:
        return coding.esketamine_codes(
            dose_mg=session.esketamine.dose_mg,
            payer_type=selectors.session_payer_type(session),
            visit_code=selectors.visit_code(clinic),
        )
    if modality == Modality.TMS:
        earlier = (
            Session.objects.filter(course_id=session.course_id)
            .delivered()
            .exclude(pk=session.pk)
            .filter(number__lt=session.number)
        )
        threshold = session.tms.motor_threshold
        return coding.tms_codes(
            first_in_course=not earlier.exists(),
            motor_threshold_redetermined=threshold is not None
            and threshold.measured_on == session.planned_date,
        )
    return []


def _infusion_minutes(record) -> int:
    """The minutes the infusion ran: from its start and end when both were recorded, else the
    minutes it was planned to run."""
    if record.infusion_started_at and record.infusion_ended_at:
        seconds = (record.infusion_ended_at - record.infusion_started_at).total_seconds()
        return max(1, int(seconds // 60))
    return int(record.minutes or 0)


def capture_session(actor, session) -> list[Charge]:
    """The ``on_session_signed`` receiver: write the session's charges in the signing's
    transaction. A session already charged gets no second set. A session whose record does
    not give a code (no minutes or dose) is signed without charges and the audit says why."""
    try:
        try:
            lines = session_codes(session)
        except ObjectDoesNotExist:
            raise InputError("session", "has no treatment record to code from") from None
    except InputError as error:
        record_for(
            actor,
            Action.UPDATE,
            patient=session.patient,
            obj=session,
            detail={"not_charged": str(error)},
        )
        return []
    return _capture(
        actor,
        patient=session.patient,
        source=ChargeSource.SESSION,
        source_id=session.pk,
        session=session,
        service_date=session.planned_date,
        place=PlaceOfService.OFFICE,
        provider=session.signed_by or actor.user,
        lines=lines,
        drug=selectors.drawn_drug(session)
        if any(ln.code in coding.NDC_CODES for ln in lines)
        else None,
    )


def capture_progress_note(
    actor, note, *, prescriber: bool, telehealth: bool = False
) -> list[Charge]:
    """Charges for a signed therapy progress note, called by the therapy app's signing in its
    transaction. A prescriber's psychotherapy is an add-on to an office visit (90833/6/8 with
    the clinic's visit code) — just the add-on when the session it belongs to already billed a
    visit; anyone else's is psychotherapy alone (90832/4/7) [R102]."""
    minutes = min(note.minutes, coding.PSYCHOTHERAPY_MAX_MINUTES)
    visit = selectors.visit_code(note.clinic)
    if not prescriber:
        lines = coding.psychotherapy_alone(minutes)
    else:
        addon = coding.psychotherapy_addon(minutes)
        visit_billed = (
            note.session_id is not None
            and Charge.objects.filter(
                session_id=note.session_id, code__in=coding.VISIT_CODES, credits__isnull=True
            ).exists()
        )
        lines = (
            addon
            if visit_billed or not addon
            else coding.therapy_codes(psychotherapy_minutes=minutes, visit_code=visit)
        )
    day = timezone.localdate(note.started_at, note.clinic.tzinfo)
    return _capture(
        actor,
        patient=note.patient,
        source=ChargeSource.PROGRESS_NOTE,
        source_id=note.pk,
        session=note.session,
        service_date=day,
        place=PlaceOfService.TELEHEALTH if telehealth else PlaceOfService.OFFICE,
        provider=note.author,
        lines=lines,
    )


def capture_group_attendance(
    actor,
    *,
    attendance_id,
    patient,
    service_date,
    provider,
    line: coding.CodeLine,
    participant_count: int,
    telehealth: bool = False,
) -> list[Charge]:
    """The charge for one member present at a group psychotherapy session whose note is signed,
    called by the group note's signing in its transaction: one 90853 line on the member's own
    account, with the participant count the claim must show [R103, R104], the member's own
    diagnoses, and the facilitator who signed as rendering provider. Written once per attendance
    (``source_id``): a retried signing writes nothing more."""
    if participant_count < 1:
        raise InputError("participant_count", "a group session has at least one participant")
    return _capture(
        actor,
        patient=patient,
        source=ChargeSource.GROUP_ATTENDANCE,
        source_id=attendance_id,
        session=None,
        service_date=service_date,
        place=PlaceOfService.TELEHEALTH if telehealth else PlaceOfService.OFFICE,
        provider=provider,
        lines=[line],
        participant_count=participant_count,
    )


def _capture(
    actor,
    *,
    patient,
    source,
    source_id,
    session,
    service_date,
    place,
    provider,
    lines,
    participant_count=None,
    drug: selectors.DrawnDrug | None = None,
) -> list[Charge]:
    existing = list(Charge.objects.filter(source=source, source_id=source_id).order_by("line"))
    if existing or not lines:
        return existing
    clinic = patient.clinic
    fees = dict(
        Fee.objects.filter(clinic=clinic, code__in=[ln.code for ln in lines]).values_list(
            "code", "amount"
        )
    )
    codes = active_codes(patient)
    rows = []
    with transaction.atomic():
        for number, item in enumerate(lines, start=1):
            fee = fees.get(item.code)
            unit_fee = ledger.money(fee if fee is not None else 0)
            carries = drug if item.code in coding.NDC_CODES else None
            rows.append(
                Charge.objects.create(
                    clinic=clinic,
                    patient=patient,
                    source=source,
                    source_id=source_id,
                    line=number,
                    session=session,
                    service_date=service_date,
                    place_of_service=place,
                    code=item.code,
                    units=item.units,
                    unit_fee=unit_fee,
                    amount=ledger.money(unit_fee * item.units),
                    fee_missing=fee is None,
                    diagnosis_codes=codes,
                    participant_count=participant_count,
                    ndc=carries.ndc if carries else None,
                    ndc_quantity=carries.mg if carries else None,
                    ndc_problem=carries.problem if carries else None,
                    rendering_provider=provider,
                    rendering_npi=provider.npi,
                    billing_npi=clinic.billing_npi,
                    created_by=actor.user,
                )
            )
        record_for(
            actor,
            Action.CREATE,
            patient=patient,
            object_type="billing.charge",
            object_id=str(source_id),
            detail={"source": str(source), "codes": [f"{r.code}×{r.units}" for r in rows]},
        )
    return rows


# --- Corrections --------------------------------------------------------------------------------

MODIFIER = re.compile(r"^[0-9A-Z]{2}$")


def clean_modifiers(value: str) -> str:
    """Up to four two-character modifiers, e.g. "25 59" [R124]."""
    parts = str(value or "").upper().replace(",", " ").split()
    if len(parts) > 4:
        raise InputError("modifiers", "at most four modifiers")
    for part in parts:
        if not MODIFIER.match(part):
            raise InputError("modifiers", f"{part!r} is not a two-character modifier (e.g. 25)")
    return " ".join(parts)


@transaction.atomic
def correct_charge(
    actor,
    charge: Charge,
    *,
    reason: str,
    code: str | None = None,
    units: int | None = None,
    modifiers: str | None = None,
) -> tuple[Charge, Charge | None]:
    """Correct a charge: a credit cancelling it (a negative line naming it) and, unless the
    correction removes the line, a new line with the corrected code, units or modifiers at
    today's fee. Returns (credit, new line or None). The charge itself never changes."""
    require(actor, Perm.BILLING_WRITE)
    original = Charge.objects.select_for_update().get(pk=charge.pk)
    _same_clinic(actor, original)
    reason = " ".join((reason or "").split())
    if not reason:
        raise InputError("reason", "say why the charge is corrected")
    if len(reason) > 200:
        raise InputError("reason", "must be at most 200 characters")
    if original.is_credit:
        raise Conflict("A credit cannot itself be corrected.", code="credit")
    if Charge.objects.filter(credits=original).exists():
        raise Conflict("This charge is already credited.", code="credited")
    paid = _allocated(original)
    if paid > 0:
        raise Conflict(
            f"${paid} of payments is applied to this charge; a credit would leave it paid "
            "for nothing. Refunds are not yet recorded in Trellis.",
            code="paid",
        )
    new_code = clean_code(code) if code else original.code
    new_units = original.units if units is None else _units(units)
    new_modifiers = original.modifiers if modifiers is None else clean_modifiers(modifiers)
    credit = Charge.objects.create(
        clinic=original.clinic,
        patient=original.patient,
        source=ChargeSource.CORRECTION,
        source_id=original.pk,
        line=0,
        session=original.session,
        service_date=original.service_date,
        place_of_service=original.place_of_service,
        code=original.code,
        modifiers=original.modifiers,
        units=original.units,
        unit_fee=original.unit_fee,
        amount=-original.amount,
        fee_missing=original.fee_missing,
        diagnosis_codes=original.diagnosis_codes,
        participant_count=original.participant_count,
        ndc=original.ndc,
        ndc_quantity=original.ndc_quantity,
        ndc_problem=original.ndc_problem,
        rendering_provider=original.rendering_provider,
        rendering_npi=original.rendering_npi,
        billing_npi=original.billing_npi,
        credits=original,
        reason=reason,
        created_by=actor.user,
    )
    replacement = None
    if new_units > 0:
        fee = Fee.objects.filter(clinic=original.clinic, code=new_code).first()
        unit_fee = ledger.money(fee.amount if fee else 0)
        replacement = Charge.objects.create(
            clinic=original.clinic,
            patient=original.patient,
            source=ChargeSource.CORRECTION,
            source_id=original.pk,
            line=1,
            session=original.session,
            service_date=original.service_date,
            place_of_service=original.place_of_service,
            code=new_code,
            modifiers=new_modifiers,
            units=new_units,
            unit_fee=unit_fee,
            amount=ledger.money(unit_fee * new_units),
            fee_missing=fee is None,
            diagnosis_codes=original.diagnosis_codes,
            participant_count=original.participant_count,
            # The same drug drawn: a corrected J3490 line keeps the stock's NDC.
            ndc=original.ndc if new_code == original.code else None,
            ndc_quantity=original.ndc_quantity if new_code == original.code else None,
            ndc_problem=original.ndc_problem if new_code == original.code else None,
            rendering_provider=original.rendering_provider,
            rendering_npi=original.rendering_npi,
            billing_npi=original.billing_npi,
            reason=reason,
            created_by=actor.user,
        )
    record_for(
        actor,
        Action.CREATE,
        patient=original.patient,
        obj=credit,
        detail={
            "credits": str(original.pk),
            "reason": reason,
            "new": None
            if replacement is None
            else f"{replacement.code}×{replacement.units} {replacement.modifiers}".strip(),
        },
    )
    return credit, replacement


def _units(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 999:
        raise InputError("units", "must be a whole number from 0 (remove the line) to 999")
    return value


def _allocated(charge: Charge) -> Decimal:
    total = Allocation.objects.filter(charge=charge).aggregate(s=Sum("amount"))["s"]
    return ledger.money(total or 0)


# --- Payments -----------------------------------------------------------------------------------

REFERENCE_NEEDED = {
    PaymentMethod.CARD: "the card transaction's reference",
    PaymentMethod.CHECK: "the check number",
    PaymentMethod.INSURER: "the remittance's reference (EOB/ERA number)",
}


@transaction.atomic
def record_payment(
    actor,
    patient,
    *,
    method: str,
    amount,
    received_on=None,
    reference: str = "",
    payer_name: str = "",
    note: str = "",
    apply_to: list[tuple[object, object]] | None = None,
) -> Payment:
    """Record money received for ``patient``'s account and apply it: to the charges named in
    ``apply_to`` ([(charge id, amount)…]) or, when none are named, to the charges still owing,
    oldest first. Never more than a charge still owes, nor more than the payment; what is not
    applied stays on the account as a credit. A card, check or insurer payment needs its
    reference; an insurer's needs the insurer's name."""
    require(actor, Perm.BILLING_WRITE)
    _same_clinic(actor, patient)
    if method not in PaymentMethod.values:
        raise InputError("method", f"must be one of {', '.join(PaymentMethod.values)}")
    method = PaymentMethod(method)
    amount = clean_amount(amount)
    if amount <= 0:
        raise InputError("amount", "must be more than 0 US dollars")
    reference = " ".join(str(reference or "").split())
    if method in REFERENCE_NEEDED and not reference:
        raise InputError(
            "reference", f"is required for {method.label.lower()}: {REFERENCE_NEEDED[method]}"
        )
    if len(reference) > 60:
        raise InputError("reference", "must be at most 60 characters")
    payer_name = " ".join(str(payer_name or "").split())
    if method == PaymentMethod.INSURER and not payer_name:
        raise InputError("payer_name", "name the insurer that sent the remittance")
    if len(payer_name) > 120:
        raise InputError("payer_name", "must be at most 120 characters")
    note = " ".join(str(note or "").split())[:200]
    today = actor.clinic.today()
    received_on = received_on or today
    if received_on > today:
        raise InputError("received_on", "cannot be in the future")
    payment = Payment.objects.create(
        clinic=patient.clinic,
        patient=patient,
        method=method,
        reference=reference,
        payer_name=payer_name,
        amount=amount,
        received_on=received_on,
        note=note,
        received_by=actor.user,
    )
    owing = {row.key: row for row in owing_charges(patient, lock=True)}
    if apply_to:
        plan = []
        for index, (charge_id, part) in enumerate(apply_to):
            field = f"apply_to[{index}]"
            row = owing.get(_uuid(charge_id))
            if row is None:
                raise InputError(field, "is not a charge of this patient that still owes")
            part = clean_amount(part)
            if part <= 0:
                raise InputError(field, "the amount applied must be more than 0")
            if part > row.owing:
                raise InputError(field, f"the charge owes only ${row.owing}")
            plan.append((row.key, part))
        if sum((p for _, p in plan), ledger.ZERO) > amount:
            raise InputError("apply_to", "applies more than the payment's amount")
    else:
        plan = ledger.apply_oldest_first(amount, list(owing.values()))
    for key, part in plan:
        Allocation.objects.create(payment=payment, charge_id=key, amount=part)
    record_for(
        actor,
        Action.CREATE,
        patient=patient,
        obj=payment,
        detail={
            "method": str(method),
            "amount": str(amount),
            "applied": [[str(k), str(p)] for k, p in plan],
        },
    )
    return payment


def owing_charges(patient, *, lock: bool = False) -> list[ledger.Owing]:
    """Each charge of ``patient`` that still owes: its amount, less its credit, less what is
    applied to it."""
    rows = Charge.objects.filter(patient=patient, credits__isnull=True)
    if lock:
        rows = rows.select_for_update()
    charges = list(rows.order_by("service_date", "created_at", "line"))
    credited = dict(
        Charge.objects.filter(patient=patient, credits__isnull=False).values_list(
            "credits_id", "amount"
        )
    )
    applied: dict = {}
    for charge_id, part in Allocation.objects.filter(charge__patient=patient).values_list(
        "charge_id", "amount"
    ):
        applied[charge_id] = applied.get(charge_id, ledger.ZERO) + part
    found = []
    for charge in charges:
        owes = charge.amount + credited.get(charge.pk, ledger.ZERO) - applied.get(charge.pk, 0)
        if owes > 0:
            found.append(ledger.Owing(charge.pk, charge.service_date, ledger.money(owes)))
    return found


def _uuid(value):
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None
