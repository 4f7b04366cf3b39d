"""Whether a patient who responded has lost that response: the relapse rule, written once.

There is no standard PHQ-9 relapse cut-off [R58, §8 item 15 of the domain notes]. Trials set
their own numbers on their own scales; Trellis watches the PHQ-9 it collects, by a rule the clinic
chooses (the ``relapse_rule`` clinic setting), and every flag keeps the code of the rule that
raised it so a later reader knows what "relapse" meant.

**Response** is the outcome module's definition — a fall of at least ``RESPONSE_FALL_PCT`` % from
the baseline [R4, R59] — applied to each measurement in turn (``outcomes.course_outcome`` on the
totals so far); nothing here redefines it.

**Rules** (``RULES``):

- ``phq9_loss_of_response`` (the Trellis default): after a response, a PHQ-9 of 10 or more —
  the questionnaire's moderate band and its validated cut-off [R51] — or a rise of at least the
  5-point MCID [R52] above the lowest total since the response. The "10 or more" arm counts once
  the patient has been below 10 since responding: a patient who responded from 24 to 12 is
  still at 12, and a second 12 is not a loss of anything.
- ``phq9_moderate``: the "10 or more" arm alone.
- ``phq9_mcid_rise``: the 5-point-rise arm alone.
- ``madrs_sustain1`` and ``madrs_janssen``: the esketamine trial's and Janssen's observational
  study's definitions on the MADRS (22 or more on two consecutive assessments; Janssen: the two
  visits 1–2 weeks apart) [R115]. Documented alternatives for clinics that score the MADRS
  (licensed, so not collected by Trellis); not offered as a clinic setting. Their other arms —
  hospitalisation for worsening depression, a suicide-related event — are not totals: the safety
  alerts carry those.

**Episodes**: after a relapse the watch looks for a new response against the same baseline; the
verdict describes the latest episode, so a patient who relapsed and responded again is not
flagged. Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from trellis.lib.errors import InputError
from trellis.measures import instruments, outcomes

# The PHQ-9 total from which depression is at least moderate, its validated cut-off [R51]: the
# low end of the questionnaire's "moderate" band, read from the instrument (not restated here).
PHQ9_MODERATE_FROM = next(b.low for b in instruments.PHQ9.bands if b.code == "moderate")
# MADRS relapse threshold in SUSTAIN-1 and Janssen's observational study [R115].
MADRS_RELAPSE_FROM = 22
# Janssen's observational study: the two visits 1–2 weeks apart [R115].
JANSSEN_VISIT_GAP = (timedelta(days=7), timedelta(days=14))

LOSS_OF_RESPONSE = "phq9_loss_of_response"
PHQ9_MODERATE = "phq9_moderate"
PHQ9_MCID_RISE = "phq9_mcid_rise"
MADRS_SUSTAIN1 = "madrs_sustain1"
MADRS_JANSSEN = "madrs_janssen"


@dataclass(frozen=True)
class Rule:
    code: str
    label: str  # what a page shows beside a flag
    instrument: str  # the scale whose totals it reads
    setting: int | None  # its value in the ``relapse_rule`` clinic setting; None: not offered
    source: str


RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        Rule(
            LOSS_OF_RESPONSE,
            f"Loss of response: PHQ-9 {PHQ9_MODERATE_FROM} or more after response, or a rise of "
            f"{outcomes.PHQ9_MCID_POINTS} points or more",
            instruments.PHQ9.code,
            1,
            "[R51, R52]",
        ),
        Rule(
            PHQ9_MODERATE,
            f"PHQ-9 {PHQ9_MODERATE_FROM} or more after response",
            instruments.PHQ9.code,
            2,
            "[R51]",
        ),
        Rule(
            PHQ9_MCID_RISE,
            f"PHQ-9 rise of {outcomes.PHQ9_MCID_POINTS} points or more after response",
            instruments.PHQ9.code,
            3,
            "[R52]",
        ),
        Rule(
            MADRS_SUSTAIN1,
            f"SUSTAIN-1: MADRS {MADRS_RELAPSE_FROM} or more on two consecutive assessments",
            "madrs",
            None,
            "[R115]",
        ),
        Rule(
            MADRS_JANSSEN,
            f"Janssen: MADRS {MADRS_RELAPSE_FROM} or more on two consecutive visits 1–2 weeks "
            "apart",
            "madrs",
            None,
            "[R115]",
        ),
    )
}
DEFAULT_RULE = LOSS_OF_RESPONSE
# The ``relapse_rule`` clinic setting's options: (stored value, meaning).
SETTING_CHOICES: tuple[tuple[int, str], ...] = tuple(
    (r.setting, r.label) for r in RULES.values() if r.setting is not None
)


def rule_for_setting(value: int) -> Rule:
    for rule in RULES.values():
        if rule.setting == value:
            return rule
    raise InputError("relapse_rule", f"no relapse rule is numbered {value!r}")


@dataclass(frozen=True)
class Verdict:
    """The latest episode of a trajectory under ``rule``.

    ``responded``: the patient reached a response at some point (``responded_at``/``response_total``
    the latest time they did). ``relapsed``: the latest response was followed by a relapse
    (``relapsed_at``/``relapse_total`` the measurement that met the rule, ``nadir`` the lowest
    total between them) and no new response since. ``reason`` says why in words.
    Times are None for bare totals.
    """

    rule: str
    baseline: int | None
    responded: bool
    responded_at: datetime | None
    response_total: int | None
    relapsed: bool
    relapsed_at: datetime | None
    relapse_total: int | None
    nadir: int | None
    reason: str


def _timed(measurements: Sequence[outcomes.Measurement]) -> list[tuple[datetime | None, int]]:
    # The outcome module checks the input and names the bad item (InputError); then order it.
    outcomes.course_outcome(measurements)
    if measurements and isinstance(measurements[0], tuple):
        return sorted(measurements, key=lambda pair: pair[0])  # stable for equal times
    return [(None, total) for total in measurements]


def _responds(baseline: int, total: int) -> bool:
    """Response by the outcome module's one definition [R4, R59]."""
    return outcomes.course_outcome([baseline, total]).response


def _meets(rule: str, timed, j: int, start: int) -> str:
    """Why measurement ``j`` meets ``rule`` after the response at ``start``, or ""."""
    total = timed[j][1]
    nadir = min(t for _, t in timed[start:j])
    rise = total - nadir
    been_below = nadir < PHQ9_MODERATE_FROM
    if rule in (LOSS_OF_RESPONSE, PHQ9_MODERATE) and been_below and total >= PHQ9_MODERATE_FROM:
        return f"PHQ-9 {total} is {PHQ9_MODERATE_FROM} or more after falling to {nadir}"
    if rule in (LOSS_OF_RESPONSE, PHQ9_MCID_RISE) and rise >= outcomes.PHQ9_MCID_POINTS:
        return f"PHQ-9 rose {rise} points, from {nadir} to {total}"
    if rule in (MADRS_SUSTAIN1, MADRS_JANSSEN) and j - 1 > start:
        before_at, before = timed[j - 1]
        if before >= MADRS_RELAPSE_FROM and total >= MADRS_RELAPSE_FROM:
            if rule == MADRS_JANSSEN:
                low, high = JANSSEN_VISIT_GAP
                if not low <= timed[j][0] - before_at <= high:
                    return ""
            return f"MADRS {before} then {total}: {MADRS_RELAPSE_FROM} or more twice running"
    return ""


def watch(measurements: Sequence[outcomes.Measurement], *, rule: str = DEFAULT_RULE) -> Verdict:
    """The verdict of ``rule`` on a trajectory: totals oldest first, or (datetime, total) pairs
    in any order, the first being the baseline of the course the patient responded to.

    Raises InputError naming ``rule`` for an unknown rule or one needing times without them, and
    (through ``outcomes``) naming ``measurements[i]`` for a total that is not a whole number."""
    if rule not in RULES:
        raise InputError("rule", f"unknown relapse rule {rule!r}; one of {', '.join(RULES)}")
    timed = _timed(measurements)
    if rule == MADRS_JANSSEN and timed and timed[0][0] is None:
        raise InputError("measurements", "the Janssen rule needs the time of each visit")
    empty = Verdict(rule, None, False, None, None, False, None, None, None, "no measurements")
    if not timed:
        return empty
    baseline = timed[0][1]
    response_at: int | None = None  # index of the latest response
    relapse_at: int | None = None  # index of the relapse that ended it, if any
    why = ""
    i = 1
    while i < len(timed):
        if response_at is None or relapse_at is not None:
            # Looking for a (new) response.
            if _responds(baseline, timed[i][1]):
                response_at, relapse_at, why = i, None, ""
        else:
            why = _meets(rule, timed, i, response_at)
            if why:
                relapse_at = i
        i += 1
    if response_at is None:
        return Verdict(
            rule, baseline, False, None, None, False, None, None, None, "no response yet"
        )
    responded = timed[response_at]
    if relapse_at is None:
        nadir = min(t for _, t in timed[response_at:])
        return Verdict(
            rule,
            baseline,
            True,
            responded[0],
            responded[1],
            False,
            None,
            None,
            nadir,
            "responded; the rule is not met since",
        )
    return Verdict(
        rule,
        baseline,
        True,
        responded[0],
        responded[1],
        True,
        timed[relapse_at][0],
        timed[relapse_at][1],
        min(t for _, t in timed[response_at:relapse_at]),
        why,
    )
