"""The clinic's fee schedule: what the clinic charges for each code it bills (DOMAIN.md §14).

One fee per code per clinic, in US dollars; the codes are those of ``trellis.billing.coding``.
Fees per payer, modifiers and packages are later steps [R117, R118].
"""

import uuid
from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from trellis.lib.models import staff_reference


class Fee(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, code) unique constraint
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    code = models.CharField(max_length=5, help_text="CPT or HCPCS code")
    amount = models.DecimalField(
        max_digits=9,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="US dollars",
    )
    updated_by = staff_reference()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "code"], name="fee_one_per_code"),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="fee_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ${self.amount}"


# Payers, coverage, prior authorisations and Good Faith Estimates live in their own module.
from trellis.billing.models_insurance import (  # noqa: E402, F401
    Coverage,
    GoodFaithEstimate,
    Payer,
    PriorAuthorization,
)
