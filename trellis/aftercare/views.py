"""Pages: the aftercare plan, coaching sessions, journal entries entered by staff, sending a
check-in, and the patient's own check-in page.

The check-in page is public: the signed single-use token in its URL is the only key, and the
page shows nothing about the patient.
"""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from trellis.accounts.permissions import Perm
from trellis.aftercare import services
from trellis.aftercare.forms import CheckInForm, CoachingSessionForm, JournalEntryForm, PlanForm
from trellis.aftercare.models import AftercarePlan
from trellis.lib.errors import InputError
from trellis.lib.http import client_address
from trellis.measures.contact import CRISIS_LINE, EMERGENCY_NUMBER, link_until
from trellis.patients import access
from trellis.treatments import selectors as treatments


def _card(patient_id) -> str:
    return f"/patients/{patient_id}/#aftercare"


@login_required
def plan_edit(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.AFTERCARE_CHANGE)
    plan = AftercarePlan.objects.filter(patient=patient).first()
    courses = treatments.patient_courses(patient)
    form = PlanForm(
        request.POST or None,
        patient=patient,
        courses=courses,
        initial=PlanForm.initial_from(plan),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.save_plan(request.actor, patient, form.plan_input())
        except InputError as error:
            form.add_input_error(error)
        else:
            messages.success(request, "Aftercare plan saved.")
            return redirect(_card(patient.id))
    return render(
        request,
        "aftercare/plan_form.html",
        {"patient": patient, "form": form, "plan": plan},
    )


@login_required
def coaching_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.AFTERCARE_CHANGE)
    plan = AftercarePlan.objects.filter(patient=patient).first()
    form = CoachingSessionForm(
        request.POST or None, initial={"held_on": patient.clinic.today(), "code": "0592T"}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if plan is None:
                raise InputError("code", "make an aftercare plan with health coaching first")
            services.record_coaching_session(
                request.actor,
                plan,
                held_on=data["held_on"],
                code=data["code"],
                minutes=data["minutes"],
                participants=data.get("participants"),
                progress=data.get("progress") or "",
            )
        except InputError as error:
            form.add_input_error(error)
        else:
            messages.success(request, f"Coaching session ({data['code']}) recorded.")
            return redirect(_card(patient.id))
    return render(
        request, "aftercare/coaching_form.html", {"patient": patient, "form": form, "plan": plan}
    )


@login_required
def journal_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.AFTERCARE_CHANGE)
    form = JournalEntryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            entry = services.add_journal_entry(
                request.actor,
                patient,
                form.cleaned_data["text"],
                shared=form.cleaned_data["shared"],
            )
        except InputError as error:
            form.add_input_error(error)
        else:
            if entry.crisis_language:
                messages.error(
                    request,
                    "The entry has words from the crisis-language list: a safety alert is open "
                    "at the top of this page. Read the entry, speak with the patient and "
                    "acknowledge the alert with what was done.",
                )
                # The top of the page, where the alert and this message are.
                return redirect("patient_detail", patient.id)
            messages.success(
                request,
                "Journal entry saved"
                + (", shared with the care team." if entry.shared else ", private."),
            )
            return redirect(_card(patient.id))
    return render(request, "aftercare/journal_form.html", {"patient": patient, "form": form})


@require_POST
@login_required
def check_in_send(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.AFTERCARE_CHANGE)
    try:
        sent = services.send_check_in(request.actor, patient)
    except InputError as error:
        messages.error(request, f"No check-in sent: {error.message}.")
    else:
        until = link_until(sent.check_in.expires_at, patient.clinic)
        if sent.url:
            messages.success(request, f"Check-in link queued; usable once until {until}.")
        else:
            messages.success(
                request,
                "The patient chose in their portal not to be sent check-ins: this one waits "
                f"there, to answer once until {until}.",
            )
    return redirect(_card(patient.id))


# --- The patient's own check-in ------------------------------------------------------------

_NOBODY = {"name": "Trellis", "phone": ""}


def _private(response: HttpResponse) -> HttpResponse:
    """The token is the key: no caches, no referrer to other sites, no search engines."""
    response["Cache-Control"] = "no-store, private"
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _crisis(context: dict) -> dict:
    return {**context, "crisis_line": CRISIS_LINE, "emergency_number": EMERGENCY_NUMBER}


def check_in(request: HttpRequest, token: str) -> HttpResponse:
    """The page a check-in link opens: four questions and an optional journal note."""
    try:
        row = services.open_check_in(token)
    except services.CheckInUnusable as unusable:
        return _unavailable(request, unusable)
    form = CheckInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.submit_check_in(
                token,
                mood=data["mood"],
                sleep=data["sleep"],
                side_effects=data["side_effects"],
                harm_thoughts=data["harm_thoughts"],
                journal_text=data.get("journal") or "",
                share_journal=data.get("share_journal", False),
                source_address=client_address(request),
            )
        except services.CheckInUnusable as unusable:
            return _unavailable(request, unusable)
        except InputError as error:
            form.add_input_error(error)
        else:
            # Shown in the answer to the POST itself, never at a URL that could be revisited.
            return _private(
                render(
                    request,
                    "aftercare/check_in_done.html",
                    _crisis(
                        {
                            "clinic": row.clinic,
                            "crisis": result.crisis,
                            "harm": result.harm,
                            "journal": result.journal,
                        }
                    ),
                )
            )
    return _private(
        render(
            request,
            "aftercare/check_in.html",
            _crisis(
                {
                    "clinic": row.clinic,
                    "form": form,
                    "until": link_until(row.expires_at, row.clinic),
                }
            ),
        )
    )


def _unavailable(request: HttpRequest, unusable: services.CheckInUnusable) -> HttpResponse:
    clinic = unusable.check_in.clinic if unusable.check_in is not None else _NOBODY
    return _private(
        render(
            request,
            "aftercare/check_in_unavailable.html",
            _crisis({"clinic": clinic, "reason": unusable.reason}),
            status=404 if unusable.reason == "unknown" else 410,
        )
    )
