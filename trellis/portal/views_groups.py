"""Groups in the portal: the cohorts the patient may ask to join, and their own places. Asking
is a request the clinic's staff accept (enrolling through the groups app's own rules) or
decline."""

from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from trellis.groups import services as groups
from trellis.lib.errors import Conflict
from trellis.lib.http import client_address
from trellis.portal import selectors_groups, session
from trellis.portal.models import PORTAL_USERNAME
from trellis.portal.views import _page


@session.patient_required
def groups_page(request: HttpRequest) -> HttpResponse:
    account = request.portal_account
    return _page(
        request,
        "portal/groups.html",
        {
            "nav": "groups",
            "page": selectors_groups.groups_page(account, client_address(request)),
        },
    )


@require_POST
@session.patient_required
def ask(request: HttpRequest, cohort_id: UUID) -> HttpResponse:
    account = request.portal_account
    cohort = selectors_groups.cohort_to_ask(account, cohort_id)
    if cohort is None:
        raise Http404("No such group.")
    try:
        groups.ask_to_join(
            account.patient,
            cohort,
            username=PORTAL_USERNAME,
            source_address=client_address(request),
        )
    except Conflict as refused:
        messages.error(request, refused.message)
    else:
        messages.success(
            request,
            f"You asked to join {cohort.program.name}. The clinic will let you know; it is not "
            "a place in the group until they do.",
        )
    return redirect("portal_groups")
