"""A resource's weekly opening hours: read from what an administrator types, checked, and told
in words ("Mon–Fri 08:00–18:00; Sat 09:00–13:00").

Pure: no database. A week is a mapping of weekday (0 = Monday … 6 = Sunday, as
``date.weekday()``) to that day's spans, each an ``(opens, closes)`` pair of clinic-local times.
A day may have several spans (a lunch break); none means closed that day.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from datetime import time

from trellis.lib.errors import InputError

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SHORT_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# At most this many spans on one day: a morning, an afternoon and an evening, with room to spare.
MAX_SPANS = 6

Span = tuple[time, time]

_SPAN = re.compile(r"^(\d{1,2})(?::?(\d{2}))?\s*(?:-|–|—|to)\s*(\d{1,2})(?::?(\d{2}))?$")


def _clock(hours: str, minutes: str | None) -> time:
    hour, minute = int(hours), int(minutes or 0)
    if hour == 24 and minute == 0:
        # "until midnight" is the last minute a day holds; a span never runs past the day.
        return time(23, 59)
    if hour > 23 or minute > 59:
        raise ValueError
    return time(hour, minute)


def span_words(span: Span) -> str:
    return f"{span[0]:%H:%M}–{span[1]:%H:%M}"


def parse_day(text: str) -> list[Span]:
    """One day's spans from text such as "08:00–12:00, 13:00–18:00" (commas or semicolons
    between spans; "-", "–" or "to" within one). Empty text: closed. Raises ``ValueError`` with
    a sentence naming the part that is not a span; the spans are checked by ``check_day``."""
    spans = []
    for part in re.split(r"[,;]", text):
        part = part.strip()
        if not part:
            continue
        match = _SPAN.match(part.lower())
        if match is None:
            raise ValueError(f"“{part[:20]}” is not a time span such as 08:00–18:00")
        try:
            spans.append((_clock(match[1], match[2]), _clock(match[3], match[4])))
        except ValueError:
            raise ValueError(f"“{part[:20]}” has a time that is not on a 24-hour clock") from None
    return spans


def check_day(spans: Iterable[Span]) -> list[Span]:
    """The day's spans in order, or ``ValueError`` saying which rule one breaks: each closes
    after it opens, no two overlap, at most ``MAX_SPANS``."""
    ordered = sorted(spans)
    if len(ordered) > MAX_SPANS:
        raise ValueError(f"has more than {MAX_SPANS} spans")
    for opens, closes in ordered:
        if closes <= opens:
            raise ValueError(f"{span_words((opens, closes))} closes before it opens")
    for earlier, later in itertools.pairwise(ordered):
        if later[0] < earlier[1]:
            raise ValueError(f"{span_words(earlier)} and {span_words(later)} overlap")
    return ordered


def check_week(week: Mapping[int, Iterable[Span]]) -> dict[int, list[Span]]:
    """Every day of ``week`` checked (``check_day``); ``InputError`` on ``hours.<weekday>`` for
    the first day that breaks a rule, its message beginning with the day's name."""
    checked = {}
    for weekday, spans in sorted(week.items()):
        if weekday not in range(7):
            raise InputError("hours", f"weekday {weekday} is not 0 (Monday) to 6 (Sunday)")
        try:
            checked[weekday] = check_day(spans)
        except ValueError as error:
            raise InputError(f"hours.{weekday}", f"{DAY_NAMES[weekday]}: {error}") from None
    return checked


def describe(week: Mapping[int, Iterable[Span]]) -> str:
    """The week in words: runs of days with the same hours joined ("Mon–Fri 08:00–18:00"),
    separated by "; ". "Closed all week" when no day has hours."""
    days = [tuple(sorted(week.get(weekday, ()))) for weekday in range(7)]
    groups: list[tuple[list[int], tuple]] = []
    for weekday, spans in enumerate(days):
        if not spans:
            continue
        if groups and groups[-1][1] == spans and groups[-1][0][-1] == weekday - 1:
            groups[-1][0].append(weekday)
        else:
            groups.append(([weekday], spans))
    if not groups:
        return "Closed all week"
    parts = []
    for weekdays, spans in groups:
        if len(weekdays) == 1:
            when = SHORT_NAMES[weekdays[0]]
        elif len(weekdays) == 2:
            when = f"{SHORT_NAMES[weekdays[0]]}, {SHORT_NAMES[weekdays[1]]}"
        else:
            when = f"{SHORT_NAMES[weekdays[0]]}–{SHORT_NAMES[weekdays[-1]]}"
        parts.append(f"{when} {', '.join(span_words(s) for s in spans)}")
    return "; ".join(parts)


def day_text(spans: Iterable[Span]) -> str:
    """A day's spans as the edit form shows them: "08:00–12:00, 13:00–18:00"."""
    return ", ".join(span_words(s) for s in sorted(spans))
