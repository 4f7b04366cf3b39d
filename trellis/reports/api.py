"""JSON API for the de-identified research export (DESIGN.md §5.1; docs/research-export.md):
ask for one (202), see whether it is ready and its files, download a file (CSV)."""

from datetime import datetime
from uuid import UUID

from django.http import HttpResponse
from django.urls import reverse
from ninja import Router, Schema, Status

from trellis.lib.apidoc import errors
from trellis.lib.schema import text
from trellis.reports import research

router = Router(tags=["research"])


class ResearchIn(Schema):
    limited_data_set: bool = False
    dua_reference: text(200) = ""


class AcceptedOut(Schema):
    id: UUID
    status: str


class FileOut(Schema):
    name: str
    url: str


class ResearchOut(Schema):
    id: UUID
    status: str
    limited_data_set: bool
    dua_reference: str
    created_at: datetime
    completed_at: datetime | None
    patients: int | None
    files: list[FileOut]


@router.post(
    "/research-exports",
    response={202: AcceptedOut, **errors(403)},
    summary="Ask for a de-identified research export (clinic administrator); the files are "
    "prepared in the background",
)
def request_export(request, body: ResearchIn):
    export = research.request_research_export(
        request.auth, limited_data_set=body.limited_data_set, dua_reference=body.dua_reference
    )
    return Status(202, {"id": export.pk, "status": export.status})


@router.get(
    "/research-exports/{export_id}",
    response={200: ResearchOut, **errors(403)},
    summary="A research export: its status and, once complete, its files",
)
def get_export(request, export_id: UUID):
    export = research.export_for(request.auth, export_id)
    files = []
    if export.status == "complete":
        names = set(export.files.values_list("name", flat=True))
        files = [
            {
                "name": name,
                "url": request.build_absolute_uri(
                    reverse("api:research_export_file", args=[export.pk, name])
                ),
            }
            for name in research.FILES
            if name in names
        ]
    return {
        "id": export.pk,
        "status": export.status,
        "limited_data_set": export.limited_data_set,
        "dua_reference": export.dua_reference,
        "created_at": export.created_at,
        "completed_at": export.completed_at,
        "patients": export.patients,
        "files": files,
    }


@router.get(
    "/research-exports/{export_id}/files/{name}",
    response={200: None, **errors(403)},
    url_name="research_export_file",
    summary="One CSV file of a research export",
)
def get_file(request, export_id: UUID, name: str):
    export = research.export_for(request.auth, export_id)
    row = research.file_for(request.auth, export, name)
    response = HttpResponse(row.content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
