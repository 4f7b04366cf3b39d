"""What every FHIR read and search shares: the query string, the filters every type takes
(``patient``, dates), the audit of a search, one page of rows, and the table of served types.

A search returns ``(total, resources)`` for one page; ``union_page`` pages over rows of several
tables as one ordered list (a type built from more than one Trellis record).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import QuerySet

from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.fhir import search


class Params:
    """The query string: each parameter's values, and which of them a search used."""

    def __init__(self, query: dict[str, list[str]]):
        self.query = query
        self.used: set[str] = set()

    def all(self, name: str) -> list[str]:
        self.used.add(name)
        return [v for v in self.query.get(name, []) if v != ""]

    def one(self, name: str) -> str | None:
        values = self.all(name)
        if len(values) > 1:
            raise search.SearchError(name, "give it once")
        return values[0] if values else None


@dataclass(frozen=True)
class Served:
    read: Callable
    search: Callable
    params: tuple[str, ...]  # search parameters besides _count


def patient_filter(rows: QuerySet, params: Params, field: str = "patient_id") -> QuerySet:
    value = params.one("patient")
    if value is None:
        return rows
    pk = search.reference_id("patient", value)
    return rows.filter(**{field: pk}) if pk else rows.none()


def dates(actor, rows: QuerySet, params: Params, name: str, field: str) -> QuerySet:
    values = params.all(name)
    if values:
        rows = rows.filter(search.date_filter(name, values, field, actor.clinic.tzinfo))
    return rows


def audit_search(actor, kind: str, params: Params, total: int) -> None:
    record_for(
        actor,
        Action.QUERY,
        object_type=f"fhir.{kind.lower()}",
        detail={
            "fhir_search": {k: v[:5] for k, v in params.query.items() if k in params.used},
            "results": total,
        },
    )


def page(rows: QuerySet, start: int, count: int) -> list:
    return list(rows[start : start + count])


@dataclass(frozen=True)
class Part:
    """One table's rows in a union: ``rows`` with the fields it is ordered by, and how a page of
    them is built (``build``: their ids → each one's resource, by ``str(id)``)."""

    rows: QuerySet
    order: tuple[str, ...]  # fields, compared in turn across parts
    build: Callable[[list], dict[str, dict]]


def built_by(load: Callable[[list], Iterable], build: Callable[[object], dict]) -> Callable:
    """A ``Part.build`` that loads the page's rows with ``load`` and builds each one."""
    return lambda pks: {str(row.pk): build(row) for row in load(pks)}


def union_page(parts: list[Part], start: int, count: int) -> tuple[int, list[dict]]:
    """The rows of every part as one list ordered by each part's ``order`` value (then by part
    and id), and one page of it built: the keys are read, the page's rows alone are loaded."""
    keys = []
    for index, part in enumerate(parts):
        for pk, *values in part.rows.order_by().values_list("pk", *part.order):
            keys.append((tuple(_sortable(v) for v in values), index, str(pk), pk))
    keys.sort()
    wanted = keys[start : start + count]
    built: dict[tuple[int, str], dict] = {}
    for index, part in enumerate(parts):
        pks = [pk for _, i, _, pk in wanted if i == index]
        if pks:
            for key, resource in part.build(pks).items():
                built[(index, key)] = resource
    return len(keys), [built[(i, key)] for _, i, key, _ in wanted]


def _sortable(value) -> str:
    """A value as text that sorts as the value does (numbers padded; dates ISO)."""
    if isinstance(value, int):
        return f"{value:012d}"
    return "" if value is None else str(value)
