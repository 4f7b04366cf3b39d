"""Each member of staff's home page: the work lists of their role at the clinic."""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from trellis.accounts.permissions import Perm
from trellis.audit import services as audit
from trellis.desk import selectors
from trellis.desk.sections import ARRIVALS, sections_for
from trellis.lib.errors import Conflict
from trellis.lib.http import is_htmx
from trellis.scheduling import selectors as scheduling
from trellis.scheduling import services as appointments
from trellis.scheduling.kinds import AppointmentStatus


@login_required
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    if actor is None:
        return render(request, "desk/home.html", {"lists": []})
    sections = sections_for([actor.role])
    if is_htmx(request) and request.GET.get("section"):
        # One section's next page, asked for by its pager.
        section = next((s for s in sections if s.key == request.GET["section"]), None)
        if section is None:
            raise Http404("No such list on your home page.")
        context = {"item": _load(request, actor, section), "today": actor.clinic.today()}
        return render(request, "desk/section.html", context)
    # Every list's read in the trail, committed once for the page.
    with audit.together():
        lists = [_load(request, actor, section) for section in sections]
    context = {"lists": lists, "today": actor.clinic.today()}
    if actor.can(Perm.CLINIC_CHANGE):
        context["staff_count"] = selectors.staff_count(actor)
        context["staff_url"] = reverse("staff_list")
    return render(request, "desk/home.html", context)


def _load(request: HttpRequest, actor, section) -> dict:
    return {
        "section": section,
        "page": section.select(actor, request.GET.get(section.page_param, 1)),
        "see_all": section.see_all_url(),
    }


@login_required
@require_POST
def check_in(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    """One tap on a work list's row: the patient is here. htmx gets the row back, checked in;
    a second tap (or a colleague's) finds it checked in already and answers the same."""
    actor = request.actor
    appointment = scheduling.appointment(actor, appointment_id)
    problem = ""
    if appointment.status != AppointmentStatus.CHECKED_IN:
        try:
            appointments.set_status(actor, appointment, AppointmentStatus.CHECKED_IN)
        except Conflict as error:
            appointment = scheduling.appointment(actor, appointment_id)
            if appointment.status != AppointmentStatus.CHECKED_IN:
                problem = error.message
    if not is_htmx(request):
        if problem:
            messages.warning(request, problem)
        else:
            messages.success(request, f"{appointment.patient.full_name} is checked in.")
        return redirect("home")
    # The row as the list it was tapped in draws it.
    key = request.POST.get("section", "")
    section = next((s for s in sections_for([actor.role]) if s.key == key), ARRIVALS)
    context = {"row": appointment, "section": section, "problem": problem}
    return render(request, section.row_template, context)
