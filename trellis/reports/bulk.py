"""Writing many rows fast, for the synthetic network (``trellis.reports.synth``).

``Table`` inserts tuples into one model's table with ``executemany`` on SQLite and ``COPY`` on
PostgreSQL: no model instance per row and no 999-parameter statements, which is what makes
``bulk_create`` several times slower. Values are given in the database's text form (``Clock``
formats dates and times; UUIDs are 32 hex digits, which both databases accept; JSON is a dumped
string), so one row tuple serves both databases.
"""

from __future__ import annotations

import json
import random
import zoneinfo
from datetime import date, datetime
from datetime import time as clock

from django.db import connection, models

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_V4_SET = (4 << 76) | (0x8000 << 48)


def uuid_hex(rng: random.Random) -> str:
    """``uuid.UUID(int=rng.getrandbits(128), version=4).hex``, without building the object."""
    return "%032x" % ((rng.getrandbits(128) & _V4_CLEAR) | _V4_SET)


def hyphenated(hex_id: str) -> str:
    """``str(uuid.UUID(hex_id))``: how a primary key is written in a text column."""
    return f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"


def day_number(day: date) -> int:
    """Days since 1970-01-01."""
    return day.toordinal() - _EPOCH_ORDINAL


def to_date(number: int) -> date:
    return date.fromordinal(number + _EPOCH_ORDINAL)


class Clock:
    """Dates (day numbers) and instants (whole seconds since the epoch, UTC) as stored text.

    Django keeps an aware datetime on SQLite as naive UTC text, ``YYYY-MM-DD HH:MM:SS``; on
    PostgreSQL the same text with ``+00:00`` is an exact ``timestamptz``. Formatting goes
    through lookup tables because the generator formats millions of them.
    """

    def __init__(self, vendor: str) -> None:
        suffix = "+00:00" if vendor == "postgresql" else ""
        self._times = [
            f" {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{suffix}" for s in range(86400)
        ]
        self._minutes = [f" {m // 60:02d}:{m % 60:02d}" for m in range(1440)]
        self._days: dict[int, str] = {}
        self._offsets: dict[tuple[str, int], int] = {}

    def day(self, number: int) -> str:
        text = self._days.get(number)
        if text is None:
            text = self._days[number] = to_date(number).isoformat()
        return text

    def ts(self, seconds: int) -> str:
        return self.day(seconds // 86400) + self._times[seconds % 86400]

    def offset(self, tz: str, number: int) -> int:
        """The zone's UTC offset in seconds at midday on day ``number`` (clinics work by day,
        so the night a clock changes does not matter)."""
        key = (tz, number)
        value = self._offsets.get(key)
        if value is None:
            noon = datetime.combine(to_date(number), clock(12), zoneinfo.ZoneInfo(tz))
            value = self._offsets[key] = int(noon.utcoffset().total_seconds())
        return value

    def utc(self, tz: str, number: int, local_seconds: int) -> int:
        """The instant ``local_seconds`` after local midnight of day ``number`` in ``tz``."""
        return number * 86400 + local_seconds - self.offset(tz, number)

    def local_day(self, tz: str, seconds: int) -> int:
        return (seconds + self.offset(tz, seconds // 86400)) // 86400

    def local_text(self, tz: str, seconds: int) -> str:
        """``YYYY-MM-DD HH:MM`` in ``tz``, as the REMS form writes times."""
        local = seconds + self.offset(tz, seconds // 86400)
        return self.day(local // 86400) + self._minutes[local % 86400 // 60]


class Table:
    """The insert for one model: the columns the caller gives, in order, then the others at
    their constant defaults. A column without a constant default must be given (checked here,
    so a new model field cannot silently get NULL or a shared "now")."""

    def __init__(self, model: type[models.Model], names: list[str]) -> None:
        meta = model._meta
        self.label = meta.label_lower
        self.rows: list[tuple] = []
        given = [meta.get_field(name) for name in names]
        rest, tail = [], []
        for f in meta.concrete_fields:
            if f.name in names or isinstance(f, models.AutoField):
                continue
            if f.has_default() and callable(f.default) and f.default not in (list, dict):
                raise ValueError(f"{self.label}.{f.name} must be given: its default varies")
            value = f.get_default()
            if value is None and not f.null:
                raise ValueError(f"{self.label}.{f.name} must be given: no default, not null")
            rest.append(f)
            tail.append(json.dumps(value) if isinstance(f, models.JSONField) else value)
        self.tail = tuple(tail)
        quote = connection.ops.quote_name
        table = self.quoted = quote(meta.db_table)
        columns = ", ".join(quote(f.column) for f in given + rest)
        if connection.vendor == "postgresql":
            self.sql = f"COPY {table} ({columns}) FROM STDIN"
        else:
            marks = ", ".join("?" * (len(given) + len(rest)))
            self.sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 (names from the model)

    def take(self) -> list[tuple]:
        """The rows gathered so far, leaving none behind."""
        rows, self.rows = self.rows, []
        return rows

    def write(self, cursor, rows: list[tuple]) -> int:
        """Insert ``rows`` with the DB-API ``cursor``; return how many."""
        if not rows:
            return 0
        if self.tail:
            tail = self.tail
            rows = [row + tail for row in rows]
        if connection.vendor == "postgresql":
            with cursor.copy(self.sql) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(self.sql, rows)
        return len(rows)
