"""The research export page (clinic administrators): ask for an export, see those asked for,
download their CSV files (docs/research-export.md)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from trellis.lib.errors import InputError
from trellis.reports import research


def _actor(request: HttpRequest):
    if request.actor is None:
        raise PermissionDenied("You have no role at a clinic.")
    return request.actor


@login_required
@require_http_methods(["GET", "POST"])
def research_page(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    exports = research.exports_for(actor)  # 403 for a role without research_export
    error, values = None, {"limited_data_set": False, "dua_reference": ""}
    if request.method == "POST":
        values = {
            "limited_data_set": request.POST.get("limited_data_set") == "on",
            "dua_reference": request.POST.get("dua_reference", ""),
        }
        try:
            research.request_research_export(actor, **values)
        except InputError as problem:
            error = problem
        else:
            messages.success(
                request,
                "Research export requested. It is prepared in the background; its files "
                "appear here when it is ready.",
            )
            return redirect("report_research")
    return render(
        request,
        "reports/research.html",
        {"exports": exports, "error": error, "values": values, "files": research.FILES},
        status=422 if error else 200,
    )


@login_required
def research_file(request: HttpRequest, pk, name: str) -> HttpResponse:
    actor = _actor(request)
    export = research.export_for(actor, pk)
    row = research.file_for(actor, export, name)
    response = HttpResponse(row.content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
