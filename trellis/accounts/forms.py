from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.validators import UnicodeUsernameValidator

from trellis.accounts import clinic_settings
from trellis.accounts.models import Clinic
from trellis.accounts.permissions import Role
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
        fields = [
            "name",
            "timezone",
            "address",
            "phone",
            "country",
            "subdivision",
            "billing_npi",
            "tax_id",
        ]
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


CHOOSING_RULES = (
    "At least 12 characters; not a common password, not only digits, and not like your name, "
    "username or e-mail."
)


class PasswordRulesMixin:
    """The password rules (AUTH_PASSWORD_VALIDATORS) said in one plain sentence under the new
    password, where Django would put an HTML list."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = CHOOSING_RULES
        self.fields["new_password2"].help_text = ""


class PasswordChangeForm(PasswordRulesMixin, TextRulesMixin, auth_forms.PasswordChangeForm):
    """Django's password change, with the character rules every form keeps."""


class PasswordResetForm(TextRulesMixin, auth_forms.PasswordResetForm):
    """Django's reset by e-mail: it says the same whether or not the address has an account."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].label = "E-mail"


class SetPasswordForm(PasswordRulesMixin, TextRulesMixin, auth_forms.SetPasswordForm):
    """Choosing a password from a one-time link (a reset or an invitation)."""


ROLE_CHOICES = [("", "Choose a role"), *Role.choices]


class InviteForm(Form):
    first_name = forms.CharField(label="Given name", max_length=150)
    last_name = forms.CharField(label="Family name", max_length=150)
    email = forms.EmailField(
        label="E-mail",
        max_length=254,
        help_text="The invitation and its set-password link go here. Someone who already has "
        "a Trellis account with this address is given the role at this clinic.",
    )
    username = forms.CharField(
        label="Username",
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text="What they sign in with: letters, digits and @ . + - _ only.",
    )
    role = forms.ChoiceField(label="Role at this clinic", choices=ROLE_CHOICES)


class RoleForm(Form):
    role = forms.ChoiceField(label="Role at this clinic", choices=Role.choices)
    reason = forms.CharField(label="Reason (optional)", max_length=500, required=False)


class ReasonForm(Form):
    """The reason for deactivating or reactivating a member of staff (optional)."""

    reason = forms.CharField(label="Reason (optional)", max_length=500, required=False)


class MfaResetForm(Form):
    reason = forms.CharField(
        label="Reason",
        max_length=500,
        help_text="Why the authenticator is removed (a lost or replaced phone); kept in the "
        "audit trail.",
    )


class ProviderForm(Form):
    """A member of staff's identifiers as a provider of care (superbills, claims)."""

    npi = forms.CharField(
        label="NPI",
        max_length=14,
        required=False,
        help_text="Their own 10-digit National Provider Identifier; checked by its last digit.",
    )
    credentials = forms.CharField(
        max_length=40, required=False, help_text="Shown after the name, e.g. MD, PMHNP-BC, LCSW."
    )
