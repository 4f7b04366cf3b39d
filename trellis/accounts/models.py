import hashlib
import re
import secrets
import uuid
import zoneinfo
from datetime import date

import holidays
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from trellis.accounts import clinic_settings
from trellis.accounts.permissions import Perm, Role, role_can
from trellis.lib import npi
from trellis.lib.errors import InputError


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA timezone such as America/New_York")


def validate_country(value: str) -> None:
    if value not in holidays.list_supported_countries():
        raise ValidationError(
            f"{value!r} is not a country code with a public-holiday calendar; use ISO 3166-1 "
            "alpha-2 in capitals, such as US or CA"
        )


def validate_settings(value: dict) -> None:
    try:
        clinic_settings.validate(value)
    except InputError as error:
        raise ValidationError(str(error)) from None


TAX_ID = re.compile(r"^[0-9]{2}-[0-9]{7}$")


def validate_tax_id(value: str) -> None:
    """An employer identification number written 12-3456789 [R124]."""
    if value and not TAX_ID.match(value):
        raise ValidationError("must be an EIN of 9 digits written 12-3456789")


class User(AbstractUser):
    """A member of staff. Patients never log in; they answer through single-use links."""

    # Who renders a service: their own (type 1) NPI and the credentials printed after their
    # name on a superbill or claim (DOMAIN.md §14) [R124, R125].
    npi = models.CharField(
        "NPI",
        max_length=10,
        blank=True,
        validators=[npi.validate],
        help_text="The person's own 10-digit National Provider Identifier, if they have one",
    )
    credentials = models.CharField(
        max_length=40, blank=True, help_text="Printed after the name, e.g. MD, PMHNP-BC, LCSW"
    )

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class Clinic(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=120)
    timezone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_timezone]
    )
    address = models.TextField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    # Where the clinic is, for the public holidays proposed as closure days.
    country = models.CharField(
        max_length=2,
        default="US",
        validators=[validate_country],
        help_text="ISO 3166-1 alpha-2 code, e.g. US",
    )
    subdivision = models.CharField(
        "state or province",
        max_length=10,
        blank=True,
        help_text="Code of the state or province, e.g. NY; empty for national holidays only",
    )
    mrn_prefix = models.CharField(
        max_length=6, help_text="Letters that start every MRN of this clinic, e.g. RIV"
    )
    next_mrn = models.PositiveIntegerField(default=1, editable=False)
    # The billing provider on superbills and claims (CMS-1500 items 25 and 33) [R124, R125].
    billing_npi = models.CharField(
        "billing NPI",
        max_length=10,
        blank=True,
        validators=[npi.validate],
        help_text="The clinic's organisation (type 2) NPI, 10 digits",
    )
    tax_id = models.CharField(
        "federal tax ID",
        max_length=10,
        blank=True,
        validators=[validate_tax_id],
        help_text="The clinic's EIN, e.g. 12-3456789 (CMS-1500 item 25)",
    )
    settings = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_settings],
        help_text="Overrides of the clinic settings defaults (see docs/clinic-settings.md)",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.country = (self.country or "").strip().upper()
        self.subdivision = (self.subdivision or "").strip().upper()
        known = holidays.list_supported_countries().get(self.country)
        if known is not None and self.subdivision and self.subdivision not in known:
            shown = ", ".join(known[:12]) + (" …" if len(known) > 12 else "")
            raise ValidationError(
                {
                    "subdivision": f"{self.subdivision!r} is not a state or province of "
                    f"{self.country} with a holiday calendar; use one of {shown}"
                }
            )

    def setting(self, key: str) -> int | float:
        return clinic_settings.value(self.settings, key)

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def today(self) -> date:
        """Today's date at the clinic, in its own timezone."""
        return timezone.localdate(timezone=self.tzinfo)


class Membership(models.Model):
    """A member of staff's role at one clinic. One role per person per clinic."""

    # covered by the (user, clinic) unique constraint
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "clinic"], name="one_membership_per_clinic")
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.clinic}"

    def can(self, perm: Perm) -> bool:
        return self.is_active and role_can(self.role, perm)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> "ApiTokenQuerySet":
        return self.filter(revoked_at__isnull=True)

    def find(self, token: str) -> "ApiToken | None":
        return (
            self.active()
            .select_related("user", "clinic")
            .filter(key_hash=_hash_token(token), user__is_active=True)
            .first()
        )


class ApiToken(models.Model):
    """A Bearer token for a program acting as one member of staff at one clinic.

    Only the SHA-256 of the token is stored; the token itself is shown once, when issued.
    """

    PREFIX = "trl_"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80, blank=True)
    hint = models.CharField(
        max_length=16, help_text="The token's first characters, to tell it apart"
    )
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.hint}… ({self.name or 'unnamed'})"

    @classmethod
    def new(cls, user: User, clinic: Clinic, name: str = "") -> tuple["ApiToken", str]:
        token = cls.PREFIX + secrets.token_urlsafe(32)
        row = cls(user=user, clinic=clinic, name=name, hint=token[:10], key_hash=_hash_token(token))
        return row, token

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
