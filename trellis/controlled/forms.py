"""Forms of the ledger's pages: receiving from an invoice, reporting a loss, a report's range."""

from django import forms

from trellis.controlled.models import DosageForm, LossKind, Substance
from trellis.lib.forms import Form


class DateInput(forms.DateInput):
    input_type = "date"


class ReceiveForm(Form):
    substance = forms.ChoiceField(choices=Substance.choices)
    form = forms.ChoiceField(
        label="Form",
        choices=[("", "Vial for ketamine, device for Spravato"), *DosageForm.choices],
        required=False,
    )
    ndc = forms.CharField(
        label="NDC",
        max_length=13,
        help_text="e.g. 0409-2053-10; Spravato "
        "kits 50458-028-02 (56 mg, 2 devices) or -03 (84 mg, 3 devices) [R130]",
    )
    lot = forms.CharField(max_length=40)
    expires_on = forms.DateField(label="Expires", widget=DateInput)
    containers = forms.IntegerField(
        label="Containers",
        min_value=1,
        max_value=500,
        help_text="Vials, bottles or Spravato devices (a kit of 2 devices is 2)",
    )
    amount_per_container_mg = forms.DecimalField(
        label="mg per container", min_value=0, decimal_places=3, help_text="Spravato: 28"
    )
    volume_per_container_ml = forms.DecimalField(
        label="ml per container", min_value=0, decimal_places=2, required=False
    )
    supplier_name = forms.CharField(label="Supplier", max_length=200)
    supplier_address = forms.CharField(
        label="Supplier's address", widget=forms.Textarea(attrs={"rows": 2}), max_length=500
    )
    supplier_dea = forms.CharField(label="Supplier's DEA number", max_length=9)
    invoice_number = forms.CharField(label="Invoice number", max_length=60)
    invoice_date = forms.DateField(label="Invoice date", widget=DateInput)
    received_on = forms.DateField(label="Received on", widget=DateInput, required=False)


class RangeForm(Form):
    start = forms.DateField(widget=DateInput, required=False)
    end = forms.DateField(widget=DateInput, required=False)


class LossReportForm(Form):
    kind = forms.ChoiceField(label="What happened", choices=LossKind.choices)
    discovered_on = forms.DateField(label="Discovered on", widget=DateInput)
    amount_mg = forms.DecimalField(label="Amount missing (mg)", min_value=0, decimal_places=3)
    container = forms.ChoiceField(label="Container", required=False)
    registrant_dea = forms.CharField(label="The clinic's DEA number", max_length=9)
    description = forms.CharField(
        label="What was found", widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )
    police_notified = forms.BooleanField(label="Police notified", required=False)
    police_report = forms.CharField(label="Police report number", max_length=100, required=False)


class NoticeForm(Form):
    sent_on = forms.DateField(label="Written notice sent on", widget=DateInput)


class FiledForm(Form):
    filed_on = forms.DateField(label="Form 106 filed on", widget=DateInput)
    reference = forms.CharField(label="Confirmation number", max_length=60)


class AdjustmentForm(Form):
    """A prescriber's correction: a new entry referring to the count or entry it corrects."""

    corrects = forms.ChoiceField(
        label="Corrects",
        help_text="The count (or other entry) this correction answers",
        error_messages={"required": "Corrects: choose the count or entry this corrects."},
    )
    amount_mg = forms.CharField(
        label="Amount (mg)",
        max_length=20,
        help_text="Negative takes stock off the balance (−2.5), positive adds it back (1.5)",
        error_messages={"required": "Amount (mg): write the correction in mg, e.g. −2.5."},
    )
    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why the balance was wrong: overfill, a spill, a miscount, a loss reported",
        error_messages={"required": "Reason: say why the balance is corrected."},
    )


class QuarantineForm(Form):
    reason = forms.CharField(
        label="Reason",
        max_length=300,
        help_text="Seal broken, recall, a count that does not add up …",
        error_messages={"required": "Reason: say why the container is set aside."},
    )


class ReleaseForm(Form):
    reason = forms.CharField(
        label="Reason",
        max_length=300,
        help_text="Why it may be used again: found intact, recall withdrawn …",
        error_messages={"required": "Reason: say why the container may be used again."},
    )
