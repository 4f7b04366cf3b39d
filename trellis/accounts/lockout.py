"""Sign-in lockout on top of django-axes.

Axes locks a username after ``AXES_FAILURE_LIMIT`` failures (settings.py); a successful sign-in
clears only that username's failures. This handler adds one more limit: an address that has failed
``TRELLIS_LOCKOUT_ADDRESS_FAILURES`` times across any usernames within the lockout time is locked
too — someone trying one password against many usernames. It is kept well above the username limit
because a clinic's staff share one address, and nobody's successful sign-in clears it: it ends only
when the failures age out.
"""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


class LockoutHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials=None) -> int:
        """The username's failures, or the address's when they pass the address limit (the
        address's count is then reported as the failure limit, which is what locks)."""
        failures = super().get_failures(request, credentials)
        if address_failures(request) >= settings.TRELLIS_LOCKOUT_ADDRESS_FAILURES:
            return max(failures, get_failure_limit(request, credentials))
        return failures


def address_failures(request) -> int:
    address = getattr(request, "axes_ip_address", None)
    if not address:
        return 0
    recent = AccessAttempt.objects.filter(
        ip_address=address, attempt_time__gte=get_cool_off_threshold(request)
    )
    return recent.aggregate(total=Sum("failures_since_start"))["total"] or 0
