from django import forms

from trellis.lib.forms import Form
from trellis.therapy.models import GoalStatus, KapPhase, RiskLevel, TherapyModality


class ProgressNoteForm(Form):
    """Times are clinic-local on ``day``; the view makes them moments."""

    modality = forms.ChoiceField(choices=TherapyModality.choices)
    phase = forms.ChoiceField(
        choices=[("", "—"), *KapPhase.choices],
        required=False,
        label="KAP phase",
        help_text="Ketamine-assisted psychotherapy only",
    )
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(label="Started", widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(label="Ended", widget=forms.TimeInput(attrs={"type": "time"}))
    focus = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    interventions = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    response = forms.CharField(
        label="Patient response", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    plan = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    risk_level = forms.ChoiceField(choices=RiskLevel.choices, label="Risk")
    risk_notes = forms.CharField(
        label="Risk assessment", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    themes = forms.CharField(
        label="Integration themes",
        required=False,
        help_text="Separated by commas, e.g. grief, self-compassion",
    )


class AddendumForm(Form):
    reason = forms.CharField(max_length=200)
    text = forms.CharField(label="Correction", widget=forms.Textarea(attrs={"rows": 3}))


class GoalForm(Form):
    text = forms.CharField(label="New goal", max_length=300)


class GoalStatusForm(Form):
    status = forms.ChoiceField(choices=GoalStatus.choices)


class PsychotherapyNoteForm(Form):
    text = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 6}))


class GrantForm(Form):
    grantee = forms.ChoiceField(label="Colleague")
    note = forms.ChoiceField(label="Which notes", required=False)

    def __init__(self, *args, colleagues=(), notes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grantee"].choices = [("", "—"), *colleagues]
        self.fields["note"].choices = [("", "All my notes on this patient"), *notes]
