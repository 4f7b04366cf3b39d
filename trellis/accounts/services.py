"""Named operations on staff accounts: tokens and second factors."""

from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

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


def update_clinic(actor, form) -> Clinic:
    """Save a valid ClinicForm for the actor's own clinic, audited as an update (the audit app
    receives ``clinic_updated`` in this transaction)."""
    with transaction.atomic():
        clinic = form.save()
        clinic_updated.send(
            sender=Clinic, actor=actor, clinic=clinic, changed=sorted(form.changed_data)
        )
    return clinic
