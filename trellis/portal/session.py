"""The portal's own session, apart from staff's.

A patient's session lives in its own cookie (``trellis_portal``), sent by the browser only
under ``/portal/``; staff pages never read it and authenticate ``request.user`` from the staff
cookie alone. Portal pages read only this session and never ``request.user``: a member of
staff signed in to Trellis is nobody here, and a patient signed in here is nobody to staff
pages. The session ends after ``IDLE_MINUTES`` without a request, and after
``MAX_HOURS`` whatever happens.
"""

from __future__ import annotations

import time
from functools import wraps
from importlib import import_module

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from trellis.lib.http import client_address

COOKIE = "trellis_portal"
PREFIX = "/portal/"
IDLE_MINUTES = 15
MAX_HOURS = 8

ACCOUNT = "portal_account"  # the signed-in account's id
ENROLLING = "portal_enrolling"  # an account between its password and its authenticator
LAST_SEEN = "portal_last_seen"
STARTED = "portal_started"

_engine = import_module(settings.SESSION_ENGINE)


class PortalSessionMiddleware:
    """Loads ``request.portal_session`` and ``request.portal_account`` under /portal/."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.portal_account = None
        if not request.path.startswith(PREFIX):
            return self.get_response(request)
        session = _engine.SessionStore(request.COOKIES.get(COOKIE))
        request.portal_session = session
        request.portal_signed_out_idle = False
        request.portal_account = _account(request, session)
        if request.portal_account is not None:
            # Times on the patient's pages are their clinic's, as on staff pages.
            timezone.activate(request.portal_account.clinic.tzinfo)
        try:
            response = self.get_response(request)
        finally:
            timezone.deactivate()
        if session.is_empty() and COOKIE in request.COOKIES:
            response.delete_cookie(COOKIE, path=PREFIX, samesite="Lax")
        elif session.modified and not session.is_empty():
            session.set_expiry(MAX_HOURS * 3600)
            session.save()
            response.set_cookie(
                COOKIE,
                session.session_key,
                max_age=None,  # ends with the browser as well
                path=PREFIX,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response


def _account(request: HttpRequest, session):
    from trellis.portal.models import PortalAccount
    from trellis.portal.services import record_sign_out

    account_id = session.get(ACCOUNT)
    if account_id is None:
        return None
    now = time.time()
    account = (
        PortalAccount.objects.ready()
        .select_related("patient", "clinic")
        .filter(pk=account_id)
        .first()
    )
    expired = now - session.get(LAST_SEEN, 0) > IDLE_MINUTES * 60 or (
        now - session.get(STARTED, 0) > MAX_HOURS * 3600
    )
    if account is None or expired:
        if account is not None:
            record_sign_out(account, source_address=client_address(request), idle=True)
        session.flush()
        request.portal_signed_out_idle = expired
        return None
    if now - session.get(LAST_SEEN, 0) > 30:
        session[LAST_SEEN] = now
    return account


def start(request: HttpRequest, account) -> None:
    """A new session (a new key, against fixation) for the account that just signed in."""
    session = request.portal_session
    session.flush()
    now = time.time()
    session[ACCOUNT] = str(account.pk)
    session[STARTED] = now
    session[LAST_SEEN] = now
    request.portal_account = account


def end(request: HttpRequest) -> None:
    request.portal_session.flush()
    request.portal_account = None


def patient_required(view):
    """The view runs only for a signed-in patient (``request.portal_account``); anyone else,
    staff included, is sent to the portal's sign-in."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if getattr(request, "portal_account", None) is None:
            query = {"next": request.get_full_path()} if request.method == "GET" else {}
            if getattr(request, "portal_signed_out_idle", False):
                query["idle"] = "1"
            url = reverse("portal_sign_in")
            return HttpResponseRedirect(f"{url}?{urlencode(query)}" if query else url)
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store, private"
        return response

    return wrapper
