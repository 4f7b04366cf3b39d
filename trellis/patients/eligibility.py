"""Eligibility engine: which treatments a screening allows, and why.

``evaluate(answers, trials, age)`` turns the screening answers (vocabulary in DESIGN.md §6), the
patient's prior antidepressant trials and their age into one ``Finding`` per modality
(IV ketamine, esketamine, TMS, oral or sublingual ketamine). Pure Python, no Django: views,
the API and tests call it directly.

How a finding's status is decided -- the worst reason decides:

1. ``contraindicated`` -- a contraindication rule fired. It decides even when other answers are
   missing: nothing that is still unknown could make the modality allowed again.
2. ``needs_info`` -- otherwise, some rule could not be checked because an answer it needs is
   absent. Absent means unknown, never "no" (DESIGN.md §6), so an unanswered question can never
   produce a silent ``eligible``. It ranks above ``caution`` because the unknown answer might
   still turn out to be a contraindication.
3. ``caution`` -- otherwise, a caution rule fired; the prescriber acknowledges cautions when
   signing the screening (DESIGN.md §5).
4. ``eligible`` -- no rule fired; the reasons list is empty.

Every rule is one row of ``RULES``: an id that never changes once released, the modality, the
status it gives, the answers it reads, a sentence for the clinician and the references it rests
on (``[R18]``, written out in ``docs/sources.md``). A reason carries them in readable form
("Ketamine trial criteria [R18]"), the numbers kept so that a machine can still resolve them.
A reason is reported for every rule that fired, plus a ``needs_info`` reason for every rule whose
answers are missing (naming the missing keys). Reasons are listed worst first, then in table order.

Conditions are three-valued (true, false, unknown). A rule that reads two answers joined by "or"
(the blood-pressure reading) fires when either known value is over its limit, and is unknown
only when no known value is over and one is missing.

Figures support software design, not clinical decisions (DOMAIN.md): the clinical thresholds
are clinic settings in ``Thresholds``, whose defaults cite their references.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from typing import Any

from trellis.lib import sources
from trellis.lib.errors import InputError
from trellis.patients.modality import Modality


class Status(StrEnum):
    ELIGIBLE = "eligible"
    CAUTION = "caution"
    NEEDS_INFO = "needs_info"
    CONTRAINDICATED = "contraindicated"


# Severity order; the worst reason decides a finding's status (see the module docstring).
_SEVERITY = {
    Status.ELIGIBLE: 0,
    Status.CAUTION: 1,
    Status.NEEDS_INFO: 2,
    Status.CONTRAINDICATED: 3,
}

IV_KETAMINE = Modality.IV_KETAMINE
ESKETAMINE = Modality.ESKETAMINE
TMS = Modality.TMS
ORAL_KETAMINE = Modality.ORAL_KETAMINE
MODALITIES = (IV_KETAMINE, ESKETAMINE, TMS, ORAL_KETAMINE)
_MODALITY_NAMES = {
    IV_KETAMINE: "IV ketamine",
    ESKETAMINE: "esketamine",
    TMS: "TMS",
    ORAL_KETAMINE: "oral or sublingual ketamine",
}


# --- Clinic settings ---------------------------------------------------------------------------


def _is_number(value: object) -> bool:
    """A real int or float (never a bool, which Python counts as an int), and finite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


_WHOLE_NUMBER_THRESHOLDS = (
    "bp_systolic_caution",
    "bp_diastolic_caution",
    "minimum_age",
    "min_failed_trials",
)


@dataclass(frozen=True)
class Thresholds:
    """Clinic-configurable values used by the rules; the defaults are the cited values."""

    # Pre-dose BP above 140/90 is the esketamine label's "general guide" for weighing a delay
    # (DOMAIN.md §2.2 [R16, R22]). Used for IV ketamine too, which also raises BP (§1.2 [R6, R7]).
    bp_systolic_caution: int = 140
    bp_diastolic_caution: int = 90
    # Ketamine trials excluded more than 3 mg/day lorazepam-equivalent (DOMAIN.md §1.5 [R18]).
    lorazepam_eq_max_mg_per_day: float = 3.0
    # Esketamine is not approved under 18 years (DOMAIN.md §1.5 [R16, R19]); the IV ketamine
    # protocols Trellis supports are adult protocols.
    minimum_age: int = 18
    # TRD = inadequate response to >= 2 antidepressants of adequate dose and duration in the
    # current episode (DOMAIN.md §4 [R61]); 6 weeks is the adequate duration DESIGN.md §6 sets
    # as the clinic default (payer criteria also use >= 6 weeks per trial, §6 [R37]).
    adequacy_weeks: float = 6
    min_failed_trials: int = 2

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in _WHOLE_NUMBER_THRESHOLDS:
                valid, kind = type(value) is int, "a whole number"
            else:
                valid, kind = _is_number(value), "a number"
            if not valid or value <= 0:
                raise InputError(f"thresholds.{item.name}", f"must be {kind} greater than 0")


DEFAULT_THRESHOLDS = Thresholds()


# --- Input vocabulary (DESIGN.md §6) -----------------------------------------------------------

BOOLEAN_ANSWERS = (
    "pregnant",
    "breastfeeding",
    "mania_current",
    "ketamine_misuse",
    "hypertension_uncontrolled",
    "aneurysmal_vascular_disease",
    "arteriovenous_malformation",
    "intracerebral_hemorrhage",
    "ketamine_hypersensitivity",
    "head_metal_implant",
    "cochlear_implant",
    "implanted_neurostimulator",
    "cardiac_device",
    "seizure_history",
    "maoi_or_psychostimulant",
)
CHOICE_ANSWERS = {
    "psychosis": ("none", "past", "current"),
    "substance_use_disorder": ("none", "past", "current"),
}
# Plausible screening readings in mmHg; anything outside is a typing error, not a patient.
BP_RANGES = {"bp_systolic": (50, 300), "bp_diastolic": (20, 200)}
BENZODIAZEPINE_MAX_MG = 100
ANSWER_KEYS = (
    *BOOLEAN_ANSWERS,
    *CHOICE_ANSWERS,
    *BP_RANGES,
    "benzodiazepine_mg_lorazepam_eq",
)

# The screening answers in plain words: the one place they are worded, for the intake form's
# questions, the screening page's answers and the eligibility reasons.
ANSWER_LABELS: dict[str, str] = {
    "pregnant": "Pregnant",
    "breastfeeding": "Breastfeeding",
    "psychosis": "Psychotic disorder or schizophrenia",
    "mania_current": "Current mania or hypomania",
    "substance_use_disorder": "Substance use disorder",
    "ketamine_misuse": "History of ketamine or PCP misuse",
    "bp_systolic": "Screening blood pressure, systolic (mmHg)",
    "bp_diastolic": "Screening blood pressure, diastolic (mmHg)",
    "hypertension_uncontrolled": "Uncontrolled hypertension",
    "aneurysmal_vascular_disease": "Aneurysmal vascular disease (aortic, intracranial, peripheral)",
    "arteriovenous_malformation": "Arteriovenous malformation",
    "intracerebral_hemorrhage": "History of intracerebral haemorrhage",
    "ketamine_hypersensitivity": "Hypersensitivity to ketamine or esketamine",
    "benzodiazepine_mg_lorazepam_eq": "Benzodiazepines, mg/day lorazepam equivalent",
    "maoi_or_psychostimulant": "Taking an MAOI or a psychostimulant",
    "head_metal_implant": "Metal implant in or near the head (within 30 cm of the coil)",
    "cochlear_implant": "Cochlear implant",
    "implanted_neurostimulator": "Implanted neurostimulator (DBS, VNS)",
    "cardiac_device": "Pacemaker or implanted defibrillator",
    "seizure_history": "History of seizures",
}
# What the rules read besides the answers.
_FACT_LABELS = {
    "age": "Age",
    "trd": "Treatment resistance (antidepressant trials)",
}
_BP_LABEL = "Screening blood pressure"


def answer_label(key: str) -> str:
    """The plain-language name of an answer key or fact, e.g. "History of seizures"."""
    return ANSWER_LABELS.get(key) or _FACT_LABELS.get(key) or key.replace("_", " ").capitalize()


def rule_label(rule_id: str) -> str:
    """What a rule looks at, in plain words: the names of the answers it reads ("Metal implant
    in or near the head …"; the two blood-pressure readings as one). Unknown ids as given."""
    rule = _RULES_BY_ID.get(rule_id)
    if rule is None:
        return rule_id
    keys = list(dict.fromkeys(rule.when.keys))
    if {"bp_systolic", "bp_diastolic"} <= set(keys):
        keys = [k for k in keys if k not in ("bp_systolic", "bp_diastolic")]
        return "; ".join([_BP_LABEL, *(answer_label(k) for k in keys)])
    return "; ".join(answer_label(k) for k in keys)


_NOT_ANSWERED = re.compile(r"\b([a-z_]+) \(not answered\)")


def plain_message(message: str) -> str:
    """A stored reason's sentence with any raw answer key named in words: screenings evaluated
    before the labels existed said "seizure_history (not answered)"."""
    return _NOT_ANSWERED.sub(
        lambda m: f"{ANSWER_LABELS.get(m.group(1), m.group(1))} (not answered)", message
    )


TRIAL_FIELDS = ("drug", "weeks", "adequate_dose", "outcome")
TRIAL_OUTCOMES = ("inadequate_response", "intolerance", "response")
MAX_TRIAL_WEEKS = 520  # ten years
MAX_DRUG_NAME = 100


def _shown(value: object) -> str:
    """The value as the client sent it (JSON spelling), cut short for the error message."""
    text = json.dumps(value, default=repr)
    return text if len(text) <= 40 else text[:37] + "..."


def validate_answers(answers: object) -> None:
    """Raise ``InputError`` naming the field unless ``answers`` matches DESIGN.md §6 exactly.

    Every key is optional (absent = unknown). ``null`` is refused rather than read as unknown:
    leave the key out instead, so that there is one way to say "not known".
    """
    if not isinstance(answers, Mapping):
        raise InputError("answers", "must be an object of screening answers")
    for key, value in answers.items():
        if key not in ANSWER_KEYS:
            raise InputError(
                f"answers.{key}",
                "is not a screening question; the questions are " + ", ".join(ANSWER_KEYS),
            )
        _validate_answer(key, value)
    systolic, diastolic = answers.get("bp_systolic"), answers.get("bp_diastolic")
    if systolic is not None and diastolic is not None and systolic <= diastolic:
        raise InputError(
            "answers.bp_systolic",
            f"must be greater than bp_diastolic (got {systolic}/{diastolic})",
        )


def _validate_answer(key: str, value: object) -> None:
    field = f"answers.{key}"
    if value is None:
        raise InputError(field, "must not be null; leave the question out when it is unknown")
    if key in BOOLEAN_ANSWERS:
        if type(value) is not bool:
            raise InputError(field, f"must be true or false (got {_shown(value)})")
    elif key in CHOICE_ANSWERS:
        allowed = CHOICE_ANSWERS[key]
        if not isinstance(value, str) or value not in allowed:
            raise InputError(field, f"must be one of {', '.join(allowed)} (got {_shown(value)})")
    elif key in BP_RANGES:
        low, high = BP_RANGES[key]
        if type(value) is not int or not low <= value <= high:
            raise InputError(
                field, f"must be a whole number of mmHg from {low} to {high} (got {_shown(value)})"
            )
    elif not _is_number(value) or not 0 <= value <= BENZODIAZEPINE_MAX_MG:
        raise InputError(
            field,
            f"must be a number of mg/day from 0 to {BENZODIAZEPINE_MAX_MG} (got {_shown(value)})",
        )


def validate_trials(trials: object) -> None:
    """Raise ``InputError`` naming the field (``trials[1].weeks``; 0-based) unless ``trials``
    is a list of complete trials as in DESIGN.md §6. An empty list is valid: no trials recorded.
    """
    if not isinstance(trials, list | tuple):
        raise InputError("trials", "must be a list of antidepressant trials (it may be empty)")
    for index, trial in enumerate(trials):
        where = f"trials[{index}]"
        if not isinstance(trial, Mapping):
            raise InputError(where, "must be an object with " + ", ".join(TRIAL_FIELDS))
        for key in trial:
            if key not in TRIAL_FIELDS:
                raise InputError(
                    f"{where}.{key}",
                    "is not a trial field; the fields are " + ", ".join(TRIAL_FIELDS),
                )
        for key in TRIAL_FIELDS:
            if key not in trial:
                raise InputError(f"{where}.{key}", "is required")
        drug = trial["drug"]
        if not isinstance(drug, str) or not drug.strip() or len(drug) > MAX_DRUG_NAME:
            raise InputError(
                f"{where}.drug",
                f"must be the drug's name, 1 to {MAX_DRUG_NAME} characters (got {_shown(drug)})",
            )
        weeks = trial["weeks"]
        if not _is_number(weeks) or not 0 <= weeks <= MAX_TRIAL_WEEKS:
            raise InputError(
                f"{where}.weeks",
                f"must be a number of weeks from 0 to {MAX_TRIAL_WEEKS} (got {_shown(weeks)})",
            )
        if type(trial["adequate_dose"]) is not bool:
            raise InputError(
                f"{where}.adequate_dose",
                f"must be true or false (got {_shown(trial['adequate_dose'])})",
            )
        outcome = trial["outcome"]
        if not isinstance(outcome, str) or outcome not in TRIAL_OUTCOMES:
            raise InputError(
                f"{where}.outcome",
                f"must be one of {', '.join(TRIAL_OUTCOMES)} (got {_shown(outcome)})",
            )


def _validate_age(age: object) -> None:
    if age is not None and (type(age) is not int or not 0 <= age <= 150):
        raise InputError(
            "age", f"must be whole years from 0 to 150, or unknown (got {_shown(age)})"
        )


# --- Treatment resistance ----------------------------------------------------------------------


def _failed_antidepressants(trials: Sequence[Mapping[str, Any]], thresholds: Thresholds) -> int:
    """Distinct antidepressants that failed an adequate trial (adequate dose, long enough,
    inadequate response) [R61]. Counted per drug, not per trial: the definition is ">= 2
    antidepressants", so repeating the same drug does not make a second failure. Intolerance is
    not a failure of response. Names are compared ignoring case and spacing only; brand and
    generic names of one drug are not recognised as the same drug. The screening is treatment
    resistant when the count reaches ``min_failed_trials``; no trials recorded means not resistant.
    """
    return len(failed_antidepressants(trials, thresholds))


def failed_antidepressants(
    trials: Sequence[Mapping[str, Any]], thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> list[str]:
    """The distinct drugs that failed an adequate trial, as ``_failed_antidepressants`` counts
    them (first spelling kept, in the order given): the evidence a payer's criteria cite."""
    found: dict[str, str] = {}
    for trial in trials:
        if (
            trial["adequate_dose"] is True
            and trial["weeks"] >= thresholds.adequacy_weeks
            and trial["outcome"] == "inadequate_response"
        ):
            found.setdefault(" ".join(trial["drug"].split()).casefold(), trial["drug"].strip())
    return list(found.values())


# --- Conditions --------------------------------------------------------------------------------

Facts = Mapping[str, Any]  # the answers, plus "age" when known and "trd" (always known)


@dataclass(frozen=True)
class Condition:
    """A test on the facts that is true, false, or None when an answer it reads is missing."""

    keys: tuple[str, ...]
    test: Callable[[Facts, Thresholds], bool | None]


def _fact(key: str, predicate: Callable[[Any, Thresholds], bool]) -> Condition:
    def test(facts: Facts, thresholds: Thresholds) -> bool | None:
        return predicate(facts[key], thresholds) if key in facts else None

    return Condition((key,), test)


def yes(key: str) -> Condition:
    """The answer to ``key`` is true."""
    return _fact(key, lambda value, _: value is True)


def answered(key: str, *values: str) -> Condition:
    """The answer to ``key`` is one of ``values``."""
    return _fact(key, lambda value, _: value in values)


def above(key: str, threshold: str) -> Condition:
    """The answer to ``key`` is strictly above the clinic setting named ``threshold``."""
    return _fact(key, lambda value, thresholds: value > getattr(thresholds, threshold))


def below(key: str, threshold: str) -> Condition:
    """The fact ``key`` is strictly below the clinic setting named ``threshold``."""
    return _fact(key, lambda value, thresholds: value < getattr(thresholds, threshold))


def either(*conditions: Condition) -> Condition:
    """Three-valued "or": true if any part is true, else unknown if any part is unknown."""

    def test(facts: Facts, thresholds: Thresholds) -> bool | None:
        results = [condition.test(facts, thresholds) for condition in conditions]
        if any(result is True for result in results):
            return True
        if any(result is None for result in results):
            return None
        return False

    return Condition(tuple(key for condition in conditions for key in condition.keys), test)


NOT_TREATMENT_RESISTANT = _fact("trd", lambda trd, _: not trd)
AGE_UNDER_MINIMUM = below("age", "minimum_age")
BP_ABOVE_GUIDE = either(
    above("bp_systolic", "bp_systolic_caution"),
    above("bp_diastolic", "bp_diastolic_caution"),
)


# --- The rules ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One row of the rule table.

    ``finding`` names what the rule looks for ("pregnancy"); it is used in the needs_info
    sentence when the rule's answer is missing. ``message`` is the sentence shown when the rule
    fires. Both may use {placeholders}: any answer key, ``age``, any ``Thresholds`` field,
    ``bp`` (the reading as "152/88", "?" for a missing value) and ``failed_trials``.
    """

    id: str
    modality: str
    status: Status
    when: Condition
    finding: str
    message: str
    source: str  # the references, "[R16, R19]"


CONTRAINDICATED = Status.CONTRAINDICATED
CAUTION = Status.CAUTION

_TABLE: tuple[Rule, ...] = (
    # --- IV ketamine: off-label; screening from trial exclusions and the ketamine label [R18] ---
    Rule(
        id="ivk.psychosis_current",
        modality=IV_KETAMINE,
        status=CONTRAINDICATED,
        when=answered("psychosis", "current"),
        finding="current psychosis",
        message="Current psychosis; ketamine trials exclude patients with current psychosis "
        "or mania.",
        source="[R18]",
    ),
    Rule(
        id="ivk.mania_current",
        modality=IV_KETAMINE,
        status=CONTRAINDICATED,
        when=yes("mania_current"),
        finding="current mania",
        message="Current mania; ketamine trials exclude patients with current psychosis or mania.",
        source="[R18]",
    ),
    Rule(
        id="ivk.substance_use_current",
        modality=IV_KETAMINE,
        status=CONTRAINDICATED,
        when=answered("substance_use_disorder", "current"),
        finding="a current substance use disorder",
        message="Current substance use disorder; ketamine trials exclude patients with more than "
        "rare ketamine, PCP or opioid use.",
        source="[R18]",
    ),
    Rule(
        id="ivk.ketamine_misuse",
        modality=IV_KETAMINE,
        status=CONTRAINDICATED,
        when=yes("ketamine_misuse"),
        finding="a history of ketamine or PCP misuse",
        message="History of ketamine or PCP misuse; ketamine trials exclude it, and recurrent "
        "ketamine use can harm the bladder and liver.",
        source="[R10, R18]",
    ),
    Rule(
        id="ivk.pregnancy",
        modality=IV_KETAMINE,
        status=CONTRAINDICATED,
        when=yes("pregnant"),
        finding="pregnancy",
        message="The patient is pregnant; ketamine trials exclude pregnancy, and the esketamine "
        "label advises avoiding it in pregnancy.",
        source="[R16, R18, R19]",
    ),
    Rule(
        id="ivk.breastfeeding",
        modality=IV_KETAMINE,
        status=CONTRAINDICATED,
        when=yes("breastfeeding"),
        finding="breastfeeding",
        message="The patient is breastfeeding; ketamine trials exclude lactation, and the "
        "esketamine label advises against breastfeeding.",
        source="[R16, R18, R19]",
    ),
    Rule(
        id="ivk.hypertension_uncontrolled",
        modality=IV_KETAMINE,
        status=CONTRAINDICATED,
        when=yes("hypertension_uncontrolled"),
        finding="uncontrolled hypertension",
        message="Uncontrolled hypertension; the ketamine label contraindicates ketamine where a "
        "significant rise in blood pressure would be a serious hazard.",
        source="[R10, R17, R18]",
    ),
    Rule(
        # The answer covers ketamine and esketamine (DESIGN.md §6); the ketamine label lists
        # anaphylaxis [R10] and the esketamine label contraindicates hypersensitivity [R16].
        id="ivk.hypersensitivity",
        modality=IV_KETAMINE,
        status=CONTRAINDICATED,
        when=yes("ketamine_hypersensitivity"),
        finding="hypersensitivity to ketamine or esketamine",
        message="Known hypersensitivity to ketamine or esketamine.",
        source="[R10, R16, R19]",
    ),
    Rule(
        # DOMAIN.md gives no age limit for IV ketamine itself; the esketamine label's limit is
        # applied by analogy (§1.5 lists it among the esketamine analogues).
        id="ivk.age_under_minimum",
        modality=IV_KETAMINE,
        status=CONTRAINDICATED,
        when=AGE_UNDER_MINIMUM,
        finding="age under {minimum_age}",
        message="The patient is {age}; IV ketamine protocols are for adults aged {minimum_age} "
        "or over.",
        source="[R16, R19]",
    ),
    Rule(
        # Conservative: trials exclude current psychosis; a past episode is not an exclusion
        # there but is a risk a prescriber should weigh.
        id="ivk.psychosis_past",
        modality=IV_KETAMINE,
        status=CAUTION,
        when=answered("psychosis", "past"),
        finding="past psychosis",
        message="History of psychosis; ketamine trials exclude current psychosis and the "
        "esketamine label asks for careful assessment, so weigh the risk of relapse.",
        source="[R16, R18, R19]",
    ),
    Rule(
        id="ivk.substance_use_past",
        modality=IV_KETAMINE,
        status=CAUTION,
        when=answered("substance_use_disorder", "past"),
        finding="a past substance use disorder",
        message="Past substance use disorder; ketamine trials exclude more than rare ketamine, "
        "PCP or opioid use, so weigh the risk of relapse and misuse.",
        source="[R18]",
    ),
    Rule(
        # Contraindications on the esketamine label; for IV ketamine DOMAIN.md lists them as
        # analogues, and the ketamine label warns where a BP rise is a serious hazard.
        id="ivk.aneurysmal_vascular_disease",
        modality=IV_KETAMINE,
        status=CAUTION,
        when=yes("aneurysmal_vascular_disease"),
        finding="aneurysmal vascular disease",
        message="Aneurysmal vascular disease; ketamine raises blood pressure and the esketamine "
        "label contraindicates it, so weigh the risk of a blood-pressure rise.",
        source="[R10, R16, R17, R19]",
    ),
    Rule(
        id="ivk.arteriovenous_malformation",
        modality=IV_KETAMINE,
        status=CAUTION,
        when=yes("arteriovenous_malformation"),
        finding="an arteriovenous malformation",
        message="Arteriovenous malformation; ketamine raises blood pressure and the esketamine "
        "label contraindicates it, so weigh the risk of a blood-pressure rise.",
        source="[R10, R16, R17, R19]",
    ),
    Rule(
        id="ivk.intracerebral_hemorrhage",
        modality=IV_KETAMINE,
        status=CAUTION,
        when=yes("intracerebral_hemorrhage"),
        finding="a history of intracerebral hemorrhage",
        message="History of intracerebral hemorrhage; ketamine raises blood pressure and the "
        "esketamine label contraindicates it, so weigh the risk of a blood-pressure rise.",
        source="[R10, R16, R17, R19]",
    ),
    Rule(
        id="ivk.benzodiazepine_above_max",
        modality=IV_KETAMINE,
        status=CAUTION,
        when=above("benzodiazepine_mg_lorazepam_eq", "lorazepam_eq_max_mg_per_day"),
        finding="a benzodiazepine dose above {lorazepam_eq_max_mg_per_day:g} mg/day "
        "lorazepam-equivalent",
        message="Benzodiazepine dose of {benzodiazepine_mg_lorazepam_eq:g} mg/day "
        "lorazepam-equivalent is above {lorazepam_eq_max_mg_per_day:g} mg/day, the limit used "
        "in ketamine trials.",
        source="[R18]",
    ),
    Rule(
        # Not in the brief's list: added as the conservative choice, because DOMAIN.md is silent
        # on a screening reading for IV ketamine while ketamine raises BP, more so in
        # hypertension (§1.2). The esketamine guide is used as the threshold.
        id="ivk.blood_pressure_above_guide",
        modality=IV_KETAMINE,
        status=CAUTION,
        when=BP_ABOVE_GUIDE,
        finding="a screening blood pressure above {bp_systolic_caution}/{bp_diastolic_caution} "
        "mmHg",
        message="Screening blood pressure {bp} mmHg is above {bp_systolic_caution}/"
        "{bp_diastolic_caution}; ketamine raises blood pressure during the infusion, more so in "
        "hypertension, so recheck it before infusing.",
        source="[R6, R7, R16, R22]",
    ),
    Rule(
        id="ivk.not_treatment_resistant",
        modality=IV_KETAMINE,
        status=CAUTION,
        when=NOT_TREATMENT_RESISTANT,
        finding="treatment resistance",
        message="Not treatment-resistant on the recorded trials ({failed_trials} of "
        "{min_failed_trials} antidepressants failed at an adequate dose for at least "
        "{adequacy_weeks:g} weeks); the evidence for IV ketamine is in treatment-resistant "
        "depression, and it is off-label and mostly self-pay.",
        source="[R4, R61, R73]",
    ),
    # --- Esketamine (Spravato): US label and REMS [R16, R19, R22] -----------------------------
    Rule(
        id="esk.aneurysmal_vascular_disease",
        modality=ESKETAMINE,
        status=CONTRAINDICATED,
        when=yes("aneurysmal_vascular_disease"),
        finding="aneurysmal vascular disease",
        message="Aneurysmal vascular disease (thoracic or abdominal aorta, intracranial or "
        "peripheral arteries) contraindicates esketamine.",
        source="[R16, R19]",
    ),
    Rule(
        id="esk.arteriovenous_malformation",
        modality=ESKETAMINE,
        status=CONTRAINDICATED,
        when=yes("arteriovenous_malformation"),
        finding="an arteriovenous malformation",
        message="Arteriovenous malformation contraindicates esketamine.",
        source="[R16, R19]",
    ),
    Rule(
        id="esk.intracerebral_hemorrhage",
        modality=ESKETAMINE,
        status=CONTRAINDICATED,
        when=yes("intracerebral_hemorrhage"),
        finding="a history of intracerebral hemorrhage",
        message="A history of intracerebral hemorrhage contraindicates esketamine.",
        source="[R16, R19]",
    ),
    Rule(
        id="esk.hypersensitivity",
        modality=ESKETAMINE,
        status=CONTRAINDICATED,
        when=yes("ketamine_hypersensitivity"),
        finding="hypersensitivity to ketamine or esketamine",
        message="Known hypersensitivity to ketamine or esketamine contraindicates esketamine.",
        source="[R16, R19]",
    ),
    Rule(
        id="esk.age_under_minimum",
        modality=ESKETAMINE,
        status=CONTRAINDICATED,
        when=AGE_UNDER_MINIMUM,
        finding="age under {minimum_age}",
        message="The patient is {age}; esketamine is not approved under {minimum_age} years.",
        source="[R16, R19]",
    ),
    Rule(
        id="esk.pregnancy",
        modality=ESKETAMINE,
        status=CONTRAINDICATED,
        when=yes("pregnant"),
        finding="pregnancy",
        message="The patient is pregnant; the esketamine label advises avoiding it in pregnancy.",
        source="[R16, R19]",
    ),
    Rule(
        id="esk.breastfeeding",
        modality=ESKETAMINE,
        status=CONTRAINDICATED,
        when=yes("breastfeeding"),
        finding="breastfeeding",
        message="The patient is breastfeeding; the esketamine label advises against "
        "breastfeeding during treatment.",
        source="[R16, R19]",
    ),
    Rule(
        # The label does not list psychosis as a contraindication; it asks for careful
        # assessment [R16, R19]. DOMAIN.md leaves the status open, so we take the conservative
        # choice: the same drug family's trials exclude current psychosis or mania [R18], so
        # current psychosis (and mania, below) contraindicates, exactly as for IV ketamine.
        # A prescriber can still go ahead through a course override with a written reason
        # (DESIGN.md §5). A past episode is a caution.
        id="esk.psychosis_current",
        modality=ESKETAMINE,
        status=CONTRAINDICATED,
        when=answered("psychosis", "current"),
        finding="current psychosis",
        message="Current psychosis; the esketamine label asks for careful assessment of "
        "psychosis and ketamine trials exclude current psychosis, so do not start without a "
        "prescriber's documented override.",
        source="[R16, R18, R19]",
    ),
    Rule(
        id="esk.mania_current",
        modality=ESKETAMINE,
        status=CONTRAINDICATED,
        when=yes("mania_current"),
        finding="current mania",
        message="Current mania; ketamine trials exclude current psychosis or mania, so do not "
        "start esketamine without a prescriber's documented override.",
        source="[R18]",
    ),
    Rule(
        id="esk.psychosis_past",
        modality=ESKETAMINE,
        status=CAUTION,
        when=answered("psychosis", "past"),
        finding="past psychosis",
        message="History of psychosis; the esketamine label asks for careful assessment of "
        "patients with psychosis.",
        source="[R16, R19]",
    ),
    Rule(
        id="esk.blood_pressure_above_guide",
        modality=ESKETAMINE,
        status=CAUTION,
        when=BP_ABOVE_GUIDE,
        finding="a screening blood pressure above {bp_systolic_caution}/{bp_diastolic_caution} "
        "mmHg",
        message="Screening blood pressure {bp} mmHg is above the {bp_systolic_caution}/"
        "{bp_diastolic_caution} general guide; esketamine raises blood pressure for about "
        "4 hours, so weigh delaying treatment.",
        source="[R16, R22]",
    ),
    Rule(
        # Not in the brief's list: added as the conservative choice. The label's BP warnings
        # (§2.2) apply all the more when hypertension is known to be uncontrolled.
        id="esk.hypertension_uncontrolled",
        modality=ESKETAMINE,
        status=CAUTION,
        when=yes("hypertension_uncontrolled"),
        finding="uncontrolled hypertension",
        message="Uncontrolled hypertension; esketamine raises blood pressure (in 8-19% of "
        "patients by 40 mmHg systolic or 25 mmHg diastolic or more), so weigh delaying "
        "treatment until it is controlled.",
        source="[R16, R19, R22]",
    ),
    Rule(
        id="esk.maoi_or_psychostimulant",
        modality=ESKETAMINE,
        status=CAUTION,
        when=yes("maoi_or_psychostimulant"),
        finding="an MAOI or psychostimulant",
        message="Takes an MAOI or psychostimulant; with esketamine these can raise blood "
        "pressure further, so monitor it closely (and record them on the REMS monitoring "
        "form).",
        source="[R16, R19, R30]",
    ),
    Rule(
        # Esketamine is Schedule III and given only under REMS supervision because of its
        # potential for misuse (DOMAIN.md §2, §2.3).
        id="esk.substance_use_disorder",
        modality=ESKETAMINE,
        status=CAUTION,
        when=answered("substance_use_disorder", "past", "current"),
        finding="a substance use disorder (past or current)",
        message="Substance use disorder ({substance_use_disorder}); esketamine is a Schedule "
        "III drug given only under REMS supervision, so weigh the risk of misuse.",
        source="[R18, R28]",
    ),
    Rule(
        # Not in the brief's list: added as the conservative choice. Misuse of ketamine or PCP
        # is a trial exclusion for ketamine [R18]; esketamine is the same kind of drug.
        id="esk.ketamine_misuse",
        modality=ESKETAMINE,
        status=CAUTION,
        when=yes("ketamine_misuse"),
        finding="a history of ketamine or PCP misuse",
        message="History of ketamine or PCP misuse; esketamine has the same potential for "
        "misuse, so weigh the risk before treatment.",
        source="[R18, R28]",
    ),
    Rule(
        id="esk.not_treatment_resistant",
        modality=ESKETAMINE,
        status=CAUTION,
        when=NOT_TREATMENT_RESISTANT,
        finding="treatment resistance",
        message="Not treatment-resistant on the recorded trials ({failed_trials} of "
        "{min_failed_trials} antidepressants failed at an adequate dose for at least "
        "{adequacy_weeks:g} weeks); check the indication (TRD, or depression with acute "
        "suicidal ideation) and payer coverage.",
        source="[R22, R23, R61]",
    ),
    # --- TMS [R46, R47] -------------------------------------------------------------------------
    Rule(
        id="tms.head_metal_implant",
        modality=TMS,
        status=CONTRAINDICATED,
        when=yes("head_metal_implant"),
        finding="metal implanted in the head",
        message="Conductive, ferromagnetic or magnet-sensitive metal in the head within 30 cm "
        "of the coil (such as aneurysm clips or coils, stents, fragments) contraindicates TMS.",
        source="[R46]",
    ),
    Rule(
        id="tms.cochlear_implant",
        modality=TMS,
        status=CONTRAINDICATED,
        when=yes("cochlear_implant"),
        finding="a cochlear implant",
        message="A cochlear implant contraindicates TMS.",
        source="[R46]",
    ),
    Rule(
        id="tms.implanted_neurostimulator",
        modality=TMS,
        status=CONTRAINDICATED,
        when=yes("implanted_neurostimulator"),
        finding="an implanted neurostimulator",
        message="An implanted neurostimulator (such as DBS or VNS electrodes) within 30 cm of "
        "the coil contraindicates TMS.",
        source="[R46]",
    ),
    Rule(
        id="tms.cardiac_device",
        modality=TMS,
        status=CAUTION,
        when=yes("cardiac_device"),
        finding="a pacemaker or ICD",
        message='Pacemaker or ICD; sources range from "use with caution" to "not '
        'recommended", so a prescriber decides.',
        source="[R46, R47]",
    ),
    Rule(
        id="tms.seizure_history",
        modality=TMS,
        status=CAUTION,
        when=yes("seizure_history"),
        finding="a history of seizures",
        message="History of seizures; TMS rarely causes a seizure (about 1 in 32,600 sessions) "
        "and a seizure history is decided case by case.",
        source="[R46, R47, R48]",
    ),
    Rule(
        id="tms.not_treatment_resistant",
        modality=TMS,
        status=CAUTION,
        when=NOT_TREATMENT_RESISTANT,
        finding="treatment resistance",
        message="Not treatment-resistant on the recorded trials ({failed_trials} of "
        "{min_failed_trials} antidepressants failed at an adequate dose for at least "
        "{adequacy_weeks:g} weeks); payers usually require failed antidepressant trials "
        "before authorising TMS.",
        source="[R37, R38, R61]",
    ),
)


# --- Oral or sublingual ketamine ---------------------------------------------------------------
# The same drug by another route (oral ~20-25 % bioavailable, so ~2.0-2.5 mg/kg oral is about
# 0.5 mg/kg IV [R81]): DOMAIN.md §9 names no contraindication of its own, so every IV ketamine
# rule applies as it stands, with its sources. Where the IV sentence speaks of the infusion or
# of the IV evidence, the oral sentence says its own, with the sources of §9.
_ORAL_WORDING: dict[str, tuple[str, str]] = {
    "ivk.age_under_minimum": (
        "The patient is {age}; oral and sublingual ketamine are for adults aged {minimum_age} or "
        "over, as for IV ketamine and esketamine, and an at-home monitor must be an adult.",
        "[R16, R19, R85]",
    ),
    "ivk.blood_pressure_above_guide": (
        "Screening blood pressure {bp} mmHg is above {bp_systolic_caution}/"
        "{bp_diastolic_caution}; ketamine raises blood pressure after each dose, more so in "
        "hypertension, so recheck it before dosing.",
        "[R6, R7, R16, R22]",
    ),
    "ivk.not_treatment_resistant": (
        "Not treatment-resistant on the recorded trials ({failed_trials} of "
        "{min_failed_trials} antidepressants failed at an adequate dose for at least "
        "{adequacy_weeks:g} weeks); oral and sublingual ketamine are off-label, the evidence "
        "is low-grade and third-line (CANMAT 2023), reasonable only in select cases of "
        "treatment-resistant depression.",
        "[R81, R84, R86]",
    ),
}


def _oral(rule: Rule) -> Rule:
    message, source = _ORAL_WORDING.get(rule.id, (rule.message, rule.source))
    return replace(
        rule,
        id="oral." + rule.id.removeprefix("ivk."),
        modality=ORAL_KETAMINE,
        message=message,
        source=source,
    )


RULES: tuple[Rule, ...] = (
    *_TABLE,
    *(_oral(rule) for rule in _TABLE if rule.modality == IV_KETAMINE),
)
_RULES_BY_ID = {rule.id: rule for rule in RULES}


# --- Results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    rule: str
    status: Status
    message: str
    source: str

    def as_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "status": self.status.value,
            "message": self.message,
            "source": self.source,
        }


@dataclass(frozen=True)
class Finding:
    status: Status
    reasons: tuple[Reason, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status.value, "reasons": [r.as_dict() for r in self.reasons]}


@dataclass(frozen=True)
class ScreeningResult:
    trd: bool
    findings: Mapping[str, Finding]  # keyed by modality, in MODALITIES order

    def as_dict(self) -> dict[str, Any]:
        """The API shape (DESIGN.md §5): {trd, findings: {modality: {status, reasons}}}."""
        return {
            "trd": self.trd,
            "findings": {modality: f.as_dict() for modality, f in self.findings.items()},
        }


# --- The engine --------------------------------------------------------------------------------


def evaluate(
    answers: Mapping[str, Any],
    trials: Sequence[Mapping[str, Any]],
    age: int | None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> ScreeningResult:
    """Check every rule against one screening; raise ``InputError`` on invalid input."""
    validate_answers(answers)
    validate_trials(trials)
    _validate_age(age)

    failed_trials = _failed_antidepressants(trials, thresholds)
    trd = failed_trials >= thresholds.min_failed_trials
    facts: dict[str, Any] = {**answers, "trd": trd}
    if age is not None:
        facts["age"] = age
    context = {
        **asdict(thresholds),
        **facts,
        "bp": f"{answers.get('bp_systolic', '?')}/{answers.get('bp_diastolic', '?')}",
        "failed_trials": failed_trials,
    }

    reasons: dict[str, list[Reason]] = {modality: [] for modality in MODALITIES}
    for rule in RULES:
        reason = _check(rule, facts, thresholds, context)
        if reason is not None:
            reasons[rule.modality].append(reason)
    return ScreeningResult(
        trd=trd,
        findings={modality: _finding(reasons[modality]) for modality in MODALITIES},
    )


def _check(
    rule: Rule, facts: Facts, thresholds: Thresholds, context: Mapping[str, Any]
) -> Reason | None:
    result = rule.when.test(facts, thresholds)
    if result is None:
        return Reason(
            rule.id,
            Status.NEEDS_INFO,
            _needs_info_message(rule, facts, context),
            sources.readable(rule.source),
        )
    if result:
        return Reason(
            rule.id, rule.status, rule.message.format_map(context), sources.readable(rule.source)
        )
    return None


def _needs_info_message(rule: Rule, facts: Facts, context: Mapping[str, Any]) -> str:
    missing = [
        "age (no birth date recorded)" if key == "age" else f"{answer_label(key)} (not answered)"
        for key in rule.when.keys
        if key not in facts
    ]
    finding = rule.finding.format_map(context)
    effect = (
        "contraindicates" if rule.status is Status.CONTRAINDICATED else ("calls for caution with")
    )
    return (
        f"Unknown: {', '.join(missing)}. {finding[0].upper()}{finding[1:]} {effect} "
        f"{_MODALITY_NAMES[rule.modality]}, so this must be known before eligibility is decided."
    )


def _finding(reasons: list[Reason]) -> Finding:
    """The worst reason decides; reasons are listed worst first, then in table order."""
    ordered = tuple(sorted(reasons, key=lambda reason: -_SEVERITY[reason.status]))
    status = ordered[0].status if ordered else Status.ELIGIBLE
    return Finding(status=status, reasons=ordered)
