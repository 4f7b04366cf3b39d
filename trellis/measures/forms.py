from django import forms
from django.utils import timezone

from trellis.lib.errors import InputError
from trellis.lib.forms import Form
from trellis.measures import instruments
from trellis.measures.contact import link_channel
from trellis.measures.models import Instrument, LinkChannel
from trellis.patients.contact import may_text


class QuestionnaireForm(Form):
    """One questionnaire as printed: a radio group per item (arrow keys move within a group,
    Tab moves between them), then PHQ-9's difficulty question, which is optional.

    ``for_patient`` words the messages for the patient; staff see the item named.
    """

    def __init__(self, *args, instrument: instruments.Instrument, for_patient=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        choices = [(str(o.value), o.text) for o in instrument.options]
        for item in instrument.items:
            required = (
                "Please answer this question."
                if for_patient
                else f"Answer item {item.number} ({item.short})."
            )
            self.fields[f"item_{item.number}"] = forms.TypedChoiceField(
                label=f"{item.number}. {item.text}",
                choices=choices,
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": required, "invalid_choice": required},
            )
        if instrument.difficulty is not None:
            self.fields["difficulty"] = forms.TypedChoiceField(
                label=instrument.difficulty.text,
                choices=[(str(o.value), o.text) for o in instrument.difficulty.options],
                coerce=int,
                empty_value=None,
                required=False,
                widget=forms.RadioSelect,
            )

    def item_fields(self) -> list:
        return [self[f"item_{item.number}"] for item in self.instrument.items]

    def answers(self) -> list[int]:
        return [self.cleaned_data[f"item_{item.number}"] for item in self.instrument.items]

    def difficulty_answer(self) -> int | None:
        return self.cleaned_data.get("difficulty")

    def add_input_error(self, error: InputError) -> None:
        """Put a scoring error (``answers[3]``) on the item it names."""
        field = error.field
        if field.startswith("answers[") and field.endswith("]"):
            index = int(field[len("answers[") : -1])
            name = f"item_{index + 1}"
            if name in self.fields:
                self.add_error(name, error.message)
                return
        if field in self.fields:
            self.add_error(field, error.message)
            return
        self.add_error(None, str(error))


class StaffQuestionnaireForm(QuestionnaireForm):
    """The staff form adds when the patient answered and which course it belongs to."""

    def __init__(self, *args, courses=(), tz=None, **kwargs):
        super().__init__(*args, **kwargs)
        now = timezone.localtime(timezone.now(), tz) if tz else timezone.localtime()
        self.fields["observed_at"] = forms.DateTimeField(
            label="Answered at",
            initial=now.strftime("%Y-%m-%dT%H:%M"),
            input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        )
        course_choices = [("", "Not part of a course")] + [
            (str(c.pk), f"{c.protocol.name}, from {c.start_date:%b %-d, %Y} ({c.status})")
            for c in courses
        ]
        active = next((c for c in courses if c.status == "active"), None)
        self.fields["course"] = forms.ChoiceField(
            label="Course",
            choices=course_choices,
            required=False,
            initial=str(active.pk) if active else "",
            help_text="Outcomes are worked out per course from the PHQ-9s linked to it.",
        )
        self.courses = {str(c.pk): c for c in courses}

    def chosen_course(self):
        return self.courses.get(self.cleaned_data.get("course") or "")


class SendLinkForm(Form):
    instruments = forms.MultipleChoiceField(
        label="Questionnaires",
        choices=[
            (Instrument.PHQ9, "PHQ-9 — depression, 9 questions"),
            (Instrument.GAD7, "GAD-7 — anxiety, 7 questions"),
        ],
        widget=forms.CheckboxSelectMultiple,
        initial=[Instrument.PHQ9],
        error_messages={"required": "Choose at least one questionnaire."},
    )
    channel = forms.ChoiceField(
        label="Send by", choices=LinkChannel.choices, widget=forms.RadioSelect
    )
    course = forms.ChoiceField(label="Course", required=False)

    def __init__(self, *args, patient, courses=(), **kwargs):
        super().__init__(*args, **kwargs)
        texts = may_text(patient)
        labels = {
            LinkChannel.SMS: f"Text message to {patient.phone_display}" if texts else None,
            LinkChannel.EMAIL: f"E-mail to {patient.email}" if patient.email else None,
            LinkChannel.BOTH: "Both" if texts and patient.email else None,
        }
        self.fields["channel"].choices = [(k, v) for k, v in labels.items() if v]
        if self.fields["channel"].choices:
            # The way the patient chose to be reached, else the first on offer.
            offered = [value for value, _ in self.fields["channel"].choices]
            chosen = link_channel(patient)
            self.fields["channel"].initial = chosen if chosen in offered else offered[0]
        self.fields["course"].choices = [("", "Not part of a course")] + [
            (str(c.pk), f"{c.protocol.name}, from {c.start_date:%b %-d, %Y}") for c in courses
        ]
        active = next((c for c in courses if c.status == "active"), None)
        self.fields["course"].initial = str(active.pk) if active else ""
        self.courses = {str(c.pk): c for c in courses}

    def chosen_course(self):
        return self.courses.get(self.cleaned_data.get("course") or "")
