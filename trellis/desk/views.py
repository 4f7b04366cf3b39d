"""Each member of staff's home page: the work lists of their role at the clinic."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from trellis.accounts.permissions import Perm
from trellis.desk import selectors
from trellis.desk.sections import safe_reverse, sections_for
from trellis.lib.http import is_htmx


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
    context = {
        "lists": [_load(request, actor, section) for section in sections],
        "today": actor.clinic.today(),
    }
    if actor.can(Perm.CLINIC_CHANGE):
        context["staff_count"] = selectors.staff_count(actor)
        context["staff_url"] = safe_reverse("accounts:staff")
    return render(request, "desk/home.html", context)


def _load(request: HttpRequest, actor, section) -> dict:
    return {
        "section": section,
        "page": section.select(actor, request.GET.get(section.page_param, 1)),
        "see_all": section.see_all_url(),
    }
