"""How the two courses of a combined plan share the calendar: the sequencing rule, written once.

A combined plan holds a TMS course and a ketamine-family course (IV ketamine or esketamine). Their
same-day order, the gap between them and whether they may share a day at all are **practice, not
evidence**: there is no randomised trial; one retrospective series gave TMS during the infusion
[R92], a larger cohort found no added benefit [R93], reviews call the protocols undefined [R94].
So the rule is a clinic setting (``plan_sequencing``), with two options:

- ``separate_days`` (the default): TMS is never given on a day with a ketamine or esketamine dose.
  Chosen as the conservative default because nothing shows the combination on one day is safe or
  better, and apart each treatment keeps its own monitoring: esketamine's 2 h of observation and
  its blood-pressure rise that peaks at about 40 min and lasts about 4 h [R16, R22], IV ketamine's
  recovery before discharge [R10], and an adverse event (a seizure, a hypertensive reading, a
  headache) is attributable to one treatment. Ketamine also changed the TMS output patients
  tolerated in the one series that combined them [R92].
- ``same_day_after_discharge``: TMS may follow on the day of a dose, once that session has
  reached discharge — for esketamine never sooner than 2 h of observation after the dose
  [R16, R22], for IV ketamine at the end of its booked chair time (discharge after recovery)
  [R10]. Never before the dose, never overlapping.

Either way the two never overlap, and a ketamine-family dose stays one a day (the appointment
book's rule). Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

SEPARATE_DAYS = "separate_days"
SAME_DAY_AFTER_DISCHARGE = "same_day_after_discharge"
RULES = {
    SEPARATE_DAYS: "TMS on separate days from ketamine and esketamine",
    SAME_DAY_AFTER_DISCHARGE: "TMS on the same day allowed, after the dose's discharge",
}
# The ``plan_sequencing`` clinic setting's values.
BY_SETTING = {1: SEPARATE_DAYS, 2: SAME_DAY_AFTER_DISCHARGE}
DEFAULT = SEPARATE_DAYS

# Esketamine: at least 2 hours of observation after the dose before the patient may leave
# [R16, R22]. IV ketamine has no fixed number: discharge after full recovery [R10], so its
# booked chair time (the appointment's end) is the discharge.
ESKETAMINE_OBSERVATION = timedelta(hours=2)

# A day search gives up after a year (as the course calendars do).
SEARCH_LIMIT_DAYS = 366


def arrange_separate_days(
    tms_days: list[tuple[int, date]],
    dose_days: Iterable[date],
    *,
    is_open: Callable[[date], bool],
    earliest: date | None = None,
) -> dict[int, date]:
    """TMS sessions moved off the days that hold a dose: ``{session number: new date}`` for the
    sessions whose day changes.

    ``tms_days`` are the course's (number, planned date) in number order. Sessions planned on one
    day stay together (accelerated iTBS gives ten a day). Each TMS day goes to the first open day
    on or after both its planned day and the day after the previous TMS day, that holds no dose;
    later days move only as far as they must to stay in order. ``earliest`` (e.g. today) is a
    floor for a moved day. Raises ValueError when no day is found within a year."""
    doses = set(dose_days)
    moves: dict[int, date] = {}
    previous_new: date | None = None
    previous_old: date | None = None
    for number, planned in tms_days:
        if planned == previous_old:
            if previous_new != planned:
                moves[number] = previous_new
            continue
        day = planned
        if previous_new is not None and day <= previous_new:
            day = previous_new + timedelta(days=1)
        if day != planned and earliest is not None and day < earliest:
            day = earliest
        tries = 0
        while day in doses or not is_open(day):
            day += timedelta(days=1)
            tries += 1
            if tries > SEARCH_LIMIT_DAYS:
                raise ValueError("no open day without a dose within a year")
        if day != planned:
            moves[number] = day
        previous_old, previous_new = planned, day
    return moves


@dataclass(frozen=True)
class Slot:
    """A booked or proposed time of one session of the plan."""

    label: str  # e.g. "TMS session 4"
    day: date  # clinic-local
    start: datetime
    end: datetime


def tms_not_before(dose: Slot, *, esketamine: bool) -> datetime:
    """The earliest a TMS session may start on ``dose``'s day under the same-day rule: the dose's
    discharge — its end, and for esketamine never less than 2 h after it began [R16, R22]."""
    if esketamine:
        return max(dose.end, dose.start + ESKETAMINE_OBSERVATION)
    return dose.end


def problems(
    rule: str, doses: Iterable[Slot], tms: Iterable[Slot], *, esketamine: bool, tz=None
) -> dict[str, str]:
    """What breaks ``rule`` or overlaps, by TMS slot label: ``{label: why}``; empty when the
    calendar holds. Times in the messages are shown in ``tz`` (the clinic's)."""
    if rule not in RULES:
        raise ValueError(f"unknown sequencing rule {rule!r}")
    by_day: dict[date, list[Slot]] = {}
    for dose in doses:
        by_day.setdefault(dose.day, []).append(dose)
    found: dict[str, str] = {}
    for slot in tms:
        for dose in by_day.get(slot.day, ()):
            if slot.start < dose.end and dose.start < slot.end:
                found[slot.label] = f"overlaps {dose.label}"
            elif rule == SEPARATE_DAYS:
                found[slot.label] = (
                    f"is on the day of {dose.label}; this plan keeps TMS on separate days"
                )
            elif slot.start < dose.start:
                found[slot.label] = (
                    f"comes before {dose.label}; TMS follows the dose once it has reached discharge"
                )
            elif slot.start < (ready := tms_not_before(dose, esketamine=esketamine)):
                shown = ready.astimezone(tz) if tz is not None else ready
                found[slot.label] = (
                    f"starts before {dose.label} reaches discharge ({shown:%H:%M} at the earliest)"
                )
    return found
