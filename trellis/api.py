"""The JSON API, version 1 (DESIGN.md §5), served under /api/v1/ with its OpenAPI.

Every error is JSON ``{"detail": …}``: bad input 422 naming the field, malformed JSON 400, an
oversized body 413, and an unexpected failure 500 (logged with its traceback). The OpenAPI
document lists each operation's error responses (``trellis.lib.apidoc``).
"""

import functools
import json
import logging

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    ValidationError,
)
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, re_path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer

from trellis.accounts.access import Actor
from trellis.accounts.bearer import actor_for_token
from trellis.billing.api import router as billing_router
from trellis.billing.insurance_api import router as insurance_router
from trellis.controlled.api import router as controlled_router
from trellis.groups.api import router as groups_router
from trellis.lib import apidoc
from trellis.lib.errors import Conflict, InputError
from trellis.measures.api import router as measures_router
from trellis.patients.api import router as patients_router
from trellis.plans.api import router as plans_router
from trellis.reports.api import router as research_router
from trellis.safety.api import router as safety_router
from trellis.scheduling.api import router as scheduling_router
from trellis.treatments.api import router as treatments_router
from trellis.treatments.oral_api import router as oral_router


class BearerToken(HttpBearer):
    """``Authorization: Bearer trl_…`` — a token from ``manage.py issue_token``."""

    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        # The API's paths skip StaffMiddleware; the timezone the token activates ends with the
        # call (``_each_call``).
        return actor_for_token(request, token)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


class JsonParser(Parser):
    """Strict JSON (RFC 8259): NaN and Infinity are refused, as is anything but an object at the
    top: a list, a bare value or null is a 422 naming the body (an optional body is left out,
    not sent as null)."""

    def parse_body(self, request: HttpRequest):
        data = json.loads(request.body, parse_constant=_refuse_constant)
        if not isinstance(data, dict):
            raise apidoc.BodyNotAnObject(type(data).__name__)
        return data


class TrellisApi(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        return apidoc.document_errors(super().get_openapi_schema(*args, **kwargs))

    @property
    def urls(self):
        """ninja's URLs, with the two errors it answers outside its handlers made JSON too:
        405 for a method a path does not take, and 404 for a path under /api/v1/ that is none
        of the API's; and the clinic's timezone, which the token activated, ends with the call."""
        patterns, app_name, namespace = super().urls
        patterns = [
            URLPattern(p.pattern, self._each_call(p.callback), p.default_args, p.name)
            if isinstance(p, URLPattern)
            else p
            for p in patterns
        ]
        return [*patterns, re_path(r"", csrf_exempt(self._not_found))], app_name, namespace

    def _each_call(self, view):
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                response = view(request, *args, **kwargs)
            finally:
                timezone.deactivate()
            if response.status_code != 405 or "json" in response.get("Content-Type", ""):
                return response
            allowed = response["Allow"]
            response = self.create_response(
                request,
                {"detail": f"{request.method} is not allowed here; use {allowed}."},
                status=405,
            )
            response["Allow"] = allowed
            return response

        return wrapped

    def _not_found(self, request: HttpRequest) -> HttpResponse:
        return self.create_response(request, {"detail": "Not found."}, status=404)


api = TrellisApi(
    title="Trellis API",
    version="1",
    description="Programs' access to a Trellis clinic. Authenticate with a Bearer token "
    '(python manage.py issue_token USERNAME). Errors are JSON {"detail": …} with a 4xx status '
    "(each operation lists its own), or 500 for a failure on the server's side.",
    auth=BearerToken(),
    urls_namespace="api",
    parser=JsonParser(),
)

log = logging.getLogger("django.request")


@api.exception_handler(InputError)
def _input_error(request, exc: InputError):
    return api.create_response(request, {"detail": str(exc), "field": exc.field}, status=422)


@api.exception_handler(Conflict)
def _conflict(request, exc: Conflict):
    return api.create_response(request, {"detail": exc.message, "code": exc.code}, status=409)


@api.exception_handler(ValidationError)
def _django_validation_error(request, exc: ValidationError):
    if hasattr(exc, "error_dict"):
        problems = exc.message_dict
        detail = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in problems.items())
        field = next(iter(problems))
    else:
        detail, field = " ".join(exc.messages), None
    return api.create_response(request, {"detail": detail, "field": field}, status=422)


@api.exception_handler(NinjaValidationError)
def _schema_error(request, exc: NinjaValidationError):
    errors = [apidoc.field_error(error) for error in exc.errors]
    first = errors[0]
    return api.create_response(
        request,
        {
            "detail": f"{first['field']}: {first['message']}",
            "field": first["field"],
            "errors": errors,
        },
        status=422,
    )


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    cause = exc.__cause__
    if isinstance(cause, apidoc.BodyNotAnObject):
        return api.create_response(
            request,
            {"detail": f"body: must be a JSON object, not {cause.kind}", "field": "body"},
            status=422,
        )
    return api.create_response(request, {"detail": exc.message}, status=exc.status_code)


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    return api.create_response(request, {"detail": "The request body is too large."}, status=413)


@api.exception_handler(SuspiciousOperation)
def _suspicious(request, exc):
    # What Django itself answers with 400 (a malformed request it will not read).
    return api.create_response(request, {"detail": "The request was refused."}, status=400)


@api.exception_handler(Exception)
def _server_error(request, exc):
    log.error(
        "Internal Server Error: %s",
        request.path,
        exc_info=exc,
        extra={"status_code": 500, "request": request},
    )
    return api.create_response(
        request, {"detail": "Something went wrong on our side; it has been logged."}, status=500
    )


@api.exception_handler(Http404)
def _not_found(request, exc):
    return api.create_response(request, {"detail": "Not found."}, status=404)


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return api.create_response(request, {"detail": str(exc) or "Forbidden."}, status=403)


@api.exception_handler(AuthenticationError)
def _unauthorized(request, exc):
    response = api.create_response(
        request,
        {"detail": "A valid Bearer token is required (Authorization: Bearer …)."},
        status=401,
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


class MeOut(Schema):
    username: str
    name: str
    clinic: str
    clinic_id: str
    role: str


@api.get("/me", response=MeOut, summary="Who the token acts as")
def me(request):
    actor: Actor = request.auth
    return {
        "username": actor.user.username,
        "name": actor.user.get_full_name(),
        "clinic": actor.clinic.name,
        "clinic_id": str(actor.clinic.pk),
        "role": actor.role,
    }


api.add_router("", patients_router)
api.add_router("", measures_router)
api.add_router("", safety_router)
api.add_router("", treatments_router)
api.add_router("", oral_router)
api.add_router("", billing_router)
api.add_router("", scheduling_router)
api.add_router("", controlled_router)
api.add_router("", insurance_router)
api.add_router("", groups_router)
api.add_router("", plans_router)
api.add_router("", research_router)
