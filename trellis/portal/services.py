"""Named operations on the portal's sign-in: invitations, setting up an account, signing in.

Each runs in one transaction with its audit event; the invitation's message is queued in the
outbox in that same transaction.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record, record_for
from trellis.lib import signed_tokens
from trellis.lib.errors import InputError
from trellis.lib.http import site_url
from trellis.measures.contact import CRISIS_LINE, link_until
from trellis.messaging.services import enqueue_email, enqueue_sms
from trellis.patients import contact
from trellis.patients.models import Patient
from trellis.portal import totp
from trellis.portal.models import (
    PORTAL_USERNAME,
    PortalAccount,
    PortalInvitation,
    PortalPasskey,
    SignInFailure,
)

# An invitation works for three days, once.
INVITATION_DAYS = 3
_TOKEN_SALT = "trellis.portal.invitation"  # noqa: S105 (an HMAC salt)

@functools.cache
def _dummy_hash() -> str:
    """A hash so that an unknown sign-in name costs as much time as a known one: made by the
    configured hasher the first time a sign-in needs it, not on import (every process that
    loads the app would otherwise pay for one Argon2 hash)."""
    return make_password("not a real password, only a timing equaliser")


# --- Invitations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SentInvitation:
    invitation: PortalInvitation
    token: str
    channels: list[str]


def invite(actor: Actor, patient: Patient, *, now: datetime | None = None) -> SentInvitation:
    """Send ``patient`` a one-time link to set up their portal sign-in, by the way they chose
    to be reached (``patients.contact``). Earlier unused invitations stop working."""
    require(actor, Perm.PATIENT_CHANGE)
    if patient.clinic_id != actor.clinic.pk:
        raise InputError("patient", "must be a patient of this clinic")
    now = now or timezone.now()
    channels = contact.clinic_channels(patient)
    if not channels:
        raise InputError(
            "contact_channel",
            "the patient has no way to be reached by text or e-mail; add a phone number or an "
            "e-mail address, or their agreement to texts",
        )
    token = signed_tokens.new_token(_TOKEN_SALT)
    with transaction.atomic():
        PortalInvitation.objects.filter(patient=patient, used_at__isnull=True).update(
            expires_at=now
        )
        invitation = PortalInvitation.objects.create(
            clinic=actor.clinic,
            patient=patient,
            token_hash=signed_tokens.hash_token(token),
            channels="+".join(channels),
            created_by=actor.user,
            created_at=now,
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )
        link = site_url(reverse("portal_welcome", args=[token]))
        until = link_until(invitation.expires_at, actor.clinic)
        body = (
            f"{actor.clinic.name} invites you to your patient portal. Set up your sign-in "
            f"here (the link works once, until {until}): {link}\n"
            f"The portal is not watched for emergencies: in a crisis call or text {CRISIS_LINE}."
        )
        if contact.SMS in channels:
            enqueue_sms(
                recipient=patient.phone,
                body=body,
                purpose="portal_invitation",
                clinic=actor.clinic,
                patient=patient,
            )
        if contact.EMAIL in channels:
            enqueue_email(
                recipient=patient.email,
                subject=f"Your patient portal at {actor.clinic.name}",
                body=body,
                purpose="portal_invitation",
                clinic=actor.clinic,
                patient=patient,
            )
        record_for(
            actor, Action.CREATE, patient=patient, obj=invitation, detail={"channels": channels}
        )
    return SentInvitation(invitation, token, channels)


def revoke(actor: Actor, patient: Patient) -> PortalAccount:
    """Stop the patient's portal sign-in (a lost phone, a patient who asks): their session ends
    at its next request and unused invitations stop working. A new invitation restores it."""
    require(actor, Perm.PATIENT_CHANGE)
    if patient.clinic_id != actor.clinic.pk:
        raise InputError("patient", "must be a patient of this clinic")
    with transaction.atomic():
        account = PortalAccount.objects.select_for_update().filter(patient=patient).first()
        if account is None or not account.is_active:
            raise InputError("portal", "the patient has no active portal sign-in")
        account.is_active = False
        account.save(update_fields=["is_active"])
        PortalInvitation.objects.filter(
            patient=patient, used_at__isnull=True, expires_at__gt=timezone.now()
        ).update(expires_at=timezone.now())
        record_for(actor, Action.UPDATE, patient=patient, obj=account, detail={"revoked": True})
    return account


class InvitationUnusable(Exception):
    """An invitation that cannot be used: ``reason`` is unknown, used or expired."""

    def __init__(self, reason: str, invitation: PortalInvitation | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.invitation = invitation


def open_invitation(token: str, *, now: datetime | None = None) -> PortalInvitation:
    """The invitation ``token`` opens, or InvitationUnusable. An unsigned token is never
    looked up; a signed one is found by its hash only."""
    if not signed_tokens.is_signed(token, _TOKEN_SALT):
        raise InvitationUnusable("unknown")
    invitation = (
        PortalInvitation.objects.select_related("clinic", "patient")
        .filter(token_hash=signed_tokens.hash_token(token))
        .first()
    )
    if invitation is None:
        raise InvitationUnusable("unknown")
    if invitation.used_at is not None:
        raise InvitationUnusable("used", invitation)
    if (now or timezone.now()) >= invitation.expires_at:
        raise InvitationUnusable("expired", invitation)
    return invitation


def check_new_password(password: str, *, login: str, patient: Patient) -> None:
    """Django's password validators (settings.AUTH_PASSWORD_VALIDATORS), as for staff."""
    someone = SimpleNamespace(
        username=login,
        first_name=patient.given_name,
        last_name=patient.family_name,
        email=patient.email,
    )
    try:
        validate_password(password, user=someone)
    except ValidationError as error:
        raise InputError("password", " ".join(error.messages)) from None


def normal_login(login: str) -> str:
    return (login or "").strip().lower()


def accept_invitation(
    token: str,
    *,
    login: str,
    password: str,
    source_address: str = "",
    now: datetime | None = None,
) -> PortalAccount:
    """Set up (or reset) the patient's sign-in from their invitation: the name and password.
    The account signs in only once its authenticator is enrolled (``confirm_totp``)."""
    now = now or timezone.now()
    login = normal_login(login)
    if not login:
        raise InputError("login", "must not be empty")
    if len(login) > 150 or any(char.isspace() for char in login):
        raise InputError("login", "must be at most 150 characters, without spaces")
    with transaction.atomic():
        invitation = open_invitation(token, now=now)
        patient = invitation.patient
        taken = PortalAccount.objects.filter(login=login).exclude(patient=patient).exists()
        if taken:
            raise InputError("login", "is taken; choose another sign-in name")
        check_new_password(password, login=login, patient=patient)
        claimed = PortalInvitation.objects.filter(
            pk=invitation.pk, used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
        if not claimed:
            raise InvitationUnusable("used", invitation)
        account = PortalAccount.objects.filter(patient=patient).first() or PortalAccount(
            clinic_id=patient.clinic_id, patient=patient
        )
        account.login = login
        account.password = make_password(password)
        # A new invitation means a new authenticator: the old one may be lost.
        account.totp_key = totp_key()
        account.totp_confirmed_at = None
        account.totp_last_t = -1
        account.is_active = True
        account.save()
        # ... and so may the devices holding its passkeys.
        passkeys, _ = PortalPasskey.objects.filter(account=account).delete()
        record(
            Action.UPDATE,
            clinic=patient.clinic,
            patient=patient,
            obj=account,
            username=PORTAL_USERNAME,
            source_address=source_address,
            detail={"portal": "password set"}
            | ({"passkeys_removed": passkeys} if passkeys else {}),
        )
    return account


def totp_key() -> str:
    return PortalAccount._meta.get_field("totp_key").default()


def confirm_totp(
    account: PortalAccount, code: str, *, source_address: str = "", now: float | None = None
) -> None:
    """Enrol the authenticator: the first code it shows must be right."""
    with transaction.atomic():
        account = PortalAccount.objects.select_for_update().get(pk=account.pk)
        if account.totp_confirmed_at is not None:
            raise InputError("code", "the authenticator is already set up")
        step = totp.verify(account.totp_key, code, account.totp_last_t, now=now)
        if step is None:
            raise InputError("code", "is not the 6-digit code your authenticator app shows now")
        account.totp_last_t = step
        account.totp_confirmed_at = timezone.now()
        account.save(update_fields=["totp_last_t", "totp_confirmed_at"])
        record(
            Action.UPDATE,
            clinic=account.clinic,
            patient=account.patient,
            obj=account,
            username=PORTAL_USERNAME,
            source_address=source_address,
            detail={"portal": "authenticator enrolled"},
        )


# --- Signing in ----------------------------------------------------------------------------


class SignInRefused(Exception):
    """``reason``: "locked" (too many failures) or "invalid" (any wrong part, not said which)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _failure_window(now: datetime) -> datetime:
    return now - settings.AXES_COOLOFF_TIME


def is_locked(login: str, address: str, *, now: datetime | None = None) -> bool:
    """The staff lockout's limits (settings.AXES_*, ``accounts.lockout``): a sign-in name is
    locked after AXES_FAILURE_LIMIT failures, an address after
    TRELLIS_LOCKOUT_ADDRESS_FAILURES across any names, each for AXES_COOLOFF_TIME."""
    since = _failure_window(now or timezone.now())
    recent = SignInFailure.objects.filter(at__gte=since)
    login = normal_login(login)
    # No name (a passkey the portal does not know): only the address's failures count.
    if login and recent.filter(login=login).count() >= settings.AXES_FAILURE_LIMIT:
        return True
    address_limit = settings.TRELLIS_LOCKOUT_ADDRESS_FAILURES
    return bool(address) and recent.filter(address=address).count() >= address_limit


def sign_in(
    login: str,
    password: str,
    code: str,
    *,
    source_address: str = "",
    now: datetime | None = None,
) -> PortalAccount:
    """The account whose name, password and current code these are, or SignInRefused.

    A failure is recorded whichever part was wrong, and the page never says which. A success
    clears the name's failures (as axes does for staff), not the address's."""
    now = now or timezone.now()
    login = normal_login(login)
    if is_locked(login, source_address, now=now):
        raise SignInRefused("locked")
    account = PortalAccount.objects.select_related("patient", "clinic").filter(login=login).first()
    password_ok = check_password(password, account.password if account else _dummy_hash())
    step = None
    if account is not None and password_ok and account.code_ready:
        step = totp.verify(account.totp_key, code, account.totp_last_t, now=now.timestamp())
    if step is None:
        with transaction.atomic():
            SignInFailure.objects.create(login=login[:150], address=source_address, at=now)
            record(
                Action.LOGIN_FAILED,
                clinic=account.clinic if account else None,
                patient=account.patient if account else None,
                username=PORTAL_USERNAME,
                source_address=source_address,
                detail={"portal": True},
            )
        if is_locked(login, source_address, now=now):
            raise SignInRefused("locked")
        raise SignInRefused("invalid")
    with transaction.atomic():
        # The conditional update keeps one code from signing in twice in a race.
        taken = PortalAccount.objects.filter(pk=account.pk, totp_last_t__lt=step).update(
            totp_last_t=step, last_sign_in_at=now
        )
        if not taken:
            raise SignInRefused("invalid")
        SignInFailure.objects.filter(login=login).delete()
        record(
            Action.LOGIN,
            clinic=account.clinic,
            patient=account.patient,
            obj=account,
            username=PORTAL_USERNAME,
            source_address=source_address,
            detail={"portal": True},
        )
    return account


def prune_sign_in_failures(*, now: datetime | None = None) -> int:
    """Forget failures older than the lockout time: they no longer lock anything."""
    deleted, _ = SignInFailure.objects.filter(
        at__lt=_failure_window(now or timezone.now())
    ).delete()
    return deleted


def record_sign_out(account: PortalAccount, *, source_address: str = "", idle: bool = False):
    record(
        Action.LOGOUT,
        clinic=account.clinic,
        patient=account.patient,
        obj=account,
        username=PORTAL_USERNAME,
        source_address=source_address,
        detail={"portal": True, "idle": idle},
    )
