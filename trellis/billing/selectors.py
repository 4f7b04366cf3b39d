"""Reading the fee schedule."""

from django.db.models import QuerySet

from trellis.accounts.access import require
from trellis.accounts.permissions import Perm
from trellis.billing import coding
from trellis.billing.models import Fee


def fees(actor) -> QuerySet[Fee]:
    """The actor's clinic's fees, by code."""
    require(actor, Perm.FEE_READ)
    return Fee.objects.filter(clinic=actor.clinic).order_by("code")


def payer_type(clinic) -> coding.PayerType:
    """The payer type the clinic bills unless told otherwise (setting ``billing_default_payer``)."""
    return PAYER_SETTING[clinic.setting("billing_default_payer")]


def visit_code(clinic) -> str:
    """The office visit billed with esketamine and psychotherapy (``billing_visit_code``)."""
    return str(clinic.setting("billing_visit_code"))


# The stored values of the ``billing_default_payer`` setting (trellis/accounts/clinic_settings.py).
PAYER_SETTING = {
    1: coding.PayerType.MEDICARE,
    2: coding.PayerType.COMMERCIAL,
    3: coding.PayerType.SELF_PAY,
}
