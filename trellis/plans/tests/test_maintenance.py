"""Maintenance intervals [R1, R22, R111, R113] and the relapse watch bringing a session forward."""

from datetime import date

import pytest

from trellis.lib.errors import InputError
from trellis.patients.modality import Modality
from trellis.plans.maintenance import INTERVALS, check_interval, next_due

IV, ESK, TMS = Modality.IV_KETAMINE, Modality.ESKETAMINE, Modality.TMS
MON = date(2026, 3, 2)


@pytest.mark.parametrize(
    ("modality", "days", "ok"),
    [
        (IV, 2, True),  # three a week [R113]
        (IV, 84, True),  # every 12 weeks [R113]
        (IV, 1, False),
        (IV, 85, False),
        (ESK, 7, True),  # weekly [R22]
        (ESK, 14, True),  # every 2 weeks [R22]
        (ESK, 21, False),
        (TMS, 28, True),
        (Modality.ORAL_KETAMINE, 14, False),
    ],
)
def test_intervals(modality, days, ok):
    if ok:
        assert check_interval(modality, days) == days
    else:
        with pytest.raises(InputError):
            check_interval(modality, days)


def test_the_defaults_follow_the_sources():
    assert INTERVALS[IV].default_days == 28  # 4–6 weeks claimed [R111]
    assert INTERVALS[ESK].default_days == 14  # every 2 weeks [R22]


@pytest.mark.parametrize(
    ("modality", "last", "interval", "today", "flagged", "due", "forward"),
    [
        # By the interval.
        (IV, MON, 28, MON, None, date(2026, 3, 30), False),
        # Falling on a Saturday: the Monday after.
        (ESK, date(2026, 3, 6), 14, MON, None, date(2026, 3, 20), False),
        (IV, date(2026, 3, 5), 2, MON, None, date(2026, 3, 9), False),
        # Overdue: today.
        (IV, date(2026, 1, 5), 28, MON, None, MON, False),
        # A flag on Tuesday brings a 4-week booster forward to Wednesday.
        (IV, date(2026, 2, 23), 28, date(2026, 3, 3), date(2026, 3, 3), date(2026, 3, 4), True),
        # ...but never within 2 days of the last dose.
        (IV, date(2026, 3, 3), 28, date(2026, 3, 3), date(2026, 3, 3), date(2026, 3, 5), True),
        # A flag on Friday: Monday.
        (ESK, date(2026, 2, 27), 14, date(2026, 3, 6), date(2026, 3, 6), date(2026, 3, 9), True),
        # The interval is already sooner than the flag would make it.
        (ESK, date(2026, 2, 23), 7, date(2026, 3, 2), date(2026, 3, 2), date(2026, 3, 2), False),
        # An old flag is not in the past: from today.
        (TMS, date(2026, 1, 5), 84, date(2026, 3, 3), date(2026, 2, 1), date(2026, 3, 3), True),
    ],
)
def test_next_due(modality, last, interval, today, flagged, due, forward):
    result = next_due(modality, last=last, interval_days=interval, today=today, flagged_on=flagged)
    assert (result.day, result.brought_forward) == (due, forward)
