"""Forms for starting, re-planning and stopping a course, and for clinic closure days.

They check the shape of the input only; the rules (signed screening, contraindication override,
spacing, dates in the past) live in ``services`` and come back as errors on these fields.
"""

from datetime import date, timedelta

from django import forms

from trellis.lib.dates import parse_iso_date
from trellis.lib.forms import Form
from trellis.treatments.models import ClosureDay, Course, Protocol
from trellis.treatments.services import START_HORIZON_DAYS

DATE_INPUT = forms.DateInput(attrs={"type": "date"})


class StartCourseForm(Form):
    protocol = forms.ChoiceField(label="Protocol")
    start_date = forms.DateField(
        label="Start date",
        widget=DATE_INPUT,
        help_text="The first session is on this day, or the first open day after it.",
    )
    payer = forms.CharField(
        label="Payer",
        max_length=Course._meta.get_field("payer").max_length,
        required=False,
        help_text="Leave empty for self-pay.",
    )
    authorization_ref = forms.CharField(
        label="Authorisation reference",
        max_length=Course._meta.get_field("authorization_ref").max_length,
        required=False,
    )
    authorized_units = forms.IntegerField(
        label="Authorised sessions",
        min_value=1,
        max_value=500,
        required=False,
        help_text="Sessions the payer authorised; Trellis warns before they run out.",
    )
    concomitant_antidepressant = forms.CharField(
        label="Oral antidepressant given with it",
        max_length=Course._meta.get_field("concomitant_antidepressant").max_length,
        required=False,
        help_text="Esketamine only: the label gives it with an oral antidepressant, or alone "
        "for treatment-resistant depression since 21 January 2025.",
    )
    concomitant_dose = forms.CharField(
        label="Its dose",
        max_length=Course._meta.get_field("concomitant_dose").max_length,
        required=False,
    )
    concomitant_started_on = forms.DateField(label="Started on", widget=DATE_INPUT, required=False)
    esketamine_monotherapy = forms.BooleanField(
        label="Monotherapy: no oral antidepressant", required=False
    )
    override_reason = forms.CharField(
        label="Override reason",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only for a treatment the signed screening contraindicates: why it is right "
        "for this patient. Kept on the course and in the audit trail.",
    )

    def __init__(self, *args, protocols: list[Protocol], today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["protocol"].choices = [(p.code, p.name) for p in protocols]
        self.fields["start_date"].initial = today

    def clean_start_date(self) -> date:
        day = self.cleaned_data["start_date"]
        if day < self.today:
            raise forms.ValidationError("The start date cannot be in the past.")
        if day > self.today + timedelta(days=START_HORIZON_DAYS):
            raise forms.ValidationError("The start date must be within a year from today.")
        return day


class ReplanForm(Form):
    from_date = forms.DateField(label="Re-plan from", widget=DATE_INPUT)


class StopCourseForm(Form):
    reason = forms.CharField(
        label="Why is the course stopping?",
        max_length=Course._meta.get_field("end_reason").max_length,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ClosureForm(Form):
    date = forms.DateField(label="Date", widget=DATE_INPUT)
    reason = forms.CharField(
        label="Reason",
        max_length=ClosureDay._meta.get_field("reason").max_length,
        required=False,
        help_text="Shown on calendars, e.g. Thanksgiving or staff training.",
    )


class RemoveClosureForm(Form):
    date = forms.DateField()


class HolidayClosureForm(Form):
    """Accept one proposed public holiday as a closure day."""

    date = forms.DateField()


# The day list looks back or ahead at most ten years; a date beyond is taken for a typing error.
TODAY_RANGE_DAYS = 3653


class DayForm(Form):
    """The day the day list shows (``?date=YYYY-MM-DD``): a calendar day within ten years of
    the clinic's today, so the days either side of it stay within what the databases hold."""

    date = forms.CharField(required=False, max_length=40)

    def __init__(self, data, *, today: date) -> None:
        super().__init__(data)
        self.today = today

    def clean_date(self) -> date:
        text = self.cleaned_data["date"]
        if not text:
            return self.today
        try:
            day = parse_iso_date(text)
        except ValueError as error:
            raise forms.ValidationError(str(error), code="invalid") from None
        if abs((day - self.today).days) > TODAY_RANGE_DAYS:
            raise forms.ValidationError(
                f"{day.isoformat()} is more than ten years from today", code="out_of_range"
            )
        return day
