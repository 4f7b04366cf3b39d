"""The measurement schedule as a pure function: what a course asks for and when."""

import itertools
from datetime import date, timedelta

import pytest

from trellis.lib.errors import InputError
from trellis.measures.schedule import (
    DueStatus,
    Occasion,
    PlannedSession,
    Policy,
    add_months,
    due_status,
    match,
    plan,
)

MON = date(2026, 3, 2)  # a Monday


def sessions(*days: date) -> list[PlannedSession]:
    return [PlannedSession(i, day) for i, day in enumerate(days, start=1)]


# Six infusions, Mon/Wed/Fri over two weeks [R2].
KETAMINE = sessions(*(MON + timedelta(days=d) for d in (0, 2, 4, 7, 9, 11)))
# TMS every weekday for six weeks.
TMS = sessions(*(MON + timedelta(weeks=w, days=d) for w in range(6) for d in range(5)))


def keys(planned) -> list[tuple[str, str]]:
    return [(d.key, d.instrument) for d in planned]


def test_ketamine_asks_for_a_baseline_one_before_each_later_session_an_end_and_follow_ups():
    planned = plan("iv_ketamine", KETAMINE)
    assert keys(planned) == [
        ("baseline", "phq9"),
        ("baseline", "gad7"),
        ("session-2", "phq9"),
        ("session-3", "phq9"),
        ("session-4", "phq9"),
        ("session-5", "phq9"),
        ("session-6", "phq9"),
        ("end", "phq9"),
        ("end", "gad7"),
        ("follow-up-1m", "phq9"),
        ("follow-up-1m", "gad7"),
        ("follow-up-3m", "phq9"),
        ("follow-up-3m", "gad7"),
        ("follow-up-6m", "phq9"),
        ("follow-up-6m", "gad7"),
    ]


def test_the_baseline_is_due_by_the_first_session_and_missed_after_it():
    baseline = plan("esketamine", KETAMINE)[0]
    assert (baseline.occasion, baseline.opens_on, baseline.due_on, baseline.closes_on) == (
        Occasion.BASELINE,
        MON - timedelta(days=14),
        MON,
        MON,
    )
    assert baseline.status(MON) == DueStatus.DUE
    assert baseline.status(MON + timedelta(days=1)) == DueStatus.MISSED


@pytest.mark.parametrize(
    ("number", "opens", "due"),
    [
        # Session 2 on Wednesday: opens Tuesday, the day after session 1, not 3 days before.
        (2, MON + timedelta(days=1), MON + timedelta(days=2)),
        # Session 4 on the next Monday: opens the day after session 3 (Friday), a Saturday.
        (4, MON + timedelta(days=5), MON + timedelta(days=7)),
    ],
)
def test_a_pre_session_questionnaire_opens_after_the_previous_session(number, opens, due):
    item = next(d for d in plan("iv_ketamine", KETAMINE) if d.key == f"session-{number}")
    assert (item.opens_on, item.due_on, item.closes_on) == (opens, due, due)


def test_tms_asks_weekly_while_sessions_go_on():
    weekly = [d for d in plan("tms", TMS) if d.occasion == Occasion.WEEKLY]
    assert [d.due_on for d in weekly] == [MON + timedelta(weeks=w) for w in range(1, 6)]
    assert {d.instrument for d in weekly} == {"phq9"}
    assert weekly[0].label == "TMS, after week 1"
    # Windows never overlap: each closes before the next opens.
    for earlier, later in itertools.pairwise(weekly):
        assert earlier.closes_on < later.opens_on


def test_the_tms_interval_is_a_clinic_setting():
    weekly = [d for d in plan("tms", TMS, Policy(tms_interval_days=14)) if d.key.startswith("w")]
    assert [d.due_on for d in weekly] == [MON + timedelta(weeks=2), MON + timedelta(weeks=4)]
    assert weekly[0].label == "TMS, after 14 days"


def test_an_accelerated_five_day_tms_course_has_no_weekly_questionnaire():
    five_days = sessions(*(MON + timedelta(days=d) for d in range(5)))
    assert [d.key for d in plan("tms", five_days)][:4] == ["baseline", "baseline", "end", "end"]


def test_end_of_course_and_follow_ups_count_from_the_last_session():
    last = KETAMINE[-1].planned_date  # Friday March 13
    planned = {(d.key, d.instrument): d for d in plan("iv_ketamine", KETAMINE)}
    end = planned[("end", "phq9")]
    assert (end.opens_on, end.due_on, end.closes_on) == (
        last,
        last + timedelta(days=7),
        last + timedelta(days=21),
    )
    assert planned[("follow-up-1m", "gad7")].due_on == date(2026, 4, 13)
    assert planned[("follow-up-3m", "phq9")].due_on == date(2026, 6, 13)
    assert planned[("follow-up-6m", "phq9")].due_on == date(2026, 9, 13)
    assert planned[("follow-up-1m", "phq9")].label == "Follow-up at 1 month"


def test_follow_ups_are_clinic_settings_and_zero_switches_one_off():
    planned = plan("tms", TMS, Policy(follow_up_months=(0, 2, 2, 12)))
    assert sorted({d.key for d in planned if d.occasion == Occasion.FOLLOW_UP}) == [
        "follow-up-12m",
        "follow-up-2m",
    ]


def test_no_sessions_no_schedule_and_session_order_does_not_matter():
    assert plan("tms", []) == []
    assert plan("iv_ketamine", list(reversed(KETAMINE))) == plan("iv_ketamine", KETAMINE)


@pytest.mark.parametrize(
    ("modality", "policy", "field"),
    [
        ("homeopathy", Policy(), "modality"),
        ("tms", Policy(tms_interval_days=0), "tms_interval_days"),
        ("tms", Policy(follow_up_months=(-1,)), "follow_up_months"),
    ],
)
def test_it_refuses_what_it_cannot_plan(modality, policy, field):
    with pytest.raises(InputError) as error:
        plan(modality, TMS, policy)
    assert error.value.field == field


@pytest.mark.parametrize(
    ("today", "done", "status"),
    [
        (date(2026, 3, 1), False, DueStatus.UPCOMING),
        (date(2026, 3, 2), False, DueStatus.DUE),
        (date(2026, 3, 5), False, DueStatus.DUE),
        (date(2026, 3, 6), False, DueStatus.OVERDUE),
        (date(2026, 3, 9), False, DueStatus.OVERDUE),
        (date(2026, 3, 10), False, DueStatus.MISSED),
        (date(2026, 3, 10), True, DueStatus.DONE),
    ],
)
def test_due_status_at_every_edge(today, done, status):
    assert (
        due_status(date(2026, 3, 2), date(2026, 3, 5), date(2026, 3, 9), today, done=done) == status
    )


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 11, 15), 3, date(2027, 2, 15)),
        (date(2026, 3, 13), 6, date(2026, 9, 13)),
    ],
)
def test_add_months_keeps_the_day_or_takes_the_months_last(day, months, expected):
    assert add_months(day, months) == expected


def test_an_answer_fills_the_earliest_due_open_slot():
    overdue = ("overdue", date(2026, 3, 1), date(2026, 3, 3), date(2026, 3, 8))
    current = ("current", date(2026, 3, 5), date(2026, 3, 7), date(2026, 3, 7))
    assert match([current, overdue], date(2026, 3, 6)) == "overdue"
    assert match([current, overdue], date(2026, 3, 9)) is None
    assert match([current], date(2026, 3, 7)) == "current"
