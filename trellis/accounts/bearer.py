"""``Authorization: Bearer trl_…`` — the one way a program signs in, for the JSON API and FHIR.

A token from ``manage.py issue_token`` names a user and a clinic; it works while the user's
membership of that clinic is active. The request's actor is that membership, and the clinic's
timezone is activated for the call (the caller deactivates it when the call ends).
"""

from collections.abc import Callable

from django.http import HttpRequest
from django.utils import timezone

from trellis.accounts.access import Actor
from trellis.accounts.models import ApiToken
from trellis.lib.http import client_address


def bearer_token(request: HttpRequest) -> str:
    """The token of an ``Authorization: Bearer …`` header, or "" when there is none."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


# Tokens of another kind, by their prefix: a resolver, owned by a higher app, turns one into an
# actor (``trellis.fhir.smart`` registers the SMART system clients' tokens), and the paths where
# such a token is accepted. The checking still starts here, for both APIs.
RESOLVERS: dict[str, tuple[str, Callable[[str, str], Actor | None]]] = {}


def register(prefix: str, path_prefix: str, resolve: Callable[[str, str], Actor | None]) -> None:
    RESOLVERS[prefix] = (path_prefix, resolve)


def actor_for_token(request: HttpRequest, token: str) -> Actor | None:
    """The actor a token signs in, or None for an unknown, revoked or orphaned token."""
    if not token:
        return None
    for prefix, (path_prefix, resolve) in RESOLVERS.items():
        if token.startswith(prefix):
            if not request.path.startswith(path_prefix):
                return None
            request.actor = resolve(token, client_address(request))
            if request.actor is not None:
                timezone.activate(request.actor.clinic.tzinfo)
            return request.actor
    row = ApiToken.objects.find(token)
    if row is None:
        return None
    membership = (
        row.user.memberships.select_related("clinic")
        .filter(clinic=row.clinic, is_active=True)
        .first()
    )
    if membership is None:
        return None
    now = timezone.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    request.actor = Actor(row.user, membership, client_address(request))
    # The clinic's own calendar and clock, as the staff pages have (StaffMiddleware).
    timezone.activate(membership.clinic.tzinfo)
    return request.actor
