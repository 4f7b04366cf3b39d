"""The check-in a patient answers a day and three days after a dosing session, and the rules
that turn an answer into a safety alert. Pure: no Django, tested against the table below.

Integration follows a dosing session "within 24–72 hours" [R110]; the check-in asks how the
patient is (mood, sleep, side effects) and, in the same words every time, whether they have had
any thoughts of harming themselves. A yes is never left for the next visit: it raises an urgent
alert in the transaction that saves the answer and the patient sees 988 and 911 at once
[R116], as a PHQ-9 item 9 above 0 does [R51].

The mood scale (0 = worst, 10 = best) is a single self-rating, not a validated instrument: no
published cut-off exists for it, so the floor and the fall that raise an alert are clinic
settings (``checkin_mood_floor``, ``checkin_mood_drop``), defaults conservative.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from trellis.lib.errors import InputError

MOOD_MIN = 0
MOOD_MAX = 10

# How the patient slept last night, best first; the stored value is the index.
SLEEP_OPTIONS: tuple[str, ...] = (
    "Well",
    "Some trouble sleeping",
    "Badly",
    "Hardly at all",
)

# Side effects a patient may notice in the days after ketamine or esketamine [R10, R22].
SIDE_EFFECTS: dict[str, str] = {
    "nausea": "Nausea or being sick",
    "headache": "Headache",
    "dizziness": "Dizziness",
    "dissociation": "Still feeling unreal or disconnected",
    "drowsiness": "Unusual sleepiness",
    "bladder": "Passing urine more often or more urgently, or pain or burning when you do",
    "bladder_blood": "Blood in your urine, or pain low in your belly",
    "anxiety": "Feeling anxious or on edge",
    "other": "Something else",
}

# Home check-ins: one every HOME_EVERY_DAYS days of an at-home oral ketamine supply, at
# HOME_HOUR of the clinic's day. Clinic policy, not evidence: DOMAIN.md §9 asks for a treatment
# plan with periodic contact and a watch for misuse [R86, R87] but names no interval, and the
# 24–72 h integration window [R110] follows a supervised session whose time is known, which a
# dose at home is not. Weekly is Trellis's default.
HOME_EVERY_DAYS = 7
HOME_HOUR = 10

# The side effects that are bladder and urinary symptoms [R90, R10], and the ketamine-cystitis
# symptoms (``treatments.urinary.SYMPTOMS``) each one stands for: a yes after oral ketamine
# raises the bladder alert, high for blood or bladder pain as the follow-up's questions do.
BLADDER_SIDE_EFFECTS: dict[str, tuple[str, ...]] = {
    "bladder": ("frequency", "urgency", "dysuria"),
    "bladder_blood": ("haematuria", "bladder_pain"),
}

HARM_QUESTION = "Since your treatment, have you had any thoughts of harming yourself?"


class Rule(StrEnum):
    """Why a check-in raised an alert; each row of ``RULES`` names one."""

    HARM_THOUGHTS = "harm_thoughts"
    MOOD_FLOOR = "mood_floor"
    MOOD_DROP = "mood_drop"


@dataclass(frozen=True)
class RuleDef:
    rule: Rule
    severity: str  # safety AlertSeverity value
    says: str
    source: str


RULES: dict[Rule, RuleDef] = {
    r.rule: r
    for r in (
        RuleDef(
            Rule.HARM_THOUGHTS,
            "urgent",
            "Answered yes to thoughts of harming themselves",
            "Any thought of self-harm needs follow-up now [R51]; 988 and 911 shown [R116]",
        ),
        RuleDef(
            Rule.MOOD_FLOOR,
            "high",
            "Mood at or below the clinic's floor",
            "Clinic setting checkin_mood_floor; no published cut-off for a 0–10 mood rating",
        ),
        RuleDef(
            Rule.MOOD_DROP,
            "high",
            "Mood fell past the clinic's threshold since the last check-in",
            "Clinic setting checkin_mood_drop; no published cut-off for a 0–10 mood rating",
        ),
    )
}


@dataclass(frozen=True)
class Thresholds:
    mood_floor: int  # alert at a mood of this or lower
    mood_drop: int  # alert when mood falls by this much or more since the last check-in


@dataclass(frozen=True)
class Answers:
    mood: int
    sleep: int
    side_effects: tuple[str, ...]
    harm_thoughts: bool


@dataclass(frozen=True)
class Finding:
    rule: Rule
    severity: str
    says: str


def clean(mood, sleep, side_effects, harm_thoughts) -> Answers:
    """Checked answers; raises InputError naming ``mood``, ``sleep``, ``side_effects`` or
    ``harm_thoughts``. The harm question has no default: it must be answered yes or no."""
    if isinstance(mood, bool) or not isinstance(mood, int) or not MOOD_MIN <= mood <= MOOD_MAX:
        raise InputError("mood", f"choose a number from {MOOD_MIN} to {MOOD_MAX}")
    if isinstance(sleep, bool) or not isinstance(sleep, int) or not 0 <= sleep < len(SLEEP_OPTIONS):
        raise InputError("sleep", "choose how you slept")
    if isinstance(side_effects, str):
        raise InputError("side_effects", "must be a list")
    effects = tuple(dict.fromkeys(side_effects or ()))
    unknown = [e for e in effects if e not in SIDE_EFFECTS]
    if unknown:
        raise InputError("side_effects", f"unknown side effect {unknown[0]!r}")
    if not isinstance(harm_thoughts, bool):
        raise InputError("harm_thoughts", "answer yes or no")
    return Answers(mood, sleep, effects, harm_thoughts)


def evaluate(answers: Answers, previous_mood: int | None, thresholds: Thresholds) -> list[Finding]:
    """The rules this check-in meets, most urgent first. ``previous_mood`` is the mood of the
    patient's last answered check-in (None for the first)."""
    met: list[Rule] = []
    if answers.harm_thoughts:
        met.append(Rule.HARM_THOUGHTS)
    if answers.mood <= thresholds.mood_floor:
        met.append(Rule.MOOD_FLOOR)
    elif previous_mood is not None and previous_mood - answers.mood >= thresholds.mood_drop:
        met.append(Rule.MOOD_DROP)
    return [Finding(rule, RULES[rule].severity, RULES[rule].says) for rule in met]


def home_check_in_days(days_supply: int, every: int = HOME_EVERY_DAYS) -> list[int]:
    """The days of an at-home supply (counted from its first day) with a check-in: every
    ``every`` days while the supply lasts, and at least one, on its last day, when it is
    shorter than that."""
    if days_supply < 1:
        return []
    days = list(range(every, days_supply + 1, every))
    return days or [days_supply]
