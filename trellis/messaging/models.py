import uuid

from django.db import models
from django.utils import timezone


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"


class Status(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class OutboxMessage(models.Model):
    """One e-mail or SMS, written in the transaction that caused it and sent by ``run_outbox``.

    ``next_attempt_at`` is when the worker may next pick the message up: the earliest send time
    while pending, and while sending the moment the worker's claim lapses (a worker killed
    mid-send leaves the message due again then).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outbox_messages",
        help_text="Empty for system mail that belongs to no clinic",
    )
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outbox_messages",
        help_text="Whom the message is about, for the audit trail",
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.CharField(
        max_length=254, help_text="An e-mail address, or a phone number such as +15551234567"
    )
    subject = models.CharField(max_length=200, blank=True, help_text="E-mail only")
    body = models.TextField()
    html_body = models.TextField(blank=True, help_text="E-mail only: an HTML alternative")
    purpose = models.CharField(
        max_length=40, help_text="Why it was sent: questionnaire_link, alert_escalation, reminder …"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The worker's query: pending or sending rows whose next attempt is due.
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.purpose} ({self.get_status_display()})"
