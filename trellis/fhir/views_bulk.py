"""Bulk Data ``$export`` over HTTP (Bulk Data Access IG [R136]; FHIR asynchronous pattern).

- Kick-off: ``GET [base]/$export`` (clinic administrators), ``GET [base]/Patient/$export`` and
  ``GET [base]/Group/[id]/$export`` with ``Prefer: respond-async`` → 202 and ``Content-Location``
  (the status URL).
- Status: ``GET`` → 202 with ``X-Progress`` and ``Retry-After`` while it runs, 200 and the
  manifest when complete, 410 once its files have expired; ``DELETE`` cancels (202), after
  which the status URL is 404.
- Files: ``GET`` → ``application/fhir+ndjson``; the same Bearer token's user and clinic only.

Errors are OperationOutcomes like the rest of the FHIR API (``views.outcome``).
"""

from __future__ import annotations

import gzip
import json

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt

from trellis.accounts.bearer import actor_for_token, bearer_token
from trellis.fhir import bulk
from trellis.fhir.models import ExportKind, ExportStatus
from trellis.fhir.views import fhir_response, outcome, scoped

KICKOFF_PARAMS = ("_outputFormat", "_since", "_type")
NDJSON = "application/fhir+ndjson"


def _bulk(*methods: str):
    def decorate(view):
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in methods:
                response = outcome(
                    405,
                    "not-supported",
                    f"{request.method} is not allowed here; use {', '.join(methods)}.",
                )
                response["Allow"] = ", ".join(methods)
                return response
            actor = actor_for_token(request, bearer_token(request))
            if actor is None:
                return outcome(401, "login", "A valid Bearer token is required (Authorization).")
            try:
                return view(request, actor, *args, **kwargs)
            except Http404:
                return outcome(404, "not-found", "No such export, file or group.")
            except PermissionDenied as error:
                return outcome(403, "forbidden", str(error) or "Your role may not export this.")
            except bulk.ExportError as error:
                return outcome(400, "invalid", str(error))
            finally:
                timezone.deactivate()

        wrapped.__name__ = view.__name__
        return csrf_exempt(wrapped)

    return decorate


def _kickoff(request: HttpRequest, actor, kind: str, group: str = "") -> HttpResponse:
    if "respond-async" not in request.headers.get("Prefer", ""):
        raise bulk.ExportError("Prefer", "an export runs asynchronously: send respond-async")
    accept = request.headers.get("Accept", "")
    if accept and not any(t in accept for t in ("fhir+json", "application/json", "*/*")):
        raise bulk.ExportError("Accept", "must be application/fhir+json")
    unknown = sorted(set(request.GET) - set(KICKOFF_PARAMS))
    if unknown:
        raise bulk.ExportError(
            unknown[0], f"not a parameter this server takes; use {', '.join(KICKOFF_PARAMS)}"
        )
    fmt = request.GET.get("_outputFormat")
    if fmt is not None and fmt not in bulk.OUTPUT_FORMATS:
        raise bulk.ExportError("_outputFormat", "only application/fhir+ndjson is produced")
    job = bulk.request_export(
        actor,
        kind,
        request_url=request.build_absolute_uri(),
        group=group,
        types=bulk.parse_types(request.GET.get("_type")),
        since=bulk.parse_since(request.GET.get("_since")),
    )
    response = fhir_response(
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {"severity": "information", "code": "informational", "diagnostics": "Accepted."}
            ],
        },
        202,
    )
    response["Content-Location"] = request.build_absolute_uri(
        reverse("fhir_export_status", args=[job.pk])
    )
    return response


@_bulk("GET")
def system_export(request: HttpRequest, actor) -> HttpResponse:
    return _kickoff(request, actor, ExportKind.SYSTEM)


@_bulk("GET")
def patient_export(request: HttpRequest, actor) -> HttpResponse:
    return _kickoff(request, actor, ExportKind.PATIENT)


@_bulk("GET")
def group_export(request: HttpRequest, actor, group_id: str) -> HttpResponse:
    return _kickoff(request, actor, ExportKind.GROUP, group_id)


@_bulk("GET")
def group_read(request: HttpRequest, actor, group_id: str) -> HttpResponse:
    scoped(actor, "Patient")  # a Group lists patients: a system client needs their scope
    return fhir_response(bulk.read_group(actor, group_id))


@_bulk("GET", "DELETE")
def export_status(request: HttpRequest, actor, pk) -> HttpResponse:
    job = bulk.job_for(actor, pk)
    if job.status == ExportStatus.CANCELLED:
        raise Http404("No such export.")
    if request.method == "DELETE":
        bulk.cancel_export(actor, job)
        return HttpResponse(status=202)
    if bulk.is_expired(job):
        return outcome(410, "expired", "This export's files have expired; request it again.")
    if job.status == ExportStatus.FAILED:
        return outcome(500, "exception", "The export failed; request it again.")
    if job.status != ExportStatus.COMPLETE:
        response = HttpResponse(status=202)
        response["X-Progress"] = bulk.progress_text(job)
        response["Retry-After"] = str(bulk.RETRY_AFTER_SECONDS)
        return response
    body = bulk.manifest(
        job,
        lambda f: request.build_absolute_uri(reverse("fhir_export_file", args=[f.pk])),
    )
    response = HttpResponse(json.dumps(body), content_type="application/json")
    response["Expires"] = http_date(job.expires_at.timestamp())
    return response


@_bulk("GET")
def export_file(request: HttpRequest, actor, pk) -> HttpResponse:
    row = bulk.file_for(actor, pk)
    content = bytes(row.content)
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response = HttpResponse(content, content_type=NDJSON)
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(gzip.decompress(content), content_type=NDJSON)
    response["Cache-Control"] = "no-store"
    return response
