"""Open notes in the portal: the patient's signed progress notes, where the clinic shows them
(``selectors_notes``). Where it does not, the page does not exist."""

from django.http import Http404, HttpRequest, HttpResponse

from trellis.lib.http import client_address
from trellis.portal import selectors_notes, session
from trellis.portal.views import _page


@session.patient_required
def notes(request: HttpRequest) -> HttpResponse:
    account = request.portal_account
    if not selectors_notes.open_notes_on(account.clinic):
        raise Http404("No such page.")
    return _page(
        request,
        "portal/notes.html",
        {
            "nav": "notes",
            "notes": selectors_notes.open_notes(account, client_address(request)),
        },
    )
