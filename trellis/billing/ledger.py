"""Money arithmetic of the patient ledger: applying payments, balances and aged receivables.

Pure, standard library only. Amounts are ``Decimal`` US dollars with two places.

- A payment is applied to the charges still owing, oldest service first, unless the person
  recording it chose the charges (``apply_oldest_first``).
- What a charge still owes is its amount, less any credit against it, less what payments have
  paid of it; a patient's balance is every charge and credit less every payment, so money paid
  and not yet applied lowers it too.
- Aged receivables put each charge's amount owing in a bucket by the days since its date of
  service: 0–30, 31–60, 61–90, over 90 (the usual accounts-receivable ageing; DOMAIN.md names
  no other).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

ZERO = Decimal("0.00")
CENT = Decimal("0.01")

BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("0–30", 30),
    ("31–60", 60),
    ("61–90", 90),
    ("90+", None),
)


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT)


def bucket(service_date: date, as_of: date) -> str:
    """The ageing bucket of a charge with ``service_date`` on ``as_of`` (0–30 … 90+); a date of
    service after ``as_of`` is 0 days old."""
    days = max(0, (as_of - service_date).days)
    for name, upper in BUCKETS:
        if upper is None or days <= upper:
            return name
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Owing:
    """A charge that may still owe money: its key, date of service and amount still owing."""

    key: object
    service_date: date
    owing: Decimal


def apply_oldest_first(amount: Decimal, owing: list[Owing]) -> list[tuple[object, Decimal]]:
    """How ``amount`` is applied: to each charge still owing, oldest date of service first,
    never more than it owes; what is left stays unapplied (a credit on the account)."""
    left = money(amount)
    applied: list[tuple[object, Decimal]] = []
    for row in sorted(owing, key=lambda r: r.service_date):
        if left <= 0:
            break
        if row.owing <= 0:
            continue
        part = min(left, row.owing)
        applied.append((row.key, part))
        left -= part
    return applied


def aged(rows: list[Owing], as_of: date) -> dict[str, Decimal]:
    """The amounts owing by bucket, and their ``total``."""
    totals = {name: ZERO for name, _ in BUCKETS}
    for row in rows:
        if row.owing > 0:
            totals[bucket(row.service_date, as_of)] += row.owing
    totals["total"] = sum(totals.values(), ZERO)
    return totals
