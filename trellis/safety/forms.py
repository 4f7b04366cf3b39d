from django import forms

from trellis.lib.forms import Form
from trellis.safety.models import AlertAction


class AcknowledgeForm(Form):
    actions = forms.MultipleChoiceField(
        label="What was done",
        choices=AlertAction.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    note = forms.CharField(
        label="Action note",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What you did and what happens next: risk assessment, safety plan, who "
        "was contacted, follow-up arranged.",
        error_messages={"required": "Write what was done: an alert is acknowledged with a note."},
    )
