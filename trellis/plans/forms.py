"""Forms for combined plans, maintenance plans and reviewing a relapse flag. They check the shape
of the input; the rules live in ``services`` and come back as errors on these fields."""

from django import forms

from trellis.lib.forms import Form
from trellis.plans import sequencing
from trellis.plans.services import NOTE_MAX, REASON_MAX
from trellis.treatments.concomitant import DOSE_MAX, NAME_MAX

DATE_INPUT = forms.DateInput(attrs={"type": "date"})
NEW = "new"


class PlanForm(Form):
    """Join two courses, or start new ones, in a combined plan."""

    tms_course = forms.ChoiceField(label="TMS course")
    dose_course = forms.ChoiceField(label="IV ketamine or esketamine course")
    tms_protocol = forms.ChoiceField(label="New TMS course: protocol", required=False)
    dose_protocol = forms.ChoiceField(
        label="New ketamine or esketamine course: protocol", required=False
    )
    start_date = forms.DateField(label="New courses start on", widget=DATE_INPUT, required=False)
    sequencing = forms.ChoiceField(
        label="Sequencing",
        choices=list(sequencing.RULES.items()),
        widget=forms.RadioSelect,
    )
    concomitant_antidepressant = forms.CharField(
        label="Oral antidepressant (new esketamine course)", max_length=NAME_MAX, required=False
    )
    concomitant_dose = forms.CharField(label="Its dose", max_length=DOSE_MAX, required=False)
    concomitant_started_on = forms.DateField(label="Started on", widget=DATE_INPUT, required=False)
    esketamine_monotherapy = forms.BooleanField(
        label="Esketamine monotherapy (no oral antidepressant)", required=False
    )
    note = forms.CharField(
        label="Note", required=False, max_length=NOTE_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, tms_courses, dose_courses, tms_protocols, dose_protocols, **kw):
        super().__init__(*args, **kw)
        new = [(NEW, "Start a new course")]
        self.fields["tms_course"].choices = [
            (str(c.pk), f"{c.protocol.name}, from {c.start_date:%b %-d, %Y}") for c in tms_courses
        ] + new
        self.fields["dose_course"].choices = [
            (str(c.pk), f"{c.protocol.name}, from {c.start_date:%b %-d, %Y}") for c in dose_courses
        ] + new
        self.fields["tms_protocol"].choices = [("", "—")] + [
            (p.code, p.name) for p in tms_protocols
        ]
        self.fields["dose_protocol"].choices = [("", "—")] + [
            (p.code, p.name) for p in dose_protocols
        ]

    def clean(self):
        data = super().clean()
        for side in ("tms", "dose"):
            if data.get(f"{side}_course") == NEW and not data.get(f"{side}_protocol"):
                self.add_error(f"{side}_protocol", "Choose the protocol of the new course.")
        if NEW in (data.get("tms_course"), data.get("dose_course")) and not data.get("start_date"):
            self.add_error("start_date", "Give the day the new courses start.")
        return data


class MaintenanceForm(Form):
    after_course = forms.ChoiceField(label="After the course")
    interval_days = forms.IntegerField(
        label="Every (days)",
        min_value=1,
        max_value=366,
        required=False,
        help_text="Empty: the treatment's default.",
    )
    note = forms.CharField(
        label="Note", required=False, max_length=NOTE_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, candidates, **kw):
        super().__init__(*args, **kw)
        self.fields["after_course"].choices = [
            (str(c.pk), f"{c.protocol.name}, from {c.start_date:%b %-d, %Y}") for c in candidates
        ]


class EndForm(Form):
    reason = forms.CharField(label="Why it ends", max_length=REASON_MAX)


class ReviewForm(Form):
    note = forms.CharField(
        label="What was done", max_length=NOTE_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )
