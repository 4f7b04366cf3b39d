"""Public holidays a clinic may want to close on, from the ``holidays`` library for the
clinic's country and state or province. Proposals only: a holiday becomes a closure day when
an administrator accepts it. No Django here."""

from dataclasses import dataclass
from datetime import date, timedelta

import holidays

# The coming year: far enough ahead to plan a course's calendar around.
HORIZON_DAYS = 365


@dataclass(frozen=True)
class Holiday:
    date: date
    name: str


def public_holidays(country: str, subdivision: str, start: date, end: date) -> list[Holiday]:
    """The public holidays from ``start`` to ``end`` (both included), in date order, with the
    library's names (two on one day are joined with "; "). An unknown country or subdivision
    has none, rather than an error: the clinic's settings page refuses them anyway."""
    try:
        calendar = holidays.country_holidays(
            country,
            subdiv=subdivision or None,
            years=range(start.year, end.year + 1),
        )
    except NotImplementedError:
        return []
    return [Holiday(day, name) for day, name in sorted(calendar.items()) if start <= day <= end]


def proposals(
    country: str, subdivision: str, today: date, closed: set[date] | frozenset[date]
) -> list[Holiday]:
    """The coming year's public holidays that fall on a weekday (weekends are closed anyway)
    and are not closure days already."""
    end = today + timedelta(days=HORIZON_DAYS)
    return [
        holiday
        for holiday in public_holidays(country, subdivision, today, end)
        if holiday.date.weekday() < 5 and holiday.date not in closed
    ]
