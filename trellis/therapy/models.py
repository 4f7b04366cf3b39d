"""Psychotherapy alongside treatment (DOMAIN.md §11).

Two kinds of notes, kept in separate tables because the law keeps them apart [R100, R101]:

- a **progress note** is part of the medical record: the session's times (from which the
  add-on code follows), the modality, what was worked on, the risk assessment and the plan;
  it is signed and then never changes, corrections are addenda;
- a **psychotherapy note** is the therapist's own analysis of the conversation (HIPAA
  164.501): only its author and the colleagues the author grants may read it, and it is in no
  card, API read, export, search or audit detail.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from trellis.lib.models import staff_reference


class TherapyModality(models.TextChoices):
    KAP = "kap", "Ketamine-assisted psychotherapy"
    CBT = "cbt", "Cognitive behavioural therapy"
    SUPPORTIVE = "supportive", "Supportive"
    OTHER = "other", "Other"


class KapPhase(models.TextChoices):
    """The three phases of ketamine-assisted psychotherapy [R96]."""

    PREPARATION = "preparation", "Preparation"
    DOSING = "dosing", "Support during dosing"
    INTEGRATION = "integration", "Integration"


class RiskLevel(models.TextChoices):
    NONE = "none", "No risk identified"
    LOW = "low", "Low"
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"


class NoteStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"


class ProgressNote(models.Model):
    """A therapist's progress note for a treatment session or a therapy appointment."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="progress_notes"
    )
    session = models.ForeignKey(
        "treatments.Session",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="progress_notes",
    )
    appointment = models.ForeignKey(
        "scheduling.Appointment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="progress_notes",
    )
    author = staff_reference()
    modality = models.CharField(max_length=12, choices=TherapyModality.choices)
    phase = models.CharField(max_length=12, choices=KapPhase.choices, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    focus = models.TextField(blank=True)
    interventions = models.TextField(blank=True)
    response = models.TextField("Patient response", blank=True)
    plan = models.TextField(blank=True)
    risk_level = models.CharField(max_length=12, choices=RiskLevel.choices, default=RiskLevel.NONE)
    risk_notes = models.TextField("Risk assessment", blank=True)
    themes = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=8, choices=NoteStatus.choices, default=NoteStatus.DRAFT)
    signed_at = models.DateTimeField(null=True, blank=True)
    # The safety alert raised from this note's risk assessment, if one was.
    alert = models.ForeignKey(
        "safety.SafetyAlert", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["patient", "started_at"], name="progressnote_patient")]
        constraints = [
            models.CheckConstraint(
                condition=Q(session__isnull=True) | Q(appointment__isnull=True),
                name="progressnote_one_occasion",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__gt=models.F("started_at")), name="progressnote_ends_later"
            ),
        ]

    def __str__(self) -> str:
        return f"Progress note {self.pk}"

    @property
    def is_signed(self) -> bool:
        return self.status == NoteStatus.SIGNED

    @property
    def minutes(self) -> int:
        return int((self.ended_at - self.started_at).total_seconds() // 60)


class ProgressNoteAddendum(models.Model):
    """A correction to a signed progress note: the note itself never changes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    note = models.ForeignKey(ProgressNote, on_delete=models.PROTECT, related_name="addenda")
    author = staff_reference()
    reason = models.CharField(max_length=200)
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Progress note addendum {self.pk}"


class GoalStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    MET = "met", "Met"
    DROPPED = "dropped", "Dropped"


class TreatmentGoal(models.Model):
    """A goal of the patient's treatment plan that the therapist follows across sessions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="treatment_goals"
    )
    text = models.CharField(max_length=300)
    status = models.CharField(max_length=8, choices=GoalStatus.choices, default=GoalStatus.ACTIVE)
    created_by = staff_reference()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Treatment-plan goal {self.pk}"


class PsychotherapyNote(models.Model):
    """The author's own notes on a session's conversation (HIPAA 164.501) [R100]. Kept out of
    the medical record: read only through ``therapy.walls``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["patient", "author"], name="psychnote_patient_author")]

    def __str__(self) -> str:
        return f"Psychotherapy note {self.pk}"


class PsychotherapyNoteGrant(models.Model):
    """The author lets a colleague read one note, or all the author's notes on a patient
    (``note`` empty). Revoked, it stays as the record of who could read what, and when."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    grantee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    note = models.ForeignKey(
        PsychotherapyNote, on_delete=models.PROTECT, null=True, blank=True, related_name="grants"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["patient", "grantee"], name="psychgrant_patient_grantee")]

    def __str__(self) -> str:
        return f"Psychotherapy note grant {self.pk}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
