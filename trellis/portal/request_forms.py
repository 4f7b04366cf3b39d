from django import forms

from trellis.lib.forms import Form
from trellis.portal.models import ASKABLE_WORDS
from trellis.portal.requests import MESSAGE_MAX, PREFERRED_MAX, REPLY_MAX


def _too_long(what: str) -> dict:
    return {
        "max_length": f"{what} must be at most %(limit_value)s characters (it has %(show_value)s)."
    }


class PreferredField(forms.CharField):
    def __init__(self, **kwargs) -> None:
        super().__init__(
            label="Days and times that suit you (optional)",
            required=False,
            max_length=PREFERRED_MAX,
            help_text='In your own words, for example "Tuesday or Thursday mornings".',
            error_messages=_too_long("Days and times"),
            **kwargs,
        )


class MessageField(forms.CharField):
    def __init__(self, **kwargs) -> None:
        super().__init__(
            label="Message to the clinic (optional)",
            required=False,
            max_length=MESSAGE_MAX,
            help_text=f"Up to {MESSAGE_MAX:,} characters. Not for emergencies.",
            error_messages=_too_long("Your message"),
            widget=forms.Textarea(attrs={"rows": 4}),
            **kwargs,
        )


class CancelForm(Form):
    message = MessageField()


class RescheduleForm(Form):
    preferred = PreferredField()
    message = MessageField()


class AppointmentRequestForm(Form):
    appointment_kind = forms.ChoiceField(
        label="What would you like?",
        choices=list(ASKABLE_WORDS.items()),
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what kind of appointment you would like."},
    )
    preferred = PreferredField()
    message = MessageField()


class ReplyForm(Form):
    outcome = forms.ChoiceField(choices=[("done", "Done"), ("declined", "Decline")])
    reply = forms.CharField(
        label="Reply to the patient",
        required=False,
        max_length=REPLY_MAX,
        help_text="The patient reads it in their portal. Needed when you decline.",
        error_messages=_too_long("The reply"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
