"""Safety alerts: something a clinician must look at now, raised by whatever found it (a
questionnaire answer, a session's vitals, a seizure) and escalated until acknowledged.

The table keeps the name it was created with (``measures_safetyalert``) when alerts moved from
measures into their own app: nothing about the rows changed.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from trellis.lib.models import staff_reference


class AlertKind(models.TextChoices):
    SUICIDE_ITEM = "suicide_item", "PHQ-9 item 9: thoughts of death or self-harm"
    VITAL_SIGN = "vital_sign", "Vital sign past its threshold"
    SEIZURE = "seizure", "Seizure"
    SERIOUS_ADVERSE_EVENT = "serious_adverse_event", "Serious adverse event"
    THERAPY_RISK = "therapy_risk", "Risk found in a therapist's assessment"
    CONTROLLED_DISCREPANCY = "controlled_discrepancy", "Controlled-substance count discrepancy"
    CONTROLLED_WASTE_UNWITNESSED = (
        "controlled_waste_unwitnessed",
        "Controlled-substance waste not witnessed",
    )
    # Aftercare (trellis/aftercare): a check-in's answer, a shared journal entry, a follow-up.
    CHECK_IN_HARM = "check_in_harm", "Check-in: thoughts of harming oneself"
    CHECK_IN_WORSENING = "check_in_worsening", "Check-in: mood past the clinic's threshold"
    JOURNAL_CRISIS_LANGUAGE = "journal_crisis_language", "Shared journal entry: crisis language"
    FOLLOW_UP_UNRETURNED = "follow_up_unreturned", "Follow-up questionnaires not returned"
    URINARY_SYMPTOMS = "urinary_symptoms", "Bladder or urinary symptoms on ketamine"
    # The portal (trellis/portal): a patient's message screened by aftercare's crisis net.
    MESSAGE_CRISIS_LANGUAGE = "message_crisis_language", "Portal message: crisis language"


class AlertSeverity(models.TextChoices):
    """How soon a clinician must act; every alert needs acknowledging whatever its severity."""

    ELEVATED = "elevated", "Elevated"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


SEVERITY_RANK = {AlertSeverity.ELEVATED: 1, AlertSeverity.HIGH: 2, AlertSeverity.URGENT: 3}


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"


class AlertAction(models.TextChoices):
    """What the acknowledging clinician did, besides the note they write."""

    CONTACTED_PATIENT = "contacted_patient", "Spoke with the patient"
    RISK_ASSESSMENT = "risk_assessment", "Suicide risk assessment done"
    SAFETY_PLAN = "safety_plan", "Safety plan made or reviewed"
    CRISIS_REFERRAL = "crisis_referral", "Referred to crisis services"
    EMERGENCY_SERVICES = "emergency_services", "Emergency services called"
    TREATMENT_CHANGED = "treatment_changed", "Treatment paused or changed"


class SafetyAlert(models.Model):
    """Something a clinician must look at now: raised in the transaction of what caused it,
    open until a clinician acknowledges it with an action note, escalated while it is not.

    ``source_type``/``source_id`` name the record that raised it (``measures.measure`` and its
    id for a PHQ-9; a session's vitals or an adverse-event record for later kinds).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, status, created_at) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # covered by the (patient, status) index. Empty for an alert about the clinic's stock
    # rather than a patient (a controlled-substance count that does not add up).
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="safety_alerts",
        db_index=False,
    )
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    severity = models.CharField(max_length=10, choices=AlertSeverity.choices)
    summary = models.CharField(max_length=300)
    source_type = models.CharField(max_length=64, blank=True)
    source_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when raised by a patient's own answers or by the system",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    acknowledged_by = staff_reference(optional=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    actions = models.JSONField(default=list, blank=True, help_text="AlertAction codes")
    note = models.TextField("action note", blank=True)
    escalation_count = models.PositiveSmallIntegerField(default=0)
    last_escalated_at = models.DateTimeField(null=True, blank=True)
    next_escalation_at = models.DateTimeField(
        null=True, blank=True, help_text="When it escalates if still open; empty once acknowledged"
    )

    class Meta:
        db_table = "measures_safetyalert"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["clinic", "status", "created_at"]),
            models.Index(fields=["status", "next_escalation_at"], name="alert_escalation_idx"),
            models.Index(fields=["patient", "status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="open")
                | (
                    models.Q(acknowledged_at__isnull=False)
                    & models.Q(acknowledged_by__isnull=False)
                    & ~models.Q(note="")
                ),
                name="acknowledged_alert_has_who_when_and_note",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_severity_display()} {self.get_kind_display()} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == AlertStatus.OPEN

    def action_labels(self) -> list[str]:
        labels = dict(AlertAction.choices)
        return [labels.get(code, code) for code in self.actions]
