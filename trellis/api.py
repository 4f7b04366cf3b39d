"""The JSON API, version 1 (DESIGN.md §5), served under /api/v1/ with its OpenAPI."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from trellis.accounts.access import Actor
from trellis.accounts.models import ApiToken
from trellis.lib.errors import Conflict, InputError
from trellis.lib.http import client_address
from trellis.measures.api import router as measures_router
from trellis.patients.api import router as patients_router
from trellis.treatments.api import router as treatments_router


class BearerToken(HttpBearer):
    """``Authorization: Bearer trl_…`` — a token from ``manage.py issue_token``."""

    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        row = ApiToken.objects.find(token)
        if row is None:
            return None
        membership = (
            row.user.memberships.select_related("clinic")
            .filter(clinic=row.clinic, is_active=True)
            .first()
        )
        if membership is None:
            return None
        now = timezone.now()
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.actor = Actor(row.user, membership, client_address(request))
        return request.actor


api = NinjaAPI(
    title="Trellis API",
    version="1",
    description="Programs' access to a Trellis clinic. Authenticate with a Bearer token "
    '(python manage.py issue_token USERNAME). Errors are JSON {"detail": …} with a 4xx status.',
    auth=BearerToken(),
    urls_namespace="api",
)


@api.exception_handler(InputError)
def _input_error(request, exc: InputError):
    return api.create_response(request, {"detail": str(exc), "field": exc.field}, status=422)


@api.exception_handler(Conflict)
def _conflict(request, exc: Conflict):
    return api.create_response(request, {"detail": exc.message, "code": exc.code}, status=409)


@api.exception_handler(ValidationError)
def _django_validation_error(request, exc: ValidationError):
    detail = (
        "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
        if hasattr(exc, "error_dict")
        else " ".join(exc.messages)
    )
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(NinjaValidationError)
def _schema_error(request, exc: NinjaValidationError):
    return api.create_response(request, {"detail": exc.errors}, status=422)


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
api.add_router("", treatments_router)
