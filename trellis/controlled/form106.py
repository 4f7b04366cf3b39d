"""When a theft or significant loss of a controlled substance must be reported.

The registrant tells the DEA in writing within one business day of discovering a theft or
significant loss, and files DEA Form 106 within 45 days [R70]. A business day is a weekday that
is not a US federal holiday. Plain functions, no Django.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import holidays

NOTICE_BUSINESS_DAYS = 1  # written notice within 1 business day [R70]
FORM_DAYS = 45  # Form 106 within 45 days [R70]


def federal_holidays(year: int) -> set[date]:
    return set(holidays.country_holidays("US", years=[year, year + 1]).keys())


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in federal_holidays(day.year)


def add_business_days(start: date, days: int) -> date:
    """The ``days``-th business day after ``start`` (``start`` itself never counts)."""
    day = start
    left = days
    while left > 0:
        day += timedelta(days=1)
        if is_business_day(day):
            left -= 1
    return day


def notice_due(discovered_on: date) -> date:
    """The last day for the written notice: one business day after discovery [R70]."""
    return add_business_days(discovered_on, NOTICE_BUSINESS_DAYS)


def form_due(discovered_on: date) -> date:
    """The last day to file Form 106: 45 days after discovery [R70]."""
    return discovered_on + timedelta(days=FORM_DAYS)


class Step(StrEnum):
    DONE = "done"
    DUE = "due"
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class Standing:
    notice: Step
    form: Step

    @property
    def done(self) -> bool:
        return self.notice == Step.DONE and self.form == Step.DONE


def step(due: date, today: date, *, done: bool) -> Step:
    if done:
        return Step.DONE
    if today > due:
        return Step.OVERDUE
    if today == due:
        return Step.DUE_TODAY
    return Step.DUE


def standing(discovered_on: date, today: date, *, notice_sent: bool, form_filed: bool) -> Standing:
    return Standing(
        step(notice_due(discovered_on), today, done=notice_sent),
        step(form_due(discovered_on), today, done=form_filed),
    )
