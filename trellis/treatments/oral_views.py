"""At-home oral ketamine pages: a patient's prescriptions with the PDMP checks, urine drug
screens and bladder answers they rest on; the prescription form; and the small forms that
record each check. Thin: load through the access helper, call one service, render."""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import capfirst
from django.views.decorators.http import require_POST

from trellis.accounts.permissions import Perm
from trellis.lib.errors import Conflict, InputError
from trellis.patients import access
from trellis.patients.modality import Modality
from trellis.treatments import oral_selectors, prescriptions
from trellis.treatments.models import OralPrescription, Session
from trellis.treatments.oral_forms import (
    BladderCheckForm,
    CancelForm,
    FillForm,
    PdmpCheckForm,
    PrescriptionForm,
    UrineDrugScreenForm,
)


def _error_on(form, error: InputError) -> None:
    """Each problem on the field it names (or on the form, for a field it does not have)."""
    problems = getattr(error, "problems", None) or [error]
    for problem in problems:
        field = problem.field if problem.field in form.fields else None
        form.add_error(field, capfirst(problem.message))


def _page(request, patient, status=200, **forms) -> HttpResponse:
    actor = request.actor
    today = patient.clinic.today()
    can_prescribe = actor.can(Perm.PRESCRIPTION_CHANGE)
    context = {
        "patient": patient,
        "today": today,
        "enabled": prescriptions.home_prescribing_enabled(patient.clinic),
        "can_prescribe": can_prescribe,
        "can_ask": actor.can(Perm.MEASURE_CHANGE),
        "checks": prescriptions.checks_before_prescribing(patient, today),
        # Several forms on one page: each its own element ids (the field names stay plain).
        "pdmp_form": forms.get("pdmp_form")
        or PdmpCheckForm(initial={"checked_on": today}, auto_id="pdmp_%s"),
        "uds_form": forms.get("uds_form")
        or UrineDrugScreenForm(initial={"collected_on": today}, auto_id="uds_%s"),
        "bladder_form": forms.get("bladder_form") or BladderCheckForm(auto_id="bladder_%s"),
        "fill_form": forms.get("fill_form") or FillForm(initial={"filled_on": today}),
        "fill_error_for": forms.get("fill_error_for"),
        "cancel_form": forms.get("cancel_form") or CancelForm(),
        "cancel_error_for": forms.get("cancel_error_for"),
        "interval": patient.clinic.setting("bladder_symptom_interval_days"),
        **oral_selectors.home_record(patient, today),
    }
    return render(request, "treatments/prescriptions.html", context, status=status)


@login_required
def patient_prescriptions(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.SESSION_READ)
    return _page(request, patient)


@login_required
def prescription_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.PRESCRIPTION_CHANGE)
    actor = request.actor
    today = patient.clinic.today()
    courses = oral_selectors.oral_courses(patient)
    latest = OralPrescription.objects.filter(patient=patient).first()
    initial = {"basis": "in_person", "refills": 0, "units_per_dose": 1}
    active = [c for c in courses if c.status == "active"]
    if len(active) == 1:
        initial["course"] = str(active[0].pk)
    if latest is not None:
        # A new prescription usually continues the last one: start from it.
        for name in (
            "product",
            "pharmacy",
            "form",
            "route",
            "strength_mg",
            "units_per_dose",
            "quantity",
            "days_supply",
            "directions",
            "basis",
            "peer_monitor_name",
            "peer_monitor_relationship",
        ):
            initial[name] = getattr(latest, name)
    form = PrescriptionForm(request.POST or None, courses=courses, initial=initial)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                prescriptions.issue_prescription(actor, patient, **form.values())
            except InputError as error:
                _error_on(form, error)
            except Conflict as error:
                form.add_error(None, error.message)
                status = 409
            else:
                messages.success(request, "Prescription issued.")
                return redirect("patient_prescriptions", patient.id)
    return render(
        request,
        "treatments/prescription_form.html",
        {
            "patient": patient,
            "form": form,
            "checks": prescriptions.checks_before_prescribing(patient, today),
            "enabled": prescriptions.home_prescribing_enabled(patient.clinic),
            "max_quantity": patient.clinic.setting("oral_home_max_quantity"),
            "max_days": patient.clinic.setting("oral_home_max_days_supply"),
        },
        status=status,
    )


def _record_then_page(request, patient, form_name, form, record) -> HttpResponse:
    if form.is_valid():
        try:
            record(form.cleaned_data)
        except InputError as error:
            _error_on(form, error)
        except PermissionDenied as error:
            form.add_error(None, str(error))
        else:
            return None
    return _page(request, patient, status=422, **{form_name: form})


@require_POST
@login_required
def pdmp_check_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.PRESCRIPTION_CHANGE)
    form = PdmpCheckForm(request.POST, auto_id="pdmp_%s")
    refused = _record_then_page(
        request,
        patient,
        "pdmp_form",
        form,
        lambda data: prescriptions.record_pdmp_check(request.actor, patient, **data),
    )
    if refused:
        return refused
    messages.success(request, "PDMP check recorded.")
    return redirect("patient_prescriptions", patient.id)


@require_POST
@login_required
def urine_drug_screen_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.PRESCRIPTION_CHANGE)
    form = UrineDrugScreenForm(request.POST, auto_id="uds_%s")
    refused = _record_then_page(
        request,
        patient,
        "uds_form",
        form,
        lambda data: prescriptions.record_urine_drug_screen(request.actor, patient, **data),
    )
    if refused:
        return refused
    messages.success(request, "Urine drug screen recorded.")
    return redirect("patient_prescriptions", patient.id)


@require_POST
@login_required
def prescription_fill_new(request: HttpRequest, prescription_id: UUID) -> HttpResponse:
    rx = access.load(
        request.actor,
        OralPrescription.objects.select_related("clinic", "patient__clinic"),
        prescription_id,
        Perm.PRESCRIPTION_CHANGE,
    )
    form = FillForm(request.POST)
    fill = None
    if form.is_valid():
        try:
            fill = prescriptions.record_fill(request.actor, rx, **form.cleaned_data)
        except InputError as error:
            _error_on(form, error)
    if fill is None:
        return _page(request, rx.patient, status=422, fill_form=form, fill_error_for=rx.pk)
    if fill.early_days:
        messages.warning(
            request, f"Fill recorded, {fill.early_days} days before the previous supply ran out."
        )
    else:
        messages.success(request, "Fill recorded.")
    return redirect("patient_prescriptions", rx.patient.id)


@require_POST
@login_required
def prescription_cancel(request: HttpRequest, prescription_id: UUID) -> HttpResponse:
    rx = access.load(
        request.actor,
        OralPrescription.objects.select_related("clinic", "patient__clinic"),
        prescription_id,
        Perm.PRESCRIPTION_CHANGE,
    )
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            prescriptions.cancel_prescription(request.actor, rx, reason=form.cleaned_data["reason"])
        except InputError as error:
            _error_on(form, error)
        except Conflict as error:
            # A double tap, or a colleague first: the prescription is cancelled either way.
            messages.warning(request, error.message)
            return redirect("patient_prescriptions", rx.patient.id)
        else:
            messages.success(
                request, "Prescription cancelled; its check-ins still to come will not be sent."
            )
            return redirect("patient_prescriptions", rx.patient.id)
    return _page(request, rx.patient, status=422, cancel_form=form, cancel_error_for=rx.pk)


def _bladder(request, patient, session: Session | None) -> HttpResponse | None:
    form = BladderCheckForm(request.POST, auto_id="bladder_%s")
    if form.is_valid():
        try:
            check = prescriptions.record_bladder_check(
                request.actor,
                patient,
                form.answers(),
                session=session,
                note=form.cleaned_data["note"],
            )
        except InputError as error:
            _error_on(form, error)
        else:
            if check.alert_id:
                messages.warning(
                    request, "Symptoms recorded; a safety alert asks the prescriber to review."
                )
            else:
                messages.success(request, "No bladder or urinary symptoms; recorded.")
            return None
    return form


@require_POST
@login_required
def bladder_check_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.MEASURE_CHANGE)
    form = _bladder(request, patient, None)
    if form is not None:
        return _page(request, patient, status=422, bladder_form=form)
    return redirect("patient_prescriptions", patient.id)


@require_POST
@login_required
def session_bladder_check(request: HttpRequest, session_id: UUID) -> HttpResponse:
    session = access.load(
        request.actor,
        Session.objects.select_related("course", "patient__clinic", "clinic"),
        session_id,
        Perm.MEASURE_CHANGE,
    )
    if session.course.modality != Modality.ORAL_KETAMINE:
        raise Http404("Bladder symptoms are asked at oral ketamine sessions.")
    form = _bladder(request, session.patient, session)
    if form is not None:
        problems = [
            f"{form.fields[name].label if name in form.fields else 'Answers'}: {' '.join(errs)}"
            for name, errs in form.errors.items()
        ]
        messages.error(request, "Bladder symptoms not recorded. " + " ".join(problems))
    return redirect(f"/sessions/{session.id}/#bladder")
