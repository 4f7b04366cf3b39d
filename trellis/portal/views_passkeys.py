"""The patient's passkeys: the page that lists and adds them, and signing in with one.

The browser's side (``static/js/passkeys.js``) asks for options, hands them to
``navigator.credentials``, and posts the answer back as JSON; CSRF is checked as for any
form (the token travels in the ``X-CSRFToken`` header). Every page and answer here reads the
portal's own session only.
"""

import json
from functools import wraps
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.request import split_domain_port
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from trellis.accounts.middleware import local_url
from trellis.lib.errors import InputError
from trellis.lib.http import client_address
from trellis.portal import passkeys, selectors, services, session
from trellis.portal.models import PortalPasskey
from trellis.portal.views import _page, enrolling_account


def relying_party(request: HttpRequest) -> passkeys.RelyingParty:
    """The host the patient reached the portal at, which Django has checked against
    ALLOWED_HOSTS: a passkey works on the host it was made on."""
    host = request.get_host()
    return passkeys.RelyingParty(id=split_domain_port(host)[0], origin=f"{request.scheme}://{host}")


def _json(data: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status)
    response["Cache-Control"] = "no-store, private"
    return response


def _options(options_json: str) -> HttpResponse:
    response = HttpResponse(options_json, content_type="application/json")
    response["Cache-Control"] = "no-store, private"
    return response


def _body(request: HttpRequest) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise InputError("credential", "is not the answer of a passkey") from None
    if not isinstance(body, dict):
        raise InputError("credential", "is not the answer of a passkey")
    return body


def _patient_json(view):
    """For the JSON answers: a signed-in patient, or 401 (a fetch does not follow the
    sign-in page's redirect usefully)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if getattr(request, "portal_account", None) is None:
            return _json({"detail": "You are signed out. Please sign in again."}, 401)
        return view(request, *args, **kwargs)

    return wrapper


# --- The patient's passkeys ------------------------------------------------------------------


@session.patient_required
def passkey_list(request: HttpRequest) -> HttpResponse:
    account = request.portal_account
    selectors.audit_read(account, "passkeys", client_address(request))
    return _page(
        request,
        "portal/passkeys.html",
        {
            "nav": "passkeys",
            "passkeys": passkeys.passkeys_of(account),
            "name_max": passkeys.NAME_MAX,
        },
    )


@require_POST
@_patient_json
def registration_options(request: HttpRequest) -> HttpResponse:
    options, challenge = passkeys.registration_options(
        request.portal_account, relying_party(request)
    )
    passkeys.keep_challenge(request.portal_session, passkeys.REGISTRATION, challenge)
    return _options(options)


_LABELS = {"name": "Name", "credential": "Passkey"}


@require_POST
@_patient_json
def register(request: HttpRequest) -> HttpResponse:
    challenge = passkeys.take_challenge(request.portal_session, passkeys.REGISTRATION)
    try:
        body = _body(request)
        passkey = passkeys.register(
            request.portal_account,
            body.get("credential"),
            name=str(body.get("name") or ""),
            challenge=challenge,
            rp=relying_party(request),
            source_address=client_address(request),
        )
    except InputError as error:
        label = _LABELS.get(error.field, error.field)
        return _json({"field": error.field, "detail": f"{label}: {error.message}"}, 422)
    messages.success(request, f"Passkey “{passkey.name}” added. You can sign in with it now.")
    return _json({"id": str(passkey.id), "name": passkey.name}, 201)


@require_POST
@session.patient_required
def remove(request: HttpRequest, passkey_id: UUID) -> HttpResponse:
    try:
        passkey = passkeys.remove(
            request.portal_account, passkey_id, source_address=client_address(request)
        )
    except PortalPasskey.DoesNotExist:
        raise Http404("No such passkey.") from None
    except InputError as error:
        messages.error(request, f"Nothing removed: this passkey {error.message}.")
        return redirect("portal_passkeys")
    messages.success(request, f"Passkey “{passkey.name}” removed. It no longer signs you in.")
    return redirect("portal_passkeys")


# --- A passkey in place of the authenticator app, when the sign-in is set up -------------------


@require_POST
def enrolment_options(request: HttpRequest) -> HttpResponse:
    account = enrolling_account(request)
    if account is None:
        return _json({"detail": "Please open your invitation link again."}, 401)
    options, challenge = passkeys.registration_options(account, relying_party(request))
    passkeys.keep_challenge(request.portal_session, passkeys.REGISTRATION, challenge)
    return _options(options)


@require_POST
def enrol(request: HttpRequest) -> HttpResponse:
    """The passkey finishes setting up the sign-in, as the app's first code would."""
    account = enrolling_account(request)
    if account is None:
        return _json({"detail": "Please open your invitation link again."}, 401)
    challenge = passkeys.take_challenge(request.portal_session, passkeys.REGISTRATION)
    try:
        body = _body(request)
        passkey = passkeys.register(
            account,
            body.get("credential"),
            name=str(body.get("name") or ""),
            challenge=challenge,
            rp=relying_party(request),
            source_address=client_address(request),
            enrolling=True,
        )
    except InputError as error:
        label = _LABELS.get(error.field, error.field)
        return _json({"field": error.field, "detail": f"{label}: {error.message}"}, 422)
    session.end(request)
    messages.success(request, "Your sign-in is ready. Sign in with your passkey.")
    return _json(
        {"id": str(passkey.id), "name": passkey.name, "redirect": reverse("portal_sign_in")}, 201
    )


# --- Signing in with a passkey ---------------------------------------------------------------

_REFUSED = {
    "unknown": (
        "This passkey is not registered with the portal (it may have been removed). Sign in "
        "with your password and code."
    ),
    "invalid": (
        "That passkey did not sign you in. Try again, or sign in with your password and code."
    ),
    "locked": (
        "Sign-in is paused after too many tries. Please wait 15 minutes and try again, or "
        "call your clinic."
    ),
}


@require_POST
def sign_in_options(request: HttpRequest) -> HttpResponse:
    options, challenge = passkeys.sign_in_options(relying_party(request))
    passkeys.keep_challenge(request.portal_session, passkeys.SIGN_IN, challenge)
    return _options(options)


@require_POST
def sign_in(request: HttpRequest) -> HttpResponse:
    challenge = passkeys.take_challenge(request.portal_session, passkeys.SIGN_IN)
    try:
        body = _body(request)
    except InputError:
        body = {}
    try:
        account = passkeys.sign_in(
            body.get("credential"),
            challenge=challenge,
            rp=relying_party(request),
            source_address=client_address(request),
        )
    except services.SignInRefused as refused:
        status = 429 if refused.reason == "locked" else 401
        return _json({"detail": _REFUSED[refused.reason], "reason": refused.reason}, status)
    session.start(request, account)
    next_url = local_url(str(body.get("next") or "")) or reverse("portal_home")
    return _json({"redirect": next_url})
