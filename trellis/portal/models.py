"""The patient's own sign-in to the portal, kept apart from staff accounts.

A patient is never an ``accounts.User``: staff pages authenticate ``request.user`` from the
staff session cookie, the portal authenticates a ``PortalAccount`` from its own cookie (see
``session.py``), and neither can stand in for the other.
"""

import uuid
from datetime import time

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django_otp.util import random_hex

from trellis.lib.models import staff_reference
from trellis.scheduling.kinds import AppointmentKind

# How the patient appears in the audit trail when acting in their portal.
PORTAL_USERNAME = "(patient portal)"


class PortalAccountQuerySet(models.QuerySet):
    def ready(self):
        """The accounts that can sign in: active, with their authenticator app enrolled or a
        passkey registered (a sign-in set up with a passkey alone is ready). The one
        definition: the portal's session, the staff card and the notices ask it."""
        return self.filter(is_active=True).filter(
            Q(totp_confirmed_at__isnull=False)
            | Exists(PortalPasskey.objects.filter(account=OuterRef("pk")))
        )


class PortalAccount(models.Model):
    """One patient's sign-in: a name they chose, a password (Django's hashers and validators)
    and a TOTP key (django-otp's algorithm, as staff MFA uses)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    patient = models.OneToOneField(
        "patients.Patient", on_delete=models.PROTECT, related_name="portal_account"
    )
    login = models.CharField(max_length=150, unique=True, help_text="Stored in lower case")
    password = models.CharField(max_length=128)
    totp_key = models.CharField(max_length=80, default=random_hex)
    totp_confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last 30-second step a code was accepted for: a code is never accepted twice.
    totp_last_t = models.BigIntegerField(default=-1)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    objects = PortalAccountQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Portal account {self.login}"

    @property
    def ready(self) -> bool:
        """Whether the account can sign in (``PortalAccountQuerySet.ready``)."""
        return PortalAccount.objects.ready().filter(pk=self.pk).exists()

    @property
    def code_ready(self) -> bool:
        """Whether password and code sign in: active, with its authenticator app enrolled."""
        return self.is_active and self.totp_confirmed_at is not None


class PortalInvitation(models.Model):
    """A one-time link the clinic sends a patient to set up their sign-in. Only the token's
    hash is stored; the token exists in the message and nowhere else."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="portal_invitations"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    channels = models.CharField(max_length=16, help_text="sms, email or both")
    created_by = staff_reference()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Portal invitation of {self.created_at:%Y-%m-%d}"


class SignInFailure(models.Model):
    """A failed portal sign-in, for the lockout (the same limits as staff sign-in)."""

    login = models.CharField(max_length=150)
    address = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["login", "at"], name="portal_failure_login_idx"),
            models.Index(fields=["address", "at"], name="portal_failure_address_idx"),
        ]

    def __str__(self) -> str:
        return f"Failed portal sign-in at {self.at:%Y-%m-%d %H:%M}"


class EducationStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class EducationPage(models.Model):
    """A page of the clinic's education library, shown to the patients whose treatments it is
    for (``treatments``: modality codes, or ``["all"]``) once published. Publishing needs a
    named clinician's review of the text as it stands; changing the text clears the review
    and takes the page back to draft (``portal.education``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=120)
    summary = models.CharField(max_length=240)
    body = models.TextField(help_text="The page's text in the library's small Markdown")
    treatments = models.JSONField(default=list)
    status = models.CharField(
        max_length=12, choices=EducationStatus.choices, default=EducationStatus.DRAFT
    )
    # The order of the library's list: the shipped pages' own order, a clinic's pages after.
    position = models.PositiveSmallIntegerField(default=100)
    reviewed_by = staff_reference(optional=True)
    reviewed_on = models.DateField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # The SHA-256 of the shipped file's text this page was last loaded from: a page whose
    # text still matches it has not been edited by the clinic, and a newer shipped text may
    # replace it.
    shipped_hash = models.CharField(max_length=64, blank=True)
    updated_by = staff_reference(optional=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "title"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "slug"], name="education_page_slug_unique")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == EducationStatus.PUBLISHED

    @property
    def is_reviewed(self) -> bool:
        return self.reviewed_by_id is not None and self.reviewed_on is not None

    def is_for(self, modalities) -> bool:
        """Whether a patient with courses of ``modalities`` is given this page."""
        return "all" in self.treatments or bool(set(self.treatments) & set(modalities))


class PortalPasskey(models.Model):
    """A passkey (WebAuthn credential) the patient registered: signs in alone, in place of
    password and code. Only the public key is stored; the private key never leaves the
    patient's device or passkey manager."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(PortalAccount, on_delete=models.CASCADE, related_name="passkeys")
    # base64url, as the browser sends it; at most 1023 bytes by the WebAuthn specification.
    credential_id = models.CharField(max_length=1400, unique=True)
    public_key = models.BinaryField(help_text="COSE_Key, as the authenticator gave it")
    # The authenticator's signature counter: it must grow, or the key may have been copied.
    sign_count = models.PositiveBigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    name = models.CharField(max_length=60, help_text="The patient's name for the device")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Passkey {self.name}"


class RequestKind(models.TextChoices):
    CANCEL = "cancel", "Cancel an appointment"
    RESCHEDULE = "reschedule", "Change an appointment's time"
    APPOINTMENT = "appointment", "A new appointment"


# What a patient may ask for from the portal, in the order offered, in the portal's words.
# Treatment sessions are planned by their course, not asked for one by one.
ASKABLE_WORDS: dict[str, str] = {
    AppointmentKind.FOLLOW_UP: "A follow-up visit",
    AppointmentKind.THERAPY: "A therapy session",
    AppointmentKind.COACHING: "A health coaching session",
    AppointmentKind.ASSESSMENT: "An assessment for a new treatment",
}
ASKABLE_KINDS: tuple[str, ...] = tuple(ASKABLE_WORDS)


class RequestStatus(models.TextChoices):
    OPEN = "open", "Waiting for the clinic"
    DONE = "done", "Done"
    DECLINED = "declined", "Declined"


class PortalRequest(models.Model):
    """A patient's request from the portal: to cancel an appointment, to change its time, or
    for a new one. Never a booking: the clinic answers it (``requests.handle``) and books, moves
    or cancels in the appointment book itself."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="portal_requests"
    )
    kind = models.CharField(max_length=12, choices=RequestKind.choices)
    # The appointment to cancel or move; empty for a new appointment.
    appointment = models.ForeignKey(
        "scheduling.Appointment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="portal_requests",
    )
    # For a new appointment: what kind (``scheduling.kinds.AppointmentKind``).
    appointment_kind = models.CharField(max_length=16, blank=True)
    preferred = models.CharField(
        max_length=300, blank=True, help_text="Preferred days and times, in the patient's words"
    )
    message = models.TextField(blank=True)
    status = models.CharField(
        max_length=10, choices=RequestStatus.choices, default=RequestStatus.OPEN
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    handled_by = staff_reference(optional=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    reply = models.TextField(blank=True, help_text="The clinic's answer, shown to the patient")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["clinic", "status", "created_at"], name="portal_request_queue_idx")
        ]
        constraints = [
            # One open request about an appointment at a time (``requests.ask`` says so first).
            models.UniqueConstraint(
                fields=["appointment"],
                condition=models.Q(status="open", appointment__isnull=False),
                name="one_open_portal_request_per_appointment",
            ),
        ]

    def __str__(self) -> str:
        return f"Portal request ({self.kind}) of {self.created_at:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.status == RequestStatus.OPEN

    @property
    def asked(self) -> str:
        """What the request asks, to follow "Asked": "to cancel", "to change the time",
        "for a follow-up visit"."""
        if self.kind == RequestKind.CANCEL:
            return "to cancel"
        if self.kind == RequestKind.RESCHEDULE:
            return "to change the time"
        return "for " + ASKABLE_WORDS.get(self.appointment_kind, "An appointment").lower()


# --- Secure messages -----------------------------------------------------------------------


class ThreadStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class MessageThread(models.Model):
    """A conversation between a patient and their clinic, started by the patient in the portal
    (``portal.messages``). Closed by staff when it needs no more answers."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # covered by the (clinic, status, last_message_at) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # covered by the (patient, last_message_at) index
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        related_name="message_threads",
        db_index=False,
    )
    subject = models.CharField(max_length=120)
    status = models.CharField(max_length=8, choices=ThreadStatus.choices, default=ThreadStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_message_at = models.DateTimeField(default=timezone.now)
    closed_by = staff_reference(optional=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_message_at"]
        indexes = [
            models.Index(
                fields=["clinic", "status", "last_message_at"], name="portal_thread_inbox_idx"
            ),
            models.Index(fields=["patient", "last_message_at"], name="portal_thread_patient_idx"),
        ]

    def __str__(self) -> str:
        return f"Conversation of {self.created_at:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.status == ThreadStatus.OPEN


class PortalMessage(models.Model):
    """One message in a thread: the patient's (``staff_author`` empty) or a member of staff's.
    Each side's reading is stamped once, when that side first opens the thread after it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    thread = models.ForeignKey(MessageThread, on_delete=models.PROTECT, related_name="messages")
    staff_author = staff_reference(optional=True, help_text="Empty when the patient wrote it")
    body = models.TextField()
    # Whether aftercare's crisis-language net matched the patient's words.
    crisis_language = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    read_by_patient_at = models.DateTimeField(null=True, blank=True)
    read_by_staff_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Portal message of {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def by_patient(self) -> bool:
        return self.staff_author_id is None


# --- Notifications -------------------------------------------------------------------------


class NoticeChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "Text message"
    NONE = "none", "Don't tell me"


class NoticeKind(models.TextChoices):
    QUESTIONNAIRE = "questionnaire", "A new questionnaire or check-in to answer"
    APPOINTMENT_REMINDER = "appointment_reminder", "Appointment reminders"
    MESSAGE_REPLY = "message_reply", "A reply from the clinic"


# Quiet hours unless the patient changes them: no message between 9 pm and 8 am, the hours
# of 47 CFR 64.1200(c)(1) that appointment reminders keep (scheduling.reminders).
QUIET_START_DEFAULT = time(21, 0)
QUIET_END_DEFAULT = time(8, 0)


class NotificationPreference(models.Model):
    """How the patient wants to be told of something new in their portal, by kind, and the
    hours (in their clinic's time zone) when nothing is sent. Made when the patient first
    saves the settings page; until then ``notifications.preferences_for`` gives defaults."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    account = models.OneToOneField(
        PortalAccount, on_delete=models.CASCADE, related_name="notification_preference"
    )
    questionnaire = models.CharField(
        max_length=8, choices=NoticeChannel.choices, default=NoticeChannel.EMAIL
    )
    appointment_reminder = models.CharField(
        max_length=8, choices=NoticeChannel.choices, default=NoticeChannel.EMAIL
    )
    message_reply = models.CharField(
        max_length=8, choices=NoticeChannel.choices, default=NoticeChannel.EMAIL
    )
    quiet_start = models.TimeField(default=QUIET_START_DEFAULT)
    quiet_end = models.TimeField(default=QUIET_END_DEFAULT)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return "Notification settings"

    def channel_for(self, kind: str) -> str:
        return getattr(self, NoticeKind(kind).value)


class PortalNotice(models.Model):
    """That the patient was told of a new questionnaire moment (the day it opened), written
    before the message is queued so that a rerun of the job, or a second worker, never tells
    them twice."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # covered by the (patient, kind, day) unique constraint
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=24, choices=NoticeKind.choices)
    day = models.DateField()
    channel = models.CharField(max_length=8, choices=NoticeChannel.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "kind", "day"], name="portal_notice_once_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"Portal notice of {self.day:%Y-%m-%d}"
