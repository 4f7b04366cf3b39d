"""Passkeys (WebAuthn) for the patient portal: registering one, signing in with it, removing it.

A passkey signs the patient in on its own, in place of password and code: the device checks
who is holding it (fingerprint, face or screen lock: user verification is required) and signs
the server's challenge with a private key that never leaves it. The ceremonies are the
``webauthn`` library's (Duo Labs); this module keeps the challenges, the stored credentials,
the lockout and the audit trail.

Each challenge lives in the portal's own session for ``CHALLENGE_SECONDS`` and is used once:
it is taken out of the session before the answer is checked, whatever the outcome. The relying
party is the host the patient reached the portal at (Django has checked it against
``ALLOWED_HOSTS``); the origin in the browser's answer must be that scheme and host.

Failed passkey sign-ins count toward the same lockout as password sign-ins
(``services.is_locked``, ``SignInFailure``), and a success is recorded like one.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from trellis.audit.models import Action
from trellis.audit.services import record
from trellis.lib.errors import InputError
from trellis.portal.models import PORTAL_USERNAME, PortalAccount, PortalPasskey, SignInFailure
from trellis.portal.services import SignInRefused, is_locked

# A ceremony's challenge is good for five minutes, once.
CHALLENGE_SECONDS = 300
REGISTRATION = "portal_passkey_registration"
SIGN_IN = "portal_passkey_sign_in"
NAME_MAX = PortalPasskey._meta.get_field("name").max_length
_TRANSPORTS = {transport.value for transport in AuthenticatorTransport}


@dataclass(frozen=True)
class RelyingParty:
    """Where the ceremony happens: ``id`` the host name, ``origin`` scheme://host[:port]."""

    id: str
    origin: str


# --- Challenges in the portal session ------------------------------------------------------


def keep_challenge(session, key: str, challenge: bytes, *, now: float | None = None) -> None:
    session[key] = {
        "challenge": bytes_to_base64url(challenge),
        "expires": (time.time() if now is None else now) + CHALLENGE_SECONDS,
    }


def take_challenge(session, key: str, *, now: float | None = None) -> bytes | None:
    """The ceremony's challenge, removed from the session; None when there is none or it has
    expired. A challenge is never given out twice, so an answer cannot be replayed."""
    kept = session.pop(key, None)
    if not isinstance(kept, dict):
        return None
    if (time.time() if now is None else now) > kept.get("expires", 0):
        return None
    return base64url_to_bytes(kept["challenge"])


# --- Registration --------------------------------------------------------------------------


def passkeys_of(account: PortalAccount) -> list[PortalPasskey]:
    return list(PortalPasskey.objects.filter(account=account).order_by("created_at"))


def registration_options(account: PortalAccount, rp: RelyingParty) -> tuple[str, bytes]:
    """The options for ``navigator.credentials.create`` (JSON) and their challenge. The
    passkey must be discoverable (signing in needs no name) and check who holds the device;
    no attestation is asked for, so no device maker is told of the clinic."""
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=f"{account.clinic.name} patient portal",
        user_name=account.login,
        # The account's random id: nothing about the patient reaches the authenticator.
        user_id=account.pk.bytes,
        user_display_name=account.login,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            require_resident_key=True,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=_id_bytes(passkey.credential_id))
            for passkey in passkeys_of(account)
        ],
    )
    return options_to_json(options), options.challenge


def _id_bytes(credential_id: str) -> bytes:
    return base64url_to_bytes(credential_id)


def _as_dict(credential: Any) -> dict:
    if isinstance(credential, str):
        try:
            credential = json.loads(credential)
        except ValueError:
            raise InputError("credential", "is not the answer of a passkey") from None
    if not isinstance(credential, dict):
        raise InputError("credential", "is not the answer of a passkey")
    return credential


@transaction.atomic
def register(
    account: PortalAccount,
    credential: Any,
    *,
    name: str,
    challenge: bytes | None,
    rp: RelyingParty,
    source_address: str = "",
    enrolling: bool = False,
    now: datetime | None = None,
) -> PortalPasskey:
    """Store the passkey the patient's device just made, once its answer checks out: our
    challenge, this origin and host, the holder verified. ``enrolling``: in place of the
    authenticator app while the sign-in is set up; the account can then sign in with it."""
    name = " ".join((name or "").split())
    if not name:
        raise InputError("name", "must not be empty; for example “My phone”")
    if len(name) > NAME_MAX:
        raise InputError("name", f"must be at most {NAME_MAX} characters")
    if PortalPasskey.objects.filter(account=account, name__iexact=name).exists():
        raise InputError("name", "is the name of another of your passkeys; choose another")
    if challenge is None:
        raise InputError("credential", "took too long or was already used; please try again")
    credential = _as_dict(credential)
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            require_user_verification=True,
        )
    except WebAuthnException:
        raise InputError("credential", "could not be checked; please try again") from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if PortalPasskey.objects.filter(credential_id=credential_id).exists():
        raise InputError("credential", "this passkey is already registered")
    transports = (credential.get("response") or {}).get("transports") or []
    passkey = PortalPasskey.objects.create(
        clinic_id=account.clinic_id,
        account=account,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=[t for t in transports if t in _TRANSPORTS]
        if isinstance(transports, list)
        else [],
        name=name,
        created_at=now or timezone.now(),
    )
    record(
        Action.CREATE,
        clinic=account.clinic,
        patient=account.patient,
        obj=passkey,
        username=PORTAL_USERNAME,
        source_address=source_address,
        detail={
            "portal": "passkey added at set-up" if enrolling else "passkey added",
            "name": name,
        },
    )
    return passkey


@transaction.atomic
def remove(account: PortalAccount, passkey_id, *, source_address: str = "") -> PortalPasskey:
    """Remove one of the patient's own passkeys; another's is PortalPasskey.DoesNotExist.
    The last way to sign in is kept: without an authenticator app, the last passkey stays."""
    passkey = PortalPasskey.objects.select_for_update().get(pk=passkey_id, account=account)
    others = PortalPasskey.objects.filter(account=account).exclude(pk=passkey.pk)
    if not account.code_ready and not others.exists():
        raise InputError(
            "passkey",
            "is your only way to sign in; add another passkey first, or ask your clinic for a "
            "new invitation",
        )
    record(
        Action.DELETE,
        clinic=account.clinic,
        patient=account.patient,
        obj=passkey,
        username=PORTAL_USERNAME,
        source_address=source_address,
        detail={"portal": "passkey removed", "name": passkey.name},
    )
    passkey.delete()
    return passkey


# --- Signing in ----------------------------------------------------------------------------


def sign_in_options(rp: RelyingParty) -> tuple[str, bytes]:
    """The options for ``navigator.credentials.get``: any passkey of this portal, the holder
    verified. No names are asked for and none are given out."""
    options = generate_authentication_options(
        rp_id=rp.id, user_verification=UserVerificationRequirement.REQUIRED
    )
    return options_to_json(options), options.challenge


def _fail(
    passkey: PortalPasskey | None,
    address: str,
    now: datetime,
    detail: dict,
) -> SignInRefused:
    """Record a failed sign-in as password sign-in does (it counts toward the lockout) and
    return the refusal to raise."""
    account = passkey.account if passkey else None
    login = account.login if account else ""
    with transaction.atomic():
        SignInFailure.objects.create(login=login, address=address, at=now)
        record(
            Action.LOGIN_FAILED,
            clinic=account.clinic if account else None,
            patient=account.patient if account else None,
            obj=passkey,
            username=PORTAL_USERNAME,
            source_address=address,
            detail={"portal": True, "passkey": True} | detail,
        )
    return SignInRefused("locked" if is_locked(login, address, now=now) else "invalid")


def sign_in(
    credential: Any,
    *,
    challenge: bytes | None,
    rp: RelyingParty,
    source_address: str = "",
    now: datetime | None = None,
) -> PortalAccount:
    """The account whose passkey signed our challenge, or SignInRefused ("locked",
    "invalid" or "unknown" for a passkey this portal does not know).

    The authenticator's counter must grow whenever it counts at all: a counter that does not
    suggests a copied key, and the sign-in is refused and recorded as a possible clone."""
    now = now or timezone.now()
    try:
        parsed = parse_authentication_credential_json(_as_dict(credential))
    except (InputError, WebAuthnException):
        parsed = None
    passkey = None
    if parsed is not None:
        passkey = (
            PortalPasskey.objects.select_related("account__clinic", "account__patient")
            .filter(credential_id=bytes_to_base64url(parsed.raw_id))
            .first()
        )
    login = passkey.account.login if passkey else ""
    if is_locked(login, source_address, now=now):
        raise SignInRefused("locked")
    if passkey is None:
        refused = _fail(None, source_address, now, {"reason": "unknown passkey"})
        raise SignInRefused("unknown" if refused.reason == "invalid" else refused.reason)
    account = passkey.account
    if not account.ready:
        raise _fail(passkey, source_address, now, {"reason": "sign-in stopped"})
    if challenge is None:
        raise _fail(passkey, source_address, now, {"reason": "no current challenge"})
    handle = parsed.response.user_handle
    if handle is not None and handle != account.pk.bytes:
        raise _fail(passkey, source_address, now, {"reason": "another account's user handle"})
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=bytes(passkey.public_key),
            # The counter is compared below, once the signature is known to be good, so that
            # only the key's holder can have a sign-in recorded as a possible clone.
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except WebAuthnException:
        raise _fail(passkey, source_address, now, {"reason": "answer did not verify"}) from None
    stored = passkey.sign_count
    counts = verified.new_sign_count > 0 or stored > 0
    if counts and verified.new_sign_count <= stored:
        raise _fail(
            passkey,
            source_address,
            now,
            {
                "reason": "signature counter did not increase",
                "possible_clone": True,
                "stored_count": stored,
                "presented_count": verified.new_sign_count,
            },
        )
    with transaction.atomic():
        # The conditional update keeps one counter value from signing in twice in a race.
        taken = PortalPasskey.objects.filter(pk=passkey.pk, sign_count=stored).update(
            sign_count=verified.new_sign_count, last_used_at=now
        )
        if not taken:
            raise SignInRefused("invalid")
        PortalAccount.objects.filter(pk=account.pk).update(last_sign_in_at=now)
        SignInFailure.objects.filter(login=account.login).delete()
        record(
            Action.LOGIN,
            clinic=account.clinic,
            patient=account.patient,
            obj=account,
            username=PORTAL_USERNAME,
            source_address=source_address,
            detail={"portal": True, "passkey": passkey.name},
        )
    account.last_sign_in_at = now
    return account
