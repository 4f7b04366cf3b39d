"""Insurance pages: payers, a patient's coverage, prior authorisations, Good Faith Estimates and
the clinic's billing identity.

Thin views: load through ``access`` (clinic → 404, role → 403, audited read), call one service,
render or redirect; a service's refusal is shown on the field it names.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from trellis.accounts.access import require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.billing import authorisation, estimate
from trellis.billing import insurance_selectors as selectors
from trellis.billing import insurance_services as services
from trellis.billing.insurance_forms import (
    AttestForm,
    AuthorisationRequestForm,
    CoverageForm,
    DecisionForm,
    EndCoverageForm,
    EstimateForm,
    PayerForm,
    SubmitForm,
    put_error,
)
from trellis.billing.models_insurance import (
    AuthStatus,
    Coverage,
    GoodFaithEstimate,
    Payer,
    PriorAuthorization,
)
from trellis.lib.errors import Conflict, InputError
from trellis.lib.pdf import pdf_response
from trellis.patients import access
from trellis.treatments.models import Course
from trellis.treatments.services import protocols_for


def _patient_url(patient_id) -> str:
    return reverse("patient_detail", args=[patient_id]) + "#insurance"


# --- Payers ------------------------------------------------------------------------------------


@login_required
def payer_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    rows = list(selectors.payers(actor))
    return render(
        request,
        "billing/payer_list.html",
        {"payers": rows, "can_change": actor.can(Perm.PAYER_CHANGE)},
    )


@login_required
def payer_edit(request: HttpRequest, payer_id: UUID | None = None) -> HttpResponse:
    actor = require(request.actor, Perm.PAYER_CHANGE)
    payer = None
    if payer_id is not None:
        payer = Payer.objects.filter(clinic=actor.clinic, pk=payer_id).first()
        if payer is None:
            from django.http import Http404

            raise Http404("No such record.")
    initial = (
        {
            name: getattr(payer, name)
            for name in PayerForm.base_fields
            if hasattr(payer, name) and payer is not None
        }
        if payer
        else {"requires_auth_tms": True, "requires_auth_esketamine": True, "is_active": True}
    )
    form = PayerForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_payer(actor, payer, **form.cleaned_data)
        except InputError as error:
            put_error(form, error)
        else:
            messages.success(request, f"{saved.name} saved.")
            return redirect("payer_list")
    return render(request, "billing/payer_form.html", {"form": form, "payer": payer})


# --- Coverage ----------------------------------------------------------------------------------


@login_required
def coverage_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.COVERAGE_CHANGE)
    actor = request.actor
    form = CoverageForm(
        request.POST or None,
        payers=selectors.payers(actor, active_only=True),
        initial={"effective_from": actor.clinic.today()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.add_coverage(actor, patient, **form.cleaned_data)
        except InputError as error:
            put_error(form, error)
        else:
            messages.success(request, "Coverage added.")
            return redirect(_patient_url(patient.id))
    return render(
        request, "billing/coverage_form.html", {"form": form, "patient": patient, "coverage": None}
    )


def _coverage(request, coverage_id, perm=Perm.COVERAGE_CHANGE) -> Coverage:
    rows = Coverage.objects.select_related("patient", "payer", "clinic")
    return access.load(request.actor, rows, coverage_id, perm)


@login_required
def coverage_edit(request: HttpRequest, coverage_id: UUID) -> HttpResponse:
    coverage = _coverage(request, coverage_id)
    actor = request.actor
    initial = {name: getattr(coverage, name) for name in services.COVERAGE_FIELDS}
    initial["payer"] = coverage.payer_id
    form = CoverageForm(
        request.POST or None, payers=selectors.payers(actor, active_only=True), initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_coverage(actor, coverage, **form.cleaned_data)
        except InputError as error:
            put_error(form, error)
        else:
            messages.success(request, "Coverage saved.")
            return redirect(_patient_url(coverage.patient_id))
    end_form = EndCoverageForm(initial={"effective_to": actor.clinic.today()})
    return render(
        request,
        "billing/coverage_form.html",
        {"form": form, "patient": coverage.patient, "coverage": coverage, "end_form": end_form},
    )


@require_POST
@login_required
def coverage_end(request: HttpRequest, coverage_id: UUID) -> HttpResponse:
    coverage = _coverage(request, coverage_id)
    form = EndCoverageForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Last day covered: enter a date.")
        return redirect("coverage_edit", coverage.id)
    try:
        services.end_coverage(
            request.actor,
            coverage,
            on=form.cleaned_data["effective_to"],
            reason=form.cleaned_data["reason"],
        )
    except InputError as error:
        messages.error(request, f"Last day covered: {error.message}.")
        return redirect("coverage_edit", coverage.id)
    messages.success(
        request, f"Coverage with {coverage.payer} ends {coverage.effective_to:%b %-d, %Y}."
    )
    return redirect(_patient_url(coverage.patient_id))


# --- Prior authorisation -----------------------------------------------------------------------


@login_required
def authorisation_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    rows = selectors.authorisation_list(actor)
    today = actor.clinic.today()
    record_for(
        actor,
        Action.QUERY,
        object_type="billing.priorauthorization",
        detail={"list": "authorisations", "results": len(rows)},
    )
    return render(
        request,
        "billing/authorisation_list.html",
        {"items": [selectors.describe(a, today) for a in rows]},
    )


@login_required
def authorisation_new(request: HttpRequest, course_id: UUID) -> HttpResponse:
    course = access.load(
        request.actor,
        Course.objects.select_related("patient", "protocol", "clinic"),
        course_id,
        Perm.PRIOR_AUTH_CHANGE,
    )
    actor = request.actor
    today = actor.clinic.today()
    usable = (
        [
            c
            for c in selectors.coverages(actor, course.patient)
            if (c.active or c.future) and c.payer.type != "self_pay"
        ]
        if actor.can(Perm.COVERAGE_READ)
        else []
    )
    form = AuthorisationRequestForm(
        request.POST or None,
        coverages=usable,
        initial={"units_requested": course.protocol.sessions},
    )
    if request.method == "POST" and form.is_valid():
        try:
            auth = services.request_authorisation(
                actor,
                course,
                coverage=form.cleaned_data["coverage"],
                urgent=form.cleaned_data["urgent"],
                units_requested=form.cleaned_data["units_requested"],
            )
        except InputError as error:
            put_error(form, error, {"payer": "coverage"})
        else:
            messages.success(request, "Request drafted: check the criteria, then submit it.")
            return redirect("authorisation_detail", auth.id)
    return render(
        request,
        "billing/authorisation_new.html",
        {"form": form, "course": course, "patient": course.patient, "today": today},
    )


def _auth(request, auth_id, perm=Perm.PRIOR_AUTH_READ) -> PriorAuthorization:
    rows = PriorAuthorization.objects.select_related(
        "patient", "payer", "coverage", "clinic", "course__protocol"
    )
    return access.load(request.actor, rows, auth_id, perm)


@login_required
def authorisation_detail(request: HttpRequest, auth_id: UUID) -> HttpResponse:
    auth = _auth(request, auth_id)
    actor = request.actor
    today = actor.clinic.today()
    info = selectors.describe(auth, today, with_criteria=True)
    open_request = auth.status in (AuthStatus.DRAFT, AuthStatus.SUBMITTED)
    return render(
        request,
        "billing/authorisation_detail.html",
        {
            **info,
            "info": info,
            "patient": auth.patient,
            "course": auth.course,
            "today": today,
            "can_change": actor.can(Perm.PRIOR_AUTH_CHANGE) and open_request,
            "can_attest": actor.can(Perm.PRIOR_AUTH_ATTEST) and open_request,
            "submit_form": SubmitForm(initial={"number": auth.number}),
            "decision_form": DecisionForm(
                initial={
                    "number": auth.number,
                    "approved_units": auth.units_requested,
                    "approved_from": auth.course.start_date,
                }
            ),
            "statuses": authorisation.Status,
        },
    )


@require_POST
@login_required
def authorisation_submit(request: HttpRequest, auth_id: UUID) -> HttpResponse:
    auth = _auth(request, auth_id, Perm.PRIOR_AUTH_CHANGE)
    form = SubmitForm(request.POST)
    number = form.cleaned_data["number"] if form.is_valid() else ""
    try:
        services.submit_authorisation(request.actor, auth, number=number)
    except (InputError, Conflict) as error:
        messages.error(request, _said(error))
    else:
        messages.success(request, "Marked as submitted to the payer.")
    return redirect("authorisation_detail", auth.id)


@require_POST
@login_required
def authorisation_decide(request: HttpRequest, auth_id: UUID) -> HttpResponse:
    auth = _auth(request, auth_id, Perm.PRIOR_AUTH_CHANGE)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The decision was not recorded: " + _form_errors(form))
        return redirect("authorisation_detail", auth.id)
    data = form.cleaned_data
    try:
        services.record_decision(
            request.actor,
            auth,
            approved=data["decision"] == "approved",
            number=data["number"],
            approved_units=data["approved_units"],
            approved_from=data["approved_from"],
            approved_to=data["approved_to"],
            denial_reason=data["denial_reason"],
        )
    except (InputError, Conflict) as error:
        messages.error(request, "The decision was not recorded: " + _said(error))
    else:
        messages.success(request, "The payer's decision is recorded.")
    return redirect("authorisation_detail", auth.id)


@require_POST
@login_required
def authorisation_attest(request: HttpRequest, auth_id: UUID) -> HttpResponse:
    auth = _auth(request, auth_id, Perm.PRIOR_AUTH_ATTEST)
    form = AttestForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose met, not met or clear.")
        return redirect("authorisation_detail", auth.id)
    data = form.cleaned_data
    try:
        services.attest_criterion(
            request.actor, auth, data["criterion"], data["status"], data["note"]
        )
    except (InputError, Conflict) as error:
        messages.error(request, _said(error))
    else:
        messages.success(request, "Criterion answered.")
    return redirect(reverse("authorisation_detail", args=[auth.id]) + "#criteria")


def _said(error) -> str:
    if isinstance(error, InputError):
        return f"{error.field.replace('_', ' ').capitalize()}: {error.message}."
    return error.message


def _form_errors(form) -> str:
    return "; ".join(f"{name}: {' '.join(errs)}" for name, errs in form.errors.items())


# --- Good Faith Estimates ----------------------------------------------------------------------


@login_required
def estimate_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.ESTIMATE_CHANGE)
    actor = request.actor
    protocols = [p for p in protocols_for(actor.clinic) if p.modality in estimate.SERVICES]
    form = EstimateForm(
        request.POST or None,
        protocols=protocols,
        initial={"requested_on": actor.clinic.today(), "basis": estimate.Basis.SCHEDULED},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            gfe = services.issue_estimate(
                actor,
                patient,
                protocol=data["protocol"],
                basis=data["basis"],
                requested_on=data["requested_on"],
                service_date=data["service_date"],
                diagnosis_codes=data["diagnosis_codes"],
            )
        except InputError as error:
            put_error(form, error)
        except Conflict as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Good Faith Estimate {gfe.number} issued.")
            return redirect("estimate_detail", gfe.id)
    return render(
        request,
        "billing/estimate_new.html",
        {
            "form": form,
            "patient": patient,
            "self_pay": selectors.is_self_pay(patient, actor.clinic.today()),
        },
    )


def _estimate(request, estimate_id) -> GoodFaithEstimate:
    rows = GoodFaithEstimate.objects.select_related("patient", "clinic", "protocol")
    return access.load(request.actor, rows, estimate_id, Perm.ESTIMATE_READ)


@login_required
def estimate_detail(request: HttpRequest, estimate_id: UUID) -> HttpResponse:
    gfe = _estimate(request, estimate_id)
    return render(
        request,
        "billing/estimate_detail.html",
        {
            **services.estimate_context(gfe),
            "today": request.actor.clinic.today(),
            "billed": selectors.billed_against(gfe),
        },
    )


@login_required
def estimate_pdf(request: HttpRequest, estimate_id: UUID) -> HttpResponse:
    gfe = _estimate(request, estimate_id)
    return pdf_response(bytes(gfe.pdf), f"good-faith-estimate-{gfe.number}.pdf")
