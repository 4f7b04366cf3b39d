"""The FHIR R4 read API under /fhir/r4/: JSON ``application/fhir+json``, Bearer tokens as the
JSON API (``accounts.bearer``), errors as OperationOutcome [R135].

``metadata`` needs no token (DESIGN.md §5.1). Every other path needs one: none or an unknown
one is 401, a role without the permission 403, another clinic's resource or an unknown id 404,
a bad search parameter 400 naming it.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from trellis.accounts.bearer import actor_for_token, bearer_token
from trellis.fhir import capability, search
from trellis.fhir.selectors import SERVED, Params

CONTENT_TYPE = "application/fhir+json; charset=utf-8"
# Parameters any search takes besides its own: paging and the format (JSON only).
COMMON = ("_count", "_offset", "_format")


def fhir_response(body: dict, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(body), status=status, content_type=CONTENT_TYPE)


def outcome(status: int, code: str, message: str) -> HttpResponse:
    response = fhir_response(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": message}],
        },
        status,
    )
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="fhir"'
    return response


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/fhir/r4")


def _get_only(view):
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            response = outcome(
                405, "not-supported", f"{request.method} is not allowed here; use GET."
            )
            response["Allow"] = "GET"
            return response
        fmt = request.GET.get("_format", "json")
        if fmt not in ("json", "application/json", "application/fhir+json"):
            return outcome(415, "not-supported", "_format: only JSON is served (json).")
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    return csrf_exempt(wrapped)


def _authenticated(view):
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        actor = actor_for_token(request, bearer_token(request))
        if actor is None:
            return outcome(401, "login", "A valid Bearer token is required (Authorization).")
        try:
            return view(request, actor, *args, **kwargs)
        except Http404:
            return outcome(404, "not-found", "No such resource.")
        except PermissionDenied as error:
            return outcome(403, "forbidden", str(error) or "Your role may not read this.")
        except search.SearchError as error:
            return outcome(400, "invalid", str(error))
        finally:
            timezone.deactivate()

    wrapped.__name__ = view.__name__
    return _get_only(wrapped)


def scoped(actor, kind: str) -> None:
    """A system client (SMART Backend Services) reads only the types its scopes name [R137]."""
    if actor.scope_types is not None and kind not in actor.scope_types:
        raise PermissionDenied(f"This system client's scopes do not include {kind}.")


@_get_only
def metadata(request: HttpRequest) -> HttpResponse:
    return fhir_response(capability.statement(_base(request)))


@_authenticated
def read(request: HttpRequest, actor, kind: str, pk: str) -> HttpResponse:
    served = SERVED.get(kind)
    if served is None:
        return outcome(404, "not-supported", f"{kind} is not served here.")
    scoped(actor, kind)
    return fhir_response(served.read(actor, pk))


@_authenticated
def search_type(request: HttpRequest, actor, kind: str) -> HttpResponse:
    served = SERVED.get(kind)
    if served is None:
        return outcome(404, "not-supported", f"{kind} is not served here.")
    scoped(actor, kind)
    query = {key: request.GET.getlist(key) for key in request.GET}
    unknown = sorted(set(query) - set(served.params) - set(COMMON))
    if unknown:
        raise search.SearchError(
            unknown[0],
            f"not a search parameter of {kind}; use {', '.join(served.params + COMMON[:1])}",
        )
    count = search.count(request.GET.get("_count"))
    start = search.offset(request.GET.get("_offset"))
    total, found = served.search(actor, Params(query), start, count)
    base = _base(request)
    own = [(k, v) for k, values in query.items() if k not in COMMON for v in values]

    def link(relation: str, at: int) -> dict:
        params = [*own, ("_count", count)] + ([("_offset", at)] if at else [])
        return {"relation": relation, "url": f"{base}/{kind}?{urlencode(params)}"}

    links = [link("self", start)]
    if start + count < total:
        links.append(link("next", start + count))
    if start > 0:
        links.append(link("previous", max(0, start - count)))
    return fhir_response(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": links,
            "entry": [
                {
                    "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
                    "resource": resource,
                    "search": {"mode": "match"},
                }
                for resource in found
            ],
        }
    )


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return outcome(404, "not-found", f"No such FHIR path: /fhir/r4/{rest}")
