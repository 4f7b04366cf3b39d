"""Questionnaires answered, links that ask for them, when they are due, and safety alerts.

Every row carries its clinic (the shard key) and, where it has one, its patient; all of them are
loaded through ``trellis.accounts.access`` and changed only through ``trellis.measures.services``.

Columns naming a member of staff (``recorded_by``, ``created_by``, ``raised_by``,
``acknowledged_by``) are not indexed: no page or report looks rows up by their author, and staff
are deactivated, never deleted (the admin refuses to), so no foreign-key check looks for them
either. Nor is a link's ``clinic``: a link is found by its token, its patient or its id.
"""

import hashlib
import uuid
from datetime import date

from django.conf import settings
from django.db import models
from django.utils import timezone

from trellis.measures import instruments
from trellis.measures.contact import link_until
from trellis.measures.schedule import DueStatus, Occasion, due_status


class Instrument(models.TextChoices):
    PHQ9 = instruments.PHQ9.code, instruments.PHQ9.abbreviation
    GAD7 = instruments.GAD7.code, instruments.GAD7.abbreviation


class Severity(models.TextChoices):
    """Severity bands of both instruments (GAD-7 has no "moderately severe") [R51, R54]."""

    MINIMAL = "minimal", "Minimal"
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    MODERATELY_SEVERE = "moderately_severe", "Moderately severe"
    SEVERE = "severe", "Severe"


class EnteredVia(models.TextChoices):
    STAFF = "staff", "Entered by staff"
    PATIENT_LINK = "patient_link", "Patient's own device"
    API = "api", "API"


class Measure(models.Model):
    """One completed questionnaire: every answer as given, and the total and band they score."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, observed_at) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # covered by the (patient, instrument, observed_at) index
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="measures", db_index=False
    )
    # covered by the (course, instrument, observed_at) index
    course = models.ForeignKey(
        "treatments.Course",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="measures",
        help_text="The course this score belongs to; outcomes are computed per course",
        db_index=False,
    )
    instrument = models.CharField(max_length=8, choices=Instrument.choices)
    answers = models.JSONField(help_text="Item answers in printed order, 0-3 each")
    difficulty = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="PHQ-9 functional impact (0-3): recorded, not scored"
    )
    total = models.PositiveSmallIntegerField()
    severity = models.CharField(max_length=20, choices=Severity.choices)
    suicide_item = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="PHQ-9 item 9 answer (LOINC 44260-8); empty for GAD-7"
    )
    observed_at = models.DateTimeField(help_text="When the patient answered")
    entered_via = models.CharField(max_length=16, choices=EnteredVia.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the patient answered through a link",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["observed_at", "created_at"]
        indexes = [
            models.Index(fields=["patient", "instrument", "observed_at"]),
            models.Index(fields=["course", "instrument", "observed_at"]),
            models.Index(fields=["clinic", "observed_at"]),
            # A clinic's rows in key order, a chunk at a time (FHIR $export reads them so).
            models.Index(fields=["clinic", "id"], name="measure_clinic_key_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(total__lte=27), name="measure_total_in_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_instrument_display()} {self.total} ({self.observed_at:%Y-%m-%d})"

    @property
    def definition(self) -> instruments.Instrument:
        return instruments.get_instrument(self.instrument)

    @property
    def max_total(self) -> int:
        return self.definition.max_total

    @property
    def needs_suicide_follow_up(self) -> bool:
        return bool(self.suicide_item)

    def item_rows(self) -> list[dict]:
        """Each item with the words of the answer given, for the detail page."""
        definition = self.definition
        words = {option.value: option.text for option in definition.options}
        return [
            {
                "number": item.number,
                "text": item.text,
                "loinc": item.loinc,
                "value": value,
                "answer": words.get(value, "?"),
                "is_suicide_item": item.number == definition.suicide_item_number,
            }
            for item, value in zip(definition.items, self.answers, strict=False)
        ]

    def difficulty_text(self) -> str:
        question = self.definition.difficulty
        if question is None or self.difficulty is None:
            return ""
        return next((o.text for o in question.options if o.value == self.difficulty), "")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LinkChannel(models.TextChoices):
    SMS = "sms", "Text message"
    EMAIL = "email", "E-mail"
    BOTH = "both", "Text message and e-mail"


class QuestionnaireLink(models.Model):
    """A single-use, expiring link that lets a patient answer one questionnaire, no account.

    Only the SHA-256 of the token is stored: the token itself exists in the message sent to
    the patient and nowhere else (see ``services.new_link_token``).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # covered by the (patient, created_at) index
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        related_name="questionnaire_links",
        db_index=False,
    )
    course = models.ForeignKey(
        "treatments.Course", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    scheduled = models.ForeignKey(
        "ScheduledMeasure",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="links",
        help_text="The scheduled questionnaire this link asks for, if any",
    )
    instrument = models.CharField(max_length=8, choices=Instrument.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    channel = models.CharField(max_length=8, choices=LinkChannel.choices)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    measure = models.OneToOneField(
        Measure, on_delete=models.PROTECT, null=True, blank=True, related_name="link"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for an automatic reminder",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["patient", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_instrument_display()} link ({self.state()})"

    def until(self) -> str:
        """When it stops working, in the clinic's timezone (``contact.link_until``)."""
        return link_until(self.expires_at, self.clinic)

    def state(self, now=None) -> str:
        if self.used_at is not None:
            return "answered"
        if (now or timezone.now()) >= self.expires_at:
            return "expired"
        return "waiting"


class ScheduledMeasure(models.Model):
    """One questionnaire a course asks for, with its window (see ``schedule.plan``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, opens_on, closes_on) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # covered by the (patient, instrument, opens_on) index
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        related_name="scheduled_measures",
        db_index=False,
    )
    # covered by the (course, key, instrument) unique constraint
    course = models.ForeignKey(
        "treatments.Course",
        on_delete=models.PROTECT,
        related_name="scheduled_measures",
        db_index=False,
    )
    key = models.CharField(max_length=32, help_text="Stable within the course: session-3, end …")
    occasion = models.CharField(max_length=16, choices=[(o.value, o.value) for o in Occasion])
    label = models.CharField(max_length=80)
    instrument = models.CharField(max_length=8, choices=Instrument.choices)
    opens_on = models.DateField()
    due_on = models.DateField()
    closes_on = models.DateField()
    # The answer, once there is one. One answer may fill one questionnaire of each of the
    # patient's courses (a baseline shared by courses that start together), never two of one
    # course. Unique only where set (a partial index) and led by the course: "measure IS NULL",
    # the question every open-slot query asks, must not find a unique index on measure, or
    # SQLite's planner takes it (assuming an equality on a unique index matches one row) and
    # walks every open slot of the network instead of the patient's few.
    measure = models.ForeignKey(
        Measure,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="scheduled",
        db_index=False,
    )
    link_sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When a link for it was last sent"
    )
    reminded_at = models.DateTimeField(
        null=True, blank=True, help_text="When the automatic reminder went out (or was tried)"
    )

    class Meta:
        ordering = ["due_on", "instrument"]
        constraints = [
            models.UniqueConstraint(
                fields=["course", "key", "instrument"], name="scheduled_measure_once_per_course"
            ),
            models.UniqueConstraint(
                fields=["course", "measure"],
                condition=models.Q(measure__isnull=False),
                name="one_slot_per_measure_and_course",
            ),
        ]
        indexes = [
            models.Index(fields=["clinic", "opens_on", "closes_on"], name="scheduled_window_idx"),
            models.Index(fields=["patient", "instrument", "opens_on"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_instrument_display()} {self.label} (due {self.due_on})"

    def status(self, today: date) -> DueStatus:
        return due_status(
            self.opens_on, self.due_on, self.closes_on, today, done=self.measure_id is not None
        )
