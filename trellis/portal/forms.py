from django import forms

from trellis.lib.forms import Form


class WelcomeForm(Form):
    login = forms.CharField(
        label="Sign-in name",
        max_length=150,
        help_text="You will type this to sign in. Your e-mail address works well.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label="Password",
        help_text="At least 12 characters. A few unrelated words make a strong password.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
    )
    password_again = forms.CharField(
        label="Password again",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
    )

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords are not the same.")
        return data


class CodeForm(Form):
    code = forms.CharField(
        label="6-digit code",
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}
        ),
    )


class SignInForm(CodeForm):
    login = forms.CharField(
        label="Sign-in name",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    field_order = ["login", "password", "code"]


class JournalForm(Form):
    text = forms.CharField(
        label="Your entry",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    shared = forms.TypedChoiceField(
        label="Who can read it",
        choices=[("0", "Only me"), ("1", "Me and my care team")],
        coerce=lambda value: value == "1",
        initial="0",
        widget=forms.RadioSelect,
    )


class NewMessageForm(Form):
    subject = forms.CharField(label="Subject", max_length=120)
    body = forms.CharField(
        label="Your message",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Up to 4,000 characters.",
    )


class ReplyForm(Form):
    body = forms.CharField(
        label="Your reply",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class NotificationForm(Form):
    """The patient's notification settings: a channel per kind, and quiet hours."""

    questionnaire = forms.ChoiceField(label="A new questionnaire or check-in to answer", choices=[])
    appointment_reminder = forms.ChoiceField(label="Appointment reminders", choices=[])
    message_reply = forms.ChoiceField(label="A reply from the clinic", choices=[])
    quiet_start = forms.TimeField(
        label="Quiet from",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    quiet_end = forms.TimeField(
        label="Quiet until",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("questionnaire", "appointment_reminder", "message_reply"):
            self.fields[name].choices = choices
            self.fields[name].widget = forms.RadioSelect(choices=choices)
