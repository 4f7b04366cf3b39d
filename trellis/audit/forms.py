from django import forms

from trellis.accounts.models import Clinic, User
from trellis.audit.models import Action, AuditEvent
from trellis.lib.forms import FilterDateField, Form

# The patient model, reached through the event's own reference to it: the audit app sits below
# patients and imports none of it.
Patient = AuditEvent._meta.get_field("patient").related_model


class AuditFilterForm(Form):
    patient = forms.ModelChoiceField(
        queryset=Patient.objects.none(),
        required=False,
        to_field_name="mrn",
        label="Patient (MRN)",
        widget=forms.TextInput(attrs={"placeholder": "e.g. RIV-000012"}),
    )
    user = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label="Staff member", empty_label="Anyone"
    )
    action = forms.ChoiceField(choices=[("", "Any action"), *Action.choices], required=False)
    date_from = FilterDateField(required=False, label="From")
    date_to = FilterDateField(required=False, label="To")

    def __init__(self, clinic: Clinic, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = Patient.objects.filter(clinic=clinic)
        self.fields["patient"].error_messages["invalid_choice"] = "No patient with that MRN here."
        self.fields["user"].queryset = User.objects.filter(memberships__clinic=clinic).order_by(
            "last_name", "first_name"
        )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end date is before the start date.")
        return data
