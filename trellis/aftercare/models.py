"""Aftercare: the plan the care team agrees with a patient after an induction or a course, the
check-ins after dosing sessions, the patient's journal, coaching sessions, and the escalation of
follow-up questionnaires that were not returned.

Every row carries its clinic (the shard key) and its patient; rows are loaded through
``trellis.patients.access`` and changed only through ``trellis.aftercare.services``. Free text
(journal entries, coaching progress, plan notes) is kept here and shown on the care team's
pages only: no export, audit event or alert summary carries a word of it.
"""

import uuid

from django.db import models
from django.utils import timezone

from trellis.aftercare import checkins, coaching
from trellis.lib.models import staff_reference


class ReferralStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    SENT = "sent", "Referral sent"
    ACCEPTED = "accepted", "Accepted"
    SEEN = "seen", "Patient seen"
    DECLINED = "declined", "Declined"


class FollowUpWith(models.TextChoices):
    NONE = "", "No follow-up planned"
    INTERNAL = "internal", "A clinician of this clinic"
    EXTERNAL = "external", "An outside mental-health professional"


class AftercarePlan(models.Model):
    """What aftercare a patient has agreed to: one plan per patient, edited in place (every
    change audited), naming the course it follows."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.OneToOneField(
        "patients.Patient", on_delete=models.PROTECT, related_name="aftercare_plan"
    )
    course = models.ForeignKey(
        "treatments.Course",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The induction or course this aftercare follows",
    )
    check_ins = models.BooleanField(
        default=True, help_text="Check-ins 24 and 72 hours after each dosing session"
    )
    journal = models.BooleanField(default=False)
    follow_up = models.CharField(
        max_length=10, choices=FollowUpWith.choices, blank=True, default=FollowUpWith.NONE
    )
    follow_up_clinician = staff_reference(
        optional=True, help_text="For follow-up within the clinic"
    )
    referral_to = models.CharField(
        max_length=200, blank=True, help_text="Who the patient is referred to, and where"
    )
    referral_date = models.DateField(null=True, blank=True)
    referral_status = models.CharField(max_length=10, choices=ReferralStatus.choices, blank=True)
    coaching = models.BooleanField(default=False)
    coaching_goals = models.TextField(blank=True)
    coaching_sessions_planned = models.PositiveSmallIntegerField(null=True, blank=True)
    coaching_progress = models.TextField(blank=True)
    mindfulness = models.BooleanField(default=False)
    mindfulness_resources = models.TextField(blank=True)
    group = models.BooleanField(default=False)
    group_reference = models.CharField(
        max_length=120, blank=True, help_text="The group or cohort the patient joins"
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = staff_reference()

    def __str__(self) -> str:
        return f"Aftercare plan ({', '.join(self.component_labels()) or 'empty'})"

    def component_labels(self) -> list[str]:
        labels = []
        if self.check_ins:
            labels.append("Check-ins")
        if self.journal:
            labels.append("Journal")
        if self.follow_up:
            labels.append("Follow-up")
        if self.coaching:
            labels.append("Health coaching")
        if self.mindfulness:
            labels.append("Mindfulness")
        if self.group:
            labels.append("Group")
        return labels


class CoachingSession(models.Model):
    """One health-coaching session, with the Category III code it would carry (recorded only,
    never charged) [R108]."""

    CODE_CHOICES = [(c.code, f"{c.code} · {c.label}") for c in coaching.CODES.values()]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    plan = models.ForeignKey(AftercarePlan, on_delete=models.PROTECT, related_name="sessions")
    held_on = models.DateField()
    code = models.CharField(max_length=5, choices=CODE_CHOICES)
    minutes = models.PositiveSmallIntegerField()
    participants = models.PositiveSmallIntegerField(null=True, blank=True)
    progress = models.TextField(blank=True)
    recorded_by = staff_reference()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-held_on", "-created_at"]

    def __str__(self) -> str:
        return f"Coaching {self.code} on {self.held_on}"


class CheckInStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    SENT = "sent", "Link sent"
    IN_PORTAL = "in_portal", "In the portal only: the patient chose no message"
    ANSWERED = "answered", "Answered"
    MISSED = "missed", "Not answered"
    UNREACHABLE = "unreachable", "Not sent: no way to reach the patient"
    CANCELLED = "cancelled", "Not sent: the prescription was cancelled or replaced"


class CheckIn(models.Model):
    """A check-in a patient answers through a single-use link, after a dosing session (24 or 72
    hours), during an at-home oral ketamine supply (weekly), or sent by the care team. Only the
    SHA-256 of the link's token is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, status, due_at) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # covered by the (patient, due_at) index
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="check_ins", db_index=False
    )
    session = models.ForeignKey(
        "treatments.Session",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The dosing session it follows; empty when the care team sent it",
        db_index=False,
    )
    hours_after = models.PositiveSmallIntegerField(null=True, blank=True)
    prescription = models.ForeignKey(
        "treatments.OralPrescription",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The at-home oral ketamine prescription whose supply it falls in",
    )
    days_after = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Day of the at-home supply (from its first day)"
    )
    due_at = models.DateTimeField()
    status = models.CharField(
        max_length=12, choices=CheckInStatus.choices, default=CheckInStatus.PLANNED
    )
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    link_sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    mood = models.PositiveSmallIntegerField(null=True, blank=True, help_text="0 worst – 10 best")
    sleep = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=list(enumerate(checkins.SLEEP_OPTIONS))
    )
    side_effects = models.JSONField(default=list, blank=True)
    harm_thoughts = models.BooleanField(null=True, blank=True)
    findings = models.JSONField(default=list, blank=True, help_text="checkins.Rule values met")
    created_by = staff_reference(optional=True, help_text="Empty when planned after a session")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-due_at"]
        indexes = [
            models.Index(fields=["patient", "due_at"]),
            models.Index(fields=["clinic", "status", "due_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "hours_after"],
                condition=models.Q(session__isnull=False),
                name="one_check_in_per_session_and_hour",
            ),
            models.UniqueConstraint(
                fields=["prescription", "due_at"],
                condition=models.Q(prescription__isnull=False) & ~models.Q(status="cancelled"),
                name="one_check_in_per_prescription_and_time",
            ),
            models.CheckConstraint(
                condition=models.Q(mood__isnull=True) | models.Q(mood__lte=checkins.MOOD_MAX),
                name="check_in_mood_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Check-in ({self.get_status_display().lower()})"

    def label(self) -> str:
        if self.hours_after:
            return f"{self.hours_after} h after session"
        if self.prescription_id:
            return f"day {self.days_after} of oral ketamine at home"
        return "Sent by the care team"

    def side_effect_labels(self) -> list[str]:
        return [checkins.SIDE_EFFECTS.get(code, code) for code in self.side_effects]

    def finding_labels(self) -> list[str]:
        return [
            checkins.RULES[checkins.Rule(code)].says
            for code in self.findings
            if code in checkins.Rule.__members__.values()
        ]


class JournalVia(models.TextChoices):
    CHECK_IN = "check_in", "Written with a check-in"
    STAFF = "staff", "Entered by staff for the patient"
    PORTAL = "portal", "Patient portal"


class JournalEntry(models.Model):
    """Something the patient wrote. Private entries are kept for the patient alone; shared ones
    appear on the patient page for the care team and pass the crisis-language net
    (``crisis_words``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # covered by the (patient, shared, written_at) index
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    written_at = models.DateTimeField()
    text = models.TextField()
    shared = models.BooleanField(default=False)
    via = models.CharField(max_length=10, choices=JournalVia.choices)
    check_in = models.ForeignKey(
        CheckIn, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    crisis_language = models.BooleanField(
        default=False, help_text="A shared entry in which the crisis-language net found a phrase"
    )
    recorded_by = staff_reference(optional=True, help_text="Empty when the patient wrote it")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-written_at"]
        indexes = [models.Index(fields=["patient", "shared", "written_at"])]

    def __str__(self) -> str:
        return f"Journal entry ({'shared' if self.shared else 'private'})"


class FollowUpEscalation(models.Model):
    """A follow-up questionnaire moment (one patient, one due day) that was not returned in the
    clinic's time, escalated to the care team once as a safety alert."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    course = models.ForeignKey(
        "treatments.Course", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    due_on = models.DateField()
    label = models.CharField(max_length=80)
    instruments = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "due_on"], name="one_follow_up_escalation_per_moment"
            ),
        ]

    def __str__(self) -> str:
        return f"Unreturned follow-up due {self.due_on}"
