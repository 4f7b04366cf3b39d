"""The billing pages: a patient's account (charges, payments, balance, corrections), the
problem list's changes, the statement and superbill (page and PDF), and the administrator's
daily takings and aged receivables (with CSV).

Thin views: load the patient through ``access`` (clinic → 404, role → 403, audited read or
print), call one service or selector, render or redirect.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from trellis.accounts.access import require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.billing import coding, insurance_selectors, ledger, selectors, services
from trellis.billing.forms import (
    AsOfForm,
    ClaimForm,
    CorrectionForm,
    DayForm,
    DiagnosisForm,
    FeeForm,
    PaymentForm,
    PeriodForm,
)
from trellis.billing.models import Charge, Diagnosis
from trellis.lib import csvfile, pdf
from trellis.lib.errors import Conflict, InputError
from trellis.patients import access
from trellis.patients.models import Patient

_PATIENTS = Patient.objects.select_related("clinic")


def _account_url(patient_id) -> str:
    return reverse("billing_account", args=[patient_id])


def _account_page(request, patient, *, status=200, payment_form=None, correction=None):
    actor = request.actor
    found = selectors.account(patient)
    context = {
        "patient": patient,
        "account": found,
        "owing": {row.key: row.owing for row in services.owing_charges(patient)},
        "can_write": actor.can(Perm.BILLING_WRITE),
        "payment_form": payment_form or PaymentForm(initial={"received_on": actor.clinic.today()}),
        "correction": correction,
        "period_form": PeriodForm(),
        "diagnoses": services.active_codes(patient),
    }
    return render(request, "billing/account.html", context, status=status)


@login_required
def account(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.BILLING_READ)
    return _account_page(request, patient)


@require_POST
@login_required
def payment_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.BILLING_WRITE)
    form = PaymentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            payment = services.record_payment(
                request.actor,
                patient,
                method=data["method"],
                amount=data["amount"],
                received_on=data["received_on"],
                reference=data["reference"],
                payer_name=data["payer_name"],
                note=data["note"],
            )
        except InputError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            applied = sum((a.amount for a in payment.allocations.all()), ledger.ZERO)
            messages.success(
                request,
                f"Payment of ${payment.amount} recorded; ${applied} applied to charges"
                + ("." if applied == payment.amount else ", the rest is a credit on the account."),
            )
            return redirect(_account_url(patient.pk))
    return _account_page(request, patient, status=400, payment_form=form)


@require_POST
@login_required
def charge_correct(request: HttpRequest, charge_id: UUID) -> HttpResponse:
    charge = access.load(
        request.actor,
        Charge.objects.select_related("patient", "clinic"),
        charge_id,
        Perm.BILLING_WRITE,
        action=Action.UPDATE,
    )
    form = CorrectionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            credit, new = services.correct_charge(
                request.actor,
                charge,
                reason=data["reason"],
                code=data["code"] or None,
                units=data["units"],
                modifiers=data["modifiers"] if data["modifiers"] else None,
            )
        except (InputError, Conflict) as error:
            messages.error(request, error.message)
        else:
            text = f"{charge.code} credited (−${-credit.amount})"
            if new is not None:
                text += f" and billed again as {new.code} × {new.units}"
            messages.success(request, text + ".")
    else:
        messages.error(
            request, "; ".join(f"{name}: {' '.join(e)}" for name, e in form.errors.items())
        )
    return redirect(_account_url(charge.patient_id) + "#charges")


@require_POST
@login_required
def diagnosis_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.DIAGNOSIS_CHANGE)
    form = DiagnosisForm(request.POST)
    if form.is_valid():
        try:
            row = services.add_diagnosis(request.actor, patient, **form.cleaned_data)
        except InputError as error:
            messages.error(
                request,
                f"{form.fields[error.field].label}: {error.message}"
                if error.field in form.fields
                else error.message,
            )
        else:
            messages.success(request, f"{row.code} added to the problem list.")
    else:
        messages.error(
            request, "; ".join(f"{name}: {' '.join(e)}" for name, e in form.errors.items())
        )
    return redirect(reverse("patient_detail", args=[patient.pk]) + "#diagnoses")


@require_POST
@login_required
def diagnosis_resolve(request: HttpRequest, diagnosis_id: UUID) -> HttpResponse:
    row = access.load(
        request.actor,
        Diagnosis.objects.select_related("patient"),
        diagnosis_id,
        Perm.DIAGNOSIS_CHANGE,
        action=Action.UPDATE,
    )
    try:
        services.resolve_diagnosis(request.actor, row)
    except Conflict as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{row.code} resolved; it stays in the list's history.")
    return redirect(reverse("patient_detail", args=[row.patient_id]) + "#diagnoses")


# --- Statement and superbill --------------------------------------------------------------------


def _document(request, patient_id, kind: str):
    form = PeriodForm(request.GET or None)
    period = form.cleaned_data if form.is_bound and form.is_valid() else {}
    as_pdf = request.GET.get("format") == "pdf"
    patient = access.load(
        request.actor,
        _PATIENTS,
        patient_id,
        Perm.BILLING_READ,
        action=Action.PRINT if as_pdf else Action.READ,
    )
    context = selectors.document(
        patient,
        date_from=period.get("date_from"),
        date_to=period.get("date_to"),
        today=request.actor.clinic.today(),
    )
    context.update(kind=kind, form=form, query=request.GET.urlencode())
    if as_pdf:
        content = pdf.render_pdf(f"billing/{kind}_pdf.html", context, request=request)
        return pdf.pdf_response(content, f"{kind}-{patient.mrn}-{context['today']:%Y%m%d}.pdf")
    return render(request, "billing/document.html", context)


@login_required
def claim(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    """A CMS-1500 for the patient's charges in a period, to one of their coverages [R124]."""
    as_pdf = request.GET.get("format") == "pdf"
    patient = access.load(
        request.actor,
        _PATIENTS,
        patient_id,
        Perm.BILLING_WRITE,
        action=Action.PRINT if as_pdf else Action.READ,
    )
    coverages = selectors.claim_coverages(patient)
    data = request.GET.copy()
    if coverages and not data.get("coverage"):
        data["coverage"] = str(coverages[0].pk)
    form = ClaimForm(data, coverages=coverages)
    context = {"patient": patient, "form": form, "coverages": coverages, "query": ""}
    if coverages and form.is_valid():
        coverage = form.coverages[form.cleaned_data["coverage"]]
        context.update(
            selectors.claim_context(
                patient,
                coverage,
                date_from=form.cleaned_data.get("date_from"),
                date_to=form.cleaned_data.get("date_to"),
                today=request.actor.clinic.today(),
            )
        )
        context["query"] = data.urlencode()
        if as_pdf:
            content = pdf.render_pdf("billing/cms1500_pdf.html", context, request=request)
            return pdf.pdf_response(content, f"cms1500-{patient.mrn}-{context['today']:%Y%m%d}.pdf")
    return render(request, "billing/claim.html", context)


@login_required
def statement(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    return _document(request, patient_id, "statement")


@login_required
def superbill(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    return _document(request, patient_id, "superbill")


# --- Reports ------------------------------------------------------------------------------------


def _money(value) -> str:
    return f"{value:.2f}"


@login_required
def takings(request: HttpRequest) -> HttpResponse:
    form = DayForm(request.GET or None)
    day = (form.cleaned_data.get("day") if form.is_bound and form.is_valid() else None) or (
        request.actor.clinic.today() if request.actor else None
    )
    export = request.GET.get("format") == "csv"
    report = selectors.takings(request.actor, day, export=export)
    if not export:
        return render(
            request,
            "billing/takings.html",
            {"report": report, "form": form if form.is_bound else DayForm(initial={"day": day})},
        )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="takings-{day:%Y%m%d}.csv"'
    writer = csvfile.writer(response)
    writer.writerow(
        ["received_on", "mrn", "patient", "method", "reference", "insurer", "amount", "received_by"]
    )
    for p in report.payments:
        writer.writerow(
            [
                p.received_on.isoformat(),
                p.patient.mrn,
                p.patient.full_name,
                p.get_method_display(),
                p.reference,
                p.payer_name,
                _money(p.amount),
                str(p.received_by),
            ]
        )
    writer.writerow(["", "", "", "Total", "", "", _money(report.total), ""])
    return response


@login_required
def aged(request: HttpRequest) -> HttpResponse:
    form = AsOfForm(request.GET or None)
    as_of = (form.cleaned_data.get("as_of") if form.is_bound and form.is_valid() else None) or (
        request.actor.clinic.today() if request.actor else None
    )
    export = request.GET.get("format") == "csv"
    rows, totals = selectors.aged_receivables(request.actor, as_of, export=export)
    buckets = [name for name, _ in ledger.BUCKETS]
    if not export:
        return render(
            request,
            "billing/aged.html",
            {
                "rows": rows,
                "totals": totals,
                "buckets": buckets,
                "as_of": as_of,
                "form": form if form.is_bound else AsOfForm(initial={"as_of": as_of}),
            },
        )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="aged-receivables-{as_of:%Y%m%d}.csv"'
    writer = csvfile.writer(response)
    writer.writerow(["mrn", "patient", *[f"days_{b}" for b in buckets], "total"])
    for row in rows:
        writer.writerow(
            [
                row.patient.mrn,
                row.patient.full_name,
                *[_money(row.buckets[b]) for b in buckets],
                _money(row.buckets["total"]),
            ]
        )
    writer.writerow(["", "Total", *[_money(totals[b]) for b in buckets], _money(totals["total"])])
    return response


@login_required
def over_estimate(request: HttpRequest) -> HttpResponse:
    """Bills at least $400 over their Good Faith Estimate [R122], the most over first."""
    found = insurance_selectors.estimates_over(request.actor, request.GET.get("page") or 1)
    return render(request, "billing/over_estimate.html", {"page": found})


# --- The fee schedule ---------------------------------------------------------------------------


def _fee_page(request, *, status=200, editing=None, form=None) -> HttpResponse:
    actor = request.actor
    rows = selectors.fee_schedule(actor)
    return render(
        request,
        "billing/fees.html",
        {
            "rows": rows,
            "can_change": actor.can(Perm.FEE_CHANGE),
            "editing": editing,
            "form": form,
        },
        status=status,
    )


@login_required
def fees(request: HttpRequest) -> HttpResponse:
    """The clinic's fee schedule: every code Trellis bills and its fee; the administrator sets
    one (the same service as ``PUT /api/v1/fees/{code}``)."""
    return _fee_page(request)


@require_POST
@login_required
def fee_set(request: HttpRequest, code: str) -> HttpResponse:
    require(request.actor, Perm.FEE_CHANGE)
    if not coding.is_known(code):
        raise Http404("No such code.")
    form = FeeForm(request.POST)
    if form.is_valid():
        try:
            fee = services.set_fee(request.actor, code, form.cleaned_data["amount"])
        except InputError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"The fee for {fee.code} is now ${fee.amount:,}.")
            return redirect(f"{reverse('billing_fees')}#fee-{fee.code}")
    return _fee_page(request, status=400, editing=code, form=form)
