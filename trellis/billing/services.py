"""Changing the fee schedule: one audited service per change."""

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from trellis.accounts.access import require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.billing import coding
from trellis.billing.models import Fee
from trellis.lib.errors import InputError

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
