"""The pure rules of a group's size, calendar and late joining, against DOMAIN.md §12."""

from datetime import date

import pytest

from trellis.groups import rules
from trellis.lib.errors import InputError


@pytest.mark.parametrize(
    ("value", "ok"),
    [(1, True), (8, True), (10, True), (12, True), (13, False), (0, False), ("12", False)],
)
def test_capacity_is_one_to_twelve_per_ngs_lcd_and_aapc(value, ok):
    # NGS LCD L33632: 90853 groups of at most 12 [R103]; AAPC: 12 maximum [R104].
    if ok:
        assert rules.check_capacity(value) == value
    else:
        with pytest.raises(InputError) as error:
            rules.check_capacity(value)
        assert error.value.field == "capacity"


@pytest.mark.parametrize(
    ("late_join_until", "begun", "open_"),
    [
        (1, 0, True),  # before the first session
        (1, 1, False),  # the first has begun: closed
        (2, 0, True),
        (2, 1, True),  # may still join before session 2
        (2, 2, False),
        (8, 7, True),
        (8, 8, False),
    ],
)
def test_late_joining_closes_when_the_cohorts_session_begins(late_join_until, begun, open_):
    assert rules.joining_open(late_join_until, begun) is open_


@pytest.mark.parametrize(
    ("statuses", "count"),
    [
        ([], 0),
        (["present"] * 8, 8),
        (["present", "late", "left_early", "absent"], 3),
        (["absent", "absent"], 0),
    ],
)
def test_participants_are_those_present_late_or_leaving_early(statuses, count):
    assert rules.participant_count(statuses) == count


def test_meetings_are_weekly_from_the_start_date():
    assert rules.meeting_dates(date(2027, 2, 6), 3) == [
        date(2027, 2, 6),
        date(2027, 2, 13),
        date(2027, 2, 20),
    ]


def test_late_join_cannot_pass_the_programs_sessions():
    with pytest.raises(InputError, match="the program has 8 sessions"):
        rules.check_late_join(9, 8)
