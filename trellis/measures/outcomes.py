"""How a course went, from the questionnaire totals taken during it.

**The outcome window** (written once, here; the patient page, the API, the outcomes dashboard and
its SQL oracle all apply it): a course's outcome is judged from its PHQ-9s observed up to
``OUTCOME_WINDOW_DAYS`` (21) days after the course ended (its last session signed, or the course
stopped) — all of them while it is still going. Response and remission are end-of-treatment
judgements: trials read them at the end of the acute course (TRANSFORM-2 on day 28, ESCAPE-TRD at
week 8 [R64, R75]), and what happens later is durability — relapse or recovery [R58] — not the
course's result. 21 days is the end-of-course questionnaire's window (``schedule``); later
follow-ups stay linked to the course and count only towards lasting response.

Baseline is the earliest total in the window, latest the most recent. The defaults are PHQ-9's
[R4, R52, R59]; other scales pass their own thresholds (e.g. MADRS remission <= 12 in SUSTAIN-3 is
``remission_below=13`` for whole-number totals), and the ``Outcome`` keeps the thresholds it used
so a report can say what "remission" meant.

Signs: ``change`` is latest - baseline (negative when the patient improved, as on a chart);
``change_pct`` is the *fall* as a percentage of baseline (positive when the patient improved, as
trials report it). Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeGuard

from trellis.lib.errors import InputError

# Response: a fall of at least 50% from baseline [R4, R59].
RESPONSE_FALL_PCT = 50
# Remission: PHQ-9 below 5 [R59]. Strictly below, so "<= 12" scales pass 13.
PHQ9_REMISSION_BELOW = 5
# Minimal clinically important difference on the PHQ-9: 5 points [R52].
PHQ9_MCID_POINTS = 5
# The outcome window: PHQ-9s up to this many days after the course ended [R64, R75, R58].
OUTCOME_WINDOW_DAYS = 21
OUTCOME_WINDOW = timedelta(days=OUTCOME_WINDOW_DAYS)
# The window in words, for every page that shows an outcome.
OUTCOME_WINDOW_TEXT = (
    f"Outcome: the latest PHQ-9 up to {OUTCOME_WINDOW_DAYS} days after the course's last "
    "session, against the first; later follow-ups judge lasting response, not the course "
    "[R64, R75, R58]."
)


def in_outcome_window(observed_at: datetime, ended_at: datetime | None) -> bool:
    """Whether a PHQ-9 observed at ``observed_at`` counts toward the outcome of a course that
    ended at ``ended_at`` (None: still going, every measurement counts)."""
    return ended_at is None or observed_at - ended_at <= OUTCOME_WINDOW


@dataclass(frozen=True)
class Outcome:
    """The outcome of a course so far.

    With no measurements, ``baseline``, ``latest``, ``change`` and ``change_pct`` are None and
    ``response``, ``remission`` and ``mcid_met`` are False. With one measurement, ``latest`` is
    ``baseline``, ``change`` is 0, and the three judgements stay False: they compare a later
    measurement with the baseline, and there is none yet. ``change_pct`` is None whenever
    baseline is 0 (no fall can be a percentage of nothing). ``baseline_at``/``latest_at`` are set
    only when the measurements came with times.
    """

    baseline: int | None
    latest: int | None
    change: int | None
    change_pct: float | None
    response: bool
    remission: bool
    mcid_met: bool
    measurement_count: int
    baseline_at: datetime | None
    latest_at: datetime | None
    # The thresholds these judgements used.
    response_fall_pct: float
    remission_below: float
    mcid_points: float


Measurement = int | tuple[datetime, int]


def _is_int(value: object) -> TypeGuard[int]:
    # bool is a subclass of int; True is not a score.
    return isinstance(value, int) and not isinstance(value, bool)


def _check_total(index: int, value: object) -> int:
    if _is_int(value) and value >= 0:
        return value
    raise InputError(
        f"measurements[{index}]", f"a total must be a whole number of 0 or more, got {value!r}"
    )


def _timed_totals(measurements: Sequence[Measurement]) -> list[tuple[datetime | None, int]]:
    """(time, total) pairs in time order; time None when bare totals were given in order."""
    if isinstance(measurements, str | bytes) or not isinstance(measurements, Sequence):
        raise InputError("measurements", "must be a list of totals or of (time, total) pairs")
    pairs = [isinstance(m, tuple) for m in measurements]
    if any(pairs) and not all(pairs):
        raise InputError("measurements", "give either all bare totals or all (time, total) pairs")
    if not any(pairs):
        return [(None, _check_total(i, m)) for i, m in enumerate(measurements)]
    timed: list[tuple[datetime, int]] = []
    for i, m in enumerate(measurements):
        if not (isinstance(m, tuple) and len(m) == 2 and isinstance(m[0], datetime)):
            raise InputError(f"measurements[{i}]", f"must be a (datetime, total) pair, got {m!r}")
        when, total = m
        timed.append((when, _check_total(i, total)))
    try:
        # Stable: measurements at the same time keep the order they were given in.
        timed.sort(key=lambda pair: pair[0])
    except TypeError:
        raise InputError("measurements", "times must all be timezone-aware or all naive") from None
    return [(when, total) for when, total in timed]


def _fall_pct(baseline: int, latest: int) -> float | None:
    """The fall as a percentage of baseline to 1 decimal, halves away from zero; exact."""
    if baseline == 0:
        return None
    fall_tenths = (baseline - latest) * 1000
    whole, remainder = divmod(abs(fall_tenths), baseline)
    if 2 * remainder >= baseline:
        whole += 1
    return (whole if fall_tenths >= 0 else -whole) / 10


def course_outcome(
    measurements: Sequence[Measurement],
    *,
    response_fall_pct: float = RESPONSE_FALL_PCT,
    remission_below: float = PHQ9_REMISSION_BELOW,
    mcid_points: float = PHQ9_MCID_POINTS,
    ended_at: datetime | None = None,
) -> Outcome:
    """The outcome from a course's totals, oldest first, or (datetime, total) pairs in any order.

    With ``ended_at`` (the course's end) and timed pairs, only the measurements inside the
    outcome window count (``in_outcome_window``).

    - ``response``: the total fell by at least ``response_fall_pct`` % of baseline [R4, R59];
      never with a baseline of 0.
    - ``remission``: the latest total is below ``remission_below`` [R59].
    - ``mcid_met``: the total fell by at least ``mcid_points`` [R52].

    All three need a measurement after the baseline. Raises InputError naming
    ``measurements`` or ``measurements[i]`` for input that is not a list of whole-number totals.
    """
    if not 0 < response_fall_pct <= 100:
        raise InputError(
            "response_fall_pct", f"must be above 0 and at most 100, got {response_fall_pct!r}"
        )
    if mcid_points <= 0:
        raise InputError("mcid_points", f"must be above 0, got {mcid_points!r}")

    timed = _timed_totals(measurements)
    if ended_at is not None:
        timed = [
            (when, total)
            for when, total in timed
            if when is None or in_outcome_window(when, ended_at)
        ]
    thresholds = {
        "response_fall_pct": response_fall_pct,
        "remission_below": remission_below,
        "mcid_points": mcid_points,
    }
    if not timed:
        return Outcome(
            baseline=None,
            latest=None,
            change=None,
            change_pct=None,
            response=False,
            remission=False,
            mcid_met=False,
            measurement_count=0,
            baseline_at=None,
            latest_at=None,
            **thresholds,
        )

    baseline_at, baseline = timed[0]
    latest_at, latest = timed[-1]
    fall = baseline - latest
    has_follow_up = len(timed) > 1
    return Outcome(
        baseline=baseline,
        latest=latest,
        change=latest - baseline,
        change_pct=_fall_pct(baseline, latest),
        # Compared in whole numbers, so 20 -> 10 is exactly 50 % with no float error.
        response=has_follow_up and baseline > 0 and fall * 100 >= response_fall_pct * baseline,
        remission=has_follow_up and latest < remission_below,
        mcid_met=has_follow_up and fall >= mcid_points,
        measurement_count=len(timed),
        baseline_at=baseline_at,
        latest_at=latest_at,
        **thresholds,
    )
