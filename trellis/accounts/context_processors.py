from django.conf import settings
from django.http import HttpRequest

from trellis.accounts.middleware import DEFAULT_IDLE_MINUTES


def staff(request: HttpRequest) -> dict:
    actor = getattr(request, "actor", None)
    minutes = actor.clinic.setting("idle_logoff_minutes") if actor else DEFAULT_IDLE_MINUTES
    return {
        "actor": actor,
        "memberships": getattr(request, "memberships", []),
        "mfa_waived": not settings.TRELLIS_MFA_REQUIRED,
        "idle_seconds": int(minutes * 60),
    }
