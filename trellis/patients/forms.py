from django import forms
from django.utils import timezone

from trellis.lib.errors import InputError
from trellis.lib.forms import Form, ModelForm
from trellis.patients import eligibility
from trellis.patients.eligibility import ANSWER_LABELS, BOOLEAN_ANSWERS
from trellis.patients.models import (
    AssessmentRequest,
    BodyMeasurement,
    ContactMethod,
    ContactOutcome,
    Patient,
    Sex,
)

DATE_INPUT = forms.DateInput(attrs={"type": "date"})
# Sex is asked, never assumed: no answer is chosen until someone chooses one.
SEX_CHOICES = [("", "Choose…"), *Sex.choices]


class PatientForm(ModelForm):
    class Meta:
        model = Patient
        fields = [
            "given_name",
            "family_name",
            "birth_date",
            "sex",
            "phone",
            "email",
            "contact_channel",
            "address",
            "emergency_contact_name",
            "emergency_contact_relation",
            "emergency_contact_phone",
            "research_opt_out",
        ]
        widgets = {
            "birth_date": DATE_INPUT,
            "address": forms.Textarea(attrs={"rows": 2}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
            "emergency_contact_phone": forms.TextInput(attrs={"type": "tel"}),
        }
        labels = {"emergency_contact_name": "Emergency contact"}
        help_texts = {
            "phone": "With the country code if it is not a US number.",
            "contact_channel": "Reminders, confirmations and questionnaire links. Not chosen "
            "yet: by text if a phone is on file, else by e-mail.",
            "research_opt_out": "The patient asked that their records be left out of the "
            "clinic's de-identified research exports.",
        }

    sms_consent = forms.BooleanField(
        label="Agreed to automated text messages",
        required=False,
        help_text="Tick once the patient has agreed, in writing or on a call; today's date is "
        "recorded. Without it no automated text is sent where the clinic requires agreement.",
    )
    field_order = [*Meta.fields[: Meta.fields.index("contact_channel") + 1], "sms_consent"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sex"].choices = SEX_CHOICES
        agreed = self.instance.sms_consent_at
        self.fields["sms_consent"].initial = agreed is not None
        if agreed is not None:
            self.fields[
                "sms_consent"
            ].help_text = (
                f"Agreed {timezone.localtime(agreed):%b %-d, %Y}. Untick if they withdraw it."
            )

    def model_changes(self) -> dict:
        """The patient's changed fields, the "agreed to texts" box as ``sms_consent_at``: the
        time of ticking it, or None once unticked."""
        changes = {
            name: self.cleaned_data[name] for name in self.changed_data if name != "sms_consent"
        }
        if self.cleaned_data["sms_consent"] != (self.instance.sms_consent_at is not None):
            changes["sms_consent_at"] = timezone.now() if self.cleaned_data["sms_consent"] else None
        return changes


class NewPatientForm(PatientForm):
    weight_kg = forms.DecimalField(
        label="Weight (kg)", required=False, min_value=20, max_value=400, decimal_places=1
    )
    height_cm = forms.DecimalField(
        label="Height (cm)", required=False, min_value=100, max_value=250, decimal_places=1
    )


class MeasurementForm(ModelForm):
    class Meta:
        model = BodyMeasurement
        fields = ["measured_on", "weight_kg", "height_cm"]
        widgets = {"measured_on": DATE_INPUT}

    def __init__(self, *args, clinic, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Today at the clinic, which the model's own check (not in the future) also uses.
        self.instance.clinic = clinic
        self.fields["measured_on"].initial = clinic.today()


# --- Screening ---------------------------------------------------------------------------------

YES_NO_UNKNOWN = [("", "Unknown"), ("yes", "Yes"), ("no", "No")]


# The intake form's questions, grouped as a clinician asks them (keys from DESIGN.md §6).
def _questions(*keys: str) -> list[tuple[str, str]]:
    """Intake questions worded from the one label table (``eligibility.ANSWER_LABELS``): a
    yes/no answer is asked as a question ("Pregnant?")."""
    return [
        (key, f"{ANSWER_LABELS[key]}?" if key in BOOLEAN_ANSWERS else ANSWER_LABELS[key])
        for key in keys
    ]


QUESTION_GROUPS: list[tuple[str, list[tuple[str, str]]]] = [
    ("Pregnancy", _questions("pregnant", "breastfeeding")),
    (
        "Psychiatric history",
        _questions("psychosis", "mania_current", "substance_use_disorder", "ketamine_misuse"),
    ),
    (
        "Blood pressure and vessels",
        _questions(
            "bp_systolic",
            "bp_diastolic",
            "hypertension_uncontrolled",
            "aneurysmal_vascular_disease",
            "arteriovenous_malformation",
            "intracerebral_hemorrhage",
        ),
    ),
    (
        "Allergies and medicines",
        _questions(
            "ketamine_hypersensitivity", "benzodiazepine_mg_lorazepam_eq", "maoi_or_psychostimulant"
        ),
    ),
    (
        "Implants and seizures (for TMS)",
        _questions(
            "head_metal_implant",
            "cochlear_implant",
            "implanted_neurostimulator",
            "cardiac_device",
            "seizure_history",
        ),
    ),
]
HISTORY_CHOICES = [("", "Unknown"), ("none", "None"), ("past", "Past"), ("current", "Current")]


class ScreeningForm(Form):
    """The DESIGN.md §6 answers; "Unknown" leaves the question out (never read as "no")."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for _, questions in QUESTION_GROUPS:
            for key, label in questions:
                self.fields[key] = self._field(key, label)

    @staticmethod
    def _field(key: str, label: str) -> forms.Field:
        if key in ("bp_systolic", "bp_diastolic"):
            return forms.IntegerField(
                label=label,
                required=False,
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )
        if key == "benzodiazepine_mg_lorazepam_eq":
            return forms.DecimalField(label=label, required=False, min_value=0, decimal_places=2)
        if key in ("psychosis", "substance_use_disorder"):
            return forms.ChoiceField(
                label=label, choices=HISTORY_CHOICES, required=False, widget=forms.RadioSelect
            )
        return forms.ChoiceField(
            label=label, choices=YES_NO_UNKNOWN, required=False, widget=forms.RadioSelect
        )

    def groups(self) -> list[tuple[str, list]]:
        return [
            (title, [self[key] for key, _ in questions]) for title, questions in QUESTION_GROUPS
        ]

    @staticmethod
    def initial_from(answers: dict) -> dict:
        initial = {}
        for key, value in answers.items():
            if isinstance(value, bool):
                initial[key] = "yes" if value else "no"
            else:
                initial[key] = value
        return initial

    def answers(self) -> dict:
        answers = {}
        for key, value in self.cleaned_data.items():
            if value in (None, ""):
                continue
            if value in ("yes", "no"):
                answers[key] = value == "yes"
            elif key == "benzodiazepine_mg_lorazepam_eq":
                answers[key] = float(value)
            else:
                answers[key] = value
        return answers


class TrialForm(Form):
    drug = forms.CharField(
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. sertraline"}),
    )
    weeks = forms.DecimalField(required=False, min_value=0, max_value=520, decimal_places=1)
    adequate_dose = forms.ChoiceField(
        label="Adequate dose", choices=[("", "—"), ("yes", "Yes"), ("no", "No")], required=False
    )
    outcome = forms.ChoiceField(
        choices=[
            ("", "—"),
            *[(o, o.replace("_", " ").capitalize()) for o in eligibility.TRIAL_OUTCOMES],
        ],
        required=False,
    )

    def clean(self) -> dict:
        data = super().clean()
        filled = [
            name
            for name in ("drug", "weeks", "adequate_dose", "outcome")
            if data.get(name) not in (None, "")
        ]
        if filled and len(filled) < 4:
            for name in ("drug", "weeks", "adequate_dose", "outcome"):
                if name not in filled:
                    self.add_error(name, "Needed for this trial.")
        return data

    def trial(self) -> dict | None:
        data = self.cleaned_data
        if not data or data.get("drug") in (None, ""):
            return None
        return {
            "drug": data["drug"].strip(),
            "weeks": float(data["weeks"]),
            "adequate_dose": data["adequate_dose"] == "yes",
            "outcome": data["outcome"],
        }


TrialFormSet = forms.formset_factory(TrialForm, extra=0, max_num=20, absolute_max=20)


def trial_formset(data=None, trials: list | None = None) -> forms.BaseFormSet:
    initial = [
        {**trial, "adequate_dose": "yes" if trial["adequate_dose"] else "no"}
        for trial in (trials or [])
    ]
    formset = TrialFormSet(data, initial=initial, prefix="trials")
    if data is None:
        formset.extra = max(2, 4 - len(initial))
    return formset


def attach_input_error(error: InputError, form: ScreeningForm, formset) -> None:
    """Show an eligibility-engine error on the field it names (``answers.x``, ``trials[1].y``)."""
    field = error.field
    if field.startswith("answers.") and field.removeprefix("answers.") in form.fields:
        form.add_error(field.removeprefix("answers."), error.message)
        return
    if field.startswith("trials["):
        index = int(field[len("trials[") : field.index("]")])
        name = field.rsplit(".", 1)[-1]
        trial_forms = [f for f in formset.forms if f.trial() is not None]
        if index < len(trial_forms) and name in trial_forms[index].fields:
            trial_forms[index].add_error(name, error.message)
            return
    form.add_error(None, str(error))


# --- Assessment requests -----------------------------------------------------------------------


class PublicRequestForm(ModelForm):
    # Bots fill every field; people never see this one.
    website = forms.CharField(
        required=False,
        label="Leave this empty",
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    class Meta:
        model = AssessmentRequest
        fields = [
            "given_name",
            "family_name",
            "phone",
            "email",
            "preferred_times",
            "reason",
            "consent_to_contact",
        ]
        labels = {
            "given_name": "First name",
            "family_name": "Last name",
            "preferred_times": "When can we reach you?",
            "reason": "What would you like help with? (optional)",
            "consent_to_contact": "You may contact me by phone or e-mail about an assessment.",
        }
        widgets = {
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "given_name": forms.TextInput(attrs={"autocomplete": "given-name"}),
            "family_name": forms.TextInput(attrs={"autocomplete": "family-name"}),
            "preferred_times": forms.TextInput(attrs={"placeholder": "e.g. weekday mornings"}),
            "reason": forms.Textarea(attrs={"rows": 4, "maxlength": 1000}),
        }

    def clean_consent_to_contact(self) -> bool:
        if not self.cleaned_data.get("consent_to_contact"):
            raise forms.ValidationError("We can only reply if you agree to be contacted.")
        return True

    def is_bot(self) -> bool:
        return bool(self.data.get("website"))


class RegisterFromRequestForm(Form):
    birth_date = forms.DateField(label="Date of birth", widget=DATE_INPUT)
    sex = forms.ChoiceField(choices=SEX_CHOICES)


class RequestContactForm(Form):
    """One call, text or e-mail to the person behind a request, and how it went."""

    method = forms.ChoiceField(
        label="How", choices=[(m.value, m.label) for m in ContactMethod if m != ContactMethod.NOTE]
    )
    outcome = forms.ChoiceField(
        label="Outcome",
        choices=[("", "Choose…")]
        + [(o.value, o.label) for o in ContactOutcome if o != ContactOutcome.STATUS],
    )
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
