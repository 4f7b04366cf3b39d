from django import forms
from django.contrib.auth.forms import AuthenticationForm

from trellis.accounts import clinic_settings
from trellis.accounts.models import Clinic
from trellis.lib.forms import Form, ModelForm, TextRulesMixin


class LoginForm(TextRulesMixin, AuthenticationForm):
    """Django's sign-in form, with the character rules every form keeps."""


class OtpForm(Form):
    code = forms.CharField(
        label="Six-digit code from your authenticator app",
        min_length=6,
        max_length=6,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9]{6}",
                "autofocus": True,
            }
        ),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if not code.isdigit():
            raise forms.ValidationError("The code is six digits.")
        return code


class ClinicForm(ModelForm):
    """The clinic's details and every clinic setting, each with its default and source."""

    class Meta:
        model = Clinic
        fields = ["name", "timezone", "address", "phone", "country", "subdivision"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}
        labels = {"country": "Country", "subdivision": "State or province"}
        help_texts = {
            "country": "Two-letter code (ISO 3166-1), e.g. US. Its public holidays are "
            "proposed as closure days.",
            "subdivision": "Two-letter code, e.g. NY; leave empty for national holidays only.",
        }

    def clean_country(self) -> str:
        return (self.cleaned_data.get("country") or "").strip().upper()

    def clean_subdivision(self) -> str:
        return (self.cleaned_data.get("subdivision") or "").strip().upper()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for definition in clinic_settings.DEFINITIONS.values():
            field_class = (
                forms.IntegerField if isinstance(definition.default, int) else forms.FloatField
            )
            if definition.choices:
                meanings = dict(definition.choices)
                self.fields[f"setting_{definition.key}"] = forms.TypedChoiceField(
                    label=definition.label,
                    choices=[("", "Default"), *definition.choices],
                    coerce=int,
                    empty_value=None,
                    initial=self.instance.setting(definition.key),
                    required=False,
                    help_text=f"Default {meanings[definition.default]}. {definition.source}",
                )
                continue
            self.fields[f"setting_{definition.key}"] = field_class(
                label=f"{definition.label} ({definition.unit})",
                min_value=definition.minimum,
                max_value=definition.maximum,
                initial=self.instance.setting(definition.key),
                required=False,
                help_text=f"Default {definition.default} (used when empty). {definition.source}",
            )

    def setting_fields(self) -> list:
        return [self[name] for name in self.fields if name.startswith("setting_")]

    def detail_fields(self) -> list:
        return [self[name] for name in self.fields if not name.startswith("setting_")]

    def details(self) -> dict:
        """The clinic's details as entered, for ``services.update_clinic``."""
        return {name: self.cleaned_data[name] for name in self._meta.fields}

    def setting_values(self) -> dict:
        """Each setting as entered (None when left empty: the default)."""
        return {key: self.cleaned_data.get(f"setting_{key}") for key in clinic_settings.DEFINITIONS}
