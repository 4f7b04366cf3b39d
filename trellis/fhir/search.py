"""FHIR search parameters read into plain values: dates as ranges, tokens, counts [R135].

Each parser raises ``SearchError`` naming the parameter and the rule; the view answers it with
a 400 OperationOutcome. Nothing here touches the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID

from django.db.models import Q

DEFAULT_COUNT = 50
MAX_COUNT = 200
PREFIXES = ("eq", "gt", "lt", "ge", "le")

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


class SearchError(ValueError):
    def __init__(self, param: str, rule: str):
        super().__init__(f"{param}: {rule}")
        self.param = param


@dataclass(frozen=True)
class Token:
    system: str | None  # None: any system
    code: str


def count(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_COUNT
    if not value.isdigit() or not 1 <= int(value) <= MAX_COUNT:
        raise SearchError("_count", f"must be a whole number from 1 to {MAX_COUNT}")
    return int(value)


def offset(value: str | None) -> int:
    if value is None or value == "":
        return 0
    if not value.isdigit():
        raise SearchError("_offset", "must be a whole number from 0")
    return int(value)


def tokens(param: str, value: str) -> list[Token]:
    """``system|code``, ``code`` or ``|code`` (no system), comma-separated: any of them."""
    found = []
    for part in value.split(","):
        system, bar, code = part.partition("|")
        if not bar:
            system, code = None, part
        if not code:
            raise SearchError(param, "each value needs a code (system|code or code)")
        found.append(Token(system, code))
    return found


def reference_id(param: str, value: str, kind: str = "Patient") -> UUID | None:
    """``Patient/<id>`` or ``<id>`` → the id; None when it cannot be one of ours (no match)."""
    value = value.removeprefix(f"{kind}/")
    try:
        return UUID(value)
    except ValueError:
        return None


def value_range(param: str, text: str, tz) -> tuple[datetime, datetime]:
    """The half-open instant range a date or dateTime value covers (dates in the clinic's
    timezone)."""
    match = _DATE.match(text)
    if match:
        year, month, day = match.groups()
        try:
            if day:
                start = date(int(year), int(month), int(day))
                end = start + timedelta(days=1)
            elif month:
                start = date(int(year), int(month), 1)
                end = date(int(year) + int(month) // 12, int(month) % 12 + 1, 1)
            else:
                start, end = date(int(year), 1, 1), date(int(year) + 1, 1, 1)
        except ValueError:
            raise SearchError(param, f"{text!r} is not a real date") from None
        return (
            datetime.combine(start, time.min, tz),
            datetime.combine(end, time.min, tz),
        )
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SearchError(
            param, "must be YYYY, YYYY-MM, YYYY-MM-DD or a dateTime with its offset"
        ) from None
    if moment.tzinfo is None:
        raise SearchError(param, "a dateTime needs its offset (Z or ±hh:mm)")
    return moment, moment + timedelta(seconds=1)


def _prefixed(param: str, value: str) -> tuple[str, str]:
    if value[:2] in PREFIXES:
        return value[:2], value[2:]
    if value[:2].isalpha():
        raise SearchError(param, f"prefix {value[:2]!r} is not supported; use eq, gt, lt, ge, le")
    return "eq", value


def day_filter(param: str, values: list[str], field: str, tz) -> Q:
    """As ``date_filter``, on a date field: a value covers the days its range touches in the
    clinic's timezone (a dateTime, the one day it falls in)."""
    condition = Q()
    for value in values:
        prefix, text = _prefixed(param, value)
        start, end = value_range(param, text, tz)
        first, last = start.astimezone(tz), end.astimezone(tz)
        after = last.date() if last.time() == time.min else last.date() + timedelta(days=1)
        first = first.date()
        condition &= {
            "eq": Q(**{f"{field}__gte": first, f"{field}__lt": after}),
            "ge": Q(**{f"{field}__gte": first}),
            "gt": Q(**{f"{field}__gte": after}),
            "le": Q(**{f"{field}__lt": after}),
            "lt": Q(**{f"{field}__lt": first}),
        }[prefix]
    return condition


def date_filter(param: str, values: list[str], field: str, tz) -> Q:
    """Every value (``ge2026-01-01``, ``2026-03``, ``lt2026-04-01T09:00:00Z``) must hold."""
    condition = Q()
    for value in values:
        prefix, text = _prefixed(param, value)
        start, end = value_range(param, text, tz)
        condition &= {
            "eq": Q(**{f"{field}__gte": start, f"{field}__lt": end}),
            "ge": Q(**{f"{field}__gte": start}),
            "gt": Q(**{f"{field}__gte": end}),
            "le": Q(**{f"{field}__lt": end}),
            "lt": Q(**{f"{field}__lt": start}),
        }[prefix]
    return condition
