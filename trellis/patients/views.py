from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from trellis.accounts.models import Clinic
from trellis.accounts.permissions import Perm
from trellis.lib.errors import Conflict, InputError
from trellis.lib.forms import apply_validation_error
from trellis.lib.http import client_address, is_htmx
from trellis.lib.text import text_problem
from trellis.patients import access, contact, panels, selectors, services
from trellis.patients.forms import (
    QUESTION_GROUPS,
    MeasurementForm,
    NewPatientForm,
    PatientForm,
    PublicRequestForm,
    RegisterFromRequestForm,
    RequestContactForm,
    ScreeningForm,
    attach_input_error,
    trial_formset,
)
from trellis.patients.models import AssessmentRequest, RequestStatus, Screening, Sex

# --- Patients ----------------------------------------------------------------------------------


@login_required
def patient_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    problem = text_problem(query, multiline=False, name=False)
    if problem:
        access.require(request.actor, Perm.PATIENT_READ)
        patients, search_error = [], f"The search {problem}."
    else:
        patients, search_error = access.search_patients(request.actor, query), ""
    template = "patients/list.html#results" if is_htmx(request) else "patients/list.html"
    context = {
        "patients": patients,
        "q": query,
        "search_error": search_error,
        "can_register": request.actor.can(Perm.PATIENT_CHANGE),
    }
    return render(request, template, context)


def _confirmed(request: HttpRequest) -> bool:
    """The member of staff saw the possible duplicates and chose "Register anyway"."""
    return request.POST.get("confirm_duplicate") == "yes"


@login_required
def patient_new(request: HttpRequest) -> HttpResponse:
    actor = access.require(request.actor, Perm.PATIENT_CHANGE)
    form = NewPatientForm(request.POST or None)
    duplicates = []
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "sms_consent"}
        data.update(form.model_changes())
        try:
            patient = services.register_patient(
                actor, confirm_duplicate=_confirmed(request), **data
            )
        except services.DuplicatePatient as found:
            duplicates = found.matches
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"{patient.full_name} registered as {patient.mrn}.")
            return redirect("patient_detail", patient.id)
    return render(
        request,
        "patients/form.html",
        {"form": form, "title": "Register a patient", "duplicates": duplicates},
    )


@login_required
def patient_detail(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id)
    actor = request.actor
    context = {
        "patient": patient,
        "age": patient.age_on(actor.clinic.today()),
        "weight": patient.latest_measurement("weight_kg"),
        "height": patient.latest_measurement("height_cm"),
        "can_edit": actor.can(Perm.PATIENT_CHANGE),
        # How an automated message reaches them today (their choice, what is on file, consent).
        "reach": contact.in_words(
            contact.clinic_channels(patient, actor.clinic.setting("appointment_message_channels"))
        ),
        "texts_need_consent": bool(actor.clinic.setting("sms_consent_required")),
        # The other apps' cards (alerts, questionnaires, courses), each under its own right.
        "panels": panels.for_page(actor, patient),
    }
    if actor.can(Perm.SCREENING_READ):
        context.update(
            selectors.screening_history(actor, patient),
            can_screen=actor.can(Perm.SCREENING_CHANGE),
        )
    return render(request, "patients/detail.html", context)


@login_required
def patient_edit(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.PATIENT_CHANGE)
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        changes = form.model_changes()
        if changes:
            services.update_patient(request.actor, patient, changes)
            messages.success(request, "Patient details saved.")
        return redirect("patient_detail", patient.id)
    return render(
        request,
        "patients/form.html",
        {"form": form, "patient": patient, "title": f"Edit {patient.full_name}"},
    )


@login_required
def measurement_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.PATIENT_CHANGE)
    form = MeasurementForm(request.POST or None, clinic=patient.clinic)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_measurement(request.actor, patient, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, "Weight and height recorded.")
            return redirect("patient_detail", patient.id)
    return render(
        request,
        "patients/form.html",
        {"form": form, "patient": patient, "title": "Record weight and height"},
    )


# --- Screenings --------------------------------------------------------------------------------


@login_required
def screening_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.SCREENING_CHANGE)
    previous = services.current_screening(patient)
    return _screening_form(request, patient, None, previous)


@login_required
def screening_edit(request: HttpRequest, screening_id: UUID) -> HttpResponse:
    screening = access.load(
        request.actor,
        Screening.objects.select_related("patient"),
        screening_id,
        Perm.SCREENING_CHANGE,
    )
    if screening.is_signed:
        messages.warning(request, "A signed screening cannot change; start a new one.")
        return redirect("screening_detail", screening.id)
    return _screening_form(request, screening.patient, screening, screening)


def _screening_form(request, patient, screening: Screening | None, start_from) -> HttpResponse:
    if request.method == "POST":
        form = ScreeningForm(request.POST)
        formset = trial_formset(request.POST)
        if form.is_valid() and formset.is_valid():
            answers = form.answers()
            trials = [t for t in (f.trial() for f in formset.forms) if t is not None]
            try:
                if screening is None:
                    screening = services.create_screening(request.actor, patient, answers, trials)
                else:
                    services.update_screening(request.actor, screening, answers, trials)
            except InputError as error:
                attach_input_error(error, form, formset)
            except Conflict as error:
                messages.error(request, error.message)
                return redirect("screening_detail", screening.id)
            else:
                return redirect("screening_detail", screening.id)
    else:
        answers = start_from.answers if start_from else {}
        if start_from is None and patient.sex == Sex.MALE:
            # Offered, not assumed: the answers show as "No" and can be changed.
            answers = {"pregnant": False, "breastfeeding": False}
        form = ScreeningForm(initial=ScreeningForm.initial_from(answers))
        formset = trial_formset(trials=start_from.trials if start_from else [])
    return render(
        request,
        "patients/screening_form.html",
        {
            "patient": patient,
            "screening": screening,
            "form": form,
            "formset": formset,
            "copied_from": start_from if screening is None else None,
        },
    )


@login_required
def screening_detail(request: HttpRequest, screening_id: UUID) -> HttpResponse:
    screening = access.load(
        request.actor,
        Screening.objects.select_related("patient", "created_by", "signed_by"),
        screening_id,
        Perm.SCREENING_READ,
    )
    return render(
        request,
        "patients/screening_detail.html",
        {
            "screening": screening,
            "patient": screening.patient,
            "can_sign": request.actor.can(Perm.SCREENING_SIGN) and not screening.is_signed,
            "can_edit": request.actor.can(Perm.SCREENING_CHANGE) and not screening.is_signed,
            "answer_rows": _answer_rows(screening),
        },
    )


def _answer_rows(screening: Screening) -> list[tuple[str, list[tuple[str, str]]]]:
    def shown(value) -> str:
        if value is True:
            return "Yes"
        if value is False:
            return "No"
        return str(value).replace("_", " ").capitalize() if isinstance(value, str) else str(value)

    return [
        (
            title,
            [
                (label, shown(screening.answers[key]) if key in screening.answers else "Unknown")
                for key, label in questions
            ],
        )
        for title, questions in QUESTION_GROUPS
    ]


@require_POST
@login_required
def screening_sign(request: HttpRequest, screening_id: UUID) -> HttpResponse:
    screening = access.load(
        request.actor,
        Screening.objects.select_related("patient"),
        screening_id,
        Perm.SCREENING_SIGN,
    )
    try:
        services.sign_screening(
            request.actor, screening, acknowledge_cautions=request.POST.get("acknowledge") == "on"
        )
    except Conflict as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Screening signed.")
    return redirect("screening_detail", screening.id)


# --- Assessment requests -----------------------------------------------------------------------


def public_request(request: HttpRequest, clinic_slug: str) -> HttpResponse:
    """The page a clinic links from its website. It reveals nothing about existing patients."""
    clinic = get_object_or_404(Clinic, slug=clinic_slug)
    form = PublicRequestForm(request.POST or None)
    if request.method == "POST":
        address = client_address(request)
        if form.is_bot():
            return redirect("public_request_thanks", clinic.slug)
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "website"}
            try:
                services.submit_public_request(clinic, data, address=address)
            except ValidationError as error:
                apply_validation_error(form, error)
            except services.TooManyRequests:
                return render(
                    request,
                    "public/request.html",
                    {"clinic": clinic, "form": form, "rate_limited": True},
                    status=429,
                )
            else:
                return redirect("public_request_thanks", clinic.slug)
    return render(request, "public/request.html", {"clinic": clinic, "form": form})


def public_request_thanks(request: HttpRequest, clinic_slug: str) -> HttpResponse:
    clinic = get_object_or_404(Clinic, slug=clinic_slug)
    return render(request, "public/request_thanks.html", {"clinic": clinic})


@login_required
def request_queue(request: HttpRequest) -> HttpResponse:
    actor = access.require(request.actor, Perm.REQUEST_READ)
    status = request.GET.get("status", RequestStatus.NEW)
    rows, counts = access.assessment_requests(actor, status)
    return render(
        request,
        "patients/request_queue.html",
        {
            "requests": rows,
            "status": status,
            "statuses": RequestStatus.choices,
            "counts": counts,
            # The address the clinic's website links to: the configured one, as in messages.
            "public_url": f"{settings.TRELLIS_BASE_URL}/request/{actor.clinic.slug}/",
        },
    )


@login_required
def request_detail(request: HttpRequest, request_id: UUID) -> HttpResponse:
    row = access.load(
        request.actor,
        AssessmentRequest.objects.select_related("patient", "clinic"),
        request_id,
        Perm.REQUEST_READ,
    )
    register_form = RegisterFromRequestForm(request.POST or None)
    duplicates = []
    if request.method == "POST":
        access.require(request.actor, Perm.REQUEST_CHANGE)
        if register_form.is_valid():
            try:
                patient = services.register_from_request(
                    request.actor,
                    row,
                    confirm_duplicate=_confirmed(request),
                    **register_form.cleaned_data,
                )
            except services.DuplicatePatient as found:
                duplicates = found.matches
            except ValidationError as error:
                apply_validation_error(register_form, error)
            except Conflict as error:
                messages.error(request, error.message)
            else:
                messages.success(request, f"{patient.full_name} registered as {patient.mrn}.")
                return redirect("patient_detail", patient.id)
    return _request_page(request, row, register_form=register_form, duplicates=duplicates)


def _request_page(request: HttpRequest, row: AssessmentRequest, **forms) -> HttpResponse:
    can_change = request.actor.can(Perm.REQUEST_CHANGE)
    statuses = [
        (value, label)
        for value, label in RequestStatus.choices
        if value != row.status and (value != RequestStatus.DECLINED or row.can_be_declined)
    ]
    return render(
        request,
        "patients/request_detail.html",
        {
            "req": row,
            "register_form": forms.get("register_form") or RegisterFromRequestForm(),
            "contact_form": forms.get("contact_form") or RequestContactForm(),
            "duplicates": forms.get("duplicates", []),
            "contacts": list(row.contacts.select_related("by")),
            "statuses": statuses,
            "can_change": can_change,
        },
    )


@require_POST
@login_required
def request_contact(request: HttpRequest, request_id: UUID) -> HttpResponse:
    row = access.load(
        request.actor,
        AssessmentRequest.objects.select_related("patient", "clinic"),
        request_id,
        Perm.REQUEST_CHANGE,
    )
    form = RequestContactForm(request.POST)
    if form.is_valid():
        try:
            services.log_request_contact(request.actor, row, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, "Contact recorded.")
            return redirect("request_detail", row.id)
    return _request_page(request, row, contact_form=form)


@require_POST
@login_required
def request_status(request: HttpRequest, request_id: UUID) -> HttpResponse:
    row = access.load(
        request.actor, AssessmentRequest.objects.all(), request_id, Perm.REQUEST_CHANGE
    )
    try:
        services.set_request_status(
            request.actor, row, request.POST.get("status", ""), request.POST.get("note", "")
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except Conflict as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Request marked {row.get_status_display().lower()}.")
    return redirect("request_detail", row.id)
