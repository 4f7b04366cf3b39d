from django import forms

from trellis.accounts.models import Membership
from trellis.lib.forms import Form
from trellis.treatments.models import MODALITY_CHOICES


class OutcomeFilterForm(Form):
    """Which courses the outcomes page counts: the clinics offered are those where the user
    may read reports; none chosen means all of them (the network view)."""

    clinic = forms.ChoiceField(required=False, label="Clinic")
    modality = forms.ChoiceField(
        required=False, label="Treatment", choices=[("", "All treatments"), *MODALITY_CHOICES]
    )
    date_from = forms.DateField(
        required=False,
        label="Courses started from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = forms.DateField(
        required=False, label="to", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, memberships: list[Membership], *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.memberships = memberships
        everyone = f"All my clinics ({len(memberships)})" if len(memberships) > 1 else "My clinic"
        self.fields["clinic"].choices = [("", everyone)] + [
            (str(m.clinic_id), m.clinic.name) for m in memberships
        ]
        self.fields["clinic"].error_messages["invalid_choice"] = (
            "Choose one of the clinics whose reports you may read."
        )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def chosen(self) -> list[Membership]:
        """The memberships whose clinics the report covers (call after ``is_valid``)."""
        clinic = self.cleaned_data.get("clinic")
        if not clinic:
            return self.memberships
        return [m for m in self.memberships if str(m.clinic_id) == clinic]

    def as_detail(self) -> dict:
        """The filters for the audit trail."""
        return {key: str(value) for key, value in self.cleaned_data.items() if value}
