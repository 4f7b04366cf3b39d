"""Planned session calendars against the published protocols [R2, R3, R4, R22, R33, R36, R37]."""

import dataclasses
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

import pytest

from trellis.lib.errors import InputError
from trellis.treatments.schedule import (
    PROTOCOL_CODES,
    Phase,
    PlannedSession,
    plan_sessions,
    plan_tms_accelerated_itbs,
)

MONDAY = date(2025, 3, 3)
WEDNESDAY = MONDAY + timedelta(days=2)
SATURDAY = MONDAY + timedelta(days=5)


def day(week, weekday):
    """The date in calendar week ``week`` (1 = the week of MONDAY), weekday 0 = Monday."""
    return MONDAY + timedelta(weeks=week - 1, days=weekday)


def calendar_week(planned_date):
    return (planned_date - MONDAY).days // 7 + 1


def sessions_per_week(sessions, weeks):
    counts = Counter(calendar_week(s.planned_date) for s in sessions)
    return [counts[week] for week in range(1, weeks + 1)]


def dates(sessions):
    return [s.planned_date for s in sessions]


HOLIDAY_IN_WEEK_2 = frozenset({day(2, 2)})  # the Wednesday of week 2
CLOSED_WEEK_3 = frozenset(day(3, weekday) for weekday in range(5))
CLOSURES = {
    "no closures": frozenset(),
    "a public holiday in week 2": HOLIDAY_IN_WEEK_2,
    "a whole closed week": CLOSED_WEEK_3,
    "a closed start day": frozenset({MONDAY}),
    "every Friday closed": frozenset(day(week, 4) for week in range(1, 30)),
    "a long weekend and a closed week": HOLIDAY_IN_WEEK_2 | CLOSED_WEEK_3 | {day(5, 0)},
}
PLAN_SIZES = {
    "ketamine-iv-induction": 6,
    "ketamine-iv-maintenance": 4,
    "esketamine-trd": 12,
    "tms-10hz": 36,
    "tms-itbs": 36,
    "tms-accelerated-itbs": 50,
    "ketamine-oral-weekly": 6,
}
EVERY_PLAN = [
    pytest.param(code, closures, id=f"{code} with {name}")
    for code in PROTOCOL_CODES
    for name, closures in CLOSURES.items()
]


@pytest.mark.parametrize(("code", "size"), PLAN_SIZES.items())
def test_it_plans_the_published_number_of_sessions(code, size):
    assert len(plan_sessions(code, MONDAY)) == size


@pytest.mark.parametrize(("code", "closed"), EVERY_PLAN)
def test_it_never_plans_a_session_on_a_weekend_or_a_closed_day(code, closed):
    sessions = plan_sessions(code, MONDAY, closed)

    assert len(sessions) == PLAN_SIZES[code]
    assert all(s.planned_date.weekday() < 5 for s in sessions)
    assert not set(dates(sessions)) & closed


@pytest.mark.parametrize(("code", "closed"), EVERY_PLAN)
def test_it_numbers_sessions_one_to_n_in_date_order(code, closed):
    sessions = plan_sessions(code, MONDAY, closed)

    assert [s.number for s in sessions] == list(range(1, len(sessions) + 1))
    assert sorted(sessions, key=lambda s: (s.planned_date, s.planned_time or time())) == sessions


@pytest.mark.parametrize(
    ("code", "closed"),
    [param for param in EVERY_PLAN if param.values[0] != "tms-accelerated-itbs"],
)
def test_it_plans_at_most_one_session_a_day_outside_accelerated_tms(code, closed):
    planned = dates(plan_sessions(code, MONDAY, closed))

    assert len(set(planned)) == len(planned)
    assert all(s.planned_time is None for s in plan_sessions(code, MONDAY, closed))


@pytest.mark.parametrize(
    ("code", "closed"),
    [param for param in EVERY_PLAN if not param.values[0].startswith("tms")],
)
def test_it_never_gives_ketamine_or_esketamine_on_consecutive_days(code, closed):
    planned = dates(plan_sessions(code, MONDAY, closed))

    assert all((later - earlier).days >= 2 for earlier, later in pairwise(planned))


@pytest.mark.parametrize("code", ["tms-10hz", "tms-itbs"])
def test_a_tms_course_is_30_daily_sessions_then_a_3_2_1_taper(code):
    sessions = plan_sessions(code, MONDAY)

    assert sessions_per_week(sessions, 10) == [5, 5, 5, 5, 5, 5, 3, 2, 1, 0]
    assert [s.phase for s in sessions] == [Phase.ACUTE] * 30 + [Phase.TAPER] * 6
    assert dates(sessions)[30:] == [
        day(7, 0),
        day(7, 2),
        day(7, 4),
        day(8, 0),
        day(8, 3),
        day(9, 0),
    ]


def test_a_holiday_carries_a_tms_session_over_without_doubling_up():
    sessions = plan_sessions("tms-10hz", MONDAY, HOLIDAY_IN_WEEK_2)

    assert sessions_per_week(sessions, 10)[:2] == [5, 4]
    assert sum(sessions_per_week(sessions, 6)) == 29
    assert [s.phase for s in sessions].count(Phase.ACUTE) == 30
    assert sessions[29].planned_date == day(7, 0)
    assert sessions[-1].planned_date == day(9, 0)


def test_a_whole_closed_week_moves_the_rest_of_a_tms_course_on_by_a_week():
    sessions = plan_sessions("tms-10hz", MONDAY, CLOSED_WEEK_3)

    assert sessions_per_week(sessions, 11) == [5, 5, 0, 5, 5, 5, 5, 3, 2, 1, 0]


def test_a_closed_friday_keeps_a_taper_session_in_its_week():
    closed = frozenset({day(7, 4)})

    sessions = plan_sessions("tms-10hz", MONDAY, closed)

    assert dates(sessions)[30:33] == [day(7, 0), day(7, 2), day(7, 3)]


def test_esketamine_is_twice_weekly_for_4_weeks_then_weekly_for_4():
    sessions = plan_sessions("esketamine-trd", MONDAY)

    assert sessions_per_week(sessions, 9) == [2, 2, 2, 2, 1, 1, 1, 1, 0]
    assert [s.phase for s in sessions] == [Phase.INDUCTION] * 8 + [Phase.MAINTENANCE] * 4
    assert dates(sessions)[:2] == [day(1, 0), day(1, 3)]


@pytest.mark.parametrize(
    ("every", "count", "weeks"),
    [
        pytest.param(2, 3, [10, 12, 14], id="every 2 weeks after week 8"),
        pytest.param(1, 2, [9, 10], id="weekly after week 8"),
    ],
)
def test_esketamine_maintenance_beyond_week_8_is_planned_only_when_asked(every, count, weeks):
    sessions = plan_sessions(
        "esketamine-trd", MONDAY, maintenance_every_weeks=every, maintenance_sessions=count
    )

    assert len(sessions) == 12 + count
    assert [calendar_week(s.planned_date) for s in sessions[12:]] == weeks
    assert {s.phase for s in sessions[12:]} == {Phase.MAINTENANCE}


@pytest.mark.parametrize(
    ("closed", "week_counts"),
    [
        pytest.param(HOLIDAY_IN_WEEK_2, [2, 2, 2, 2, 1, 1, 1, 1, 0], id="a holiday"),
        pytest.param(
            frozenset({day(2, 3), day(2, 4)}),
            [2, 2, 2, 2, 1, 1, 1, 1, 0],
            id="the Thursday and Friday closed",
        ),
        pytest.param(CLOSED_WEEK_3, [2, 2, 0, 2, 2, 1, 1, 1, 1], id="a closed week"),
    ],
)
def test_esketamine_keeps_its_weekly_rhythm_around_closures(closed, week_counts):
    sessions = plan_sessions("esketamine-trd", MONDAY, closed)

    assert sessions_per_week(sessions, 9) == week_counts


@pytest.mark.parametrize(
    ("start", "closed"),
    [
        pytest.param(MONDAY, frozenset(), id="from a Monday"),
        pytest.param(WEDNESDAY, frozenset(), id="from a Wednesday"),
        pytest.param(day(1, 4), frozenset(), id="from a Friday"),
        pytest.param(SATURDAY, frozenset(), id="from a Saturday"),
        pytest.param(MONDAY, HOLIDAY_IN_WEEK_2, id="around a holiday"),
        pytest.param(MONDAY, frozenset({day(1, 2), day(1, 4)}), id="around two closed days"),
    ],
)
def test_ketamine_induction_is_6_infusions_within_3_weeks_never_on_consecutive_days(start, closed):
    planned = dates(plan_sessions("ketamine-iv-induction", start, closed))

    assert len(planned) == 6
    assert (planned[-1] - planned[0]).days < 21
    assert all((later - earlier).days >= 2 for earlier, later in pairwise(planned))


def test_ketamine_induction_defaults_to_monday_wednesday_friday_for_2_weeks():
    sessions = plan_sessions("ketamine-iv-induction", MONDAY)

    assert dates(sessions) == [day(w, d) for w in (1, 2) for d in (0, 2, 4)]
    assert {s.phase for s in sessions} == {Phase.INDUCTION}


def test_ketamine_induction_can_be_twice_weekly_for_3_weeks_as_in_elekt_d():
    sessions = plan_sessions("ketamine-iv-induction", MONDAY, infusions_per_week=2)

    assert sessions_per_week(sessions, 4) == [2, 2, 2, 0]


def test_ketamine_maintenance_is_4_once_weekly_infusions():
    sessions = plan_sessions("ketamine-iv-maintenance", MONDAY)

    assert dates(sessions) == [day(week, 0) for week in (1, 2, 3, 4)]
    assert {s.phase for s in sessions} == {Phase.MAINTENANCE}


def test_oral_ketamine_is_6_once_weekly_sessions():
    sessions = plan_sessions("ketamine-oral-weekly", MONDAY)

    assert dates(sessions) == [day(week, 0) for week in (1, 2, 3, 4, 5, 6)]


def test_accelerated_itbs_is_10_sessions_a_day_for_5_days():
    sessions = plan_sessions("tms-accelerated-itbs", MONDAY)

    assert len(sessions) == 50
    assert Counter(dates(sessions)) == {day(1, weekday): 10 for weekday in range(5)}
    assert [s.planned_time for s in sessions[:10]] == [time(hour, 0) for hour in range(8, 18)]


@pytest.mark.parametrize(
    ("start_time", "session_minutes", "first", "last"),
    [
        pytest.param(time(8, 0), 10, time(8, 0), time(17, 0), id="10-minute sessions from 08:00"),
        pytest.param(time(7, 30), 10, time(7, 30), time(16, 30), id="from 07:30"),
    ],
)
def test_accelerated_itbs_leaves_a_50_minute_gap_between_sessions(
    start_time, session_minutes, first, last
):
    sessions = plan_tms_accelerated_itbs(
        MONDAY, start_time=start_time, session_minutes=session_minutes
    )

    for today in set(dates(sessions)):
        todays = [s for s in sessions if s.planned_date == today]
        starts = [datetime.combine(today, s.planned_time) for s in todays]
        ends = [start + timedelta(minutes=session_minutes) for start in starts]
        assert [b - a for a, b in zip(ends, starts[1:], strict=False)] == [
            timedelta(minutes=50)
        ] * 9
        assert (starts[0].time(), starts[-1].time()) == (first, last)


def test_accelerated_itbs_runs_on_the_next_open_days_after_a_closure():
    sessions = plan_sessions("tms-accelerated-itbs", MONDAY, frozenset({day(1, 2)}))

    assert sorted(set(dates(sessions))) == [day(1, 0), day(1, 1), day(1, 3), day(1, 4), day(2, 0)]


@pytest.mark.parametrize("code", PROTOCOL_CODES)
def test_a_course_starting_on_a_saturday_begins_on_monday(code):
    assert plan_sessions(code, SATURDAY)[0].planned_date == day(2, 0)


@pytest.mark.parametrize("code", PROTOCOL_CODES)
def test_a_course_starting_on_a_closed_day_begins_on_the_next_open_day(code):
    assert plan_sessions(code, MONDAY, {MONDAY})[0].planned_date == day(1, 1)


def test_a_course_starting_midweek_keeps_five_sessions_a_week_from_its_first_day():
    sessions = plan_sessions("tms-10hz", WEDNESDAY)

    blocks = Counter((s.planned_date - WEDNESDAY).days // 7 + 1 for s in sessions)
    assert [blocks[week] for week in range(1, 10)] == [5, 5, 5, 5, 5, 5, 3, 2, 1]


def test_a_planned_session_gives_a_json_ready_shape():
    sessions = plan_sessions("tms-accelerated-itbs", MONDAY)

    assert sessions[1].as_dict() == {
        "number": 2,
        "planned_date": "2025-03-03",
        "planned_time": "09:00",
        "phase": "acute",
    }
    assert plan_sessions("tms-10hz", MONDAY)[0].as_dict()["planned_time"] is None


def test_a_planned_session_cannot_be_changed():
    session = PlannedSession(1, MONDAY, None, Phase.ACUTE)

    with pytest.raises(dataclasses.FrozenInstanceError):
        session.number = 2


@pytest.mark.parametrize(
    ("arguments", "options", "field"),
    [
        pytest.param(("tms-5hz", MONDAY), {}, "protocol", id="an unknown protocol"),
        pytest.param(("TMS-10HZ", MONDAY), {}, "protocol", id="a protocol in capitals"),
        pytest.param((None, MONDAY), {}, "protocol", id="no protocol"),
        pytest.param(("tms-10hz", "2025-03-03"), {}, "start_date", id="a start date as text"),
        pytest.param(("tms-10hz", None), {}, "start_date", id="no start date"),
        pytest.param(("tms-10hz", datetime(2025, 3, 3, 9)), {}, "start_date", id="a date and time"),
        pytest.param(("tms-10hz", MONDAY, "2025-03-05"), {}, "closed_dates", id="closures text"),
        pytest.param(("tms-10hz", MONDAY, ["2025-03-05"]), {}, "closed_dates", id="a text date"),
        pytest.param(
            ("tms-10hz", MONDAY, [datetime(2025, 3, 5)]), {}, "closed_dates", id="a datetime"
        ),
        pytest.param(
            ("tms-10hz", MONDAY, {MONDAY + timedelta(days=n) for n in range(400)}),
            {},
            "closed_dates",
            id="closures that leave no open day",
        ),
        pytest.param(
            ("ketamine-iv-induction", MONDAY),
            {"infusions_per_week": 5},
            "infusions_per_week",
            id="5 ketamine infusions a week",
        ),
        pytest.param(
            ("ketamine-iv-induction", MONDAY),
            {"infusions_per_week": 0},
            "infusions_per_week",
            id="0 ketamine infusions a week",
        ),
        pytest.param(
            ("ketamine-iv-induction", MONDAY),
            {"infusions_per_week": True},
            "infusions_per_week",
            id="true ketamine infusions a week",
        ),
        pytest.param(
            ("tms-10hz", MONDAY),
            {"infusions_per_week": 3},
            "infusions_per_week",
            id="infusions per week for TMS",
        ),
        pytest.param(
            ("esketamine-trd", MONDAY),
            {"maintenance_every_weeks": 3, "maintenance_sessions": 2},
            "maintenance_every_weeks",
            id="esketamine every 3 weeks",
        ),
        pytest.param(
            ("esketamine-trd", MONDAY),
            {"maintenance_sessions": 2},
            "maintenance_every_weeks",
            id="maintenance sessions without an interval",
        ),
        pytest.param(
            ("esketamine-trd", MONDAY),
            {"maintenance_every_weeks": 2},
            "maintenance_sessions",
            id="an interval without maintenance sessions",
        ),
        pytest.param(
            ("esketamine-trd", MONDAY),
            {"maintenance_every_weeks": 2, "maintenance_sessions": 53},
            "maintenance_sessions",
            id="more than a year of maintenance",
        ),
        pytest.param(
            ("esketamine-trd", MONDAY),
            {"maintenance_every_weeks": True, "maintenance_sessions": 2},
            "maintenance_every_weeks",
            id="a true interval",
        ),
        pytest.param(
            ("ketamine-iv-maintenance", MONDAY),
            {"maintenance_sessions": 2},
            "maintenance_sessions",
            id="esketamine maintenance options for IV ketamine",
        ),
        pytest.param(
            ("tms-accelerated-itbs", MONDAY),
            {"start_time": "08:00"},
            "start_time",
            id="a start time as text",
        ),
        pytest.param(
            ("tms-accelerated-itbs", MONDAY),
            {"start_time": time(8, 0, tzinfo=UTC)},
            "start_time",
            id="a start time with a time zone",
        ),
        pytest.param(
            ("tms-accelerated-itbs", MONDAY),
            {"start_time": time(16, 0)},
            "start_time",
            id="a start time too late for 10 sessions",
        ),
        pytest.param(
            ("tms-itbs", MONDAY),
            {"start_time": time(8, 0)},
            "start_time",
            id="times for daily iTBS",
        ),
    ],
)
def test_it_rejects_bad_input_by_field_name(arguments, options, field):
    with pytest.raises(InputError) as raised:
        plan_sessions(*arguments, **options)

    assert raised.value.field == field


@pytest.mark.parametrize(
    ("options", "field"),
    [
        pytest.param({"session_minutes": 0}, "session_minutes", id="0-minute sessions"),
        pytest.param({"session_minutes": True}, "session_minutes", id="true-minute sessions"),
        pytest.param({"gap_minutes": -10}, "gap_minutes", id="a negative gap"),
        pytest.param({"gap_minutes": 50.0}, "gap_minutes", id="a fractional gap"),
    ],
)
def test_it_rejects_bad_accelerated_timings_by_field_name(options, field):
    with pytest.raises(InputError) as raised:
        plan_tms_accelerated_itbs(MONDAY, **options)

    assert raised.value.field == field
