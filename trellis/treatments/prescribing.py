"""At-home oral and sublingual ketamine prescriptions: the rules, as plain functions.

Ketamine is Schedule III. Compounded (503A) tablets and troches for use at home are not
FDA-approved for depression [R85]; there is no federal quantity cap, so the quantity and days'
supply of one prescription are clinic settings (DOMAIN.md §9). What the law and the guidance do
say, each cited where it is applied:

- a CIII prescription may be refilled at most 5 times and is void 6 months after it was issued
  [R88];
- the prescription drug monitoring programme (PDMP) is checked before prescribing (pharmacy
  guidance: at every fill); a regulator recommends urine drug screening; how often is the
  clinic's policy [R89];
- prescribing by telemedicine without an in-person examination rests on the DEA's flexibilities,
  which run through 31 December 2026 [R91];
- an adult peer monitor is present for every at-home session [R85].

No Django here: the services pass in the clinic's settings and dates (the clinic's own
calendar), and every rule is tested from a table.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

# CIII: "may not be filled or refilled more than six months after the date on which such
# prescription was issued, and may not be refilled more than five times" [R88].
MAX_REFILLS = 5
VOID_AFTER_MONTHS = 6

# The DEA's telemedicine flexibilities: CII–V prescribing without an in-person examination
# through 31 December 2026 [R91]. A later extension or the special-registration rule changes
# this one date.
TELEMEDICINE_FLEXIBILITY_ENDS = date(2026, 12, 31)


class Basis:
    """How the prescriber came to prescribe: an in-person examination, or telemedicine."""

    IN_PERSON = "in_person"
    TELEMEDICINE = "telemedicine"


@dataclass(frozen=True)
class Problem:
    """Why a prescription or a fill may not go ahead: the field it concerns and the rule."""

    field: str
    message: str


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months; the 31st of August plus 6 is the last of February."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def void_on(issued_on: date) -> date:
    """The first day a CIII prescription can no longer be filled: 6 months after issue [R88]."""
    return add_months(issued_on, VOID_AFTER_MONTHS)


def prescription_problems(
    *,
    strength_mg: Decimal | None,
    units_per_dose: int | None,
    quantity: int | None,
    days_supply: int | None,
    refills: int | None,
    max_quantity: int,
    max_days_supply: int,
    max_dose_mg: int,
) -> list[Problem]:
    """What is wrong with a prescription's amounts, each naming its field and its rule.

    A value equal to a limit is within it. The quantity and days' supply maximums are the
    clinic's (no federal cap, DOMAIN.md §9); the refills are the law's [R88]; the dose per
    administration (strength × units) is held to the clinic's oral dose limit, as in the clinic
    [R81].
    """
    problems = []
    if strength_mg is None or strength_mg <= 0:
        problems.append(Problem("strength_mg", "must be more than 0 mg"))
    if units_per_dose is None or units_per_dose < 1:
        problems.append(Problem("units_per_dose", "must be at least 1"))
    if quantity is None or quantity < 1:
        problems.append(Problem("quantity", "must be at least 1"))
    elif quantity > max_quantity:
        problems.append(
            Problem("quantity", f"{quantity} is above the clinic's maximum of {max_quantity}")
        )
    if days_supply is None or days_supply < 1:
        problems.append(Problem("days_supply", "must be at least 1 day"))
    elif days_supply > max_days_supply:
        problems.append(
            Problem(
                "days_supply",
                f"{days_supply} days is above the clinic's maximum of {max_days_supply} days",
            )
        )
    if refills is None or refills < 0:
        problems.append(Problem("refills", "must be 0 or more"))
    elif refills > MAX_REFILLS:
        problems.append(
            Problem("refills", f"a Schedule III prescription allows at most {MAX_REFILLS} [R88]")
        )
    if (
        strength_mg is not None
        and strength_mg > 0
        and units_per_dose is not None
        and units_per_dose >= 1
    ):
        dose = strength_mg * units_per_dose
        if dose > max_dose_mg:
            problems.append(
                Problem(
                    "units_per_dose",
                    f"a dose of {_plain(dose)} mg is above the clinic's oral dose limit of "
                    f"{max_dose_mg} mg [R81]",
                )
            )
        if quantity is not None and 1 <= quantity < units_per_dose:
            problems.append(Problem("quantity", "is less than one dose"))
    return problems


def basis_problems(basis: str, issued_on: date, *, ends_on: date = TELEMEDICINE_FLEXIBILITY_ENDS):
    """The prescribing basis: in person, or telemedicine while the DEA flexibilities last
    [R91]."""
    if basis not in (Basis.IN_PERSON, Basis.TELEMEDICINE):
        return [Problem("basis", "must be in_person or telemedicine")]
    if basis == Basis.TELEMEDICINE and issued_on > ends_on:
        return [
            Problem(
                "basis",
                f"prescribing by telemedicine without an in-person examination rests on the "
                f"DEA flexibilities, which ended on {day_text(ends_on)} [R91]",
            )
        ]
    return []


def check_is_current(
    field: str, label: str, checked_on: date | None, today: date, interval_days: int
) -> Problem | None:
    """A check (the PDMP, a urine drug screen) counts when it was done within ``interval_days``
    before ``today``: 0 means on the day itself. None when it counts. [R89]"""
    if checked_on is None:
        return Problem(field, f"no {label} is recorded; record one before prescribing [R89]")
    if checked_on > today:
        return Problem(field, f"the {label} is dated after today")
    age = (today - checked_on).days
    if age > interval_days:
        within = "today" if interval_days == 0 else f"within {interval_days} days"
        return Problem(
            field,
            f"the last {label} was {age} day{'s' if age != 1 else ''} ago; the clinic asks for "
            f"one {within} of "
            f"prescribing [R89]",
        )
    return None


def fill_problems(
    *, issued_on: date, refills: int, fills_so_far: int, filled_on: date
) -> list[Problem]:
    """Whether one more fill (the first, or a refill) of a prescription may be recorded: never
    before the prescription was issued, never on or after its void date, and never more than
    the first fill plus its refills [R88]."""
    problems = []
    if filled_on < issued_on:
        problems.append(Problem("filled_on", "is before the prescription was issued"))
    if filled_on >= void_on(issued_on):
        problems.append(
            Problem(
                "filled_on",
                f"the prescription was void from {day_text(void_on(issued_on))}, 6 months after "
                "it was issued [R88]",
            )
        )
    if fills_so_far >= 1 + refills:
        allowed = "no refills" if refills == 0 else f"{refills} refill{'s' if refills > 1 else ''}"
        problems.append(Problem("filled_on", f"the prescription allows {allowed}; all are used"))
    return problems


@dataclass(frozen=True)
class EarlyRefill:
    """A supply taken before the previous one should have run out."""

    days_early: int
    due_on: date

    def message(self) -> str:
        return (
            f"{self.days_early} day{'s' if self.days_early != 1 else ''} early: the previous "
            f"supply should last until {day_text(self.due_on)}"
        )


def early_refill(
    *,
    previous_filled_on: date | None,
    previous_days_supply: int | None,
    filled_on: date,
    tolerance_days: int,
) -> EarlyRefill | None:
    """Flag a supply (a refill, or a new prescription) that comes before the previous supply
    should run out, less the clinic's tolerance: supply taken on ``previous_filled_on`` for
    ``previous_days_supply`` days runs out that many days later; a new one on or after
    ``run_out − tolerance`` is on time. A flag asks the prescriber to look (misuse or diversion
    is one reason among others [R86, R87]); it refuses nothing."""
    if previous_filled_on is None or previous_days_supply is None:
        return None
    runs_out = previous_filled_on + timedelta(days=previous_days_supply)
    allowed_from = runs_out - timedelta(days=tolerance_days)
    if filled_on >= allowed_from:
        return None
    return EarlyRefill(days_early=(runs_out - filled_on).days, due_on=runs_out)


def day_text(value: date) -> str:
    return f"{value:%b} {value.day}, {value.year}"


def _plain(value: Decimal) -> str:
    return format(Decimal(value).normalize(), "f")
