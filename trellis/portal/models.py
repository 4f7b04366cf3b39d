"""The patient's own sign-in to the portal, kept apart from staff accounts.

A patient is never an ``accounts.User``: staff pages authenticate ``request.user`` from the
staff session cookie, the portal authenticates a ``PortalAccount`` from its own cookie (see
``session.py``), and neither can stand in for the other.
"""

import uuid

from django.db import models
from django.utils import timezone
from django_otp.util import random_hex

from trellis.lib.models import staff_reference

# How the patient appears in the audit trail when acting in their portal.
PORTAL_USERNAME = "(patient portal)"


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

    def __str__(self) -> str:
        return f"Portal account {self.login}"

    @property
    def ready(self) -> bool:
        """Whether the account can sign in: active, with its authenticator app enrolled or a
        passkey registered."""
        return self.is_active and (self.code_ready or self.passkeys.exists())

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
