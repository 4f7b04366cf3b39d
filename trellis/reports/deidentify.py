"""HIPAA Safe Harbor rules the research export applies (DOMAIN.md §17): pure functions, no Django.

- Geography: only the first three digits of the ZIP code, and ``000`` for the three-digit areas
  of 20,000 people or fewer — the 17 prefixes of the 2000 Census list HHS gives [R138, R139].
- Ages: over 89 are one group, ``90+`` [R138].
- Dates: only the year [R138]; under a limited data set with a data use agreement, the date
  itself, shifted for each patient by one random offset [R141].
"""

from __future__ import annotations

import re
import secrets
from datetime import date, timedelta

# Three-digit ZIP areas of 20,000 people or fewer (2000 Census), written 000 [R139].
RESTRICTED_ZIP3 = frozenset(
    {
        "036",
        "059",
        "063",
        "102",
        "203",
        "556",
        "692",
        "790",
        "821",
        "823",
        "830",
        "831",
        "878",
        "879",
        "884",
        "890",
        "893",
    }
)
_ZIP = re.compile(r"(?<!\d)(\d{5})(?:-\d{4})?(?!\d)")

# Ages above 89 are aggregated into one category [R138].
OLDEST_GROUP = 90

# A limited data set's dates move by up to this many days, one offset per patient [R141].
SHIFT_DAYS = 180


def zip3(address: str) -> str:
    """The first three digits of the last ZIP code written in the address; ``000`` for a
    restricted area; empty when there is none."""
    found = _ZIP.findall(address or "")
    if not found:
        return ""
    prefix = found[-1][:3]
    return "000" if prefix in RESTRICTED_ZIP3 else prefix


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def age_group(age: int) -> str:
    """Ten-year groups, and every age over 89 as ``90+``."""
    if age >= OLDEST_GROUP:
        return f"{OLDEST_GROUP}+"
    low = max(0, age) // 10 * 10
    return f"{low}-{low + 9}"


def pseudonym(prefix: str, taken: set[str]) -> str:
    """A random identifier, new in this export (never derived from the record's own ids)."""
    while True:
        value = f"{prefix}{secrets.token_hex(6)}"
        if value not in taken:
            taken.add(value)
            return value


def date_offset() -> timedelta:
    """One patient's shift for a limited data set: a random number of days, never zero."""
    days = secrets.randbelow(2 * SHIFT_DAYS) + 1  # 1 … 2·SHIFT
    return timedelta(days=days - SHIFT_DAYS - (days <= SHIFT_DAYS))
