"""JSON API for the charge-code calculator and the fee schedule (DESIGN.md §5.1).

Thin: parse, call the pure coding module or one service, shape the answer. Bad input is an
``InputError`` naming the field (422); a role that may not change fees gets 403.
"""

import re
from datetime import datetime
from typing import Annotated, Literal

from ninja import Field, Router, Schema
from pydantic import BeforeValidator, StrictBool, StringConstraints
from pydantic_core import PydanticCustomError

from trellis.billing import coding, selectors, services
from trellis.lib.apidoc import errors
from trellis.lib.schema import bounded

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
