"""Per-request staff context: the acting clinic and role, idle logoff, and the MFA gate."""

import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from trellis.accounts.access import Actor
from trellis.accounts.models import Membership
from trellis.lib.http import client_address, is_htmx

SESSION_CLINIC = "trellis_clinic"
SESSION_LAST_SEEN = "trellis_last_seen"
DEFAULT_IDLE_MINUTES = 15

# Paths that a signed-in but not yet MFA-verified user may reach.
_MFA_OPEN = ("/accounts/mfa/", "/accounts/logout/", "/static/")
# Paths with their own authentication (Bearer tokens) or none.
_NOT_STAFF_PAGES = (
    "/api/",
    "/fhir/",
    "/healthz",
    "/static/",
    "/request/",
    "/q/",
    "/a/",
    "/calendar/feed/",
    "/portal/",  # the patient portal: its own session (trellis/portal/session.py)
    "/favicon.ico",
)


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


def _whole_page_to_sign_in(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """A part of a page that htmx asks for after the browser lost its session (signed out in
    another tab, cookies cleared): the page goes to sign-in, and back to itself after, instead
    of the sign-in form being drawn into the part that asked."""
    login = reverse("login")
    if (
        is_htmx(request)
        and response.status_code == 302
        and urlsplit(response["Location"]).path == login
    ):
        page = _page_url(request)
        return _redirect(request, f"{login}?{urlencode({'next': page})}" if page else login)
    return response


def local_url(candidate: str) -> str | None:
    """``candidate`` when it is a path on this site (``/sessions/…``), else None.

    Never another host: no scheme, no protocol-relative ``//host``, no ``/\\host`` (browsers
    read the backslash as a slash), no control characters (browsers drop tabs and newlines).
    """
    if not candidate.startswith("/") or candidate.startswith(("//", "/\\")):
        return None
    if any(ord(char) < 32 or ord(char) == 127 for char in candidate):
        return None
    if not url_has_allowed_host_and_scheme(candidate, allowed_hosts=None):
        return None
    return candidate


def _page_url(request: HttpRequest) -> str | None:
    """The page to come back to after signing in again.

    For a page that is the request itself. For a request a page makes (htmx saving a draft, a
    keep-alive ping, a form post) it is the page, which htmx names in HX-Current-URL and a
    browser in Referer; only a path on this same site is taken.
    """
    if request.method in ("GET", "HEAD") and not is_htmx(request):
        return local_url(request.get_full_path())
    referrer = request.headers.get("HX-Current-URL") or request.headers.get("Referer") or ""
    parts = urlsplit(referrer)
    if parts.netloc != request.get_host():
        return None
    return local_url(parts.path + (f"?{parts.query}" if parts.query else ""))


def idle_neutral(view):
    """A view whose requests do not count as activity: it keeps the idle clock itself
    (``touch_idle_clock``), as the keep-alive of an open treatment session does."""
    view.idle_neutral = True
    return view


def touch_idle_clock(request: HttpRequest) -> None:
    now = time.time()
    last_seen = request.session.get(SESSION_LAST_SEEN)
    # Save the session at most every 30 seconds: the clock needs no finer grain.
    if last_seen is None or now - last_seen > 30:
        request.session[SESSION_LAST_SEEN] = now


class StaffMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.actor = None
        request.memberships = []
        request.counts_as_activity = False
        if request.path.startswith(_NOT_STAFF_PAGES) or not request.user.is_authenticated:
            return _whole_page_to_sign_in(request, self.get_response(request))

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
        request.counts_as_activity = True
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        if request.counts_as_activity and not getattr(view_func, "idle_neutral", False):
            touch_idle_clock(request)

    def _idle_logoff(
        self, request: HttpRequest, membership: Membership | None
    ) -> HttpResponse | None:
        minutes = (
            membership.clinic.setting("idle_logoff_minutes") if membership else DEFAULT_IDLE_MINUTES
        )
        last_seen = request.session.get(SESSION_LAST_SEEN)
        if last_seen is None or time.time() - last_seen <= minutes * 60:
            return None
        page = _page_url(request)
        logout(request)
        messages.info(request, f"You were signed out after {minutes} minutes without activity.")
        login = reverse("login")
        return _redirect(request, f"{login}?{urlencode({'next': page})}" if page else login)
