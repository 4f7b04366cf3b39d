"""Records named in words for the audit report ("Screening of Dec 6, 2026", "Session 3 of
Nov 5, 2026"), not as ``patients.screening 3fc1…``.

The audit app sits below the apps whose records it names, so it owns this small registry and
each app registers its own record types when it is ready (``AppConfig.ready``). A name says
which record it is, never what it holds: the clinic administrator who reads the report may
not read clinical records (docs/permissions.md). Naming a page of events takes one query per
record type on the page, however many events there are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from django.apps import apps
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import capfirst


@dataclass(frozen=True)
class _Namer:
    name: Callable[[object, tzinfo], str] | None
    related: tuple[str, ...]
    from_id: Callable[[str], str] | None
    model: str


_NAMERS: dict[str, _Namer] = {}


def register(
    object_type: str,
    name: Callable[[object, tzinfo], str] | None = None,
    *,
    related: Sequence[str] = (),
    from_id: Callable[[str], str] | None = None,
    model: str = "",
) -> None:
    """How to name records of ``object_type`` ("app_label.model"): ``name(obj, tz)`` from the
    row (loaded with ``select_related(*related)``), or ``from_id(object_id)`` without a query
    when the id says it all (a closure day's date). ``model`` is where the rows are now when
    the model moved to another app since older events were written ("safety.safetyalert" for
    events of "measures.safetyalert")."""
    if (name is None) == (from_id is None):
        raise TypeError("give exactly one of name and from_id")
    _NAMERS[object_type] = _Namer(name, tuple(related), from_id, model or object_type)


def day(value: date | datetime, tz: tzinfo) -> str:
    """A date as the report shows it: "Dec 6, 2026" (a moment in the clinic's timezone)."""
    if isinstance(value, datetime):
        value = timezone.localtime(value, tz).date()
    return f"{value:%b} {value.day}, {value.year}"


def _type_words(object_type: str) -> str:
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        return object_type
    return capfirst(str(model._meta.verbose_name))


def record_names(events: Iterable, tz: tzinfo) -> dict[tuple[str, str], str]:
    """``{(object_type, object_id): name}`` for the events' records. A record that cannot be
    found (or a type nobody registered) is named by its type in words ("Vital sign")."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.object_type:
            wanted[event.object_type].add(event.object_id)
    names: dict[tuple[str, str], str] = {}
    for object_type, ids in wanted.items():
        namer = _NAMERS.get(object_type)
        fallback = _type_words(namer.model if namer is not None else object_type)
        found: dict[str, str] = {}
        if namer is not None and namer.from_id is not None:
            found = {object_id: namer.from_id(object_id) for object_id in ids}
        elif namer is not None:
            model = apps.get_model(namer.model)
            try:
                rows = model.objects.filter(pk__in=[i for i in ids if i]).select_related(
                    *namer.related
                )
                found = {str(row.pk): namer.name(row, tz) for row in rows}
            except (ValueError, ValidationError):  # an id of another shape: name the type
                found = {}
        for object_id in ids:
            names[object_type, object_id] = found.get(object_id, fallback)
    return names
