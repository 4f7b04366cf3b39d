"""SMART Backend Services endpoints [R137]: the discovery document and the token endpoint.

``/fhir/r4/.well-known/smart-configuration`` needs no token. ``/fhir/r4/auth/token`` takes the
client-credentials form with a signed client assertion and answers an access token, or an
OAuth 2.0 error (RFC 6749 §5.2) as JSON — never a page, never a 500.
"""

import json

import jwt
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from trellis.fhir import smart
from trellis.lib.http import client_address


def _json(body: dict, status: int = 200) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    # Token responses are never cached (RFC 6749 §5.1).
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def token_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/fhir/r4/auth/token")


@csrf_exempt
def smart_configuration(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return _json({"error": "invalid_request", "error_description": "use GET"}, 405)
    body = {
        "token_endpoint": token_url(request),
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(smart.ALGORITHMS),
        "grant_types_supported": ["client_credentials"],
        "scopes_supported": ["system/*.rs"]
        + [f"system/{kind}.rs" for kind in sorted(smart.TYPE_PERMISSIONS)],
        "capabilities": ["client-confidential-asymmetric"],
    }
    response = _json(body)
    response["Cache-Control"] = "public, max-age=3600"
    del response["Pragma"]
    return response


@csrf_exempt
def token(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        response = _json({"error": "invalid_request", "error_description": "use POST"}, 405)
        response["Allow"] = "POST"
        return response
    if request.content_type != "application/x-www-form-urlencoded":
        return _json(
            {
                "error": "invalid_request",
                "error_description": "the body must be application/x-www-form-urlencoded",
            },
            400,
        )
    form = {key: request.POST.get(key, "") for key in request.POST}
    claimed = _claimed_client(form.get("client_assertion", ""))
    address = client_address(request)
    if claimed and smart.too_many_failures(claimed):
        response = _json(
            {
                "error": "invalid_client",
                "error_description": "too many failed attempts for this client; try later",
            },
            429,
        )
        response["Retry-After"] = str(smart.FAILURE_WINDOW)
        return response
    try:
        issued = smart.issue_token(form, token_url(request), address)
    except smart.TokenError as error:
        smart.note_failure(claimed, error, address)
        response = _json(
            {"error": error.error, "error_description": error.description}, error.status
        )
        if error.status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="fhir"'
        return response
    return _json(
        {
            "access_token": issued.token,
            "token_type": "bearer",
            "expires_in": issued.expires_in,
            "scope": issued.scope,
        }
    )


def _claimed_client(assertion: str) -> str:
    """The client_id an assertion claims (its iss), unverified: only to count failures."""
    try:
        issuer = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
    except Exception:  # any unreadable assertion claims nobody
        return ""
    return issuer[:128] if isinstance(issuer, str) else ""
