"""The patient's pages, with no sign-in: the token in the address is the key.

- ``/a/<token>/``: one appointment (first name, day and time, clinic) with "Confirm" and
  "I need to cancel or reschedule"; answered once (``reminders.answer_link``).
- ``/a/<token>/calendar.ics``: that appointment as a calendar file, while the link works.
- ``/calendar/feed/<token>.ics``: the patient's upcoming appointments, until the feed is revoked.

Nothing clinical is shown: no kind of treatment, no resource, no member of staff.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from trellis.lib.http import client_address
from trellis.scheduling import calendar_files, reminders, selectors
from trellis.scheduling.models import LinkAnswer

_NOBODY = {"name": "Trellis", "phone": ""}
_ANSWERS = {"confirm": LinkAnswer.CONFIRMED, "cancel": LinkAnswer.CANCEL_REQUESTED}


def _private(response: HttpResponse) -> HttpResponse:
    """The token is the key: keep the page out of caches, other sites' logs and search engines
    ("same-origin" so that the form's POST still carries an Origin CSRF accepts)."""
    response["Cache-Control"] = "no-store, private"
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _unavailable(request: HttpRequest, unusable: reminders.LinkUnusable) -> HttpResponse:
    link = unusable.link
    return _private(
        render(
            request,
            "scheduling/public/link_unavailable.html",
            {"clinic": link.clinic if link is not None else _NOBODY, "reason": unusable.reason},
            status=404 if unusable.reason == "unknown" else 410,
        )
    )


def _shown(link) -> dict:
    appointment = link.appointment
    clinic = link.clinic
    return {
        "clinic": clinic,
        "first_name": appointment.patient.given_name,
        "when": reminders.when(appointment, clinic),
        "address": clinic.address,
        "confirmed": appointment.status == "confirmed",
        "link": link,
    }


@require_http_methods(["GET", "HEAD", "POST"])
def appointment_link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = reminders.open_link(token)
    except reminders.LinkUnusable as unusable:
        return _unavailable(request, unusable)
    if request.method == "POST":
        if link.answered_at is not None:
            return _unavailable(request, reminders.LinkUnusable("answered", link))
        answer = _ANSWERS.get(request.POST.get("answer", ""))
        if answer is None:
            return _private(
                render(request, "scheduling/public/appointment.html", _shown(link), status=400)
            )
        try:
            link = reminders.answer_link(token, answer, source_address=client_address(request))
        except reminders.LinkUnusable as unusable:
            return _unavailable(request, unusable)
        # Shown in the answer to the POST itself; opening the link again shows the answer given.
        return _private(render(request, "scheduling/public/answered.html", _shown(link)))
    return _private(render(request, "scheduling/public/appointment.html", _shown(link)))


@require_http_methods(["GET", "HEAD"])
def appointment_link_ics(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = reminders.open_link(token)
    except reminders.LinkUnusable as unusable:
        return _unavailable(request, unusable)
    body = calendar_files.calendar([link.appointment], link.clinic)
    response = HttpResponse(body, content_type=calendar_files.CONTENT_TYPE)
    response["Content-Disposition"] = 'attachment; filename="appointment.ics"'
    return _private(response)


@require_http_methods(["GET", "HEAD"])
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    feed = reminders.open_feed(token)
    if feed is None:
        raise Http404("No such calendar.")
    now = timezone.now()
    body = calendar_files.calendar(
        selectors.feed_appointments(feed, now=now),
        feed.clinic,
        name=f"Appointments at {feed.clinic.name}",
        now=now,
    )
    return _private(HttpResponse(body, content_type=calendar_files.CONTENT_TYPE))
