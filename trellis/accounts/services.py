"""Named operations on staff accounts and the clinic: tokens, second factors, settings."""

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from trellis.accounts import clinic_settings
from trellis.accounts.models import ApiToken, Clinic, User
from trellis.accounts.signals import clinic_updated


def issue_token(user: User, clinic: Clinic, name: str = "") -> tuple[ApiToken, str]:
    """Create a token for ``user`` acting at ``clinic``; returns the row and the plain token."""
    if not user.memberships.filter(clinic=clinic, is_active=True).exists():
        raise ValueError(f"{user.username} has no active role at {clinic.name}")
    row, token = ApiToken.new(user, clinic, name)
    row.save(force_insert=True)
    return row, token


def revoke_token(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def pending_totp_device(user: User) -> TOTPDevice:
    """The unconfirmed authenticator a user is setting up (one at a time)."""
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def confirm_totp_device(device: TOTPDevice) -> None:
    device.confirmed = True
    device.save(update_fields=["confirmed"])


# What the administrator may change about the clinic besides its settings.
CLINIC_DETAILS = (
    "name",
    "timezone",
    "address",
    "phone",
    "country",
    "subdivision",
    "billing_npi",
    "tax_id",
)


def update_clinic(
    actor, details: Mapping[str, Any], settings: Mapping[str, int | float | None]
) -> Clinic:
    """Change the actor's own clinic: some of its ``CLINIC_DETAILS`` and the values of its
    settings (a key of ``clinic_settings.DEFINITIONS``; None, or the default, means the default
    and is not stored as an override). Raises ValidationError naming the field; audited as an
    update naming what changed (the audit app receives ``clinic_updated`` in this transaction).
    """
    unknown = sorted(set(details) - set(CLINIC_DETAILS))
    if unknown:
        raise ValueError(f"not a clinic detail: {', '.join(unknown)}")
    with transaction.atomic():
        clinic = Clinic.objects.select_for_update().get(pk=actor.clinic.pk)
        changed = [name for name, value in details.items() if getattr(clinic, name) != value]
        for name, value in details.items():
            setattr(clinic, name, value)
        overrides = dict(clinic.settings)
        for key, value in settings.items():
            before = clinic.setting(key)
            if value is None or value == clinic_settings.DEFINITIONS[key].default:
                overrides.pop(key, None)
            else:
                overrides[key] = value
            if clinic_settings.value(overrides, key) != before:
                changed.append(f"setting_{key}")
        clinic.settings = overrides
        clinic.full_clean()
        clinic.save()
        clinic_updated.send(sender=Clinic, actor=actor, clinic=clinic, changed=sorted(changed))
    return clinic
