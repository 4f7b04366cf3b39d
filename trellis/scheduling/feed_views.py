"""A patient's calendar address from their page: issue one (shown once, and sent to the patient
when staff ask), or stop it. Thin: ``reminders`` issues, sends and revokes, audited."""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from trellis.accounts.permissions import Perm
from trellis.lib.errors import InputError
from trellis.patients import access, contact
from trellis.scheduling import reminders


@require_POST
@login_required
def calendar_link(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    """A new calendar address for the patient (any earlier one stops working), shown on this
    page only: it is never stored. With ``send``, also sent to the patient."""
    patient = access.patient(request.actor, patient_id, Perm.APPOINTMENT_CHANGE)
    sent_by = ""
    if request.POST.get("send"):
        try:
            sent = reminders.send_calendar_feed(request.actor, patient)
        except InputError as error:
            messages.error(request, f"{patient.full_name} {error.message}; no link was made.")
            return redirect("patient_detail", patient.id)
        url, sent_by = sent.url, contact.in_words(sent.channels).lower()
    else:
        url = reminders.issue_calendar_feed(request.actor, patient)
    return render(
        request,
        "scheduling/calendar_link.html",
        {"patient": patient, "url": url, "sent_by": sent_by},
    )


@require_POST
@login_required
def stop_calendar_link(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.APPOINTMENT_CHANGE)
    if reminders.revoke_calendar_feeds(request.actor, patient):
        messages.success(request, f"{patient.full_name}'s calendar link no longer works.")
    else:
        messages.success(request, f"{patient.full_name} had no calendar link in use.")
    return redirect("patient_detail", patient.id)
