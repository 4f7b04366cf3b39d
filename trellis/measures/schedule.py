"""When a course's questionnaires are due: the measurement schedule, as a pure function.

``plan`` turns a course's modality and planned session dates into the questionnaires it asks for:

- **Baseline** — PHQ-9 and GAD-7 before the first session (open from 14 days before it).
- **Before each session** — ketamine and esketamine: a PHQ-9 before every session after the
  first (the baseline is the first one's), open from 3 days before and never before the
  previous session's day.
- **Weekly during TMS** — a PHQ-9 every ``tms_interval_days`` (a clinic setting, 7) after the
  first session while sessions go on; a 5-day accelerated course has none.
- **End of course** — PHQ-9 and GAD-7 in the week after the last session.
- **Follow-ups** — PHQ-9 and GAD-7 at 1, 3 and 6 months after the last session (clinic
  settings; 0 switches one off): relapse is watched for after remission [R58].

Each questionnaire has a window: it *opens* (a patient may answer it from then), is *due*, and
*closes* (after which it is *missed*: a pre-session score taken after the session is not a
pre-session score). Between due and closed it is *overdue*. The windows are clinic policy, not
clinical fact; DOMAIN.md §4 gives none.

Pure: no Django. Times are dates in the clinic's timezone.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from itertools import pairwise

from trellis.lib.errors import InputError
from trellis.measures.outcomes import OUTCOME_WINDOW_DAYS
from trellis.patients.modality import KETAMINE_FAMILY, Modality

PHQ9 = "phq9"
GAD7 = "gad7"
BOTH = (PHQ9, GAD7)

BASELINE_OPENS_DAYS_BEFORE = 14
BEFORE_SESSION_OPENS_DAYS_BEFORE = 3
WEEKLY_OPENS_DAYS_BEFORE = 2
END_DUE_DAYS_AFTER = 7
# Closes when the outcome window does: a later PHQ-9 no longer judges the course.
END_CLOSES_DAYS_AFTER = OUTCOME_WINDOW_DAYS
FOLLOW_UP_OPENS_DAYS_BEFORE = 7
FOLLOW_UP_CLOSES_DAYS_AFTER = 28

MODALITIES_WITH_PRE_SESSION = KETAMINE_FAMILY
TMS = Modality.TMS


class Occasion(StrEnum):
    BASELINE = "baseline"
    BEFORE_SESSION = "before_session"
    WEEKLY = "weekly"
    END_OF_COURSE = "end_of_course"
    FOLLOW_UP = "follow_up"


class DueStatus(StrEnum):
    """Where a scheduled questionnaire stands on a given day."""

    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    MISSED = "missed"
    DONE = "done"


@dataclass(frozen=True)
class Policy:
    """The clinic settings the schedule uses."""

    tms_interval_days: int = 7
    follow_up_months: tuple[int, ...] = (1, 3, 6)


@dataclass(frozen=True)
class PlannedSession:
    number: int
    planned_date: date


@dataclass(frozen=True)
class Due:
    """One questionnaire a course asks for. ``key`` is stable across re-planning."""

    key: str
    occasion: Occasion
    label: str
    instrument: str
    opens_on: date
    due_on: date
    closes_on: date
    session_number: int | None = None

    def status(self, today: date, *, done: bool = False) -> DueStatus:
        return due_status(self.opens_on, self.due_on, self.closes_on, today, done=done)


def due_status(
    opens_on: date, due_on: date, closes_on: date, today: date, *, done: bool = False
) -> DueStatus:
    if done:
        return DueStatus.DONE
    if today < opens_on:
        return DueStatus.UPCOMING
    if today <= due_on:
        return DueStatus.DUE
    if today <= closes_on:
        return DueStatus.OVERDUE
    return DueStatus.MISSED


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day (Jan 31 + 1 month = Feb 28/29)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def plan(
    modality: str,
    sessions: Sequence[PlannedSession],
    policy: Policy = Policy(),
) -> list[Due]:
    """The questionnaires a course asks for, in due-date order (PHQ-9 before GAD-7 on a day).

    ``sessions`` are the sessions that will happen (not cancelled ones); their order does not
    matter. No sessions, no schedule. Raises InputError naming ``modality`` or
    ``tms_interval_days`` for values it cannot plan with.
    """
    if modality not in (*MODALITIES_WITH_PRE_SESSION, TMS):
        raise InputError("modality", f"unknown modality {modality!r}")
    if policy.tms_interval_days < 1:
        raise InputError("tms_interval_days", "must be at least 1 day")
    if not sessions:
        return []
    ordered = sorted(sessions, key=lambda s: (s.planned_date, s.number))
    first, last = ordered[0].planned_date, ordered[-1].planned_date
    planned: list[Due] = []

    planned += _each(
        BOTH,
        key="baseline",
        occasion=Occasion.BASELINE,
        label="Baseline, before the first session",
        opens_on=first - timedelta(days=BASELINE_OPENS_DAYS_BEFORE),
        due_on=first,
        closes_on=first,
    )
    if modality in MODALITIES_WITH_PRE_SESSION:
        for previous, session in pairwise(ordered):
            day = session.planned_date
            opens = max(
                day - timedelta(days=BEFORE_SESSION_OPENS_DAYS_BEFORE),
                min(previous.planned_date + timedelta(days=1), day),
            )
            planned += _each(
                (PHQ9,),
                key=f"session-{session.number}",
                occasion=Occasion.BEFORE_SESSION,
                label=f"Before session {session.number}",
                opens_on=opens,
                due_on=day,
                closes_on=day,
                session_number=session.number,
            )
    else:
        interval = policy.tms_interval_days
        closes_after = max(interval - WEEKLY_OPENS_DAYS_BEFORE - 1, 0)
        week = 1
        due = first + timedelta(days=interval)
        while due < last:
            planned += _each(
                (PHQ9,),
                key=f"week-{week}",
                occasion=Occasion.WEEKLY,
                label=f"TMS, after {_period(week, interval)}",
                opens_on=due - timedelta(days=WEEKLY_OPENS_DAYS_BEFORE),
                due_on=due,
                closes_on=due + timedelta(days=closes_after),
            )
            week += 1
            due += timedelta(days=interval)
    planned += _each(
        BOTH,
        key="end",
        occasion=Occasion.END_OF_COURSE,
        label="End of course",
        opens_on=last,
        due_on=last + timedelta(days=END_DUE_DAYS_AFTER),
        closes_on=last + timedelta(days=END_CLOSES_DAYS_AFTER),
    )
    for months in _follow_up_months(policy.follow_up_months):
        due = add_months(last, months)
        planned += _each(
            BOTH,
            key=f"follow-up-{months}m",
            occasion=Occasion.FOLLOW_UP,
            label=f"Follow-up at {months} month{'s' if months != 1 else ''}",
            opens_on=due - timedelta(days=FOLLOW_UP_OPENS_DAYS_BEFORE),
            due_on=due,
            closes_on=due + timedelta(days=FOLLOW_UP_CLOSES_DAYS_AFTER),
        )
    order = {code: i for i, code in enumerate(BOTH)}
    return sorted(planned, key=lambda d: (d.due_on, d.opens_on, order[d.instrument]))


def _each(instruments: Iterable[str], **fields) -> list[Due]:
    return [Due(instrument=code, **fields) for code in instruments]


def _period(week: int, interval: int) -> str:
    if interval == 7:
        return f"week {week}"
    return f"{week * interval} days"


def _follow_up_months(months: Iterable[int]) -> list[int]:
    """Distinct, positive, in order: 0 switches a follow-up off."""
    for value in months:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InputError("follow_up_months", f"must be whole months of 0 or more: {value!r}")
    return sorted({m for m in months if m > 0})


def match(candidates: Sequence[tuple[object, date, date, date]], day: date) -> object | None:
    """Which open questionnaire a questionnaire answered on ``day`` fulfils.

    ``candidates`` are ``(ref, opens_on, due_on, closes_on)`` of the unfulfilled scheduled
    questionnaires of the same instrument; the earliest-due one whose window holds ``day`` wins,
    so a late answer fills the overdue slot before the next one.
    """
    open_now = [c for c in candidates if c[1] <= day <= c[3]]
    if not open_now:
        return None
    return min(open_now, key=lambda c: (c[2], c[1]))[0]
