"""A date written in an address: YYYY-MM-DD and a day the calendar has, or the rule it breaks."""

from datetime import date

import pytest

from trellis.lib.dates import parse_iso_date


@pytest.mark.parametrize(
    ("text", "day"),
    [("2026-03-16", date(2026, 3, 16)), (" 2028-02-29 ", date(2028, 2, 29))],
)
def test_a_calendar_day_is_read(text, day):
    assert parse_iso_date(text) == day


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2027-02-29", "2027-02-29 is not a calendar date"),
        ("2026-13-45", "2026-13-45 is not a calendar date"),
        ("2026-3-16", "“2026-3-16” must be a date written YYYY-MM-DD"),
        ("03/16/2026", "“03/16/2026” must be a date written YYYY-MM-DD"),
        ("", "“” must be a date written YYYY-MM-DD"),
        ("x" * 50, f"“{'x' * 20}” must be a date written YYYY-MM-DD"),
    ],
)
def test_anything_else_is_refused_by_the_rule_it_breaks(text, message):
    with pytest.raises(ValueError) as refused:
        parse_iso_date(text)
    assert str(refused.value) == message
