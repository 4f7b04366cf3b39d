"""Combined plans, maintenance plans and relapse flags.

A **combined plan** holds two courses of one patient — a TMS course and an IV ketamine or
esketamine course — and the rule that shares the calendar between them (``sequencing``). A
**maintenance plan** follows an induction course with sessions every ``interval_days``
(``maintenance``). A **relapse flag** is raised when a patient who responded has a PHQ-9 past the
clinic's relapse rule (``measures.relapse``); it keeps the rule's code.
"""

import uuid

from django.db import models
from django.utils import timezone

from trellis.lib.models import staff_reference
from trellis.patients.modality import Modality
from trellis.plans import sequencing


class Sequencing(models.TextChoices):
    SEPARATE_DAYS = sequencing.SEPARATE_DAYS, "TMS on separate days"
    SAME_DAY_AFTER_DISCHARGE = (
        sequencing.SAME_DAY_AFTER_DISCHARGE,
        "TMS the same day, after the dose's discharge",
    )


class TreatmentPlan(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, patient) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # A course belongs to at most one combined plan.
    tms_course = models.OneToOneField(
        "treatments.Course", on_delete=models.PROTECT, related_name="+"
    )
    dose_course = models.OneToOneField(
        "treatments.Course",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The IV ketamine or esketamine course",
    )
    sequencing = models.CharField(max_length=30, choices=Sequencing.choices)
    note = models.TextField(blank=True)
    created_by = staff_reference()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["clinic", "patient"])]

    def __str__(self) -> str:
        return f"Combined plan for {self.patient}"

    @property
    def courses(self) -> list:
        return [self.dose_course, self.tms_course]

    @property
    def name(self) -> str:
        return f"TMS + {self.dose_course.get_modality_display()}"


class MaintenanceStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"


MAINTENANCE_MODALITIES = [Modality.IV_KETAMINE, Modality.ESKETAMINE, Modality.TMS]


class MaintenancePlan(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, status) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    after_course = models.ForeignKey(
        "treatments.Course",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The induction this maintenance follows",
    )
    modality = models.CharField(
        max_length=16, choices=[(m.value, m.label) for m in MAINTENANCE_MODALITIES]
    )
    interval_days = models.PositiveSmallIntegerField()
    status = models.CharField(
        max_length=8, choices=MaintenanceStatus.choices, default=MaintenanceStatus.ACTIVE
    )
    note = models.TextField(blank=True)
    created_by = staff_reference()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["clinic", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "modality"],
                condition=models.Q(status="active"),
                name="one_active_maintenance_per_modality",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_modality_display()} maintenance for {self.patient}"


class MaintenanceBooking(models.Model):
    """An appointment booked as one of a maintenance plan's sessions."""

    plan = models.ForeignKey(MaintenancePlan, on_delete=models.PROTECT, related_name="bookings")
    appointment = models.OneToOneField(
        "scheduling.Appointment", on_delete=models.PROTECT, related_name="+"
    )
    brought_forward = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Maintenance booking {self.appointment_id}"


class FlagStatus(models.TextChoices):
    OPEN = "open", "Open"
    REVIEWED = "reviewed", "Reviewed"


class RelapseFlag(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, status, raised_at) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    course = models.ForeignKey(
        "treatments.Course",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        help_text="The course the patient responded to",
    )
    measure = models.OneToOneField(
        "measures.Measure",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The PHQ-9 that met the rule",
    )
    rule = models.CharField(max_length=40, help_text="The relapse rule's code (measures.relapse)")
    reason = models.CharField(max_length=200)
    baseline = models.PositiveSmallIntegerField()
    nadir = models.PositiveSmallIntegerField()
    total = models.PositiveSmallIntegerField()
    raised_at = models.DateTimeField(default=timezone.now)
    # The maintenance session proposed when the flag was raised (the plan's page shows it live).
    proposed_on = models.DateField(null=True, blank=True)
    proposed_note = models.CharField(max_length=120, blank=True)
    maintenance_plan = models.ForeignKey(
        MaintenancePlan, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=FlagStatus.choices, default=FlagStatus.OPEN)
    reviewed_by = staff_reference(optional=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-raised_at"]
        indexes = [models.Index(fields=["clinic", "status", "raised_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=models.Q(status="open"),
                name="one_open_relapse_flag_per_patient",
            )
        ]

    def __str__(self) -> str:
        return f"Relapse flag for {self.patient}"

    @property
    def is_open(self) -> bool:
        return self.status == FlagStatus.OPEN
