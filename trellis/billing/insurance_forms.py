"""Forms of the insurance pages: a payer, a coverage, a prior authorisation's steps, a Good Faith
Estimate and the clinic's billing identity. They only shape what was typed; the services check
the rules and name the field that breaks one (``put_error``)."""

from __future__ import annotations

from django import forms

from trellis.billing import estimate
from trellis.billing.models_insurance import (
    CoverageRank,
    EsketamineCoding,
    PayerType,
    PlanType,
    Relationship,
)
from trellis.lib.errors import InputError
from trellis.lib.forms import Form

DATE = forms.DateInput(attrs={"type": "date"})


def put_error(form: forms.Form, error: InputError, fields: dict | None = None) -> None:
    """Show the service's refusal on the field it names (or above the form)."""
    name = (fields or {}).get(error.field, error.field)
    name = name.split("[")[0]
    if name in form.fields:
        form.add_error(name, error.message)
    else:
        form.add_error(None, f"{error.field}: {error.message}")


class PayerForm(Form):
    name = forms.CharField(max_length=120)
    payer_id = forms.CharField(
        label="Payer id", max_length=20, required=False, help_text="The clearinghouse's payer id"
    )
    type = forms.ChoiceField(choices=PayerType.choices)
    esketamine_coding = forms.ChoiceField(
        label="Esketamine is billed with",
        choices=[("", "By the payer type (Medicare: G-codes)"), *EsketamineCoding.choices],
        required=False,
    )
    requires_auth_tms = forms.BooleanField(label="Authorises TMS first", required=False)
    requires_auth_esketamine = forms.BooleanField(
        label="Authorises esketamine first", required=False
    )
    requires_auth_iv_ketamine = forms.BooleanField(
        label="Authorises IV ketamine first", required=False
    )
    is_active = forms.BooleanField(label="Active", required=False, initial=True)


class CoverageForm(Form):
    payer = forms.ChoiceField(choices=())
    rank = forms.ChoiceField(choices=CoverageRank.choices, initial=CoverageRank.PRIMARY)
    member_id = forms.CharField(label="Member id", max_length=40)
    group_number = forms.CharField(label="Group number", max_length=40, required=False)
    plan_type = forms.ChoiceField(
        label="Plan type", choices=[("", "—"), *PlanType.choices], required=False
    )
    relationship = forms.ChoiceField(
        label="Patient's relationship to the subscriber",
        choices=Relationship.choices,
        initial=Relationship.SELF,
    )
    subscriber_name = forms.CharField(
        label="Subscriber's name",
        max_length=200,
        required=False,
        help_text="When the patient is not the subscriber",
    )
    subscriber_birth_date = forms.DateField(
        label="Subscriber's date of birth", required=False, widget=DATE
    )
    copay = forms.DecimalField(
        label="Copay (US$ a visit)", required=False, min_value=0, decimal_places=2, max_digits=7
    )
    coinsurance_pct = forms.IntegerField(
        label="Coinsurance (%)", required=False, min_value=0, max_value=100
    )
    effective_from = forms.DateField(label="Effective from", widget=DATE)
    effective_to = forms.DateField(
        label="Effective to", required=False, widget=DATE, help_text="Empty while it lasts"
    )

    def __init__(self, *args, payers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payer"].choices = [("", "Choose a payer"), *((p.pk, p.name) for p in payers)]


class EndCoverageForm(Form):
    effective_to = forms.DateField(label="Last day covered", widget=DATE)
    reason = forms.CharField(max_length=200, required=False)


class AuthorisationRequestForm(Form):
    coverage = forms.ChoiceField(label="Coverage", choices=())
    urgent = forms.BooleanField(
        label="Urgent (expedited) request",
        required=False,
        help_text="CMS-0057-F payers decide urgent requests within 72 hours, standard ones "
        "within 7 days [R128]",
    )
    units_requested = forms.IntegerField(
        label="Sessions requested", min_value=1, max_value=500, required=False
    )

    def __init__(self, *args, coverages=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["coverage"].choices = [
            (c.pk, f"{c.payer} · {c.member_id} ({c.get_rank_display().lower()})") for c in coverages
        ]


class SubmitForm(Form):
    number = forms.CharField(
        label="Request or authorisation number",
        max_length=60,
        required=False,
        help_text="CMS-1500 item 23 [R124]",
    )


class DecisionForm(Form):
    decision = forms.ChoiceField(choices=[("approved", "Approved"), ("denied", "Denied")])
    number = forms.CharField(label="Authorisation number", max_length=60, required=False)
    approved_units = forms.IntegerField(
        label="Sessions approved", min_value=1, max_value=500, required=False
    )
    approved_from = forms.DateField(label="Approved from", required=False, widget=DATE)
    approved_to = forms.DateField(label="Approved to", required=False, widget=DATE)
    denial_reason = forms.CharField(label="Reason for denial", max_length=300, required=False)


class AttestForm(Form):
    criterion = forms.CharField(max_length=30)
    status = forms.ChoiceField(
        choices=[("met", "Met"), ("not_met", "Not met"), ("unknown", "Clear")]
    )
    note = forms.CharField(max_length=300, required=False)


class EstimateForm(Form):
    protocol = forms.ChoiceField(choices=())
    basis = forms.ChoiceField(
        label="Given because",
        choices=[
            (estimate.Basis.SCHEDULED, "The first session was scheduled"),
            (estimate.Basis.REQUESTED, "The patient asked for an estimate"),
        ],
    )
    requested_on = forms.DateField(
        label="Scheduled or asked on", widget=DATE, help_text="The deadline counts from this day"
    )
    service_date = forms.DateField(
        label="Date of the first session",
        required=False,
        widget=DATE,
        help_text="Required when the service is scheduled",
    )
    diagnosis_codes = forms.CharField(
        label="Diagnosis codes (ICD-10-CM)",
        max_length=200,
        required=False,
        help_text="Comma-separated, e.g. F33.1",
    )

    def __init__(self, *args, protocols=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["protocol"].choices = [(p.code, p.name) for p in protocols]
