"""Planned session calendars for each treatment protocol.

Pure functions, standard library only. ``plan_sessions`` takes a protocol code and a start date
and returns the planned sessions, numbered 1..n in date (and time) order; there is one function
per kind of calendar behind it.

How a calendar is laid out
--------------------------
- The first session is on the start date, or on the first open day after it when the start date
  is a Saturday, a Sunday or a closed date. No session is ever planned on a weekend or a closed
  date.
- A protocol is a list of treatment weeks, each with its sessions on set days of the week (3 a
  week falls on days 1, 3 and 5 of the week, like Monday, Wednesday, Friday). Treatment weeks are
  seven-day blocks counted from the first session day, so a course that starts on a Monday has
  treatment weeks that are calendar weeks, and one that starts on a Wednesday runs Wednesday to
  Tuesday, which keeps "5 a week" or "twice weekly" true from the first week. (The label and
  trials count weeks from the first dose [R22, R37].)
- A session whose day is closed moves to the next open day of the same week; if there is none
  later in the week, to the latest open day earlier in that week that still keeps the spacing
  rule; and only if neither exists does it carry over into the next open day after the week.
  Later sessions then follow it, so a daily protocol never gets two sessions on one day.
- A treatment week that is closed on every day (a clinic closure week) is not counted: that
  week's sessions, and all later weeks, move on by a week.
- Spacing: TMS sessions are at most one a day (the accelerated protocol apart); ketamine
  (IV, oral or sublingual) and esketamine sessions are never on consecutive days. DOMAIN.md
  gives no spacing rule for esketamine; not dosing it on consecutive days is the conservative
  choice, and matches the Monday/Thursday rhythm of twice-weekly dosing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from trellis.lib.errors import InputError

KETAMINE_IV_INDUCTION = "ketamine-iv-induction"
KETAMINE_IV_MAINTENANCE = "ketamine-iv-maintenance"
ESKETAMINE_TRD = "esketamine-trd"
TMS_10HZ = "tms-10hz"
TMS_ITBS = "tms-itbs"
TMS_ACCELERATED_ITBS = "tms-accelerated-itbs"
KETAMINE_ORAL_WEEKLY = "ketamine-oral-weekly"

PROTOCOL_CODES = (
    KETAMINE_IV_INDUCTION,
    KETAMINE_IV_MAINTENANCE,
    ESKETAMINE_TRD,
    KETAMINE_ORAL_WEEKLY,
    TMS_10HZ,
    TMS_ITBS,
    TMS_ACCELERATED_ITBS,
)

# How far ahead to look for an open day before deciding the closures leave none.
SEARCH_LIMIT_DAYS = 366

ONE_DAY = timedelta(days=1)
ONE_WEEK = timedelta(days=7)

# Accelerated iTBS (SAINT/SNT): 10 sessions a day, 5 days, 50-minute gaps between sessions
# [R33, R36]. A session of 1,800 iTBS pulses lasts about 10 minutes (600 pulses take about
# 3 min [R35]), so sessions start an hour apart, as in the published protocol.
ACCELERATED_DAYS = 5
ACCELERATED_SESSIONS_PER_DAY = 10
ACCELERATED_SESSION_MINUTES = 10
ACCELERATED_GAP_MINUTES = 50
ACCELERATED_START_TIME = time(8, 0)


class Phase(StrEnum):
    """The part of a course a session belongs to."""

    INDUCTION = "induction"
    MAINTENANCE = "maintenance"
    ACUTE = "acute"
    TAPER = "taper"


@dataclass(frozen=True)
class PlannedSession:
    """One planned session. ``planned_time`` is set only where the protocol fixes times."""

    number: int
    planned_date: date
    planned_time: time | None
    phase: Phase

    def as_dict(self) -> dict[str, int | str | None]:
        return {
            "number": self.number,
            "planned_date": self.planned_date.isoformat(),
            "planned_time": (
                self.planned_time.isoformat(timespec="minutes") if self.planned_time else None
            ),
            "phase": str(self.phase),
        }


@dataclass(frozen=True)
class _Week:
    """One treatment week: its phase and the days (0 = first day of the week) of its sessions."""

    phase: Phase
    days: tuple[int, ...]


_DAILY = (0, 1, 2, 3, 4)
_THREE_A_WEEK = (0, 2, 4)  # like Monday, Wednesday, Friday
_TWICE_A_WEEK = (0, 3)  # like Monday, Thursday
_WEEKLY = (0,)
_NONE = ()


def plan_sessions(
    protocol_code: str,
    start_date: date,
    closed_dates: Iterable[date] = frozenset(),
    *,
    infusions_per_week: int | None = None,
    maintenance_every_weeks: int | None = None,
    maintenance_sessions: int | None = None,
    start_time: time | None = None,
) -> list[PlannedSession]:
    """Plan the sessions of a course on ``protocol_code`` starting on ``start_date``.

    ``closed_dates`` are days the clinic is shut besides weekends. The keyword options belong to
    one protocol each (``infusions_per_week`` to ketamine induction, the ``maintenance_*`` pair
    to esketamine, ``start_time`` to accelerated iTBS); giving one to another protocol is an
    ``InputError`` rather than being ignored.
    """
    if not isinstance(protocol_code, str) or protocol_code not in PROTOCOL_CODES:
        raise InputError("protocol", f"must be one of {', '.join(PROTOCOL_CODES)}")
    options = {
        "infusions_per_week": (infusions_per_week, KETAMINE_IV_INDUCTION),
        "maintenance_every_weeks": (maintenance_every_weeks, ESKETAMINE_TRD),
        "maintenance_sessions": (maintenance_sessions, ESKETAMINE_TRD),
        "start_time": (start_time, TMS_ACCELERATED_ITBS),
    }
    for name, (value, owner) in options.items():
        if value is not None and protocol_code != owner:
            raise InputError(name, f"applies only to {owner}, not {protocol_code}")

    if protocol_code == KETAMINE_IV_INDUCTION:
        return plan_ketamine_iv_induction(
            start_date,
            closed_dates,
            infusions_per_week=3 if infusions_per_week is None else infusions_per_week,
        )
    if protocol_code == KETAMINE_IV_MAINTENANCE:
        return plan_ketamine_iv_maintenance(start_date, closed_dates)
    if protocol_code == KETAMINE_ORAL_WEEKLY:
        return plan_ketamine_oral_weekly(start_date, closed_dates)
    if protocol_code == ESKETAMINE_TRD:
        return plan_esketamine_trd(
            start_date,
            closed_dates,
            maintenance_every_weeks=maintenance_every_weeks,
            maintenance_sessions=0 if maintenance_sessions is None else maintenance_sessions,
        )
    if protocol_code in (TMS_10HZ, TMS_ITBS):
        return plan_tms_course(start_date, closed_dates)
    return plan_tms_accelerated_itbs(
        start_date,
        closed_dates,
        start_time=ACCELERATED_START_TIME if start_time is None else start_time,
    )


def plan_ketamine_iv_induction(
    start_date: date,
    closed_dates: Iterable[date] = frozenset(),
    *,
    infusions_per_week: int = 3,
) -> list[PlannedSession]:
    """Six IV ketamine infusions, never on consecutive days.

    3 a week over 2 weeks, like Monday, Wednesday, Friday (Murrough: 6 over 12 days [R2];
    Phillips: over 2 weeks [R3]); or 2 a week over 3 weeks, as in ELEKT-D [R4].
    """
    if isinstance(infusions_per_week, bool) or infusions_per_week not in (2, 3):
        raise InputError("infusions_per_week", "must be 3 (over 2 weeks) or 2 (over 3 weeks)")
    if infusions_per_week == 3:
        weeks = [_Week(Phase.INDUCTION, _THREE_A_WEEK)] * 2
    else:
        weeks = [_Week(Phase.INDUCTION, _TWICE_A_WEEK)] * 3
    return _plan_weeks(weeks, start_date, closed_dates, min_gap_days=2)


def plan_ketamine_iv_maintenance(
    start_date: date, closed_dates: Iterable[date] = frozenset()
) -> list[PlannedSession]:
    """Four once-weekly IV ketamine infusions for responders [R3]."""
    weeks = [_Week(Phase.MAINTENANCE, _WEEKLY)] * 4
    return _plan_weeks(weeks, start_date, closed_dates, min_gap_days=2)


# Oral and sublingual ketamine in the clinic: DOMAIN.md gives no session interval (no consensus
# dose ladder, §8.11); the KAP programme it cites gave 4-6 sublingual or IM sessions with
# integration visits between doses [R96, R98]. Once a week is the conservative choice: the
# slowest rhythm of the IV maintenance series [R3], leaving the days between for integration.
ORAL_WEEKLY_SESSIONS = 6


def plan_ketamine_oral_weekly(
    start_date: date, closed_dates: Iterable[date] = frozenset()
) -> list[PlannedSession]:
    """Six supervised oral or sublingual ketamine sessions, once a week [R96, R98]."""
    weeks = [_Week(Phase.INDUCTION, _WEEKLY)] * ORAL_WEEKLY_SESSIONS
    return _plan_weeks(weeks, start_date, closed_dates, min_gap_days=2)


def plan_esketamine_trd(
    start_date: date,
    closed_dates: Iterable[date] = frozenset(),
    *,
    maintenance_every_weeks: int | None = None,
    maintenance_sessions: int = 0,
) -> list[PlannedSession]:
    """Esketamine for treatment-resistant depression, as the US label doses it [R22].

    Weeks 1-4 twice weekly (8 sessions, induction), weeks 5-8 weekly (4 sessions). From week 9
    the label doses every 2 weeks or weekly, at the lowest frequency that keeps the response,
    a decision made at review; so nothing is planned beyond week 8 unless asked for:
    ``maintenance_sessions`` more sessions, one every ``maintenance_every_weeks`` (1 or 2)
    weeks after week 8 (every 2 weeks: weeks 10, 12, ...; weekly: weeks 9, 10, ...), which
    keeps the interval after the last weekly dose the one chosen.
    """
    weeks = [_Week(Phase.INDUCTION, _TWICE_A_WEEK)] * 4 + [_Week(Phase.MAINTENANCE, _WEEKLY)] * 4
    if maintenance_every_weeks is None:
        if maintenance_sessions != 0:
            raise InputError(
                "maintenance_every_weeks", "must be 1 or 2 to plan sessions after week 8"
            )
    else:
        if isinstance(maintenance_every_weeks, bool) or maintenance_every_weeks not in (1, 2):
            raise InputError("maintenance_every_weeks", "must be 1 (weekly) or 2 (every 2 weeks)")
        if (
            isinstance(maintenance_sessions, bool)
            or not isinstance(maintenance_sessions, int)
            or not 1 <= maintenance_sessions <= 52
        ):
            raise InputError("maintenance_sessions", "must be a whole number from 1 to 52")
        gap_weeks = [_Week(Phase.MAINTENANCE, _NONE)] * (maintenance_every_weeks - 1)
        for _ in range(maintenance_sessions):
            weeks += [*gap_weeks, _Week(Phase.MAINTENANCE, _WEEKLY)]
    return _plan_weeks(weeks, start_date, closed_dates, min_gap_days=2)


def plan_tms_course(
    start_date: date, closed_dates: Iterable[date] = frozenset()
) -> list[PlannedSession]:
    """A 36-session TMS course, for 10 Hz rTMS and for once-daily iTBS [R35, R37].

    30 sessions 5 a week over 6 weeks, then a taper of 3, 2 and 1 sessions over 3 weeks [R37];
    at most one session a day.
    """
    weeks = [_Week(Phase.ACUTE, _DAILY)] * 6 + [
        _Week(Phase.TAPER, _THREE_A_WEEK),
        _Week(Phase.TAPER, _TWICE_A_WEEK),
        _Week(Phase.TAPER, _WEEKLY),
    ]
    return _plan_weeks(weeks, start_date, closed_dates, min_gap_days=1)


def plan_tms_accelerated_itbs(
    start_date: date,
    closed_dates: Iterable[date] = frozenset(),
    *,
    start_time: time = ACCELERATED_START_TIME,
    session_minutes: int = ACCELERATED_SESSION_MINUTES,
    gap_minutes: int = ACCELERATED_GAP_MINUTES,
) -> list[PlannedSession]:
    """Accelerated iTBS (SAINT/SNT): 10 sessions a day on 5 consecutive open days = 50 [R33, R36].

    The first session of each day starts at ``start_time``; each later one starts
    ``gap_minutes`` after the previous session ends, so with 10-minute sessions and 50-minute
    gaps they start on the hour. SAINT ran Monday to Friday [R36]; a course started later in
    the week carries on over the weekend to the next open days.
    """
    closed = _closed_set(closed_dates)
    first_day = _first_open_day(start_date, closed)
    if not isinstance(start_time, time):
        raise InputError("start_time", "must be a time of day")
    if start_time.tzinfo is not None:
        raise InputError("start_time", "must be a clinic local time, without a time zone")
    session_length = _minutes("session_minutes", session_minutes, low=1)
    gap = _minutes("gap_minutes", gap_minutes, low=0)
    step = session_length + gap
    day_start = datetime.combine(first_day, start_time)
    last_end = day_start + step * (ACCELERATED_SESSIONS_PER_DAY - 1) + session_length
    if last_end > datetime.combine(first_day + ONE_DAY, time(0, 0)):
        raise InputError(
            "start_time",
            f"leaves too little of the day for {ACCELERATED_SESSIONS_PER_DAY} sessions",
        )

    days = [first_day]
    while len(days) < ACCELERATED_DAYS:
        days.append(_next_open_day(days[-1] + ONE_DAY, closed))
    sessions = []
    for day in days:
        for index in range(ACCELERATED_SESSIONS_PER_DAY):
            starts = datetime.combine(day, start_time) + step * index
            sessions.append(
                PlannedSession(
                    number=len(sessions) + 1,
                    planned_date=day,
                    planned_time=starts.time(),
                    phase=Phase.ACUTE,
                )
            )
    return sessions


def _plan_weeks(
    weeks: Sequence[_Week],
    start_date: date,
    closed_dates: Iterable[date],
    *,
    min_gap_days: int,
) -> list[PlannedSession]:
    """Lay out one session per planned day of each week, following the rules in the module doc."""
    closed = _closed_set(closed_dates)
    first_day = _first_open_day(start_date, closed)
    min_gap = timedelta(days=min_gap_days)
    sessions: list[PlannedSession] = []
    week_start = first_day
    for week in weeks:
        if week.days:
            week_start = _first_week_with_an_open_day(week_start, closed)
        week_end = week_start + ONE_WEEK
        for day_in_week in week.days:
            earliest = sessions[-1].planned_date + min_gap if sessions else first_day
            target = max(week_start + timedelta(days=day_in_week), earliest)
            day = _next_open_day(target, closed)
            if day >= week_end:
                day = _latest_open_day(max(earliest, week_start), target - ONE_DAY, closed) or day
            sessions.append(
                PlannedSession(
                    number=len(sessions) + 1, planned_date=day, planned_time=None, phase=week.phase
                )
            )
        week_start = week_end
    return sessions


def _is_open(day: date, closed: frozenset[date]) -> bool:
    return day.weekday() < 5 and day not in closed  # Monday..Friday


def _next_open_day(start: date, closed: frozenset[date]) -> date:
    for n in range(SEARCH_LIMIT_DAYS):
        day = start + timedelta(days=n)
        if _is_open(day, closed):
            return day
    raise InputError("closed_dates", f"leave no open weekday within a year of {start.isoformat()}")


def _latest_open_day(low: date, high: date, closed: frozenset[date]) -> date | None:
    """The latest open day from ``low`` to ``high`` inclusive, or None."""
    day = high
    while day >= low:
        if _is_open(day, closed):
            return day
        day -= ONE_DAY
    return None


def _first_week_with_an_open_day(week_start: date, closed: frozenset[date]) -> date:
    """``week_start``, or the start of the first later week that has an open day."""
    return week_start + ONE_WEEK * ((_next_open_day(week_start, closed) - week_start).days // 7)


def _first_open_day(start_date: object, closed: frozenset[date]) -> date:
    # datetime is a subclass of date, but a datetime never equals a date, so closures and
    # comparisons would silently miss it.
    if isinstance(start_date, datetime) or not isinstance(start_date, date):
        raise InputError("start_date", "must be a date")
    return _next_open_day(start_date, closed)


def _closed_set(closed_dates: Iterable[date] | None) -> frozenset[date]:
    if closed_dates is None:
        return frozenset()
    if isinstance(closed_dates, str | bytes) or not isinstance(closed_dates, Iterable):
        raise InputError("closed_dates", "must be a collection of dates")
    days = list(closed_dates)
    for day in days:
        if isinstance(day, datetime) or not isinstance(day, date):
            raise InputError("closed_dates", f"must contain only dates, not {day!r}")
    return frozenset(days)


def _minutes(field: str, value: object, *, low: int) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(field, "must be a whole number of minutes")
    if not low <= value <= 240:
        raise InputError(field, f"must be from {low} to 240 minutes")
    return timedelta(minutes=value)
