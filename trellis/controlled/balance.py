"""Milligrams on the ledger, as plain functions: amounts kept exactly, and a container's balance.

Amounts are stored as whole micrograms so that the database adds and subtracts them exactly on
both SQLite and PostgreSQL (a floating-point 0.1 mg would drift); pages and the API speak mg.
A container's remaining amount is always received − administered − wasted − adjusted, and never
below zero (DESIGN.md §3; DOMAIN.md §5, §15 [R66]).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from trellis.lib.errors import InputError

UG_PER_MG = 1000


def to_ug(field: str, mg, *, allow_zero: bool = False) -> int:
    """``mg`` (a number or its text) as whole micrograms; an InputError naming ``field`` for
    anything else, a negative amount, zero (unless allowed) or finer than a microgram."""
    if isinstance(mg, bool):
        raise InputError(field, "must be a number of mg")
    try:
        amount = Decimal(str(mg))
    except (InvalidOperation, ValueError):
        raise InputError(field, "must be a number of mg") from None
    if not amount.is_finite():
        raise InputError(field, "must be a number of mg")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InputError(
            field, "must be more than 0 mg" if not allow_zero else "must be 0 mg or more"
        )
    ug = amount * UG_PER_MG
    if ug != ug.to_integral_value():
        raise InputError(field, "must be given to at most three decimal places of a mg")
    return int(ug)


def to_signed_ug(field: str, mg) -> int:
    """``to_ug`` for an amount that may be negative (an adjustment either way), never zero."""
    text = str(mg).strip().replace("\u2212", "-")  # a typed minus sign reads as a hyphen
    if isinstance(mg, bool):
        raise InputError(field, "must be a number of mg")
    if text.startswith("-"):
        return -to_ug(field, text[1:])
    return to_ug(field, text)


def to_mg(ug: int) -> float:
    return ug / UG_PER_MG


def mg_text(ug: int) -> str:
    """``462.5 mg``, ``15,151 mg``: no trailing zeros, thousands grouped."""
    text = f"{Decimal(ug) / UG_PER_MG:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} mg"


# How each kind of entry moves the balance: receipts add, administrations and waste take away,
# adjustments either way; counts, witness confirmations and setting a container aside (or back)
# record without moving it.
RECEIPT = "receipt"
ADMINISTRATION = "administration"
WASTE = "waste"
ADJUSTMENT = "adjustment"
COUNT = "count"
WITNESS = "witness"
QUARANTINE = "quarantine"
RELEASE = "release"

SIGNS = {
    RECEIPT: 1,
    ADMINISTRATION: -1,
    WASTE: -1,
    ADJUSTMENT: 0,
    COUNT: 0,
    WITNESS: 0,
    QUARANTINE: 0,
    RELEASE: 0,
}


@dataclass(frozen=True)
class Totals:
    """One container's movements, each a positive number of micrograms except ``adjusted``,
    which is what adjustments took away (negative when they added)."""

    received: int = 0
    administered: int = 0
    wasted: int = 0
    adjusted: int = 0

    @property
    def remaining(self) -> int:
        return self.received - self.administered - self.wasted - self.adjusted


def totals(entries: Iterable[tuple[str, int]]) -> Totals:
    """Totals from ``(kind, signed amount in µg)`` pairs, as stored on the ledger."""
    received = administered = wasted = adjusted = 0
    for kind, amount in entries:
        if kind == RECEIPT:
            received += amount
        elif kind == ADMINISTRATION:
            administered -= amount
        elif kind == WASTE:
            wasted -= amount
        elif kind == ADJUSTMENT:
            adjusted -= amount
    return Totals(received, administered, wasted, adjusted)


def signed_amount(kind: str, amount_ug: int) -> int:
    """The amount as stored: positive for a receipt, negative for an administration or waste."""
    sign = SIGNS[kind]
    return amount_ug * sign if sign else amount_ug


def balance_problem(entries: Iterable[tuple[str, int]]) -> str | None:
    """None when no running balance ever goes below zero, otherwise where it first does."""
    running = 0
    for number, (_kind, amount) in enumerate(entries, start=1):
        running += amount
        if running < 0:
            return f"entry {number} takes the balance to {mg_text(running)}"
    return None
