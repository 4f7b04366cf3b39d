"""The appointment book: a clinic's resources (chairs, rooms, TMS devices), when they are open,
when they are out, and the appointments booked on them.

Conflicts are refused by the database as well as by the services (migration 0001):

- one resource, one active appointment at a time, and one patient, one active appointment at a
  time — a PostgreSQL exclusion constraint over ``tstzrange(start, "end")``, and on SQLite
  triggers that abort an overlapping insert or update;
- one ketamine-family dose per patient per clinic day unless a prescriber's override reason is
  given — the partial unique constraint ``one_ketamine_dose_per_day`` on ``(patient, day)``;
- one active appointment per treatment session — ``one_active_appointment_per_session``.

Cancelled and no-show appointments hold nothing (``kinds.ACTIVE_STATUSES``).
"""

import calendar
import uuid

from django.db import models
from django.utils import timezone

from trellis.lib.models import staff_reference
from trellis.scheduling import kinds
from trellis.scheduling.kinds import AppointmentKind, AppointmentStatus, ResourceKind


class Resource(models.Model):
    """Something an appointment takes up: an infusion chair, a room or a TMS device."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, name) unique constraint
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=12, choices=ResourceKind.choices)
    name = models.CharField(max_length=80)
    make = models.CharField(max_length=80, blank=True, help_text="TMS devices: the maker")
    model = models.CharField(max_length=80, blank=True, help_text="TMS devices: the model")
    coil = models.CharField(max_length=80, blank=True, help_text="TMS devices: the coil")
    is_active = models.BooleanField(default=True)
    ordering = models.PositiveSmallIntegerField(
        default=0, help_text="Where the resource's column stands in the day view"
    )

    class Meta:
        ordering = ["ordering", "name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="resource_name_per_clinic")
        ]

    def __str__(self) -> str:
        return self.name


class OpeningHours(models.Model):
    """One stretch of a weekday when a resource can be booked; a day may have several."""

    # reached through the resource
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=list(enumerate(calendar.day_name)))
    opens = models.TimeField(help_text="Clinic-local time")
    closes = models.TimeField(help_text="Clinic-local time")

    class Meta:
        ordering = ["resource", "weekday", "opens"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes__gt=models.F("opens")), name="opening_hours_closes_later"
            ),
            models.CheckConstraint(
                condition=models.Q(weekday__lte=6), name="opening_hours_weekday_0_to_6"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"

    def save(self, *args, **kwargs) -> None:
        if self.clinic_id is None and self.resource_id is not None:
            self.clinic_id = self.resource.clinic_id
        super().save(*args, **kwargs)


class BlockKind(models.TextChoices):
    CLOSURE = "closure", "Closure"
    MAINTENANCE = "maintenance", "Maintenance"
    # A room held for a group's session (trellis.groups): nothing else is booked in it then.
    GROUP = "group", "Group session"


class ResourceBlock(models.Model):
    """A time a resource is out (closed, or in maintenance): nothing is booked on it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # reached through the resource
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="blocks")
    start = models.DateTimeField()
    end = models.DateTimeField()
    kind = models.CharField(max_length=12, choices=BlockKind.choices)
    note = models.CharField(max_length=200, blank=True)
    created_by = staff_reference(optional=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="resource_block_ends_later"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.resource}"

    def save(self, *args, **kwargs) -> None:
        if self.clinic_id is None and self.resource_id is not None:
            self.clinic_id = self.resource.clinic_id
        super().save(*args, **kwargs)


ACTIVE = models.Q(status__in=kinds.ACTIVE_STATUSES)


class AppointmentQuerySet(models.QuerySet):
    def active(self) -> "AppointmentQuerySet":
        """Appointments holding their time: not cancelled, not a no-show."""
        return self.filter(ACTIVE)

    def overlapping(self, start, end) -> "AppointmentQuerySet":
        return self.filter(start__lt=end, end__gt=start)


class Appointment(models.Model):
    """One patient's booking of a time, on a resource if it takes one, with a member of staff."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, day) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="appointments"
    )
    kind = models.CharField(max_length=16, choices=AppointmentKind.choices)
    start = models.DateTimeField()
    end = models.DateTimeField()
    # The clinic-local date of ``start``: the ketamine day rule and the day's list read it.
    day = models.DateField()
    resource = models.ForeignKey(
        Resource, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    staff = staff_reference(optional=True)
    # The treatment session this appointment is for; one active appointment per session.
    session = models.ForeignKey(
        "treatments.Session",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="appointments",
    )
    status = models.CharField(
        max_length=12, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    status_reason = models.TextField(blank=True, help_text="Why it was cancelled or missed")
    # A second ketamine-family dose on the patient's day: the prescriber who allowed it, and why.
    override_reason = models.TextField(blank=True)
    override_by = staff_reference(optional=True)
    created_by = staff_reference()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    no_show_at = models.DateTimeField(null=True, blank=True)
    # The calendar file's SEQUENCE (RFC 5545): raised at each move and at cancelling, so that a
    # patient's calendar replaces the copy it has; empty (0) until then. Nullable so that adding
    # it is an ALTER TABLE on SQLite: a rebuilt table would lose migration 0002's triggers.
    sequence = models.IntegerField(null=True, blank=True, editable=False)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["start"]
        indexes = [
            models.Index(fields=["clinic", "day"]),
            models.Index(fields=["patient", "start"], name="appointment_patient_start"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="appointment_ends_later"
            ),
            models.UniqueConstraint(
                fields=["patient", "day"],
                condition=ACTIVE
                & models.Q(kind__in=sorted(kinds.KETAMINE_FAMILY), override_reason=""),
                name="one_ketamine_dose_per_day",
            ),
            models.UniqueConstraint(
                fields=["session"],
                condition=ACTIVE & models.Q(session__isnull=False),
                name="one_active_appointment_per_session",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.start:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status in kinds.ACTIVE_STATUSES

    @property
    def calendar_sequence(self) -> int:
        return self.sequence or 0

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


# --- What the patient is told (reminders.py) ----------------------------------------------------


class MessageKind(models.TextChoices):
    BOOKED = "booked", "Booked"
    MOVED = "moved", "Moved"
    CANCELLED = "cancelled", "Cancelled"
    REMINDER = "reminder", "Reminder"


class AppointmentMessage(models.Model):
    """That the patient was told about an appointment: written with the outbox message(s), in
    the same transaction. ``key`` is unique per appointment, so the day-before reminder for one
    start time is queued once however often the job runs (``reminder:<start>``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # reached through the appointment
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # covered by the (appointment, key) unique constraint
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, related_name="messages", db_index=False
    )
    kind = models.CharField(max_length=12, choices=MessageKind.choices)
    key = models.CharField(max_length=80)
    channels = models.CharField(max_length=20, blank=True, help_text="sms, email, or both")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "key"], name="one_appointment_message_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} message for {self.appointment}"


class LinkAnswer(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"
    CANCEL_REQUESTED = "cancel_requested", "Asked to cancel or reschedule"


class AppointmentLink(models.Model):
    """A link in a message that lets the patient confirm, or ask to cancel, one appointment.

    Only the SHA-256 of its signed token is stored (``lib.signed_tokens``). It is answered once
    and works until the appointment starts."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # reached through the appointment
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField()
    answer = models.CharField(max_length=20, choices=LinkAnswer.choices, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # Front desk's list of patients asking to cancel or reschedule.
            models.Index(fields=["clinic", "answer", "answered_at"], name="appointment_link_answer")
        ]

    def __str__(self) -> str:
        return f"Link for {self.appointment}"


class CalendarFeed(models.Model):
    """A patient's calendar subscription: their upcoming appointments at a secret address.

    Only the SHA-256 of the signed token is stored; revoking it (or issuing a new one, which
    revokes the old) makes the address answer 404."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, patient) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = staff_reference()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["clinic", "patient"], name="calendar_feed_patient")]

    def __str__(self) -> str:
        return f"Calendar feed of {self.patient}"
