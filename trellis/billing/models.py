"""What a clinic bills: its fee schedule, a patient's problem list, the charges written at
signing, and the payments applied to them (DOMAIN.md §14).

One fee per code per clinic, in US dollars; the codes are those of ``trellis.billing.coding``.
Fees per payer, modifiers and packages are later steps [R117, R118]. Charges, payments and
their allocations are append-only (``AppendOnlyModel``): a correction is a new row.
"""

import uuid
from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from trellis.billing import coding, diagnoses
from trellis.billing import ndc as ndc_rules
from trellis.lib.models import AppendOnlyModel, AppendOnlyQuerySet, staff_reference


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


# --- The problem list ---------------------------------------------------------------------------


class Diagnosis(models.Model):
    """One entry of a patient's problem list: an ICD-10-CM code with Trellis's short label (or
    the prescriber's), added and later resolved by a prescriber. The active entries, in the
    order they were added, are the diagnoses of the charges written at signing (item 21, A–L)
    [R124]."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="diagnoses"
    )
    code = models.CharField(max_length=8, help_text="ICD-10-CM, e.g. F33.1")
    label = models.CharField(max_length=120)
    added_by = staff_reference()
    added_at = models.DateTimeField(default=timezone.now, editable=False)
    resolved_by = staff_reference(optional=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["added_at"]
        verbose_name_plural = "diagnoses"
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "code"],
                condition=models.Q(resolved_at__isnull=True),
                name="diagnosis_active_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.label}"

    @property
    def is_active(self) -> bool:
        return self.resolved_at is None


# --- Charges ------------------------------------------------------------------------------------


class ChargeSource(models.TextChoices):
    SESSION = "session", "Treatment session"
    PROGRESS_NOTE = "progress_note", "Therapy progress note"
    GROUP_ATTENDANCE = "group_attendance", "Group session attendance"
    CORRECTION = "correction", "Correction"


class PlaceOfService(models.TextChoices):
    """CMS place-of-service codes a superbill and claim carry (item 24B) [R117, R124]."""

    OFFICE = "11", "11 Office"
    TELEHEALTH = "02", "02 Telehealth"


class Charge(AppendOnlyModel):
    """One billed line, written when the documentation it bills is signed, never typed; once
    written it never changes. A correction is a credit (the same line with a negative amount,
    ``credits`` naming the original) and, if something is still owed, a new line.

    ``(source, source_id, line)`` is unique: signing again, or retrying a signing, writes no
    second set of lines."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, service_date) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=16, choices=ChargeSource.choices)
    source_id = models.UUIDField(
        help_text="The signed session, progress note, group attendance or corrected line"
    )
    line = models.PositiveSmallIntegerField()
    session = models.ForeignKey(
        "treatments.Session",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    service_date = models.DateField()
    place_of_service = models.CharField(max_length=2, choices=PlaceOfService.choices)
    code = models.CharField(max_length=5, help_text="CPT or HCPCS")
    modifiers = models.CharField(max_length=11, blank=True, help_text="Up to four, e.g. 25 59")
    units = models.PositiveSmallIntegerField()
    unit_fee = models.DecimalField(max_digits=9, decimal_places=2)
    amount = models.DecimalField(
        max_digits=11, decimal_places=2, help_text="units × fee; negative for a credit"
    )
    fee_missing = models.BooleanField(
        default=False, help_text="The clinic had no fee for the code when the line was written"
    )
    diagnosis_codes = models.JSONField(
        default=list, blank=True, help_text="ICD-10-CM codes in item-21 order (A–L)"
    )
    participant_count = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Group psychotherapy (90853): the participants present at the session [R103]",
    )
    # The drug a J3490 line bills: the 11-digit NDC of the stock the dose was drawn from and
    # the milligrams drawn, for the claim's shaded line (N4 … ME …) [R124, R127]. None when
    # no container was drawn, or the drawn ones carry different NDCs (``ndc_problem``).
    # Nullable, not blank strings: SQLite adds a nullable column in place, where a default would
    # rebuild the table and drop the triggers that keep charges append-only (billing.0005).
    ndc = models.CharField(  # noqa: DJ001
        "NDC", max_length=11, null=True, blank=True, help_text="11 digits, 5-4-2, no hyphens"
    )
    ndc_quantity = models.DecimalField(
        max_digits=10, decimal_places=3, null=True, blank=True, help_text="Milligrams drawn"
    )
    ndc_problem = models.CharField(  # noqa: DJ001
        max_length=200,
        null=True,
        blank=True,
        help_text="Why a drug line carries no NDC",
    )
    rendering_provider = staff_reference()
    rendering_npi = models.CharField(max_length=10, blank=True)
    billing_npi = models.CharField(max_length=10, blank=True)
    credits = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credited_by",
        help_text="The line this credit cancels",
    )
    reason = models.CharField(max_length=200, blank=True)
    created_by = staff_reference()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["service_date", "created_at", "line"]
        indexes = [
            models.Index(fields=["clinic", "service_date"]),
            models.Index(fields=["patient", "service_date"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_id", "line"], name="charge_written_once"
            ),
            models.UniqueConstraint(
                fields=["credits"],
                condition=models.Q(credits__isnull=False),
                name="charge_credited_once",
            ),
            models.CheckConstraint(
                condition=models.Q(credits__isnull=True, amount__gte=0)
                | models.Q(credits__isnull=False, amount__lte=0),
                name="charge_credit_is_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} × {self.units} on {self.service_date}"

    @property
    def is_credit(self) -> bool:
        return self.credits_id is not None

    @property
    def pointers(self) -> str:
        """Item 24E: the letters of the diagnoses this line points at [R124]."""
        return diagnoses.pointers(len(self.diagnosis_codes or []))

    @property
    def label(self) -> str:
        return coding.CODES.get(self.code, ("", ""))[0]

    @property
    def needs_ndc(self) -> bool:
        return self.code in coding.NDC_CODES

    @property
    def ndc_line(self) -> str:
        """Item 24's shaded line for a drug: N4, the NDC, the unit and quantity; or ""."""
        if not self.ndc or self.ndc_quantity is None:
            return ""
        return ndc_rules.supplemental_line(self.ndc, ndc_rules.MILLIGRAM, self.ndc_quantity)

    @property
    def ndc_mg_text(self) -> str:
        """The milligrams drawn, as written on the line: ``39.5 mg``, never ``39.500 mg``."""
        if self.ndc_quantity is None:
            return ""
        text = f"{self.ndc_quantity:,f}"
        return (text.rstrip("0").rstrip(".") if "." in text else text) + " mg"


# --- Payments -----------------------------------------------------------------------------------


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CARD = "card", "Card"
    CHECK = "check", "Check"
    INSURER = "insurer", "Insurer remittance"


class Payment(AppendOnlyModel):
    """Money received for a patient's account; applied to charges by ``Allocation`` rows."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, received_on) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=8, choices=PaymentMethod.choices)
    reference = models.CharField(
        max_length=60,
        blank=True,
        help_text="Card transaction reference, check number or the remittance's reference",
    )
    payer_name = models.CharField(max_length=120, blank=True, help_text="The insurer, if any")
    amount = models.DecimalField(max_digits=11, decimal_places=2)
    received_on = models.DateField()
    note = models.CharField(max_length=200, blank=True)
    received_by = staff_reference()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["received_on", "created_at"]
        indexes = [
            models.Index(fields=["clinic", "received_on"]),
            models.Index(fields=["patient", "received_on"]),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_positive")
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} ${self.amount} on {self.received_on}"


class Allocation(AppendOnlyModel):
    """Part of a payment applied to one charge."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    charge = models.ForeignKey(Charge, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(max_digits=11, decimal_places=2)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="allocation_positive")
        ]

    def __str__(self) -> str:
        return f"${self.amount} of {self.payment} to {self.charge}"


# Payers, coverage, prior authorisations and Good Faith Estimates live in their own module.
from trellis.billing.models_insurance import (  # noqa: E402, F401
    Coverage,
    GoodFaithEstimate,
    Payer,
    PriorAuthorization,
)
