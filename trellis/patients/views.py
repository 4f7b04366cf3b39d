from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from trellis.accounts import access
from trellis.lib.http import is_htmx


@login_required
def patient_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    patients = access.search_patients(request.actor, query)
    template = "patients/list.html#results" if is_htmx(request) else "patients/list.html"
    return render(request, template, {"patients": patients, "q": query})


@login_required
def patient_detail(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id)
    return render(request, "patients/detail.html", {"patient": patient})
