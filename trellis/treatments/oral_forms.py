"""Forms for at-home oral ketamine: the prescription, the PDMP check, the urine drug screen, a
fill, and the bladder and urinary symptoms. They check the shape of the input; the rules live in
``prescribing``, ``urinary`` and ``prescriptions`` and come back as errors on these fields."""

from django import forms

from trellis.lib.forms import Form
from trellis.treatments import urinary
from trellis.treatments.forms import yes_no
from trellis.treatments.models import OralForm, OralRoute, PdmpResult, PrescribingBasis, UdsResult

DATE_INPUT = forms.DateInput(attrs={"type": "date"})
NUMBER = {"inputmode": "numeric"}


class PrescriptionForm(Form):
    product = forms.CharField(
        label="Product",
        max_length=120,
        help_text="As the compounding pharmacy names it, e.g. Ketamine HCl sublingual troche. "
        "Compounded under 503A, not FDA-approved for depression [R85].",
    )
    pharmacy = forms.CharField(label="Compounding pharmacy (503A)", max_length=200)
    form = forms.ChoiceField(label="Form", choices=OralForm.choices, widget=forms.RadioSelect)
    route = forms.ChoiceField(label="Route", choices=OralRoute.choices, widget=forms.RadioSelect)
    strength_mg = forms.DecimalField(
        label="Strength (mg per tablet or troche)",
        decimal_places=1,
        max_digits=5,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
    )
    units_per_dose = forms.IntegerField(
        label="Tablets or troches per dose",
        min_value=1,
        max_value=20,
        initial=1,
        widget=forms.NumberInput(attrs=NUMBER),
    )
    quantity = forms.IntegerField(
        label="Quantity", min_value=1, max_value=999, widget=forms.NumberInput(attrs=NUMBER)
    )
    days_supply = forms.IntegerField(
        label="Days' supply", min_value=1, max_value=365, widget=forms.NumberInput(attrs=NUMBER)
    )
    refills = forms.IntegerField(
        label="Refills",
        min_value=0,
        max_value=99,
        initial=0,
        help_text="At most 5; the prescription is void 6 months after issue [R88].",
        widget=forms.NumberInput(attrs=NUMBER),
    )
    directions = forms.CharField(
        label="Directions", max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    basis = forms.ChoiceField(
        label="Prescribing basis",
        choices=PrescribingBasis.choices,
        widget=forms.RadioSelect,
        help_text="Telemedicine without an in-person examination rests on the DEA "
        "flexibilities through 31 Dec 2026 [R91].",
    )
    peer_monitor_name = forms.CharField(
        label="Peer monitor",
        max_length=120,
        help_text="An adult present for every at-home session [R85].",
    )
    peer_monitor_relationship = forms.CharField(
        label="Monitor's relationship", max_length=60, required=False
    )
    early_reason = forms.CharField(
        label="Why now, if early",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed only when the previous supply should not have run out yet.",
    )
    course = forms.ChoiceField(label="Course", required=False)

    def __init__(self, *args, courses=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.courses = {str(c.pk): c for c in courses}
        self.fields["course"].choices = [("", "None")] + [
            (str(c.pk), f"{c.protocol.name}, from {c.start_date:%b %d, %Y}") for c in courses
        ]

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data["course"] = self.courses.get(data.get("course") or "")
        return data


class PdmpCheckForm(Form):
    checked_on = forms.DateField(label="Checked on", widget=DATE_INPUT)
    result = forms.ChoiceField(label="Result", choices=PdmpResult.choices, widget=forms.RadioSelect)
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Say what the concerns are.",
    )


class UrineDrugScreenForm(Form):
    collected_on = forms.DateField(label="Collected on", widget=DATE_INPUT)
    result = forms.ChoiceField(label="Result", choices=UdsResult.choices, widget=forms.RadioSelect)
    substances = forms.CharField(
        label="Unexpected findings",
        required=False,
        max_length=200,
        help_text="Needed when the result is unexpected.",
    )
    note = forms.CharField(
        label="Note", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class FillForm(Form):
    filled_on = forms.DateField(label="Dispensed on", widget=DATE_INPUT)


class CancelForm(Form):
    reason = forms.CharField(
        label="Why it is cancelled",
        max_length=2000,
        error_messages={
            "required": "Why it is cancelled: say why, for the record (e.g. side effects, the "
            "patient stopped, a dosing error)"
        },
    )


class BladderCheckForm(Form):
    """The six symptoms, each answered yes or no; none may be left out [R90]."""

    note = forms.CharField(
        label="Note", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for key, label in urinary.SYMPTOMS.items():
            field = yes_no(label)
            self.fields[key] = field
        # The symptoms first, the note last.
        self.order_fields([*urinary.SYMPTOMS, "note"])

    def symptom_fields(self) -> list:
        return [self[key] for key in urinary.SYMPTOMS]

    def answers(self) -> dict:
        return {key: self.cleaned_data.get(key) for key in urinary.SYMPTOMS}
