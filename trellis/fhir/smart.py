"""SMART Backend Services [R137]: system clients that sign in with a signed JWT assertion
(``client_credentials`` grant, ``private_key_jwt``, RS384 or ES384) and read with ``system/``
scopes.

A clinic administrator registers a client with its public JWK set and the scopes it may ask
for (``manage.py register_system_client``). The client posts an assertion to
``/fhir/r4/auth/token`` and receives an access token that lives five minutes; that token acts
through the client's own service user at its clinic, with exactly the read permissions of the
resource types granted (``Actor.grants`` and ``Actor.scope_types``), on the FHIR paths only.
The audit trail and psychotherapy notes are never granted.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from trellis.accounts import bearer
from trellis.accounts.access import Actor, require
from trellis.accounts.models import Clinic, Membership, User
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record, record_for
from trellis.fhir.models import SystemClient, SystemToken, UsedAssertion
from trellis.lib.errors import InputError

ALGORITHMS = ("RS384", "ES384")  # the two SMART requires servers to support [R137]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_LIFETIME = timedelta(minutes=5)
# An assertion may not be valid for longer than five minutes ahead [R137].
MAX_ASSERTION_LIFETIME = timedelta(minutes=5)
# Repeated failures for one client_id are refused for a while (a key being guessed, a broken
# client hammering the endpoint).
FAILURE_LIMIT = 10
FAILURE_WINDOW = 300  # seconds

# The resource types a system client may be granted, and the read permissions each needs. A
# search by ``patient`` reads the patient it names, so every grant carries the patient read;
# the FHIR views still refuse the Patient type itself when it is not in the scopes.
# AuditEvent is never granted, and no permission reaches psychotherapy notes.
TYPE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    "Patient": frozenset({Perm.PATIENT_READ}),
    "Observation": frozenset({Perm.MEASURE_READ, Perm.SESSION_READ}),
    "QuestionnaireResponse": frozenset({Perm.MEASURE_READ}),
    "Questionnaire": frozenset(),
    "Encounter": frozenset({Perm.SESSION_READ}),
    "Procedure": frozenset({Perm.SESSION_READ}),
    "MedicationAdministration": frozenset({Perm.SESSION_READ}),
    "CarePlan": frozenset({Perm.COURSE_READ}),
    "Coverage": frozenset({Perm.COVERAGE_READ}),
    "Flag": frozenset({Perm.ALERT_READ}),
}
SCOPE_RE = re.compile(r"^system/(\*|[A-Z][A-Za-z]+)\.(rs|read|r|s)$")


class TokenError(Exception):
    """An OAuth 2.0 error response (RFC 6749 §5.2): ``error`` code, description, status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


# -- scopes ------------------------------------------------------------------------------------


def scope_types(scope: str, field: str = "scope") -> frozenset[str]:
    """The resource types a space-separated list of ``system/Type.rs`` scopes names (``*``:
    every type a system client may be granted). Raises InputError naming a bad scope."""
    types: set[str] = set()
    words = scope.split()
    if not words:
        raise InputError(field, "give at least one scope, e.g. system/Patient.rs")
    for word in words:
        match = SCOPE_RE.match(word)
        if match is None:
            raise InputError(
                field, f"{word!r} is not a system read scope (system/Type.rs or system/*.rs)"
            )
        kind = match.group(1)
        if kind == "*":
            types.update(TYPE_PERMISSIONS)
        elif kind in TYPE_PERMISSIONS:
            types.add(kind)
        else:
            raise InputError(field, f"{kind} cannot be granted to a system client")
    return frozenset(types)


def scope_string(types: frozenset[str]) -> str:
    return " ".join(f"system/{kind}.rs" for kind in sorted(types))


def grants_for(types: frozenset[str]) -> frozenset[str]:
    perms: set[str] = {Perm.PATIENT_READ, Perm.BULK_EXPORT}
    for kind in types:
        perms.update(TYPE_PERMISSIONS[kind])
    return frozenset(perms)


# -- keys --------------------------------------------------------------------------------------


def check_jwks(jwks) -> dict:
    """A public JWK set a client may register: ``{"keys": [...]}``, each key with a unique
    ``kid``, RSA (RS384) or EC P-384 (ES384), and no private part."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise InputError("jwks", 'must be a JWK set: {"keys": [...]} with at least one key')
    kids = set()
    for key in jwks["keys"]:
        if not isinstance(key, dict) or not key.get("kid"):
            raise InputError("jwks", "every key needs a kid")
        if key["kid"] in kids:
            raise InputError("jwks", f"kid {key['kid']!r} appears twice")
        kids.add(key["kid"])
        if "d" in key:
            raise InputError(
                "jwks", f"key {key['kid']!r} holds a private part; give the public key"
            )
        algorithm = _algorithm_for(key)
        if algorithm is None:
            raise InputError(
                "jwks", f"key {key['kid']!r} is neither RSA (RS384) nor EC P-384 (ES384)"
            )
        try:
            jwt.PyJWK(key, algorithm=algorithm)
        except jwt.PyJWTError as error:
            raise InputError("jwks", f"key {key['kid']!r} cannot be read: {error}") from None
    return jwks


def _algorithm_for(key: dict) -> str | None:
    if key.get("kty") == "RSA" and key.get("alg", "RS384") == "RS384":
        return "RS384"
    if key.get("kty") == "EC" and key.get("crv") == "P-384" and key.get("alg", "ES384") == "ES384":
        return "ES384"
    return None


# -- registration ------------------------------------------------------------------------------


@transaction.atomic
def register_client(
    actor: Actor, *, name: str, jwks, scope: str, source_address: str = ""
) -> SystemClient:
    """Register a system client at the actor's clinic (clinic administrators)."""
    require(actor, Perm.CLINIC_CHANGE)
    name = name.strip()
    if not name:
        raise InputError("name", "give the client a name")
    check_jwks(jwks)
    types = scope_types(scope)
    # Hex: never begins with "-", so it is safe as a command-line argument.
    client_id = secrets.token_hex(20)
    user = User(username=f"system-{client_id[:20]}", first_name=name[:150], is_active=True)
    user.set_unusable_password()
    user.save()
    client = SystemClient.objects.create(
        clinic=actor.clinic,
        client_id=client_id,
        name=name,
        jwks=jwks,
        scope=scope_string(types),
        user=user,
        created_by=actor.user,
    )
    record_for(actor, Action.CREATE, obj=client, detail={"name": name, "scope": client.scope})
    return client


@transaction.atomic
def revoke_client(actor: Actor, client: SystemClient) -> None:
    """Revoke a client: its tokens stop working at once and it can get no more."""
    require(actor, Perm.CLINIC_CHANGE)
    if client.clinic_id != actor.clinic.pk:
        raise InputError("client_id", "no such client at this clinic")
    if client.is_active:
        client.is_active = False
        client.revoked_at = timezone.now()
        client.save(update_fields=["is_active", "revoked_at"])
        User.objects.filter(pk=client.user_id).update(is_active=False)
    client.tokens.all().delete()
    record_for(actor, Action.UPDATE, obj=client, detail={"revoked": True})


# -- the token endpoint ------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    token: str
    scope: str
    expires_in: int


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _failure_key(client_id: str) -> str:
    return "smart-token-failures:" + hashlib.sha256(client_id.encode()).hexdigest()[:32]


def too_many_failures(client_id: str) -> bool:
    return cache.get(_failure_key(client_id), 0) >= FAILURE_LIMIT


def note_failure(client_id: str, error: TokenError, source_address: str) -> None:
    """Count a failure against the client_id it named and audit it as a failed sign-in."""
    key = _failure_key(client_id)
    if cache.add(key, 1, FAILURE_WINDOW) is False:
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, FAILURE_WINDOW)
    client = SystemClient.objects.filter(client_id=client_id).first() if client_id else None
    record(
        Action.LOGIN_FAILED,
        clinic=client.clinic if client else None,
        username=(client.user.username if client else client_id)[:150],
        source_address=source_address,
        detail={"system_client": client_id[:64], "error": error.error},
    )


def issue_token(
    form, token_url: str, source_address: str = "", now: datetime | None = None
) -> Issued:
    """Check a client-credentials request (the POSTed form) and issue an access token.

    Raises TokenError with the RFC 6749 §5.2 code: ``unsupported_grant_type``,
    ``invalid_request``, ``invalid_client`` (the assertion or the client), ``invalid_scope``.
    """
    now = now or timezone.now()
    if form.get("grant_type") != "client_credentials":
        raise TokenError("unsupported_grant_type", "grant_type must be client_credentials")
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise TokenError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
    assertion = form.get("client_assertion", "")
    if not assertion:
        raise TokenError("invalid_request", "client_assertion is missing")
    if not form.get("scope", "").strip():
        raise TokenError("invalid_request", "scope is missing")
    client, claims = _verify(assertion, token_url, now)
    try:
        scope_types(form["scope"])
    except InputError as error:
        raise TokenError("invalid_scope", error.message) from None
    kinds = {word.split("/", 1)[1].split(".", 1)[0] for word in form["scope"].split()}
    wildcard = "*" in kinds
    named = kinds - {"*"}
    allowed = scope_types(client.scope)
    # system/*.rs is granted as whatever the client is allowed; a named type must be allowed.
    if not named <= allowed:
        outside = ", ".join(sorted(named - allowed))
        raise TokenError("invalid_scope", f"not among this client's scopes: {outside}")
    granted = allowed if wildcard else frozenset(named)
    return _store(client, claims, granted, source_address, now)


def _verify(assertion: str, token_url: str, now: datetime) -> tuple[SystemClient, dict]:
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise TokenError("invalid_client", f"client_assertion is not a JWT: {error}", 401) from None
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise TokenError("invalid_client", "the assertion has no iss (the client_id)", 401)
    client = (
        SystemClient.objects.select_related("clinic", "user")
        .filter(client_id=issuer, is_active=True)
        .first()
    )
    if client is None:
        raise TokenError("invalid_client", "unknown or revoked client", 401)
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise TokenError("invalid_client", "the assertion must be signed with RS384 or ES384", 401)
    kid = header.get("kid")
    key = next((k for k in client.jwks.get("keys", []) if k.get("kid") == kid), None)
    if not kid or key is None:
        raise TokenError("invalid_client", f"no registered key with kid {kid!r}", 401)
    if _algorithm_for(key) != algorithm:
        raise TokenError("invalid_client", f"key {kid!r} is not a {algorithm} key", 401)
    try:
        claims = jwt.decode(
            assertion,
            jwt.PyJWK(key, algorithm=algorithm).key,
            algorithms=[algorithm],
            audience=token_url,
            issuer=client.client_id,
            # exp, nbf and iat are checked below against ``now``.
            options={
                "require": ["iss", "sub", "aud", "exp", "jti"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as error:
        raise TokenError("invalid_client", f"the assertion is not valid: {error}", 401) from None
    if claims["sub"] != client.client_id:
        raise TokenError("invalid_client", "sub must be the client_id, as iss", 401)
    try:
        expires = datetime.fromtimestamp(float(claims["exp"]), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        raise TokenError("invalid_client", "exp must be a time in seconds", 401) from None
    if expires <= now:
        raise TokenError("invalid_client", "the assertion has expired", 401)
    if expires - now > MAX_ASSERTION_LIFETIME:
        raise TokenError("invalid_client", "exp may be at most five minutes ahead", 401)
    if not isinstance(claims["jti"], str) or not claims["jti"] or len(claims["jti"]) > 255:
        raise TokenError("invalid_client", "jti must be a string of 1-255 characters", 401)
    claims["_expires"] = expires
    return client, claims


@transaction.atomic
def _store(
    client: SystemClient, claims: dict, granted: frozenset[str], source_address: str, now
) -> Issued:
    UsedAssertion.objects.filter(client=client, expires_at__lte=now).delete()
    try:
        with transaction.atomic():
            UsedAssertion.objects.create(
                client=client, jti=claims["jti"], expires_at=claims["_expires"]
            )
    except IntegrityError:
        raise TokenError("invalid_client", "this assertion's jti was used already", 401) from None
    SystemToken.objects.filter(client=client, expires_at__lte=now).delete()
    token = SystemToken.PREFIX + secrets.token_urlsafe(32)
    scope = scope_string(granted)
    SystemToken.objects.create(
        client=client,
        key_hash=_hash(token),
        scope=scope,
        created_at=now,
        expires_at=now + TOKEN_LIFETIME,
    )
    record(
        Action.LOGIN,
        user=client.user,
        clinic=client.clinic,
        source_address=source_address,
        detail={"system_client": client.client_id, "scope": scope},
    )
    return Issued(token, scope, int(TOKEN_LIFETIME.total_seconds()))


# -- tokens in use -----------------------------------------------------------------------------


def actor_for_system_token(token: str, source_address: str) -> Actor | None:
    """The actor an unexpired system token signs in, or None (``accounts.bearer``)."""
    row = (
        SystemToken.objects.select_related("client__clinic", "client__user")
        .filter(
            key_hash=_hash(token),
            expires_at__gt=timezone.now(),
            client__is_active=True,
            client__user__is_active=True,
        )
        .first()
    )
    if row is None:
        return None
    client = row.client
    types = scope_types(row.scope)
    # The client has no role: an unsaved membership places it at its clinic, and ``grants``
    # alone decides what it may do.
    membership = Membership(user=client.user, clinic=client.clinic, role="", is_active=True)
    return Actor(
        client.user,
        membership,
        source_address,
        grants=grants_for(types),
        scope_types=types,
    )


def clients_of(clinic: Clinic):
    return SystemClient.objects.filter(clinic=clinic).order_by("-created_at")


bearer.register(SystemToken.PREFIX, "/fhir/", actor_for_system_token)
