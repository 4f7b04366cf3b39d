"""Session documentation forms. Times are typed as clock times on the session's day, in the
clinic's timezone, and stored as UTC datetimes."""

from datetime import datetime, time

from django import forms
from django.utils import timezone

from trellis.lib.forms import Form
from trellis.patients.modality import Modality
from trellis.treatments import documentation as doc
from trellis.treatments.models import (
    MotorThreshold,
    OralForm,
    OralRoute,
    RemsSubmissionMethod,
    Session,
    TmsRecord,
)

TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
NUMBER = {"inputmode": "decimal"}


def yes_no(label: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        required=False,
        widget=forms.RadioSelect,
        empty_value=None,
        choices=[("yes", "Yes"), ("no", "No")],
        coerce=lambda value: value == "yes",
    )


def _time_field(label: str) -> forms.TimeField:
    return forms.TimeField(label=label, required=False, widget=TIME)


class SessionForm(Form):
    """Base: clock-time fields become aware datetimes on the session's day."""

    time_fields: tuple[str, ...] = ()
    yes_no_fields: tuple[str, ...] = ()

    def __init__(self, *args, session: Session, record=None, **kwargs) -> None:
        self.session = session
        if record is not None and "data" not in kwargs and not args:
            kwargs["initial"] = self.initial_from(record)
        super().__init__(*args, **kwargs)

    def day(self):
        tz = self.session.clinic.tzinfo
        if self.session.started_at:
            return timezone.localtime(self.session.started_at, tz).date()
        return self.session.planned_date

    def initial_from(self, record) -> dict:
        tz = self.session.clinic.tzinfo
        initial = {}
        for name in self.base_fields:
            if not hasattr(record, name):
                continue
            value = getattr(record, name)
            if isinstance(value, datetime):
                value = timezone.localtime(value, tz).time().replace(second=0, microsecond=0)
            elif name in self.yes_no_fields and value is not None:
                value = "yes" if value else "no"
            initial[name] = value
        return initial

    def values(self) -> dict:
        """Cleaned values ready for the service: times as aware datetimes. On a form that did
        not validate, the values of the fields that did."""
        tz = self.session.clinic.tzinfo
        values = {}
        for name, value in self.cleaned_data.items():
            if name == "override_reason":
                continue
            if name in self.time_fields:
                value = datetime.combine(self.day(), value, tz) if isinstance(value, time) else None
            values[name] = value
        return values


class NoteForm(SessionForm):
    """A modality's note (infusion, esketamine, TMS)."""

    # Filled in the page's banner when a safety stop refuses the note; only a prescriber's
    # reason lets the note through (sessions.SafetyStop).
    override_reason = forms.CharField(
        label="Prescriber's reason to override",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "form": "session-note"}),
    )


class KetamineMonitoringForm(NoteForm):
    """What an IV and an oral ketamine note share: dissociation (CADSS-6 [R14]), sedation
    (MOAA/S [R15]) and the discharge criteria [R10]."""

    moaas_lowest = forms.TypedChoiceField(
        label="Lowest MOAA/S",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "—"), *[(k, f"{k} — {v}") for k, v in doc.MOAAS.items()]],
    )
    discharge_vitals_in_range = forms.BooleanField(
        label="Vital signs back within range", required=False
    )
    discharge_moaas_5 = forms.BooleanField(
        label="MOAA/S 5: responds readily to name", required=False
    )
    escort_present = forms.BooleanField(
        label="Responsible adult present to take the patient home", required=False
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for index, item in enumerate(doc.CADSS6_ITEMS):
            self.fields[f"cadss_{index}"] = forms.TypedChoiceField(
                label=f"{item}. {doc.CADSS6_SUBJECTS[item]}",
                required=False,
                coerce=int,
                empty_value=None,
                choices=[("", "—"), *[(n, str(n)) for n in range(doc.CADSS_MAX_ITEM + 1)]],
            )
        record = kwargs.get("record")
        if record is not None and not self.is_bound:
            for index, value in enumerate(record.cadss6 or []):
                self.initial[f"cadss_{index}"] = value

    def cadss_fields(self) -> list:
        return [self[f"cadss_{i}"] for i in range(len(doc.CADSS6_ITEMS))]

    def values(self) -> dict:
        values = super().values()
        cadss = [values.pop(f"cadss_{i}", None) for i in range(len(doc.CADSS6_ITEMS))]
        values["cadss6"] = cadss if all(v is not None for v in cadss) else []
        return values


class InfusionForm(KetamineMonitoringForm):
    time_fields = ("infusion_started_at", "infusion_ended_at", "discharged_at")

    weight_kg = forms.DecimalField(
        label="Weight used (kg)",
        decimal_places=1,
        required=False,
        widget=forms.NumberInput(attrs=NUMBER),
    )
    weight_measured_on = forms.DateField(
        label="Weighed on", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    dose_mg_per_kg = forms.DecimalField(
        label="Dose (mg/kg)",
        decimal_places=2,
        required=False,
        widget=forms.NumberInput(attrs={**NUMBER, "step": "0.05"}),
    )
    minutes = forms.IntegerField(label="Over (minutes)", required=False)
    vial_mg_per_ml = forms.DecimalField(
        label="Vial (mg/mL)",
        decimal_places=1,
        required=False,
        widget=forms.NumberInput(attrs=NUMBER),
    )
    diluent_ml = forms.DecimalField(
        label="Diluent (mL)",
        decimal_places=1,
        required=False,
        widget=forms.NumberInput(attrs=NUMBER),
    )
    infusion_started_at = _time_field("Infusion started")
    infusion_ended_at = _time_field("Infusion ended")
    side_effects = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(e, e.capitalize()) for e in doc.KETAMINE_SIDE_EFFECTS],
    )
    discharged_at = _time_field("Discharged")
    note = forms.CharField(
        label="Nursing note", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class OralDoseForm(KetamineMonitoringForm):
    """Oral or sublingual ketamine given in the clinic; monitored and discharged as after an
    infusion, with the same scales (CADSS-6, MOAA/S)."""

    time_fields = ("given_at", "discharged_at")

    route = forms.ChoiceField(
        label="Route", required=False, widget=forms.RadioSelect, choices=OralRoute.choices
    )
    form = forms.ChoiceField(
        label="Form", required=False, widget=forms.RadioSelect, choices=OralForm.choices
    )
    dose_mg = forms.DecimalField(
        label="Dose (mg)",
        decimal_places=1,
        required=False,
        widget=forms.NumberInput(attrs={**NUMBER, "step": "5"}),
    )
    given_at = _time_field("Given at")
    lot_number = forms.CharField(label="Lot (optional)", required=False, max_length=60)
    side_effects = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(e, e.capitalize()) for e in doc.ORAL_KETAMINE_SIDE_EFFECTS],
    )
    escort_name = forms.CharField(label="Escort's name", required=False, max_length=120)
    discharged_at = _time_field("Discharged")
    note = forms.CharField(
        label="Nursing note", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class VitalsForm(SessionForm):
    time_fields = ("taken_at",)
    LABELS = ["", "pre-dose", "during", "40 min", "pre-discharge"]

    taken_at = forms.TimeField(label="Time", widget=TIME)
    label = forms.ChoiceField(
        label="When", required=False, choices=[(v, v.capitalize() or "—") for v in LABELS]
    )
    bp_systolic = forms.IntegerField(
        label="Systolic", required=False, widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )
    bp_diastolic = forms.IntegerField(
        label="Diastolic", required=False, widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )
    heart_rate = forms.IntegerField(
        label="HR", required=False, widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )
    spo2 = forms.IntegerField(
        label="SpO₂ %", required=False, widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )
    respiratory_rate = forms.IntegerField(
        label="RR", required=False, widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            now = timezone.localtime(timezone.now(), self.session.clinic.tzinfo)
            self.initial["taken_at"] = now.time().replace(second=0, microsecond=0)


class EsketamineForm(NoteForm):
    time_fields = (
        "first_device_at",
        "sedation_resolved_at",
        "dissociation_resolved_at",
        "respiratory_depression_resolved_at",
        "ready_to_leave_at",
        "monitoring_ended_at",
    )
    yes_no_fields = (
        "first_treatment",
        "vitals_acceptable_pre",
        "sedation",
        "dissociation",
        "respiratory_depression",
        "vitals_acceptable_end",
    )

    dose_mg = forms.TypedChoiceField(
        label="Dose",
        required=False,
        coerce=int,
        empty_value=None,
        widget=forms.RadioSelect,
        choices=[(56, "56 mg (2 devices)"), (84, "84 mg (3 devices)"), (28, "28 mg (1 device)")],
    )
    lot_numbers = forms.CharField(label="Device lot numbers", required=False, max_length=200)
    first_device_at = _time_field("First device")
    first_treatment = yes_no("First esketamine treatment?")
    co_medications = forms.MultipleChoiceField(
        label="Sedating or BP-raising co-medications",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(m, m) for m in doc.CO_MEDICATIONS],
    )
    vitals_acceptable_pre = yes_no("Vital signs acceptable before dosing?")
    sedation = yes_no("Sedation?")
    sedation_resolved_at = _time_field("Sedation resolved")
    dissociation = yes_no("Dissociation?")
    dissociation_resolved_at = _time_field("Dissociation resolved")
    respiratory_depression = yes_no("Respiratory depression?")
    respiratory_depression_resolved_at = _time_field("Respiratory depression resolved")
    ready_to_leave_at = _time_field("Ready to leave, but for the 2-hour rule")
    monitoring_ended_at = _time_field("Monitoring ended")
    vitals_acceptable_end = yes_no("Vital signs acceptable at completion?")
    side_effects = forms.MultipleChoiceField(
        label="Other side effects",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        # Sedation, dissociation and respiratory depression are asked above, once.
        choices=[(e, e.capitalize()) for e in doc.ESKETAMINE_SIDE_EFFECTS],
    )
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 3}))


class TmsForm(NoteForm):
    yes_no_fields = ("seizure",)

    device = forms.CharField(required=False, max_length=80)
    coil = forms.CharField(required=False, max_length=80)
    motor_threshold = forms.ModelChoiceField(
        queryset=MotorThreshold.objects.none(), required=False, label="Motor threshold used"
    )
    intensity_pct_mt = forms.IntegerField(
        label="Intensity (% of MT)", required=False, min_value=1, max_value=200
    )
    target_method = forms.ChoiceField(
        label="Target",
        required=False,
        widget=forms.RadioSelect,
        choices=TmsRecord.TargetMethod.choices,
    )
    tragus_tragus_cm = forms.DecimalField(
        label="Tragus–tragus (cm)", required=False, decimal_places=1
    )
    nasion_inion_cm = forms.DecimalField(
        label="Nasion–inion (cm)", required=False, decimal_places=1
    )
    circumference_cm = forms.DecimalField(
        label="Head circumference (cm)", required=False, decimal_places=1
    )
    neuronav_coordinates = forms.CharField(
        label="Neuronavigation coordinates", required=False, max_length=80
    )
    pulses_planned = forms.IntegerField(required=False, min_value=1, max_value=100_000)
    pulses_delivered = forms.IntegerField(required=False, min_value=0, max_value=100_000)
    interruptions = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    discomfort = forms.TypedChoiceField(
        label="Discomfort (0 none – 10 worst)",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "—"), *[(n, str(n)) for n in range(11)]],
    )
    side_effects = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(e, e.capitalize()) for e in doc.TMS_SIDE_EFFECTS],
    )
    seizure = yes_no("Seizure?")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["motor_threshold"].queryset = self.session.patient.motor_thresholds.all()

    def values(self) -> dict:
        values = super().values()
        for name in ("tragus_tragus_cm", "nasion_inion_cm", "circumference_cm"):
            if values.get(name) is not None:
                values[name] = float(values[name])
        return values


class MotorThresholdForm(Form):
    measured_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    percent_output = forms.IntegerField(
        label="Motor threshold (% output)", min_value=10, max_value=100
    )
    method = forms.ChoiceField(choices=MotorThreshold.Method.choices)
    device = forms.CharField(required=False, max_length=80)


class AddendumForm(Form):
    reason = forms.CharField(max_length=200, label="Why the signed note needs correcting")
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Correction")


class RemsSubmitForm(Form):
    """How the signed form went to the REMS and the proof of it (the rules are the service's)."""

    method = forms.ChoiceField(
        label="How it was submitted",
        choices=RemsSubmissionMethod.choices,
        widget=forms.RadioSelect,
        required=False,
    )
    reference = forms.CharField(
        label="Reference",
        required=False,
        max_length=60,
        help_text="The REMS portal confirmation id, or the fax confirmation number.",
    )


FORMS = {
    Modality.IV_KETAMINE: InfusionForm,
    Modality.ESKETAMINE: EsketamineForm,
    Modality.TMS: TmsForm,
    Modality.ORAL_KETAMINE: OralDoseForm,
}
