"""Signed random tokens for links sent to patients: ``<random>.<signature>``.

192 random bits from the OS's CSPRNG, with a 128-bit HMAC-SHA256 tag under the server's secret
key and a salt per kind of link: a guessed or edited token fails before any lookup, and a token
of one kind of link never opens another. Only ``hash_token(token)`` is stored; the token itself
exists in the message sent and nowhere else.
"""

import base64
import hashlib
import secrets

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

RANDOM_BYTES = 24
SIGNATURE_BYTES = 16
MAX_LENGTH = 80


def _signature(salt: str, body: str, secret: str) -> str:
    digest = salted_hmac(salt, body, secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:SIGNATURE_BYTES]).rstrip(b"=").decode()


def new_token(salt: str) -> str:
    body = secrets.token_urlsafe(RANDOM_BYTES)
    return f"{body}.{_signature(salt, body, settings.SECRET_KEY)}"


def is_signed(token: str, salt: str) -> bool:
    """True when ``token`` carries this server's signature (or a fallback key's) for ``salt``."""
    if not isinstance(token, str) or len(token) > MAX_LENGTH:
        return False
    body, dot, signature = token.partition(".")
    if not dot or not body or not signature:
        return False
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return any(constant_time_compare(signature, _signature(salt, body, key)) for key in keys)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
