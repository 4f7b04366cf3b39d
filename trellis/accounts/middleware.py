"""Per-request staff context: the acting clinic and role, idle logoff, and the MFA gate."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from trellis.accounts.access import Actor
from trellis.accounts.models import Membership
from trellis.lib.http import client_address, is_htmx

SESSION_CLINIC = "trellis_clinic"
SESSION_LAST_SEEN = "trellis_last_seen"
DEFAULT_IDLE_MINUTES = 15

# Paths that a signed-in but not yet MFA-verified user may reach.
_MFA_OPEN = ("/accounts/mfa/", "/accounts/logout/", "/static/")
# Paths with their own authentication (Bearer tokens) or none.
_NOT_STAFF_PAGES = ("/api/", "/healthz", "/static/", "/request/", "/q/")


def memberships_of(user) -> list[Membership]:
    return list(
        Membership.objects.filter(user=user, is_active=True, clinic__isnull=False)
        .select_related("clinic")
        .order_by("clinic__name")
    )


def acting_membership(request: HttpRequest, memberships: list[Membership]) -> Membership | None:
    chosen = request.session.get(SESSION_CLINIC)
    for membership in memberships:
        if str(membership.clinic_id) == chosen:
            return membership
    return memberships[0] if memberships else None


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


class StaffMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.actor = None
        request.memberships = []
        if request.path.startswith(_NOT_STAFF_PAGES) or not request.user.is_authenticated:
            return self.get_response(request)

        request.memberships = memberships_of(request.user)
        membership = acting_membership(request, request.memberships)
        if membership is not None:
            request.actor = Actor(request.user, membership, client_address(request))
            timezone.activate(membership.clinic.tzinfo)

        idle = self._idle_logoff(request, membership)
        if idle is not None:
            return idle
        if (
            settings.TRELLIS_MFA_REQUIRED
            and not request.user.is_verified()
            and not request.path.startswith(_MFA_OPEN)
        ):
            return _redirect(
                request, f"{reverse('mfa')}?{urlencode({'next': request.get_full_path()})}"
            )
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    def _idle_logoff(
        self, request: HttpRequest, membership: Membership | None
    ) -> HttpResponse | None:
        minutes = (
            membership.clinic.setting("idle_logoff_minutes") if membership else DEFAULT_IDLE_MINUTES
        )
        now = time.time()
        last_seen = request.session.get(SESSION_LAST_SEEN)
        if last_seen is not None and now - last_seen > minutes * 60:
            logout(request)
            messages.info(request, f"You were signed out after {minutes} minutes without activity.")
            login = reverse("login")
            return _redirect(request, f"{login}?{urlencode({'next': request.get_full_path()})}")
        # Save the session at most every 30 seconds: the clock needs no finer grain.
        if last_seen is None or now - last_seen > 30:
            request.session[SESSION_LAST_SEEN] = now
        return None
