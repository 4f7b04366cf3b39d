"""When a maintenance session is due: the interval per treatment, and the relapse watch bringing
it forward. Written once; pages, API and the watch call it. Pure: no Django.

After an induction, maintenance keeps a response going [R1, R22]:

- **IV ketamine**: boosters individualised, given before the effect wears off [R1]; spacing
  reported from three a week to every 12 weeks [R113]; clinics claim 4–6 weeks on average
  between boosters [R111]. Default 4 weeks; the plan may set 2 days to 12 weeks.
- **Esketamine**: from week 9 every 2 weeks or weekly, the lowest frequency that keeps the
  response or remission [R22]. Default 2 weeks; 1 or 2 weeks.
- **TMS**: the course ends with its 3-2-1 taper [R37]; maintenance sessions after it are clinic
  policy (36.2 % of patients were re-treated within a year [R77]). Default 4 weeks; 1 to 12 weeks.

The next session is due ``interval`` days after the last one (the last session given, booked or
the induction's last signed session). When the relapse watch flags the patient (their PHQ-9 rose
past the clinic's relapse rule, ``measures.relapse``), it is **brought forward** to the first
open day after the flag — never sooner than the spacing the treatment allows after the last
session (ketamine-family doses a day apart at most once a day, DOMAIN.md §10) and never in the
past.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from trellis.lib.errors import InputError
from trellis.patients.modality import Modality


@dataclass(frozen=True)
class Interval:
    default_days: int
    min_days: int
    max_days: int
    source: str
    text: str  # for the page, beside the interval


INTERVALS: dict[str, Interval] = {
    Modality.IV_KETAMINE: Interval(
        28,
        2,
        84,
        "[R1, R111, R113]",
        "Individualised, before the effect wears off; reported from three a week to every "
        "12 weeks; clinics claim 4–6 weeks between boosters.",
    ),
    Modality.ESKETAMINE: Interval(
        14,
        7,
        14,
        "[R22]",
        "Every 2 weeks or weekly, the lowest frequency that keeps the response (label, week 9 on).",
    ),
    Modality.TMS: Interval(
        28,
        7,
        84,
        "[R37, R77]",
        "After the 3-2-1 taper, maintenance is clinic policy; about a third of patients are "
        "re-treated within a year.",
    ),
}

# The least spacing after the last session when a relapse brings the next one forward: at most
# one ketamine-family dose a day (DOMAIN.md §10), and the course calendars' 2 days between
# ketamine or esketamine sessions and 1 for TMS.
MIN_SPACING_DAYS = {Modality.IV_KETAMINE: 2, Modality.ESKETAMINE: 2, Modality.TMS: 1}

SEARCH_LIMIT_DAYS = 366


def check_interval(modality: str, days: object) -> int:
    """The interval in days, or InputError naming ``modality`` or ``interval_days``."""
    interval = INTERVALS.get(modality)
    if interval is None:
        raise InputError("modality", "maintenance is planned for IV ketamine, esketamine or TMS")
    if isinstance(days, bool) or not isinstance(days, int):
        raise InputError("interval_days", "must be a whole number of days")
    if not interval.min_days <= days <= interval.max_days:
        raise InputError(
            "interval_days",
            f"must be {interval.min_days}–{interval.max_days} days for this treatment "
            f"{interval.source}",
        )
    return days


@dataclass(frozen=True)
class Due:
    day: date
    brought_forward: bool
    reason: str


def _open_on_or_after(day: date, is_open: Callable[[date], bool]) -> date:
    for _ in range(SEARCH_LIMIT_DAYS):
        if is_open(day):
            return day
        day += timedelta(days=1)
    raise InputError("day", "no open day within a year")


def next_due(
    modality: str,
    *,
    last: date,
    interval_days: int,
    today: date,
    flagged_on: date | None = None,
    is_open: Callable[[date], bool] = lambda day: day.weekday() < 5,
) -> Due:
    """When the next maintenance session is due after the one on ``last``.

    By the interval: ``last + interval_days`` (on or after today), moved to an open day. With an
    open relapse flag raised on ``flagged_on``: the first open day after the flag, if that is
    sooner — but not before the treatment's least spacing after ``last`` nor before today."""
    check_interval(modality, interval_days)
    by_interval = _open_on_or_after(max(last + timedelta(days=interval_days), today), is_open)
    if flagged_on is None:
        return Due(by_interval, False, f"{interval_days} days after the last session")
    soonest = max(
        flagged_on + timedelta(days=1),
        last + timedelta(days=MIN_SPACING_DAYS[modality]),
        today,
    )
    forward = _open_on_or_after(soonest, is_open)
    if forward < by_interval:
        return Due(forward, True, "brought forward: the relapse watch flagged a rise in PHQ-9")
    return Due(by_interval, False, f"{interval_days} days after the last session")
