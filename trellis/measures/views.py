"""Pages: questionnaires on the patient's page, patient links and the due list.

The patient's own form (``questionnaire``) is public: the signed single-use token in its URL is
the only key, and the page shows nothing about the patient.
"""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from trellis.accounts.permissions import Perm
from trellis.lib.errors import InputError
from trellis.lib.http import client_address
from trellis.measures import contact, instruments, selectors, services
from trellis.measures.forms import (
    QuestionnaireForm,
    SendLinkForm,
    StaffQuestionnaireForm,
)
from trellis.measures.models import LinkChannel, Measure, ScheduledMeasure
from trellis.patients import access
from trellis.safety import selectors as safety
from trellis.treatments import selectors as treatments

# --- Staff: recording a questionnaire ------------------------------------------------------


@login_required
def measure_new(request: HttpRequest, patient_id: UUID, instrument: str) -> HttpResponse:
    if instrument not in instruments.INSTRUMENTS:
        raise Http404("No such questionnaire.")
    patient = access.patient(request.actor, patient_id, Perm.MEASURE_CHANGE)
    definition = instruments.get_instrument(instrument)
    scheduled = None
    if request.GET.get("scheduled"):
        scheduled = access.load(
            request.actor,
            ScheduledMeasure.objects.filter(patient=patient, instrument=instrument),
            request.GET["scheduled"],
            Perm.MEASURE_CHANGE,
        )
    courses = treatments.patient_courses(patient)
    form = StaffQuestionnaireForm(
        request.POST or None, instrument=definition, courses=courses, tz=patient.clinic.tzinfo
    )
    if scheduled is not None and not request.POST:
        form.initial["course"] = str(scheduled.course_id)
    if request.method == "POST" and form.is_valid():
        try:
            measure = services.record_measure(
                request.actor,
                patient,
                instrument,
                form.answers(),
                difficulty=form.difficulty_answer(),
                observed_at=form.cleaned_data["observed_at"],
                course=form.chosen_course(),
                scheduled=scheduled,
            )
        except InputError as error:
            form.add_input_error(error)
        else:
            messages.success(
                request,
                f"{definition.abbreviation} recorded: {measure.total} of {definition.max_total}, "
                f"{measure.get_severity_display().lower()}.",
            )
            if measure.needs_suicide_follow_up:
                messages.error(
                    request,
                    "Item 9 was answered above 0: a safety alert is open at the top of this "
                    "page. Assess the risk now and acknowledge the alert with what was done.",
                )
            return redirect("patient_detail", patient.id)
    return render(
        request,
        "measures/measure_form.html",
        {"patient": patient, "form": form, "instrument": definition, "scheduled": scheduled},
    )


@login_required
def measure_detail(request: HttpRequest, measure_id: UUID) -> HttpResponse:
    measure = access.load(
        request.actor,
        Measure.objects.select_related("patient", "course__protocol", "recorded_by"),
        measure_id,
        Perm.MEASURE_READ,
    )
    return render(
        request,
        "measures/measure_detail.html",
        {
            "measure": measure,
            "patient": measure.patient,
            "definition": measure.definition,
            "alerts": safety.alerts_raised_by(request.actor, measure),
        },
    )


@login_required
def patient_measure_list(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.MEASURE_READ)
    page = selectors.patient_history(request.actor, patient, request.GET.get("page", 1))
    return render(request, "measures/patient_list.html", {"patient": patient, "page": page})


# --- Staff: sending a link -----------------------------------------------------------------


@login_required
def link_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.MEASURE_CHANGE)
    courses = treatments.patient_courses(patient)
    form = SendLinkForm(request.POST or None, patient=patient, courses=courses)
    if request.method == "POST" and form.is_valid():
        try:
            sent = services.send_questionnaire_links(
                request.actor,
                patient,
                form.cleaned_data["instruments"],
                form.cleaned_data["channel"],
                course=form.chosen_course(),
            )
        except InputError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            expires = contact.link_until(sent[0].link.expires_at, patient.clinic)
            names = " and ".join(s.link.get_instrument_display() for s in sent)
            messages.success(
                request,
                f"{names} link{'s' if len(sent) > 1 else ''} queued by "
                f"{LinkChannel(form.cleaned_data['channel']).label.lower()}; "
                f"usable once until {expires}.",
            )
            return redirect("patient_detail", patient.id)
    return render(request, "measures/link_form.html", {"patient": patient, "form": form})


# --- Staff: the due list -------------------------------------------------------------------


@login_required
def measures_due(request: HttpRequest) -> HttpResponse:
    actor = access.require(request.actor, Perm.MEASURE_READ)
    today = actor.clinic.today()
    # One line per moment: a baseline's PHQ-9 and GAD-7 together, and once however many of the
    # patient's courses ask for it.
    moments = services.due_moments(actor, today=today)
    return render(
        request,
        "measures/due.html",
        {
            "items": moments,
            "today": today,
            "overdue": sum(1 for m in moments if m.status == "overdue"),
            "can_send": actor.can(Perm.MEASURE_CHANGE),
        },
    )


@require_POST
@login_required
def due_send_link(request: HttpRequest, scheduled_id: UUID) -> HttpResponse:
    """Send one link per questionnaire of a moment still unanswered (e.g. PHQ-9 and GAD-7)."""
    scheduled = access.load(
        request.actor,
        ScheduledMeasure.objects.select_related("patient__clinic", "course"),
        scheduled_id,
        Perm.MEASURE_CHANGE,
    )
    patient = scheduled.patient
    if scheduled.measure_id is not None:
        messages.error(
            request,
            f"{patient.full_name} has already answered the {scheduled.get_instrument_display()} "
            f"({scheduled.label}); no link was sent.",
        )
        return redirect("measures_due")
    items = services.open_moment(scheduled)
    codes = list(dict.fromkeys(i.instrument for i in sorted(items, key=_instrument_order)))
    channel = request.POST.get("channel") or contact.link_channel(patient) or LinkChannel.EMAIL
    try:
        services.send_questionnaire_links(request.actor, patient, codes, channel, scheduled=items)
    except InputError as error:
        messages.error(request, f"{patient.full_name}: {error.message}.")
    else:
        names = " and ".join(instruments.get_instrument(c).abbreviation for c in codes)
        messages.success(
            request,
            f"{names} link{'s' * (len(codes) > 1)} queued for {patient.full_name} by "
            f"{LinkChannel(channel).label.lower()}.",
        )
    return redirect("measures_due")


def _instrument_order(item) -> int:
    """PHQ-9 before GAD-7, as the forms are printed and asked."""
    return list(instruments.INSTRUMENTS).index(item.instrument)


# --- The patient's own form ----------------------------------------------------------------

_NOBODY = {"name": "Trellis", "phone": ""}


def _private(response: HttpResponse) -> HttpResponse:
    """The token is the key: keep the page out of caches, other sites' logs and search engines.

    "same-origin", not "no-referrer": with no referrer the browser posts the form with
    ``Origin: null``, which CSRF protection rightly refuses.
    """
    response["Cache-Control"] = "no-store, private"
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def questionnaire(request: HttpRequest, token: str) -> HttpResponse:
    """The page a questionnaire link opens: one questionnaire, nothing about the patient."""
    try:
        link = services.open_link(token)
    except services.LinkUnusable as unusable:
        return _unavailable(request, unusable)
    definition = instruments.get_instrument(link.instrument)
    form = QuestionnaireForm(request.POST or None, instrument=definition, for_patient=True)
    if request.method == "POST" and form.is_valid():
        try:
            measure = services.submit_link(
                token,
                form.answers(),
                difficulty=form.difficulty_answer(),
                source_address=client_address(request),
            )
        except services.LinkUnusable as unusable:
            return _unavailable(request, unusable)
        except InputError as error:
            form.add_input_error(error)
        else:
            # Shown in the answer to the POST itself, never at a URL that could be revisited.
            return _private(
                render(
                    request,
                    "public/questionnaire_done.html",
                    {
                        "clinic": link.clinic,
                        "instrument": definition,
                        "crisis": measure.needs_suicide_follow_up,
                        "crisis_line": contact.CRISIS_LINE,
                        "emergency_number": contact.EMERGENCY_NUMBER,
                    },
                )
            )
    return _private(
        render(
            request,
            "public/questionnaire.html",
            {
                "clinic": link.clinic,
                "instrument": definition,
                "title": contact.PATIENT_WORDS[definition.code],
                "form": form,
                "until": contact.link_until(link.expires_at, link.clinic),
                "crisis_line": contact.CRISIS_LINE,
                "emergency_number": contact.EMERGENCY_NUMBER,
            },
        )
    )


def _unavailable(request: HttpRequest, unusable: services.LinkUnusable) -> HttpResponse:
    clinic = unusable.link.clinic if unusable.link is not None else _NOBODY
    return _private(
        render(
            request,
            "public/questionnaire_unavailable.html",
            {
                "clinic": clinic,
                "reason": unusable.reason,
                "crisis_line": contact.CRISIS_LINE,
                "emergency_number": contact.EMERGENCY_NUMBER,
            },
            status=404 if unusable.reason == "unknown" else 410,
        )
    )
