"""The controlled-substance ledger: receipts, the containers they bring in, and every movement
of every milligram (DOMAIN.md §5, §15).

A container's ``balance_ug`` is kept in step with its entries in the same transaction, by a
conditional UPDATE that cannot take it below zero (a CHECK constraint refuses that as well), so
two nurses drawing from one vial at once cannot overdraw it. The same UPDATE moves the
container's running totals, and a CHECK holds remaining = received − administered − wasted −
adjusted; a trigger refuses an administration from a quarantined or expired container
(migration 0007). The entries are append-only: the
database refuses UPDATE and DELETE on them (triggers, migration 0002), and they are hash-chained
per clinic like the audit trail, so ``verify_chain`` detects a row changed around the triggers.
Amounts are whole micrograms (``balance.py``).
"""

import uuid

from django.db import models
from django.utils import timezone

from trellis.controlled import balance
from trellis.lib.models import AppendOnlyModel, AppendOnlyQuerySet, staff_reference


class Substance(models.TextChoices):
    KETAMINE = "ketamine", "Ketamine"
    ESKETAMINE = "esketamine", "Esketamine (Spravato)"


class DosageForm(models.TextChoices):
    VIAL = "vial", "Injection vial"
    NASAL_DEVICE = "nasal_device", "Nasal spray device"
    TABLETS = "tablets", "Tablets or troches"


class EntryKind(models.TextChoices):
    RECEIPT = balance.RECEIPT, "Receipt"
    ADMINISTRATION = balance.ADMINISTRATION, "Administration"
    WASTE = balance.WASTE, "Waste"
    ADJUSTMENT = balance.ADJUSTMENT, "Adjustment"
    COUNT = balance.COUNT, "Count"
    WITNESS = balance.WITNESS, "Waste witnessed"
    QUARANTINE = balance.QUARANTINE, "Quarantined"
    RELEASE = balance.RELEASE, "Released from quarantine"


class Receipt(models.Model):
    """Stock received on a supplier's invoice (CIII: no Form 222) [R66, R68]."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    substance = models.CharField(max_length=12, choices=Substance.choices)
    ndc = models.CharField("NDC", max_length=13)
    form = models.CharField(max_length=14, choices=DosageForm.choices)
    amount_per_container_ug = models.PositiveBigIntegerField()
    volume_per_container_ml = models.DecimalField(
        max_digits=7, decimal_places=2, null=True, blank=True
    )
    lot = models.CharField(max_length=40)
    expires_on = models.DateField()
    containers = models.PositiveIntegerField()
    supplier_name = models.CharField(max_length=200)
    supplier_address = models.TextField()
    supplier_dea = models.CharField("supplier's DEA number", max_length=9)
    invoice_number = models.CharField(max_length=60)
    invoice_date = models.DateField()
    received_on = models.DateField()
    received_by = staff_reference()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-received_on", "-created_at"]

    def __str__(self) -> str:
        return f"{self.get_substance_display()} lot {self.lot}, invoice {self.invoice_number}"


class Container(models.Model):
    """One vial, tablet bottle or Spravato device, with its own running balance.

    ``patient`` is set for a Spravato device labelled for one patient [R129].
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, substance, expires_on) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    receipt = models.ForeignKey(Receipt, on_delete=models.PROTECT, related_name="items")
    number = models.PositiveIntegerField(help_text="Its place in the receipt: 1, 2, 3 …")
    substance = models.CharField(max_length=12, choices=Substance.choices)
    form = models.CharField(max_length=14, choices=DosageForm.choices)
    lot = models.CharField(max_length=40)
    expires_on = models.DateField()
    received_ug = models.PositiveBigIntegerField()
    balance_ug = models.BigIntegerField()
    # Running totals, moved by the same conditional UPDATE that moves the balance, so that the
    # database holds remaining = received − administered − wasted − adjusted (a CHECK).
    # ``adjusted_ug`` is what adjustments took away: negative when they added stock back.
    administered_ug = models.PositiveBigIntegerField(default=0)
    wasted_ug = models.PositiveBigIntegerField(default=0)
    adjusted_ug = models.BigIntegerField(default=0)
    # A Spravato device's kit (1, 2 …) within its receipt: 2 devices make a 56 mg kit, 3 an
    # 84 mg kit [R130]. None for vials and bottles.
    kit = models.PositiveIntegerField(null=True, blank=True)
    quarantined = models.BooleanField(default=False)
    quarantine_reason = models.CharField(max_length=300, blank=True)
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="For a device labelled for one patient",
    )

    class Meta:
        ordering = ["expires_on", "lot", "number"]
        indexes = [models.Index(fields=["clinic", "substance", "expires_on"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(balance_ug__gte=0), name="container_balance_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    balance_ug=models.F("received_ug")
                    - models.F("administered_ug")
                    - models.F("wasted_ug")
                    - models.F("adjusted_ug")
                ),
                name="container_balance_adds_up",
            ),
            models.UniqueConstraint(fields=["receipt", "number"], name="container_number_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_substance_display()} lot {self.lot} #{self.number}"

    @property
    def remaining_mg(self) -> float:
        return balance.to_mg(self.balance_ug)

    def is_expired(self, today) -> bool:
        return today > self.expires_on


class LedgerEntryQuerySet(AppendOnlyQuerySet):
    pass


class LedgerEntry(AppendOnlyModel):
    """One movement of a container's stock, or a count or witness confirmation. Append-only.

    ``amount_ug`` is signed as it moves the balance (``balance.signed_amount``);
    ``balance_after_ug`` is the container's balance once it was written. A correction is a new
    entry whose ``refers_to`` names the entry it corrects; a witness's confirmation of waste is
    an entry of kind ``witness`` that refers to the waste.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The clinic's own chain: seq 1, 2, 3 … with each entry's hash covering the one before.
    seq = models.BigIntegerField(editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    container = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    amount_ug = models.BigIntegerField()
    balance_after_ug = models.BigIntegerField()
    counted_ug = models.BigIntegerField(null=True, blank=True)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    session = models.ForeignKey(
        "treatments.Session", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = staff_reference()
    witness = staff_reference(optional=True)
    method = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    refers_to = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "seq"], name="ledger_seq_once_per_clinic"),
            # Waste is confirmed once, by one witness.
            models.UniqueConstraint(
                fields=["refers_to"],
                condition=models.Q(kind="witness"),
                name="waste_witnessed_once",
            ),
            models.CheckConstraint(
                condition=models.Q(balance_after_ug__gte=0), name="ledger_balance_not_negative"
            ),
        ]
        indexes = [
            models.Index(
                fields=["kind", "created_at"],
                condition=models.Q(kind="waste"),
                name="ledger_waste_idx",
            )
        ]
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} {balance.mg_text(self.amount_ug)}"

    def chain_fields(self) -> dict:
        return {
            "seq": self.seq,
            "clinic_id": str(self.clinic_id),
            "container_id": str(self.container_id),
            "kind": self.kind,
            "amount_ug": self.amount_ug,
            "balance_after_ug": self.balance_after_ug,
            "counted_ug": self.counted_ug,
            "patient_id": str(self.patient_id) if self.patient_id else None,
            "session_id": str(self.session_id) if self.session_id else None,
            "actor_id": self.actor_id,
            "witness_id": self.witness_id,
            "method": self.method,
            "note": self.note,
            "refers_to_id": str(self.refers_to_id) if self.refers_to_id else None,
            "created_at": self.created_at,
            "id": str(self.id),
        }


# What each entry's hash covers, in this order (``LedgerEntry.chain_fields``).
CHAIN_FIELDS = (
    "seq",
    "clinic_id",
    "container_id",
    "kind",
    "amount_ug",
    "balance_after_ug",
    "counted_ug",
    "patient_id",
    "session_id",
    "actor_id",
    "witness_id",
    "method",
    "note",
    "refers_to_id",
    "created_at",
    "id",
)


class SessionDraw(models.Model):
    """A container chosen at the dosing step of a session, and how much of the dose comes from
    it. Signing the session draws it (``entry``), in the signing transaction, exactly once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    session = models.ForeignKey("treatments.Session", on_delete=models.PROTECT, related_name="+")
    container = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="draws")
    amount_ug = models.PositiveBigIntegerField()
    chosen_by = staff_reference()
    chosen_at = models.DateTimeField(default=timezone.now, editable=False)
    entry = models.OneToOneField(
        LedgerEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="draw"
    )

    class Meta:
        ordering = ["chosen_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "container"], name="session_draws_container_once"
            )
        ]

    def __str__(self) -> str:
        return f"{balance.mg_text(self.amount_ug)} from {self.container}"


class InventoryKind(models.TextChoices):
    INITIAL = "initial", "Initial inventory"
    BIENNIAL = "biennial", "Biennial inventory"
    SHIFT = "shift", "Shift or daily count"


class TimeOfDay(models.TextChoices):
    OPENING = "opening", "Opening of business"
    CLOSE = "close", "Close of business"


class Inventory(models.Model):
    """A count of every container on hand at one moment: the initial inventory, the biennial
    one (at most two years apart) [R67, R132], or a shift or daily count. Each line is also a
    count entry on the ledger, so a difference raises a discrepancy alert."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=InventoryKind.choices)
    taken_on = models.DateField()
    time_of_day = models.CharField(max_length=8, choices=TimeOfDay.choices)
    taken_by = staff_reference()
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-taken_on", "-created_at"]
        verbose_name_plural = "inventories"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.taken_on}"


class InventoryLine(models.Model):
    """One container in an inventory: what was counted, exactly or as an estimate (allowed for
    an opened Schedule III container unless the clinic or state requires exact counts) [R67]."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    inventory = models.ForeignKey(Inventory, on_delete=models.PROTECT, related_name="lines")
    container = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="+")
    substance = models.CharField(max_length=12, choices=Substance.choices)
    form = models.CharField(max_length=14, choices=DosageForm.choices)
    units_per_container_ug = models.PositiveBigIntegerField()
    opened = models.BooleanField()
    estimated = models.BooleanField(default=False)
    expected_ug = models.BigIntegerField()
    counted_ug = models.BigIntegerField()
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["substance", "container__lot", "container__number"]

    def __str__(self) -> str:
        return f"{self.container}: counted {balance.mg_text(self.counted_ug)}"

    @property
    def discrepancy_ug(self) -> int:
        return self.counted_ug - self.expected_ug


class LossKind(models.TextChoices):
    THEFT = "theft", "Theft"
    SIGNIFICANT_LOSS = "significant_loss", "Significant loss"
    IN_TRANSIT = "in_transit", "Lost in transit"


class LossReport(models.Model):
    """A suspected theft or significant loss: the facts DEA Form 106 asks for, and its two
    deadlines: written notice within one business day of discovery, the form within 45 days
    [R70] (``form106.py``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=LossKind.choices)
    discovered_on = models.DateField()
    registrant_dea = models.CharField("clinic's DEA number", max_length=9)
    description = models.TextField()
    police_notified = models.BooleanField(default=False)
    police_report = models.CharField(max_length=100, blank=True)
    count = models.ForeignKey(
        LedgerEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    container = models.ForeignKey(
        Container, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    amount_ug = models.PositiveBigIntegerField()
    notice_due = models.DateField()
    form_due = models.DateField()
    notice_sent_on = models.DateField(null=True, blank=True)
    notice_sent_by = staff_reference(optional=True)
    form_filed_on = models.DateField(null=True, blank=True)
    form_reference = models.CharField(max_length=60, blank=True)
    form_filed_by = staff_reference(optional=True)
    reported_by = staff_reference()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-discovered_on", "-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} discovered {self.discovered_on}"

    @property
    def is_done(self) -> bool:
        return self.notice_sent_on is not None and self.form_filed_on is not None
