from django.conf import settings
from django.http import HttpRequest

from trellis.accounts.middleware import DEFAULT_IDLE_MINUTES
from trellis.accounts.permissions import Perm


def staff(request: HttpRequest) -> dict:
    actor = getattr(request, "actor", None)
    minutes = actor.clinic.setting("idle_logoff_minutes") if actor else DEFAULT_IDLE_MINUTES
    user = getattr(request, "user", None)
    verified = (
        user is not None
        and user.is_authenticated
        and (not settings.TRELLIS_MFA_REQUIRED or user.is_verified())
    )
    return {
        "actor": actor,
        "fully_signed_in": verified,
        # What the acting role may do, for showing only the links that will work.
        "can": {perm.value for perm in Perm if actor.can(perm)} if actor else set(),
        "memberships": getattr(request, "memberships", []),
        "mfa_waived": not settings.TRELLIS_MFA_REQUIRED,
        "idle_seconds": int(minutes * 60),
    }
