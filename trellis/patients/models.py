"""Patients, their weights and heights, assessment requests and screenings.

Columns naming a member of staff (``recorded_by``, ``handled_by``, ``created_by``, ``signed_by``)
are not indexed: no page or report looks rows up by their author, and staff are deactivated,
never deleted (the admin refuses to), so no foreign-key check looks for them either. Nor is the
``clinic`` of a measurement or screening: those rows are reached through their patient.
"""

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from trellis.lib import phones
from trellis.lib.models import staff_reference
from trellis.patients import eligibility


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


def validate_birth_date(value: date) -> None:
    # A field validator knows no clinic: today in the active timezone, which is the clinic's on
    # staff pages (StaffMiddleware) and in the API (its token activates it).
    today = timezone.localdate()
    if value > today:
        raise ValidationError("The date of birth is in the future.")
    if value < today - timedelta(days=round(125 * 365.25)):
        raise ValidationError("The date of birth is more than 125 years ago.")


def validate_not_future(value) -> None:
    # A few minutes' grace for a client whose clock runs ahead of ours.
    if value > timezone.now() + timedelta(minutes=5):
        raise ValidationError("This time is in the future.")


# The first text message was sent on 3 December 1992: an agreement to texts cannot be older.
FIRST_TEXT_MESSAGE = datetime(1992, 12, 3, tzinfo=UTC)


def validate_texting_era(value) -> None:
    if value < FIRST_TEXT_MESSAGE:
        raise ValidationError("This time is before text messages existed (December 1992).")


def validate_not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("This field cannot be blank.")


class ContactChannel(models.TextChoices):
    """How the patient wants automated messages (reminders, confirmations, questionnaire
    links); ``patients.contact.channels`` reads it. Empty: not asked yet, the clinic's usual."""

    USUAL = "", "Not chosen yet"
    TEXT = "text", "Text message"
    EMAIL = "email", "E-mail"
    BOTH = "both", "Text and e-mail"
    NONE = "none", "No automated messages"


class Patient(models.Model):
    """A person in a clinic's registry. Loaded only through ``trellis.accounts.access``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, birth_date) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="patients", db_index=False
    )
    mrn = models.CharField("MRN", max_length=20, editable=False)
    given_name = models.CharField(max_length=100, validators=[validate_not_blank])
    family_name = models.CharField(max_length=100, validators=[validate_not_blank])
    birth_date = models.DateField("date of birth", validators=[validate_birth_date])
    sex = models.CharField(max_length=10, choices=Sex.choices)
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    contact_channel = models.CharField(
        "automated messages by",
        max_length=8,
        choices=ContactChannel.choices,
        blank=True,
        default="",  # not chosen yet (a plain str: the bulk loaders marshal it)
    )
    # When the patient agreed to automated text messages (TCPA prior express consent,
    # 47 CFR 64.1200(a)(1)); None: not recorded, and no text goes where the clinic requires it.
    sms_consent_at = models.DateTimeField(
        "agreed to automated texts",
        null=True,
        blank=True,
        validators=[validate_not_future, validate_texting_era],
    )
    address = models.TextField(blank=True)
    emergency_contact_name = models.CharField(max_length=200, blank=True)
    emergency_contact_phone = models.CharField(max_length=32, blank=True)
    emergency_contact_relation = models.CharField("relationship", max_length=60, blank=True)
    # The patient asked that their records stay out of research exports (docs/research-export.md).
    research_opt_out = models.BooleanField("left out of research exports", default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["family_name", "given_name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "mrn"], name="mrn_unique_in_clinic"),
        ]
        indexes = [
            models.Index(Lower("family_name"), "clinic", name="patient_family_name_idx"),
            models.Index(fields=["clinic", "birth_date"], name="patient_birth_date_idx"),
            # A clinic's rows in key order, a chunk at a time (FHIR $export reads them so).
            models.Index(fields=["clinic", "id"], name="patient_clinic_key_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.mrn})"

    def clean(self) -> None:
        needs = []
        wants_text = self.contact_channel in (ContactChannel.TEXT, ContactChannel.BOTH)
        wants_email = self.contact_channel in (ContactChannel.EMAIL, ContactChannel.BOTH)
        if wants_text and not self.phone.strip():
            needs.append(
                "Text messages need a mobile number: fill in Phone, or choose another way."
            )
        if wants_email and not self.email.strip():
            needs.append("E-mail needs an address: fill in E-mail, or choose another way.")
        if needs:
            raise ValidationError({"contact_channel": " ".join(needs)})

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def phone_display(self) -> str:
        """The phone number as the clinic writes it: "(617) 555-0134"."""
        return phones.display(self.phone, phones.region_of(self.clinic))

    @property
    def emergency_contact_phone_display(self) -> str:
        return phones.display(self.emergency_contact_phone, phones.region_of(self.clinic))

    def age_on(self, day: date) -> int:
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - before_birthday

    def latest_measurement(self, field: str) -> "BodyMeasurement | None":
        return (
            self.measurements.filter(**{f"{field}__isnull": False})
            .order_by("-measured_on", "-recorded_at")
            .first()
        )


class BodyMeasurement(models.Model):
    """Weight and height on a date: the weight used for dosing always carries its date."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="measurements")
    measured_on = models.DateField()
    weight_kg = models.DecimalField(
        "weight (kg)",
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(20), MaxValueValidator(400)],
    )
    height_cm = models.DecimalField(
        "height (cm)",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(100), MaxValueValidator(250)],
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        db_index=False,
    )
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-measured_on", "-recorded_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weight_kg__isnull=False) | models.Q(height_cm__isnull=False),
                name="measurement_has_a_value",
            ),
        ]

    def __str__(self) -> str:
        parts = [
            f"{self.weight_kg} kg" if self.weight_kg else "",
            f"{self.height_cm} cm" if self.height_cm else "",
        ]
        return f"{' '.join(p for p in parts if p)} on {self.measured_on}"

    def clean(self) -> None:
        if self.weight_kg is None and self.height_cm is None:
            raise ValidationError("Enter a weight, a height or both.")
        today = self.clinic.today() if self.clinic_id else timezone.localdate()
        if self.measured_on and self.measured_on > today:
            raise ValidationError({"measured_on": "The measurement date is in the future."})


class RequestStatus(models.TextChoices):
    NEW = "new", "New"
    CONTACTED = "contacted", "Contacted"
    BOOKED = "booked", "Booked"
    DECLINED = "declined", "Declined"


class RequestSource(models.TextChoices):
    WEB = "web", "Website form"
    FRONT_DESK = "front_desk", "Front desk"


class AssessmentRequest(models.Model):
    """Someone asking to be assessed: the first step of the pathway."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, status, submitted_at) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="requests", db_index=False
    )
    given_name = models.CharField(max_length=100, validators=[validate_not_blank])
    family_name = models.CharField(max_length=100, validators=[validate_not_blank])
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    preferred_times = models.CharField(max_length=200, blank=True)
    reason = models.TextField(max_length=1000, blank=True)
    consent_to_contact = models.BooleanField(default=False)
    status = models.CharField(
        max_length=12, choices=RequestStatus.choices, default=RequestStatus.NEW
    )
    source = models.CharField(
        max_length=12, choices=RequestSource.choices, default=RequestSource.WEB
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="requests"
    )
    handled_by = staff_reference(optional=True)
    submitted_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # A keyed hash of the sender's address: enough to rate-limit, not enough to identify.
    sender_key = models.CharField(max_length=64, blank=True, editable=False, db_index=True)

    class Meta:
        ordering = ["-submitted_at"]
        indexes = [models.Index(fields=["clinic", "status", "submitted_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(phone="", email=""), name="request_has_a_contact"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name} ({self.get_status_display()})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def clean(self) -> None:
        if not self.phone.strip() and not self.email.strip():
            raise ValidationError({"phone": "Give a phone number or an e-mail address."})

    @property
    def phone_display(self) -> str:
        return phones.display(self.phone, phones.region_of(self.clinic))

    @property
    def can_be_declined(self) -> bool:
        """A request whose patient is registered is someone the clinic has taken on."""
        return self.patient_id is None and self.status != RequestStatus.DECLINED


class ContactMethod(models.TextChoices):
    CALL = "call", "Phone call"
    TEXT = "text", "Text message"
    EMAIL = "email", "E-mail"
    NOTE = "note", "Note"


class ContactOutcome(models.TextChoices):
    REACHED = "reached", "Reached"
    VOICEMAIL = "voicemail", "Left a voicemail"
    NO_ANSWER = "no_answer", "No answer"
    WRONG_NUMBER = "wrong_number", "Wrong number or address"
    SENT = "sent", "Sent"
    STATUS = "status", "Status changed"


class RequestContact(models.Model):
    """One attempt to reach the person behind an assessment request, or a note about it: the
    request's contact history, appended to and never overwritten."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    request = models.ForeignKey(
        AssessmentRequest, on_delete=models.PROTECT, related_name="contacts"
    )
    method = models.CharField(max_length=8, choices=ContactMethod.choices)
    outcome = models.CharField(max_length=16, choices=ContactOutcome.choices, blank=True)
    note = models.TextField(max_length=2000, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        help_text="Empty for an entry moved over from the old single note",
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.get_outcome_display()} ({self.at:%Y-%m-%d})"


# Which signed screening is the current one: the greatest by these, compared in this order (the
# latest signed; on a tie the latest written, then the greatest id). The one order for the
# database (``ScreeningQuerySet.current``) and for screenings already loaded (``current_among``).
CURRENT_ORDER = ("signed_at", "created_at", "pk")


class ScreeningQuerySet(models.QuerySet):
    def signed(self) -> "ScreeningQuerySet":
        return self.filter(signed_at__isnull=False)

    def current(self) -> "Screening | None":
        """The current screening: the latest signed one (ties: the latest written), which
        decides whether a course may start. The one definition, for the patient page, starting
        a course, re-screening and the demonstration data."""
        return self.signed().order_by(*(f"-{field}" for field in CURRENT_ORDER)).first()


def current_among(screenings: Iterable["Screening"]) -> "Screening | None":
    """``ScreeningQuerySet.current`` of screenings already loaded (all of one patient's)."""
    signed = [s for s in screenings if s.signed_at is not None]
    return max(signed, key=attrgetter(*CURRENT_ORDER), default=None)


class Screening(models.Model):
    """Intake answers, prior antidepressant trials and the eligibility they give.

    A draft can be edited; once a prescriber signs it, it never changes. A later signed screening
    supersedes it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # covered by the (patient, signed_at) index
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="screenings", db_index=False
    )
    answers = models.JSONField(default=dict)
    trials = models.JSONField(default=list)
    age_years = models.PositiveSmallIntegerField(null=True)
    thresholds = models.JSONField(default=dict, help_text="The clinic thresholds the rules used")
    trd = models.BooleanField(default=False)
    findings = models.JSONField(default=dict)
    created_by = staff_reference()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    signed_by = staff_reference(optional=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    cautions_acknowledged = models.BooleanField(default=False)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )

    objects = ScreeningQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["patient", "signed_at"]),
            # A clinic's drafts waiting for a prescriber's signature (the home page's list),
            # without reading every screening the clinic has signed.
            models.Index(
                fields=["clinic", "created_at"],
                condition=models.Q(signed_at__isnull=True),
                name="screening_draft_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Screening of {self.patient} ({'signed' if self.is_signed else 'draft'})"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    def status(self, modality: str) -> str:
        """The finding's status; a screening signed before a modality existed did not decide
        it, so it needs information (a new screening) rather than allowing it."""
        finding = self.findings.get(modality)
        return finding["status"] if finding else eligibility.Status.NEEDS_INFO.value

    def needs_acknowledgement(self) -> bool:
        """Any caution or unknown answer must be acknowledged by the signing prescriber."""
        return any(
            finding["status"] in (eligibility.Status.CAUTION, eligibility.Status.NEEDS_INFO)
            for finding in self.findings.values()
        )

    def findings_for_display(self) -> list[dict]:
        """Every modality, in order; one this screening did not decide (signed before the
        modality existed) reads as needing information, marked ``undecided``."""
        undecided = {
            "status": eligibility.Status.NEEDS_INFO.value,
            "reasons": [],
            "undecided": True,
        }
        return [
            {
                "modality": modality,
                "label": MODALITY_LABELS[modality],
                **self.findings.get(modality, undecided),
            }
            for modality in eligibility.MODALITIES
        ]


MODALITY_LABELS = {
    eligibility.IV_KETAMINE: "IV ketamine",
    eligibility.ESKETAMINE: "Esketamine (Spravato)",
    eligibility.TMS: "TMS",
    eligibility.ORAL_KETAMINE: "Oral or sublingual ketamine",
}
