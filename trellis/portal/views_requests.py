"""Pages of portal requests: the patient's appointments and what they ask about them, and the
front desk's list of those requests with its answer.

The patient's pages read ``request.portal_account`` only (an appointment id that is not theirs
is a 404); the staff pages are ordinary staff pages of the actor's clinic.
"""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from trellis.lib.errors import Conflict, InputError
from trellis.lib.http import client_address
from trellis.portal import request_selectors, requests, selectors, session
from trellis.portal.models import RequestKind, RequestStatus
from trellis.portal.request_forms import (
    AppointmentRequestForm,
    CancelForm,
    ReplyForm,
    RescheduleForm,
)
from trellis.portal.views import _page
from trellis.scheduling import patient_words

# --- The patient's ------------------------------------------------------------------------------


def _refused(form, error: InputError | Conflict) -> None:
    field = getattr(error, "field", None)
    form.add_error(field if field in form.fields else None, error.message)


@session.patient_required
def appointments(request: HttpRequest) -> HttpResponse:
    """The patient's appointments, and the form to ask for a new one (a request: the clinic
    books it and tells them)."""
    account = request.portal_account
    form = AppointmentRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            requests.ask(
                account,
                RequestKind.APPOINTMENT,
                appointment_kind=form.cleaned_data["appointment_kind"],
                preferred=form.cleaned_data["preferred"],
                message=form.cleaned_data["message"],
                source_address=client_address(request),
            )
        except (InputError, Conflict) as error:
            _refused(form, error)
        else:
            messages.success(
                request, "Your request is sent. The clinic will contact you to find a time."
            )
            return redirect("portal_appointments")
    selectors.audit_read(account, "appointments", client_address(request))
    found = request_selectors.appointments_page(account)
    return _page(
        request,
        "portal/appointments.html",
        {
            "nav": "appointments",
            "upcoming": found.upcoming,
            "past": found.past,
            "requests": found.requests,
            "form": form,
        },
        status=422 if form.errors else 200,
    )


def _ask_about(request: HttpRequest, appointment_id: UUID, kind: str) -> HttpResponse:
    account = request.portal_account
    appointment = request_selectors.own_upcoming_appointment(account, appointment_id)
    if appointment is None:
        raise Http404("No such appointment.")
    form_class = CancelForm if kind == RequestKind.CANCEL else RescheduleForm
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            requests.ask(
                account,
                kind,
                appointment=appointment,
                preferred=form.cleaned_data.get("preferred", ""),
                message=form.cleaned_data["message"],
                source_address=client_address(request),
            )
        except (InputError, Conflict) as error:
            _refused(form, error)
        else:
            messages.success(
                request,
                "Your request is sent. Your appointment stays as it is until the clinic "
                "contacts you.",
            )
            return redirect("portal_appointments")
    selectors.audit_read(account, f"ask to {kind}", client_address(request))
    waiting = appointment.portal_requests.filter(status=RequestStatus.OPEN).first()
    return _page(
        request,
        "portal/appointment_request.html",
        {
            "nav": "appointments",
            "appointment": appointment,
            "what": patient_words.plain(appointment.kind),
            "cancel": kind == RequestKind.CANCEL,
            "waiting": waiting,
            "form": form,
        },
        status=422 if form.errors else 200,
    )


@session.patient_required
def ask_to_cancel(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    return _ask_about(request, appointment_id, RequestKind.CANCEL)


@session.patient_required
def ask_to_reschedule(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    return _ask_about(request, appointment_id, RequestKind.RESCHEDULE)


# --- The front desk's ---------------------------------------------------------------------------


@login_required
@require_safe
def request_queue(request: HttpRequest) -> HttpResponse:
    """What patients asked from the portal, open requests first, with the answer's form."""
    status = request.GET.get("status", RequestStatus.OPEN)
    page, counts = request_selectors.request_list(request.actor, status, request.GET.get("page", 1))
    if status not in RequestStatus.values:
        status = RequestStatus.OPEN
    return render(
        request,
        "portal/staff_requests.html",
        {
            "page": page,
            "status": status,
            "statuses": [(value, label, counts[value]) for value, label in _STATUS_TABS],
            "reply_form": ReplyForm(),
        },
    )


_STATUS_TABS = [
    (RequestStatus.OPEN, "Open"),
    (RequestStatus.DONE, "Done"),
    (RequestStatus.DECLINED, "Declined"),
]


@login_required
@require_POST
def answer(request: HttpRequest, request_id: UUID) -> HttpResponse:
    """Done or declined, with a reply the patient reads in their portal."""
    row = request_selectors.portal_request(request.actor, request_id)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        problems = " ".join(e for errors in form.errors.values() for e in errors)
        messages.error(request, f"Nothing changed: {problems}")
    else:
        try:
            requests.handle(
                request.actor, row, form.cleaned_data["outcome"], form.cleaned_data["reply"]
            )
        except (InputError, Conflict) as error:
            field = getattr(error, "field", "")
            messages.error(
                request, f"Nothing changed: {field + ' ' if field else ''}{error.message}."
            )
        else:
            done = form.cleaned_data["outcome"] == RequestStatus.DONE
            messages.success(
                request,
                f"{row.patient.full_name}'s request is "
                f"{'marked done' if done else 'declined'}; they see it in their portal.",
            )
    return redirect(reverse("portal_request_queue") + f"#request-{row.pk}")
