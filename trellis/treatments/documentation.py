"""Session documentation rules, as plain functions: vital-sign flags, the scales recorded at
the chair, esketamine blood-pressure warnings, and what a note needs before it can be signed.

No Django import: views and services call these, and the tests check them against DOMAIN.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from trellis.lib.errors import InputError

# --- Vital signs -------------------------------------------------------------------------------

FLAG = "flag"
ALERT = "alert"

# Plausible readings; anything outside is a typing error, refused by name.
_PLAUSIBLE = {
    "bp_systolic": (50, 300, "mmHg"),
    "bp_diastolic": (20, 200, "mmHg"),
    "heart_rate": (20, 250, "beats/min"),
    "spo2": (50, 100, "%"),
    "respiratory_rate": (2, 60, "breaths/min"),
}


@dataclass(frozen=True)
class VitalLimits:
    """The clinic's flag and alert levels (clinic settings; defaults cite DOMAIN.md §1.2, §8.1)."""

    bp_systolic_flag: int = 160
    bp_systolic_alert: int = 180
    bp_diastolic_flag: int = 100
    bp_diastolic_alert: int = 115
    hr_flag: int = 110
    hr_alert: int = 130
    spo2_flag: int = 94
    spo2_alert: int = 90
    rr_low_flag: int = 10
    rr_low_alert: int = 8


@dataclass(frozen=True)
class Flag:
    field: str
    level: str  # FLAG or ALERT
    message: str

    def as_dict(self) -> dict:
        return {"field": self.field, "level": self.level, "message": self.message}


def validate_reading(values: dict) -> dict:
    """The reading with empty values dropped; InputError naming the field when implausible."""
    reading = {}
    for field, value in values.items():
        if field not in _PLAUSIBLE:
            raise InputError(field, "is not a vital sign")
        if value is None or value == "":
            continue
        low, high, unit = _PLAUSIBLE[field]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InputError(field, f"must be a whole number from {low} to {high} {unit}")
        reading[field] = value
    if not reading:
        raise InputError("bp_systolic", "enter at least one vital sign")
    if ("bp_systolic" in reading) != ("bp_diastolic" in reading):
        missing = "bp_diastolic" if "bp_systolic" in reading else "bp_systolic"
        raise InputError(missing, "a blood pressure needs both numbers")
    if "bp_systolic" in reading and reading["bp_systolic"] <= reading["bp_diastolic"]:
        raise InputError("bp_systolic", "must be greater than the diastolic pressure")
    return reading


def flag_reading(reading: dict, limits: VitalLimits) -> list[Flag]:
    """Each value past the clinic's flag level (or alert level, which raises a safety alert)."""
    flags: list[Flag] = []

    def high(field, label, flag_at, alert_at, unit):
        value = reading.get(field)
        if value is None:
            return
        if value >= alert_at:
            flags.append(
                Flag(
                    field,
                    ALERT,
                    f"{label} {value} {unit} is at or above the alert level {alert_at}",
                )
            )
        elif value >= flag_at:
            flags.append(Flag(field, FLAG, f"{label} {value} {unit} is at or above {flag_at}"))

    def low(field, label, flag_at, alert_at, unit):
        value = reading.get(field)
        if value is None:
            return
        if value <= alert_at:
            flags.append(
                Flag(
                    field,
                    ALERT,
                    f"{label} {value} {unit} is at or below the alert level {alert_at}",
                )
            )
        elif value <= flag_at:
            flags.append(Flag(field, FLAG, f"{label} {value} {unit} is at or below {flag_at}"))

    high("bp_systolic", "Systolic BP", limits.bp_systolic_flag, limits.bp_systolic_alert, "mmHg")
    high(
        "bp_diastolic", "Diastolic BP", limits.bp_diastolic_flag, limits.bp_diastolic_alert, "mmHg"
    )
    high("heart_rate", "Heart rate", limits.hr_flag, limits.hr_alert, "beats/min")
    low("spo2", "SpO₂", limits.spo2_flag, limits.spo2_alert, "%")
    low(
        "respiratory_rate",
        "Respiratory rate",
        limits.rr_low_flag,
        limits.rr_low_alert,
        "breaths/min",
    )
    return flags


# --- Scales at the chair -----------------------------------------------------------------------

# CADSS-6: items 1, 2, 6, 7, 15 and 22 of the 23-item CADSS, each rated 0–4 (r 0.91–0.95 with
# the full scale) [R14].
CADSS6_ITEMS = (1, 2, 6, 7, 15, 22)
CADSS_MAX_ITEM = 4

# What each CADSS-6 item is about, in our own words. The CADSS's wording is J. D. Bremner's
# (Bremner et al., J Trauma Stress 1998;11:125; Emory University) and no free licence for it
# was found, so the page shows the item's subject, never its question; the rater asks from the
# licensed scale. Subjects follow the item table of Bremner 1998 (items 1–19 asked of the
# patient, 20–23 rated by the observer); item 22's subject is from that table's observer items
# and should be checked against the clinic's licensed copy.
CADSS6_SUBJECTS = {
    1: "Time seemed to slow down",
    2: "Things seemed unreal or dreamlike",
    6: "Felt cut off from own body",
    7: "Body felt changed in size or shape",
    15: "Spaced out or lost track of events",
    22: "Seemed detached from what was going on (observer-rated)",
}

# MOAA/S, 5 = alert … 0 = no response to a trapezius squeeze [R15].
MOAAS = {
    5: "Responds readily to name spoken in a normal tone",
    4: "Lethargic response to name spoken in a normal tone",
    3: "Responds only after name is called loudly and/or repeatedly",
    2: "Responds only after mild prodding or shaking",
    1: "Responds only after a painful trapezius squeeze",
    0: "No response after a painful trapezius squeeze",
}


def cadss6_total(answers: list[int]) -> int:
    if len(answers) != len(CADSS6_ITEMS):
        raise InputError("cadss6", f"needs {len(CADSS6_ITEMS)} answers, one per item")
    for index, value in enumerate(answers):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 4:
            raise InputError(
                f"cadss6[{index}]", f"CADSS item {CADSS6_ITEMS[index]} must be from 0 to 4"
            )
    return sum(answers)


# Side effects to tick, from the ketamine and esketamine labels and the TMS literature.
KETAMINE_SIDE_EFFECTS = (
    # Asked at every infusion (issue list), then the label's others [R10, R27].
    "dissociation",
    "intoxication",
    "sedation",
    "raised blood pressure",
    "dizziness",
    "headache",
    "blurred vision",
    "anxiety",
    "nausea",
    "vomiting",
    "diplopia",
    "nystagmus",
    "raised heart rate",
    "hypotension",
    "bradycardia",
    "arrhythmia",
    "respiratory depression",
    "emergence reaction",
    "urinary symptoms",
    "injection-site pain",
    "rash",
    "numbness",
    "vertigo",
    "euphoria",
    "lethargy",
)
# Oral and sublingual ketamine: the ketamine label's list, less what belongs to an injection
# [R10]; urinary symptoms stay (cystitis with repeated use, DOMAIN.md §9 [R90]).
ORAL_KETAMINE_SIDE_EFFECTS = tuple(e for e in KETAMINE_SIDE_EFFECTS if e != "injection-site pain")
TMS_SIDE_EFFECTS = (
    # DOMAIN.md §3.3 [R47].
    "scalp pain",
    "headache",
    "facial twitching",
    "eye pain",
    "face pain",
    "tooth pain",
    "dizziness",
    "mania or hypomania",
    "syncope",
)
# Esketamine's note asks sedation, dissociation and respiratory depression once each, as the
# REMS form's yes/no questions with the time each resolved [R30]; its side-effect list leaves
# them out so they are not asked twice.
ASKED_ON_THE_REMS_FORM = ("sedation", "dissociation", "respiratory depression")
ESKETAMINE_SIDE_EFFECTS = tuple(
    effect for effect in KETAMINE_SIDE_EFFECTS if effect not in ASKED_ON_THE_REMS_FORM
)
CO_MEDICATIONS = (
    # Sedating or BP-raising co-medications asked on the REMS form [R30].
    "benzodiazepines",
    "non-benzodiazepine hypnotics",
    "psychostimulants",
    "MAOIs",
    "opioids",
)


# --- Esketamine --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EsketamineLimits:
    predose_systolic: int = 140  # "general guide" to weigh delaying [R16]
    predose_diastolic: int = 90
    rise_systolic: int = 40  # ≥40 systolic and/or ≥25 diastolic rise reported in 8–19 % [R16]
    rise_diastolic: int = 25
    monitoring_minutes: int = 120  # REMS: at least 2 hours [R22, R28]


def esketamine_bp_warnings(
    pre: tuple[int, int] | None, later: list[tuple[int, int]], limits: EsketamineLimits
) -> list[str]:
    warnings = []
    if pre is not None:
        if pre[0] > limits.predose_systolic or pre[1] > limits.predose_diastolic:
            warnings.append(
                f"Pre-dose BP {pre[0]}/{pre[1]} is above {limits.predose_systolic}/"
                f"{limits.predose_diastolic}: the label advises weighing a delay [R16]."
            )
        for systolic, diastolic in later:
            if (
                systolic - pre[0] >= limits.rise_systolic
                or diastolic - pre[1] >= limits.rise_diastolic
            ):
                warnings.append(
                    f"BP rose to {systolic}/{diastolic} from {pre[0]}/{pre[1]} "
                    f"(≥{limits.rise_systolic} systolic or ≥{limits.rise_diastolic} diastolic): "
                    "keep monitoring until it declines [R16]."
                )
                break
    return warnings


DOSES_MG = (56, 84)


# --- Safety stops ------------------------------------------------------------------------------
#
# A stop refuses an action. ``overridable`` stops give way to a prescriber's written reason;
# the others (an input that cannot be right, a device past 100 % output) never do.


@dataclass(frozen=True)
class Problem:
    field: str  # the form field the problem is about
    rule: str  # a stable name for the rule, kept with an override
    message: str  # what is wrong and which rule says so
    overridable: bool = False

    def as_dict(self) -> dict:
        return {
            "field": self.field,
            "rule": self.rule,
            "message": self.message,
            "overridable": self.overridable,
        }


@dataclass(frozen=True)
class PredoseLimits:
    """Clinic settings ``predose_bp_*_hold`` and ``predose_spo2_floor``."""

    systolic_hold: int = 160  # clinic policy; label guide 140/90 [R16], no IV stop level [R8]
    diastolic_hold: int = 100
    spo2_floor: int = 94  # the flag level, conservative [R10, R16]


def predose_problems(
    field: str,
    bp: tuple[int, int] | None,
    spo2: int | None,
    limits: PredoseLimits,
) -> list[Problem]:
    """Why dosing (IV, oral or sublingual ketamine, or esketamine) may not start on these
    pre-dose readings.

    One definition for every ketamine-family modality; ``field`` is the start time being recorded.
    """
    problems = []
    if bp is not None and (bp[0] >= limits.systolic_hold or bp[1] >= limits.diastolic_hold):
        problems.append(
            Problem(
                field,
                "predose_bp_hold",
                f"dosing cannot start at a pre-dose blood pressure of {bp[0]}/{bp[1]}: at or "
                f"above the clinic's hold level of {limits.systolic_hold}/"
                f"{limits.diastolic_hold}, a clinic setting; the label's guide is 140/90 [R16]",
                overridable=True,
            )
        )
    if spo2 is not None and spo2 < limits.spo2_floor:
        problems.append(
            Problem(
                field,
                "predose_spo2_floor",
                f"dosing cannot start at a pre-dose SpO₂ of {spo2} %: below the clinic's floor "
                f"of {limits.spo2_floor} % (clinic setting [R10, R16])",
                overridable=True,
            )
        )
    return problems


# Doses past this are not a dose of a compounded tablet, troche or lozenge: a typing error,
# refused as input (never overridable). The clinic's limit is far below it.
ORAL_PLAUSIBLE_MAX_MG = 1000


def oral_dose_problems(
    dose_mg, protocol_max_mg: int | float | None, clinic_max_mg: int | float
) -> list[Problem]:
    """An oral or sublingual dose above the lower of the protocol's maximum and the clinic's
    (``oral_ketamine_max_mg``) stops the note; a prescriber may override it with a reason.
    Doses used run 25–300 mg per session [R81]; no consensus ladder (DOMAIN.md §8.11). A dose
    equal to the limit is within it."""
    if dose_mg is None:
        return []
    if not 0 < dose_mg <= ORAL_PLAUSIBLE_MAX_MG:
        return [
            Problem(
                "dose_mg", "input", f"must be more than 0 and at most {ORAL_PLAUSIBLE_MAX_MG} mg"
            )
        ]
    limits = [("the clinic's limit", clinic_max_mg)]
    if protocol_max_mg is not None:
        limits.append(("the protocol's maximum", protocol_max_mg))
    whose, limit = min(limits, key=lambda pair: pair[1])
    if dose_mg <= limit:
        return []
    return [
        Problem(
            "dose_mg",
            "oral_ketamine_max_mg",
            f"{float(dose_mg):g} mg is above {whose} of {float(limit):g} mg "
            "(doses used: 25–300 mg per session [R81])",
            overridable=True,
        )
    ]


def same_day_dose_problem(field: str, earlier: list[str]) -> list[Problem]:
    """A second ketamine-family dose (IV, esketamine, oral) on one clinic day is refused:
    nothing published sets a gap; studied schedules give at most one a day (DOMAIN.md §10,
    §8.14)."""
    if not earlier:
        return []
    return [
        Problem(
            field,
            "same_day_ketamine_dose",
            "a ketamine-family dose was already given to this patient today ("
            + "; ".join(earlier)
            + "): one a day is the clinic's rule",
            overridable=True,
        )
    ]


def tms_intensity_problems(
    pct_mt: int | None, pct_output: int | None, max_pct_mt: int
) -> list[Problem]:
    """Intensity above the clinic's maximum % MT (overridable) or above the device's 100 %
    output (never)."""
    problems = []
    if pct_mt is not None and pct_mt > max_pct_mt:
        problems.append(
            Problem(
                "intensity_pct_mt",
                "tms_max_pct_mt",
                f"{pct_mt} % of MT is above the clinic's maximum of {max_pct_mt} % MT "
                "(120 % MT per the 10 Hz and iTBS protocols [R31, R35])",
                overridable=True,
            )
        )
    if pct_output is not None and pct_output > 100:
        problems.append(
            Problem(
                "intensity_pct_mt",
                "tms_device_output",
                f"gives {pct_output} % of the device's output; no device goes above 100 %",
            )
        )
    return problems


# --- Motor threshold and intensity (TMS) -------------------------------------------------------


def intensity_pct_output(mt_percent_output: int, pct_mt: int) -> int:
    """Stimulator output for an intensity given as % of motor threshold (120 % of MT 50 → 60)."""
    return round(mt_percent_output * pct_mt / 100)


def mt_remeasure_due(last_measured_on: date | None, today: date, days: int) -> bool:
    # MT drifts >5 % in about half of sessions; weekly re-measurement [R40].
    return last_measured_on is None or (today - last_measured_on).days >= days


# --- What a note needs before it is signed -----------------------------------------------------


def infusion_missing(record: dict, vitals_count: int) -> list[str]:
    missing = [
        label
        for field, label in (
            ("weight_kg", "weight used"),
            ("dose_mg_per_kg", "dose in mg/kg"),
            ("minutes", "infusion minutes"),
            ("vial_mg_per_ml", "vial concentration"),
            ("diluent_ml", "diluent volume"),
            ("rate_ml_per_h", "pump rate"),
            ("infusion_started_at", "infusion start time"),
            ("infusion_ended_at", "infusion end time"),
            ("moaas_lowest", "lowest MOAA/S"),
            ("discharged_at", "discharge time"),
        )
        if record.get(field) in (None, "")
    ]
    return missing + _monitoring_and_discharge_missing(record, vitals_count)


def _monitoring_and_discharge_missing(record: dict, vitals_count: int) -> list[str]:
    """Dissociation, vitals and the discharge criteria of a ketamine session, IV or oral:
    released after full recovery with a responsible adult [R10]."""
    missing = []
    if len(record.get("cadss6") or []) != len(CADSS6_ITEMS):
        missing.append("dissociation (CADSS-6)")
    if vitals_count == 0:
        missing.append("at least one set of vital signs")
    for field, label in (
        ("discharge_vitals_in_range", "vitals back within range"),
        ("discharge_moaas_5", "MOAA/S 5 at discharge"),
        ("escort_present", "escort present"),
    ):
        if record.get(field) is not True:
            missing.append(f"discharge criterion: {label}")
    return missing


def oral_missing(record: dict, vitals_count: int, predose_bp: bool) -> list[str]:
    """What an oral or sublingual ketamine note needs before signing: the dose as given, a
    blood pressure before it (the pre-dose hold is checked on it), the scales and the discharge
    of an IV session, and the escort by name (DOMAIN.md §9: escort and no driving as for IV)."""
    missing = [
        label
        for field, label in (
            ("route", "route"),
            ("form", "form (tablet, lozenge or troche)"),
            ("dose_mg", "dose in mg"),
            ("given_at", "time given"),
            ("moaas_lowest", "lowest MOAA/S"),
            ("discharged_at", "discharge time"),
        )
        if record.get(field) in (None, "")
    ]
    if not predose_bp:
        missing.append("blood pressure before dosing")
    missing += _monitoring_and_discharge_missing(record, vitals_count)
    if record.get("escort_present") is True and not (record.get("escort_name") or "").strip():
        missing.append("the escort's name")
    return missing


def esketamine_missing(record: dict, bp_labels: set[str], limits: EsketamineLimits) -> list[str]:
    missing = [
        label
        for field, label in (
            ("dose_mg", "dose"),
            ("lot_numbers", "device lot numbers"),
            ("first_device_at", "time of the first device"),
            ("first_treatment", "first treatment or not"),
            ("vitals_acceptable_pre", "vitals acceptable before dosing (Y/N)"),
            ("sedation", "sedation (Y/N)"),
            ("dissociation", "dissociation (Y/N)"),
            ("respiratory_depression", "respiratory depression (Y/N)"),
            ("ready_to_leave_at", "time ready to leave without the 2-hour rule"),
            ("monitoring_ended_at", "end of monitoring"),
            ("vitals_acceptable_end", "vitals acceptable at completion (Y/N)"),
        )
        if record.get(field) in (None, "")
    ]
    for effect in ("sedation", "dissociation", "respiratory_depression"):
        if record.get(effect) is True and not record.get(f"{effect}_resolved_at"):
            missing.append(f"time {effect.replace('_', ' ')} resolved")
    for label, name in (
        ("pre-dose", "BP before dosing"),
        ("40 min", "BP at 40 minutes"),
        ("pre-discharge", "BP before discharge"),
    ):
        if label not in bp_labels:
            missing.append(name)
    minutes = monitoring_minutes(record)
    if minutes is not None and minutes < limits.monitoring_minutes:
        missing.append(
            f"monitoring of at least {limits.monitoring_minutes} minutes (recorded {minutes})"
        )
    return missing


def monitoring_minutes(record: dict) -> int | None:
    start, end = record.get("first_device_at"), record.get("monitoring_ended_at")
    if not start or not end:
        return None
    return int((end - start).total_seconds() // 60)


def tms_missing(record: dict) -> list[str]:
    missing = [
        label
        for field, label in (
            ("device", "device"),
            ("coil", "coil"),
            ("motor_threshold_id", "motor threshold"),
            ("intensity_pct_mt", "intensity (% MT)"),
            ("intensity_pct_output", "intensity (% output)"),
            ("target_method", "target"),
            ("pulses_planned", "pulses planned"),
            ("pulses_delivered", "pulses delivered"),
            ("discomfort", "discomfort"),
            ("seizure", "seizure (Y/N)"),
        )
        if record.get(field) in (None, "")
    ]
    if record.get("target_method") == "beam_f3" and record.get("beam_x_cm") is None:
        missing.append("Beam F3 head measurements")
    if record.get("target_method") == "neuronavigation" and not record.get("neuronav_coordinates"):
        missing.append("neuronavigation coordinates")
    return missing
