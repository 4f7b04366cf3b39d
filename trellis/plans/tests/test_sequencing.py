"""The combined plan's sequencing rule: no clash, separate days, or TMS after discharge
[R16, R22, R10, R94]."""

from datetime import UTC, date, datetime, timedelta

import pytest

from trellis.plans.sequencing import (
    SAME_DAY_AFTER_DISCHARGE,
    SEPARATE_DAYS,
    Slot,
    arrange_separate_days,
    problems,
)

MON = date(2026, 3, 2)


def day(offset: int) -> date:
    return MON + timedelta(days=offset)


def weekday(d: date) -> bool:
    return d.weekday() < 5


@pytest.mark.parametrize(
    ("tms", "doses", "closed", "moves"),
    [
        # No shared day: nothing moves.
        ([(1, day(1)), (2, day(3))], [day(0), day(2)], [], {}),
        # Daily TMS beside Monday/Wednesday/Friday infusions: each TMS day goes to the next
        # free weekday, and the rest follow in order.
        (
            [(1, day(0)), (2, day(1)), (3, day(2)), (4, day(3)), (5, day(4))],
            [day(0), day(2), day(4)],
            [],
            {1: day(1), 2: day(3), 3: day(7), 4: day(8), 5: day(9)},
        ),
        # A closure day is skipped too.
        ([(1, day(0))], [day(0)], [day(1)], {1: day(2)}),
        # Sessions of one day (accelerated iTBS) move together.
        ([(1, day(0)), (2, day(0)), (3, day(1))], [day(0)], [], {1: day(1), 2: day(1), 3: day(2)}),
        # A moved day never lands on a weekend.
        ([(1, day(4))], [day(4)], [], {1: day(7)}),
    ],
)
def test_separate_days_moves_tms_off_dose_days(tms, doses, closed, moves):
    result = arrange_separate_days(tms, doses, is_open=lambda d: weekday(d) and d not in closed)
    assert result == moves
    new_days = [result.get(n, d) for n, d in tms]
    assert not set(new_days) & set(doses)
    assert new_days == sorted(new_days)


def at(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC)


def slot(label: str, d: date, hour: int, minutes: int, minute: int = 0) -> Slot:
    start = at(d, hour, minute)
    return Slot(label, d, start, start + timedelta(minutes=minutes))


IV = slot("IV ketamine session 1", MON, 9, 90)  # 09:00–10:30
SPRAVATO = slot("Esketamine session 1", MON, 9, 150)  # 09:00–11:30
SHORT_SPRAVATO = slot("Esketamine session 1", MON, 9, 90)  # booked too short: 2 h still hold


@pytest.mark.parametrize(
    ("rule", "dose", "tms", "esketamine", "why"),
    [
        # Another day: fine under both rules.
        (SEPARATE_DAYS, IV, slot("TMS session 1", day(1), 9, 40), False, None),
        (SAME_DAY_AFTER_DISCHARGE, IV, slot("TMS session 1", day(1), 9, 40), False, None),
        # Overlap is refused under both.
        (SAME_DAY_AFTER_DISCHARGE, IV, slot("TMS session 1", MON, 10, 40), False, "overlaps"),
        (SEPARATE_DAYS, IV, slot("TMS session 1", MON, 10, 40), False, "overlaps"),
        # Separate days: any TMS on the dose's day.
        (SEPARATE_DAYS, IV, slot("TMS session 1", MON, 14, 40), False, "separate days"),
        # Same day: after the IV chair time ends (discharge).
        (SAME_DAY_AFTER_DISCHARGE, IV, slot("TMS session 1", MON, 10, 40, 30), False, None),
        # Same day: never before the dose.
        (SAME_DAY_AFTER_DISCHARGE, IV, slot("TMS session 1", MON, 8, 40), False, "before"),
        # Esketamine: after its 150-minute appointment.
        (SAME_DAY_AFTER_DISCHARGE, SPRAVATO, slot("TMS session 1", MON, 11, 40, 30), True, None),
        # Esketamine booked for 90 minutes: the 2 h observation still holds [R16, R22].
        (
            SAME_DAY_AFTER_DISCHARGE,
            SHORT_SPRAVATO,
            slot("TMS session 1", MON, 10, 40, 45),
            True,
            "discharge",
        ),
        (SAME_DAY_AFTER_DISCHARGE, SHORT_SPRAVATO, slot("TMS session 1", MON, 11, 40), True, None),
    ],
)
def test_the_rule_on_slots(rule, dose, tms, esketamine, why):
    found = problems(rule, [dose], [tms], esketamine=esketamine)
    if why is None:
        assert found == {}
    else:
        assert why in found[tms.label]


def test_an_unknown_rule_is_refused():
    with pytest.raises(ValueError):
        problems("whenever", [IV], [], esketamine=False)
