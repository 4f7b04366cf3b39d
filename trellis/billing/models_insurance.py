"""Payers, a patient's coverage, prior authorisations and Good Faith Estimates (DOMAIN.md §14).

Imported by ``trellis.billing.models`` so that Django registers them with the billing app.
"""

import uuid
from datetime import date

from django.db import models
from django.db.models import Q
from django.utils import timezone

from trellis.billing import coding
from trellis.lib.models import staff_reference


class PayerType(models.TextChoices):
    MEDICARE = "medicare", "Medicare"
    MEDICARE_ADVANTAGE = "medicare_advantage", "Medicare Advantage"
    MEDICAID = "medicaid", "Medicaid"
    CHIP = "chip", "CHIP"
    EXCHANGE = "exchange", "Exchange (marketplace) plan"
    COMMERCIAL = "commercial", "Commercial"
    TRICARE = "tricare", "TRICARE"
    WORKERS_COMP = "workers_comp", "Workers' compensation"
    SELF_PAY = "self_pay", "Self-pay"
    OTHER = "other", "Other"


class EsketamineCoding(models.TextChoices):
    """How the payer wants esketamine billed (DOMAIN.md §6, §14)."""

    G_CODES = "g_codes", "G2082 / G2083 visit codes (Medicare) [R71]"
    J_CODE = "j_code", "J0013 per mg with an office visit [R72]"


class Payer(models.Model):
    """An insurer (or self-pay) the clinic bills, with how it wants services coded."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, name) unique constraint
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    name = models.CharField(max_length=120)
    payer_id = models.CharField(
        "payer id", max_length=20, blank=True, help_text="The clearinghouse's payer id"
    )
    type = models.CharField(max_length=20, choices=PayerType.choices)
    esketamine_coding = models.CharField(max_length=10, choices=EsketamineCoding.choices)
    # Services the payer authorises before they are given.
    requires_auth_tms = models.BooleanField("prior authorisation for TMS", default=True)
    requires_auth_esketamine = models.BooleanField(
        "prior authorisation for esketamine", default=True
    )
    requires_auth_iv_ketamine = models.BooleanField(
        "prior authorisation for IV ketamine", default=False
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["clinic", "name"], name="payer_unique_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def coding_payer_type(self) -> coding.PayerType:
        """The payer type of the coding rules: Medicare's codes for a payer set to G-codes,
        self-pay's for self-pay, commercial ones otherwise."""
        if self.esketamine_coding == EsketamineCoding.G_CODES:
            return coding.PayerType.MEDICARE
        if self.type == PayerType.SELF_PAY:
            return coding.PayerType.SELF_PAY
        return coding.PayerType.COMMERCIAL

    @property
    def authorises_first(self) -> list[str]:
        """The treatments the payer authorises before they are given, by name."""
        names = [("TMS", self.requires_auth_tms), ("Esketamine", self.requires_auth_esketamine)]
        names.append(("IV ketamine", self.requires_auth_iv_ketamine))
        return [name for name, required in names if required]

    def requires_authorisation(self, modality: str) -> bool:
        return bool(getattr(self, f"requires_auth_{modality}", False))


class PlanType(models.TextChoices):
    HMO = "hmo", "HMO"
    PPO = "ppo", "PPO"
    EPO = "epo", "EPO"
    POS = "pos", "POS"
    HDHP = "hdhp", "High-deductible (HDHP)"
    PFFS = "pffs", "Private fee-for-service"
    TRADITIONAL = "traditional", "Traditional Medicare / Medicaid"
    OTHER = "other", "Other"


class Relationship(models.TextChoices):
    SELF = "self", "Self"
    SPOUSE = "spouse", "Spouse"
    CHILD = "child", "Child"
    OTHER = "other", "Other"


class CoverageRank(models.TextChoices):
    PRIMARY = "primary", "Primary"
    SECONDARY = "secondary", "Secondary"


class Coverage(models.Model):
    """A patient's insurance with one payer for a span of dates."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, patient) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="coverages", db_index=False
    )
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="coverages")
    rank = models.CharField(
        max_length=10, choices=CoverageRank.choices, default=CoverageRank.PRIMARY
    )
    member_id = models.CharField("member id", max_length=40)
    group_number = models.CharField("group number", max_length=40, blank=True)
    plan_type = models.CharField(max_length=12, choices=PlanType.choices, blank=True)
    subscriber_name = models.CharField(
        max_length=200, blank=True, help_text="Empty when the patient is the subscriber"
    )
    subscriber_birth_date = models.DateField(null=True, blank=True)
    relationship = models.CharField(
        "patient's relationship to the subscriber",
        max_length=8,
        choices=Relationship.choices,
        default=Relationship.SELF,
    )
    copay = models.DecimalField(
        max_digits=7, decimal_places=2, null=True, blank=True, help_text="US dollars a visit"
    )
    coinsurance_pct = models.PositiveSmallIntegerField(
        "coinsurance %", null=True, blank=True, help_text="The patient's share, 0–100"
    )
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True, help_text="Empty while it lasts")
    ended_reason = models.CharField(max_length=200, blank=True)
    created_by = staff_reference()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["rank", "-effective_from"]
        indexes = [models.Index(fields=["clinic", "patient"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True)
                | Q(effective_to__gte=models.F("effective_from")),
                name="coverage_dates_in_order",
            ),
            models.CheckConstraint(
                condition=Q(coinsurance_pct__isnull=True) | Q(coinsurance_pct__lte=100),
                name="coverage_coinsurance_pct",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payer} {self.member_id}"

    def is_active_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


class AuthStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"


class PriorAuthorization(models.Model):
    """A request to a payer to cover a course's sessions, and its answer (DOMAIN.md §14)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, status) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="prior_authorizations"
    )
    course = models.ForeignKey(
        "treatments.Course", on_delete=models.PROTECT, related_name="prior_authorizations"
    )
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="+")
    coverage = models.ForeignKey(
        Coverage, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    service = models.CharField(max_length=16, help_text="The course's modality")
    status = models.CharField(max_length=10, choices=AuthStatus.choices, default=AuthStatus.DRAFT)
    number = models.CharField(
        "authorisation number", max_length=60, blank=True, help_text="CMS-1500 item 23 [R124]"
    )
    urgent = models.BooleanField(default=False, help_text="An expedited (urgent) request")
    units_requested = models.PositiveSmallIntegerField(null=True, blank=True)
    approved_units = models.PositiveSmallIntegerField(null=True, blank=True)
    approved_from = models.DateField(null=True, blank=True)
    approved_to = models.DateField(null=True, blank=True)
    denial_reason = models.CharField(max_length=300, blank=True)
    # Prescribers' answers to the criteria the record cannot hold: key → {status, note, by, at}.
    attestations = models.JSONField(default=dict, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decision_due_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_by = staff_reference()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["clinic", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(approved_to__isnull=True)
                | Q(approved_from__isnull=True)
                | Q(approved_to__gte=models.F("approved_from")),
                name="prior_auth_window_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"Prior authorisation {self.number or '(no number)'}"


class GoodFaithEstimate(models.Model):
    """An estimate given to an uninsured or self-pay patient (45 CFR 149.610 [R121]): what was
    estimated, as issued, and the PDF the patient received. Never edited: a new one replaces."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, patient) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="estimates", db_index=False
    )
    course = models.ForeignKey(
        "treatments.Course",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="estimates",
    )
    protocol = models.ForeignKey("treatments.Protocol", on_delete=models.PROTECT, related_name="+")
    number = models.CharField(max_length=24, help_text="The clinic's reference for it")
    basis = models.CharField(max_length=10, help_text="scheduled or requested")
    requested_on = models.DateField(help_text="Day the service was scheduled or the estimate asked")
    service_date = models.DateField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True)
    issued_at = models.DateTimeField()
    expires_on = models.DateField()
    # As issued: each line's code, label, units, unit price and amount; the diagnoses; the
    # providers (name, NPI, TIN, address); what is to be scheduled separately.
    lines = models.JSONField()
    total = models.DecimalField(max_digits=10, decimal_places=2)
    dispute_threshold = models.DecimalField(max_digits=10, decimal_places=2)
    diagnosis_codes = models.JSONField(default=list, blank=True)
    providers = models.JSONField(default=list)
    separately_scheduled = models.TextField(blank=True)
    pdf = models.BinaryField(editable=False)
    keep_until = models.DateField(help_text="Six years after issue (often quoted, not confirmed)")
    created_by = staff_reference()

    class Meta:
        ordering = ["-issued_at"]
        indexes = [models.Index(fields=["clinic", "patient"])]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "number"], name="estimate_unique_number")
        ]

    def __str__(self) -> str:
        return f"Good Faith Estimate {self.number}"

    @property
    def issued_on_time(self) -> bool | None:
        if self.due_on is None:
            return None
        return timezone.localdate(self.issued_at, self.clinic.tzinfo) <= self.due_on
