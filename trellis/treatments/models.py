import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from trellis.treatments import schedule

MODALITY_CHOICES = [
    ("iv_ketamine", "IV ketamine"),
    ("esketamine", "Esketamine (Spravato)"),
    ("tms", "TMS"),
]


class Protocol(models.Model):
    """A treatment plan that becomes a calendar. Built-in (no clinic) or a clinic's own."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, null=True, blank=True, related_name="protocols"
    )
    code = models.SlugField(max_length=60)
    modality = models.CharField(max_length=16, choices=MODALITY_CHOICES)
    name = models.CharField(max_length=120)
    schedule = models.CharField(
        max_length=40,
        choices=[(code, code) for code in schedule.PROTOCOL_CODES],
        help_text="The calendar the sessions follow",
    )
    sessions = models.PositiveSmallIntegerField(help_text="Sessions in a full course")
    description = models.TextField(blank=True)
    defaults = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["modality", "name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "code"], name="protocol_code_per_clinic"),
            models.UniqueConstraint(
                fields=["code"],
                condition=models.Q(clinic__isnull=True),
                name="builtin_protocol_code_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ClosureDay(models.Model):
    """A day a clinic is shut besides weekends: no session is planned on it."""

    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.CASCADE, related_name="closures")
    date = models.DateField()
    reason = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "date"], name="one_closure_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.reason}"


class CourseStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    STOPPED = "stopped", "Stopped"


class Course(models.Model):
    """One patient's run of a protocol, started from a signed screening."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="courses"
    )
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="courses")
    modality = models.CharField(max_length=16, choices=MODALITY_CHOICES)
    start_date = models.DateField()
    status = models.CharField(
        max_length=12, choices=CourseStatus.choices, default=CourseStatus.ACTIVE
    )
    screening = models.ForeignKey(
        "patients.Screening", on_delete=models.PROTECT, related_name="courses"
    )
    override_reason = models.TextField(blank=True)
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payer = models.CharField(max_length=120, blank=True)
    authorization_ref = models.CharField("authorisation reference", max_length=60, blank=True)
    authorized_units = models.PositiveSmallIntegerField(
        "authorised sessions",
        null=True,
        blank=True,
        help_text="Sessions the payer authorised; empty when self-pay or not needed",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-start_date", "-created_at"]
        indexes = [models.Index(fields=["clinic", "modality", "start_date"])]

    def __str__(self) -> str:
        return f"{self.protocol.name} for {self.patient} from {self.start_date}"


class SessionStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class Session(models.Model):
    """One treatment visit of a course: planned, then documented and signed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="sessions"
    )
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="sessions")
    number = models.PositiveSmallIntegerField()
    planned_date = models.DateField()
    planned_time = models.TimeField(null=True, blank=True)
    phase = models.CharField(max_length=16)
    status = models.CharField(
        max_length=12, choices=SessionStatus.choices, default=SessionStatus.PLANNED
    )
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    documented_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["course", "number"]
        constraints = [
            models.UniqueConstraint(fields=["course", "number"], name="session_number_in_course")
        ]
        indexes = [models.Index(fields=["clinic", "planned_date"])]

    def __str__(self) -> str:
        return f"Session {self.number} of {self.course}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None
