"""Rules for counting stock: when an estimate will do, when the next inventory is due, and how
Spravato kits hold their devices. Plain functions, no Django.

- An initial inventory, then one at least every two years (biennial) [R67]; a state may want
  one every year (Iowa) [R63], set by the clinic (``controlled_inventory_months``).
- In an inventory, an opened Schedule III–V container may be estimated, unless it holds more
  than 1,000 tablets or capsules, which are counted exactly [R67, R132]; a clinic or state may
  require exact counts always (Iowa) [R63] (``controlled_exact_counts``).
- Spravato is 28 mg a device; the 56 mg kit holds 2 devices (NDC 50458-028-02), the 84 mg kit
  3 (50458-028-03) [R130].
"""

from datetime import date

EXACT_COUNT_ABOVE_UNITS = 1000  # more than 1,000 tablets or capsules: exact count [R67]
BIENNIAL_MONTHS = 24  # at least every two years [R67]

# Spravato kits by NDC: devices per kit [R130].
SPRAVATO_KITS = {"50458-028-02": 2, "50458-028-03": 3}


def estimate_allowed(*, opened: bool, exact_required: bool, tablet_units: int = 0) -> bool:
    """May this container's count in an inventory be an estimate?"""
    if exact_required or not opened:
        return False
    return tablet_units <= EXACT_COUNT_ABOVE_UNITS


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def next_inventory_due(last_inventory: date | None, months: int = BIENNIAL_MONTHS) -> date | None:
    """The last day for the next full inventory, or None before the initial one."""
    if last_inventory is None:
        return None
    return add_months(last_inventory, months)


def interval_text(months: int) -> str:
    """How often a full inventory is due, in words: ``two years``, ``year``, ``6 months``."""
    if months % 12 == 0:
        years = months // 12
        return "year" if years == 1 else "two years" if years == 2 else f"{years} years"
    return "month" if months == 1 else f"{months} months"


def devices_per_kit(ndc: str) -> int | None:
    """Devices in a Spravato kit with this NDC, or None for anything else."""
    return SPRAVATO_KITS.get(ndc.strip())


def kit_of(number: int, per_kit: int) -> int:
    """The kit a receipt's ``number``-th device comes in (1-based)."""
    return (number - 1) // per_kit + 1
