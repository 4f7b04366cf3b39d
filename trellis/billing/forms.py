"""Forms of the billing pages: they shape what was typed; the services check the rules."""

from django import forms

from trellis.billing.models import PaymentMethod
from trellis.lib.forms import FilterDateField, Form


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"})


class DiagnosisForm(Form):
    code = forms.CharField(
        label="ICD-10-CM code",
        max_length=10,
        help_text="e.g. F33.1 (recurrent, moderate) or F32.2 (single episode, severe)",
    )
    label = forms.CharField(
        max_length=120,
        required=False,
        help_text="Leave empty for Trellis's own label; needed for a code it has none for.",
    )


class FeeForm(Form):
    # Text, not a number field: the service checks it and names the rule it breaks, as the API's
    # PUT /api/v1/fees/{code} does.
    amount = forms.CharField(label="Fee (US$)", max_length=20)


class PaymentForm(Form):
    method = forms.ChoiceField(choices=PaymentMethod.choices)
    amount = forms.DecimalField(label="Amount (US$)", min_value=0, max_digits=11, decimal_places=2)
    received_on = forms.DateField(label="Received on", widget=_date_input(), required=False)
    reference = forms.CharField(
        max_length=60,
        required=False,
        help_text="Card transaction reference, check number or the remittance's (EOB) number",
    )
    payer_name = forms.CharField(
        label="Insurer", max_length=120, required=False, help_text="For an insurer's remittance"
    )
    note = forms.CharField(max_length=200, required=False)


class CorrectionForm(Form):
    reason = forms.CharField(max_length=200)
    code = forms.CharField(max_length=5, required=False, help_text="Leave empty to keep the code")
    units = forms.IntegerField(
        min_value=0, max_value=999, required=False, help_text="0 removes the line"
    )
    modifiers = forms.CharField(max_length=11, required=False, help_text="Up to four, e.g. 25 59")


class DayForm(Form):
    day = FilterDateField(required=False)


class AsOfForm(Form):
    as_of = FilterDateField(label="As of", required=False)


class PeriodForm(Form):
    date_from = FilterDateField(label="From", required=False)
    date_to = FilterDateField(label="To", required=False)

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "must be on or after the start")
        return data


class ClaimForm(PeriodForm):
    """A CMS-1500's coverage and the dates of service it claims."""

    coverage = forms.ChoiceField(label="Coverage", required=True)

    def __init__(self, *args, coverages=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.coverages = {str(c.pk): c for c in coverages}
        self.fields["coverage"].choices = [
            (str(c.pk), f"{c.payer.name} · {c.member_id} ({c.get_rank_display().lower()})")
            for c in coverages
        ]
