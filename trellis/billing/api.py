"""JSON API for the charge-code calculator, the fee schedule (DESIGN.md §5.1), and a patient's
charges (read-only: written at signing) and payments.

Thin: parse, call the pure coding module or one service, shape the answer. Bad input is an
``InputError`` naming the field (422); a role that may not change fees gets 403.
"""

import re
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from ninja import Field, Router, Schema, Status
from pydantic import BeforeValidator, StrictBool, StringConstraints
from pydantic_core import PydanticCustomError

from trellis.accounts.permissions import Perm
from trellis.billing import coding, selectors, services
from trellis.billing import ndc as ndc_rules
from trellis.lib.apidoc import errors
from trellis.lib.schema import Date, PlainText, bounded
from trellis.patients import access
from trellis.treatments.models import Session

router = Router(tags=["billing"])


# --- Charge codes ------------------------------------------------------------------------------


class ChargeCodesIn(Schema):
    """Which inputs each service needs: iv_ketamine ``minutes``; esketamine ``dose_mg``; tms
    ``first_in_course`` (and ``motor_threshold_redetermined``, default false); therapy
    ``psychotherapy_minutes``; group ``attendees``. An input the service does not read is
    refused (422 naming it)."""

    service: Literal["iv_ketamine", "esketamine", "tms", "therapy", "group"]
    payer_type: Literal["medicare", "commercial", "self_pay"] | None = Field(
        None, description="Default: the clinic's setting billing_default_payer"
    )
    minutes: bounded(1, coding.INFUSION_MAX_MINUTES, whole=True) | None = Field(
        None, description="iv_ketamine: whole minutes the infusion ran"
    )
    dose_mg: bounded(1, coding.ESKETAMINE_MAX_MG, whole=True) | None = Field(
        None, description="esketamine: whole mg given (28 per device)"
    )
    first_in_course: StrictBool | None = Field(
        None, description="tms: the first session of the course"
    )
    motor_threshold_redetermined: StrictBool | None = Field(
        None, description="tms: the motor threshold was measured again at this session"
    )
    psychotherapy_minutes: bounded(0, coding.PSYCHOTHERAPY_MAX_MINUTES, whole=True) | None = Field(
        None, description="therapy: whole minutes of psychotherapy alongside the visit"
    )
    attendees: bounded(1, coding.GROUP_MAX_ATTENDEES, whole=True) | None = Field(
        None, description="group: attendees present"
    )


class CodeOut(Schema):
    code: str
    units: int
    label: str
    source: str


class ChargeCodesOut(Schema):
    service: str
    payer_type: str
    codes: list[CodeOut]


@router.post(
    "/calculators/charge-codes",
    response=ChargeCodesOut,
    summary="The CPT/HCPCS codes and units a service is billed with "
    "(TMS [R50]; esketamine [R71, R72]; IV infusion [R126, R127]; psychotherapy [R102]; "
    "group [R103, R104])",
)
def charge_codes(request, payload: ChargeCodesIn):
    """Labels are Trellis's own wording, not CPT descriptors. For other payers than Medicare,
    esketamine and therapy include the clinic's office-visit code (setting
    billing_visit_code)."""
    clinic = request.auth.clinic
    inputs = payload.model_dump(exclude={"service", "payer_type"})
    payer = payload.payer_type or selectors.payer_type(clinic)
    lines = coding.charge_codes(
        payload.service, payer_type=payer, visit_code=selectors.visit_code(clinic), **inputs
    )
    return {
        "service": payload.service,
        "payer_type": str(payer),
        "codes": [line.as_dict() for line in lines],
    }


# --- Fee schedule ------------------------------------------------------------------------------

AMOUNTS = (
    'US dollars. Sent as a JSON number (150 or 150.5) or a decimal string ("150.50"), at '
    "least 0 with at most two decimal places; returned as a decimal string with two decimal "
    'places ("150.50") so that no cent is lost to floating point.'
)


# Leading zeros are still a number; the pattern is the OpenAPI document's too.
_DECIMAL_TEXT = r"^-?0*[0-9]{1,10}(\.[0-9]{1,10})?$"
_DECIMAL = re.compile(_DECIMAL_TEXT)


def _amount(value):
    """A JSON number or a decimal string; the service checks the amount's range and cents."""
    if isinstance(value, str) and _DECIMAL.match(value.strip()):
        return value.strip()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("amount", "must be a number of US dollars")
    return value


class FeeIn(Schema):
    amount: Annotated[
        float | Annotated[str, StringConstraints(pattern=_DECIMAL_TEXT, max_length=40)],
        BeforeValidator(_amount),
    ] = Field(..., description=AMOUNTS)


class FeeOut(Schema):
    code: str
    label: str
    amount: str = Field(..., description=AMOUNTS)
    updated_at: datetime


def _fee(fee) -> dict:
    return {
        "code": fee.code,
        "label": coding.CODES[fee.code][0],
        "amount": f"{fee.amount:.2f}",
        "updated_at": fee.updated_at,
    }


@router.get(
    "/fees",
    response={200: list[FeeOut], **errors(403)},
    summary="The clinic's fee schedule (administrator and front desk)",
    description=AMOUNTS,
)
def list_fees(request):
    return [_fee(fee) for fee in selectors.fees(request.auth)]


@router.put(
    "/fees/{code}",
    response={200: FeeOut, **errors(403)},
    summary="Set the clinic's fee for a code (clinic administrator)",
    description="The code must be one Trellis bills (the charge-code calculator's codes); "
    "an unknown code or a negative amount is a 422. " + AMOUNTS,
)
def put_fee(request, code: str, payload: FeeIn):
    return _fee(services.set_fee(request.auth, code, payload.amount))


# --- Charges and payments of a patient ----------------------------------------------------------


class ChargeOut(Schema):
    id: str
    session: str | None
    source: Literal["session", "progress_note", "group_attendance", "correction"]
    service_date: date
    place_of_service: Literal["11", "02"] = Field(..., description="11 office, 02 telehealth")
    code: str
    label: str
    modifiers: list[str]
    units: int
    unit_fee: str = Field(..., description="US dollars, two decimal places")
    amount: str = Field(..., description="units × unit_fee; negative for a credit")
    fee_missing: bool = Field(..., description="No fee was set for the code when written")
    diagnoses: list[str] = Field(..., description="ICD-10-CM codes in item-21 order (A–L)")
    pointers: str = Field(..., description="Item 24E: the letters this line points at")
    participant_count: int | None = Field(
        None, description="Group psychotherapy (90853): participants present at the session"
    )
    ndc: str | None = Field(
        None,
        description="A drug line (J3490): the 11-digit NDC (5-4-2, no hyphens) of the stock drawn",
        examples=["00409205310"],
    )
    ndc_quantity_mg: str | None = Field(
        None, description="A drug line: the milligrams drawn, as a decimal string"
    )
    ndc_missing: str | None = Field(
        None, description="A drug line without an NDC: why (the claim would be rejected)"
    )
    rendering_npi: str
    billing_npi: str
    credits: str | None = Field(None, description="The charge this credit cancels")
    reason: str
    created_at: datetime


def _charge(row) -> dict:
    return {
        "id": str(row.pk),
        "session": str(row.session_id) if row.session_id else None,
        "source": row.source,
        "service_date": row.service_date,
        "place_of_service": row.place_of_service,
        "code": row.code,
        "label": row.label,
        "modifiers": row.modifiers.split(),
        "units": row.units,
        "unit_fee": f"{row.unit_fee:.2f}",
        "amount": f"{row.amount:.2f}",
        "fee_missing": row.fee_missing,
        "diagnoses": list(row.diagnosis_codes or []),
        "pointers": row.pointers,
        "participant_count": row.participant_count,
        "ndc": row.ndc,
        "ndc_quantity_mg": None
        if row.ndc_quantity is None
        else ndc_rules.quantity_text(row.ndc_quantity),
        "ndc_missing": (row.ndc_problem or "no NDC was carried")
        if row.needs_ndc and not row.ndc
        else None,
        "rendering_npi": row.rendering_npi,
        "billing_npi": row.billing_npi,
        "credits": str(row.credits_id) if row.credits_id else None,
        "reason": row.reason,
        "created_at": row.created_at,
    }


class AccountOut(Schema):
    charges: list[ChargeOut]
    charged: str
    paid: str
    balance: str = Field(..., description="Every charge and credit less every payment")


@router.get(
    "/patients/{patient_id}/charges",
    response={200: AccountOut, **errors(403)},
    summary="A patient's charges, credits and balance (written at signing; read-only)",
)
def patient_charges(request, patient_id: str):
    patient = access.patient(request.auth, patient_id, Perm.BILLING_READ)
    found = selectors.account(patient)
    return {
        "charges": [_charge(row) for row in found.charges],
        "charged": f"{found.charged:.2f}",
        "paid": f"{found.paid:.2f}",
        "balance": f"{found.balance:.2f}",
    }


@router.get(
    "/sessions/{session_id}/charges",
    response={200: list[ChargeOut], **errors(403)},
    summary="The charges a signed treatment session was billed with",
)
def session_charges(request, session_id: str):
    session = access.load(
        request.auth, Session.objects.select_related("patient"), session_id, Perm.BILLING_READ
    )
    return [_charge(row) for row in selectors.session_charges(session)]


class ApplyIn(Schema):
    charge: UUID = Field(..., description="A charge of this patient that still owes")
    amount: Annotated[
        float | Annotated[str, StringConstraints(pattern=_DECIMAL_TEXT, max_length=40)],
        BeforeValidator(_amount),
    ]


class PaymentIn(Schema):
    method: Literal["cash", "card", "check", "insurer"]
    amount: Annotated[
        float | Annotated[str, StringConstraints(pattern=_DECIMAL_TEXT, max_length=40)],
        BeforeValidator(_amount),
    ] = Field(..., description="More than 0 US dollars, at most two decimal places")
    received_on: Date | None = Field(None, description="Default: the clinic's today; not later")
    reference: PlainText = Field(
        "",
        description="Required for card, check and insurer: the transaction, check number "
        "or remittance reference (at most 60 characters)",
    )
    payer_name: PlainText = Field("", description="Required for insurer: the insurer's name")
    note: PlainText = ""
    apply_to: list[ApplyIn] | None = Field(
        None,
        max_length=200,
        description="Where the money goes; without it, to the charges still owing, oldest "
        "first. What is not applied stays on the account as a credit.",
    )


class AllocationOut(Schema):
    charge: str
    amount: str


class PaymentOut(Schema):
    id: str
    patient: str
    method: str
    amount: str
    received_on: date
    reference: str
    payer_name: str
    note: str
    allocations: list[AllocationOut]
    created_at: datetime


def _payment(row) -> dict:
    return {
        "id": str(row.pk),
        "patient": str(row.patient_id),
        "method": row.method,
        "amount": f"{row.amount:.2f}",
        "received_on": row.received_on,
        "reference": row.reference,
        "payer_name": row.payer_name,
        "note": row.note,
        "allocations": [
            {"charge": str(a.charge_id), "amount": f"{a.amount:.2f}"} for a in row.allocations.all()
        ],
        "created_at": row.created_at,
    }


@router.post(
    "/patients/{patient_id}/payments",
    response={201: PaymentOut, **errors(403)},
    summary="Record a payment and apply it to the patient's charges (front desk, administrator)",
    description="A 422 names the field: an amount of 0 or less, a missing reference for a "
    "card, check or insurer payment, a missing insurer name, a date in the future, or an "
    "``apply_to[i]`` that is not a charge of the patient still owing or applies more than it "
    "owes (or more than the payment in all).",
)
def create_payment(request, patient_id: str, payload: PaymentIn):
    patient = access.patient(request.auth, patient_id, Perm.BILLING_WRITE)
    payment = services.record_payment(
        request.auth,
        patient,
        method=payload.method,
        amount=payload.amount,
        received_on=payload.received_on,
        reference=payload.reference,
        payer_name=payload.payer_name,
        note=payload.note,
        apply_to=None
        if payload.apply_to is None
        else [(item.charge, item.amount) for item in payload.apply_to],
    )
    return Status(201, _payment(payment))


@router.get(
    "/patients/{patient_id}/payments",
    response={200: list[PaymentOut], **errors(403)},
    summary="A patient's payments, oldest first, with what each was applied to",
)
def list_payments(request, patient_id: str):
    patient = access.patient(request.auth, patient_id, Perm.BILLING_READ)
    return [_payment(row) for row in selectors.account(patient).payments]
