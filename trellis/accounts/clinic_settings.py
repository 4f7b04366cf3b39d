"""Clinic settings: every value a clinic may change, with its default and where it comes from.

A clinic stores only what it overrides (``Clinic.settings``); everything else is the default
below. Clinical thresholds cite ``DOMAIN.md``; policy values say whose policy they are.
"""

from dataclasses import dataclass

from trellis.lib.errors import InputError


@dataclass(frozen=True)
class SettingDef:
    key: str
    label: str
    default: int | float
    minimum: int | float
    maximum: int | float
    unit: str
    source: str


DEFINITIONS: dict[str, SettingDef] = {
    d.key: d
    for d in (
        SettingDef(
            "idle_logoff_minutes",
            "Sign staff out after this long without activity",
            15,
            2,
            120,
            "minutes",
            "Clinic policy; HIPAA Security Rule automatic logoff, 45 CFR 164.312(a)(2)(iii)",
        ),
        SettingDef(
            "screening_bp_systolic_caution",
            "Screening systolic BP above which esketamine and IV ketamine need caution",
            140,
            100,
            220,
            "mmHg",
            "Spravato label pre-dose 'general guide' 140/90, DOMAIN.md §2.2 [R16, R22]",
        ),
        SettingDef(
            "screening_bp_diastolic_caution",
            "Screening diastolic BP above which esketamine and IV ketamine need caution",
            90,
            50,
            140,
            "mmHg",
            "Spravato label pre-dose 'general guide' 140/90, DOMAIN.md §2.2 [R16, R22]",
        ),
        SettingDef(
            "screening_lorazepam_eq_max",
            "Benzodiazepine dose above which IV ketamine needs caution",
            3.0,
            0.5,
            20.0,
            "mg/day lorazepam equivalent",
            "Ketamine trial exclusion >3 mg/day, DOMAIN.md §1.5 [R18]",
        ),
        SettingDef(
            "screening_minimum_age",
            "Minimum age for esketamine and the adult IV ketamine protocols",
            18,
            16,
            25,
            "years",
            "Esketamine not approved under 18, DOMAIN.md §1.5 [R16, R19]",
        ),
        SettingDef(
            "trd_adequacy_weeks",
            "Weeks at an adequate dose for an antidepressant trial to count",
            6,
            4,
            12,
            "weeks",
            "TRD definition, DOMAIN.md §4 [R61]; payer criteria ≥6 weeks, §6 [R37]",
        ),
        SettingDef(
            "trd_min_failed_trials",
            "Failed adequate trials that make depression treatment-resistant",
            2,
            2,
            6,
            "trials",
            "TRD: inadequate response to ≥2 antidepressants, DOMAIN.md §4 [R61]",
        ),
    )
}


def validate(overrides: dict) -> dict:
    """Checked copy of a clinic's overrides; raises InputError naming the setting."""
    if not isinstance(overrides, dict):
        raise InputError("settings", "must be an object of setting names and values")
    clean = {}
    for key, value in overrides.items():
        definition = DEFINITIONS.get(key)
        if definition is None:
            raise InputError(f"settings.{key}", "is not a known clinic setting")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"settings.{key}", f"must be a number of {definition.unit}")
        if isinstance(definition.default, int) and not float(value).is_integer():
            raise InputError(f"settings.{key}", f"must be a whole number of {definition.unit}")
        if not definition.minimum <= value <= definition.maximum:
            raise InputError(
                f"settings.{key}",
                f"must be between {definition.minimum} and {definition.maximum} {definition.unit}",
            )
        clean[key] = type(definition.default)(value)
    return clean


def value(overrides: dict, key: str) -> int | float:
    return overrides.get(key, DEFINITIONS[key].default)
