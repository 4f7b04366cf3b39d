"""Time-based one-time codes for a patient's portal sign-in (RFC 6238).

The algorithm is django-otp's (``django_otp.oath.TOTP``, which staff MFA uses through
``TOTPDevice``); only the storage differs, because a patient is not an ``accounts.User``. The
settings are TOTPDevice's defaults: 6 digits, 30-second steps, one step of tolerance either
way, and a step once accepted is never accepted again (no replay).
"""

import time
from base64 import b32encode
from binascii import unhexlify
from urllib.parse import quote, urlencode

from django.conf import settings
from django_otp.oath import TOTP

STEP = 30
DIGITS = 6
TOLERANCE = 1


def verify(key_hex: str, code: str, last_t: int, *, now: float | None = None) -> int | None:
    """The time step ``code`` is valid for, newer than ``last_t``; None when it is not valid."""
    code = (code or "").strip().replace(" ", "")
    if not code.isdigit() or len(code) != DIGITS:
        return None
    totp = TOTP(unhexlify(key_hex), STEP, 0, DIGITS, 0)
    totp.time = time.time() if now is None else now
    if totp.verify(int(code), TOLERANCE, last_t + 1):
        return totp.t()
    return None


def code_at(key_hex: str, moment: float) -> str:
    """The code an authenticator shows at ``moment`` (for tests and the demo)."""
    totp = TOTP(unhexlify(key_hex), STEP, 0, DIGITS, 0)
    totp.time = moment
    return f"{totp.token():0{DIGITS}d}"


def secret(key_hex: str) -> str:
    """The key as an authenticator app takes it typed in: base32, in groups of four."""
    text = b32encode(unhexlify(key_hex)).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def config_url(key_hex: str, label: str, issuer: str) -> str:
    """The otpauth:// address a QR code carries (the key URI format TOTPDevice uses)."""
    issuer = (issuer or getattr(settings, "OTP_TOTP_ISSUER", "Trellis")).replace(":", "")
    params = urlencode(
        {
            "secret": b32encode(unhexlify(key_hex)).decode(),
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP,
        }
    )
    return f"otpauth://totp/{quote(f'{issuer}:{label}')}?{params}&issuer={quote(issuer)}"
