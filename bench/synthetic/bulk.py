"""Writing many rows fast, for the synthetic network (``bench.synthetic.synth``).

``Table`` inserts tuples into one model's table with ``executemany`` on SQLite and ``COPY`` on
PostgreSQL: no model instance per row and no 999-parameter statements, which is what makes
``bulk_create`` several times slower. Values are given in the database's text form (``Clock``
formats dates and times; UUIDs are 32 hex digits, which both databases accept; JSON is a dumped
string), so one row tuple serves both databases.

Two things keep a large load at the speed of appending rows. ``IdRandom`` hands out ordered
UUIDs, so each insert lands at the end of the primary-key index and of the indexes on the
parent's id rather than on a random page. ``deferred_schema`` drops a table's other indexes (and
on PostgreSQL its foreign keys) for the load and puts each back once, for all its rows, at the
end.
"""

from __future__ import annotations

import json
import random
import uuid
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from datetime import time as clock

from django.db import connection, models, transaction

from bench.synthetic.models import DeferredSchema

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


_CLINIC_BITS, _PATIENT_BITS, _ROW_BITS = 10, 22, 16
MAX_CLINIC = (1 << _CLINIC_BITS) - 1
MAX_PATIENT = (1 << _PATIENT_BITS) - 1
_LOW_62, _VARIANT = (1 << 62) - 1, 1 << 63
_VERSION_8, _ROW = 8 << 76, 1 << 80


class IdRandom(random.Random):
    """A seeded generator for one synthetic patient that also hands out ordered UUIDs.

    ``uuid()`` is an RFC 9562 version 8 UUID (the version for a layout of one's own): its first
    48 bits are the clinic's number (10 bits), the patient's number in the clinic (22 bits) and
    the patient's row counter (16 bits); the other 74 free bits come from the generator. Made in
    synth's order, clinic by clinic and patient by patient, each id is greater than the one
    before, so inserts append to the indexes instead of landing on random pages. The version
    digit also tells a synthetic record from a real one, whose id is a random version 4.
    """

    def __init__(self, seed: int, clinic: int, patient: int) -> None:
        super().__init__(seed)
        if not 0 <= clinic <= MAX_CLINIC or not 0 <= patient <= MAX_PATIENT:
            raise ValueError(f"clinic {clinic} or patient {patient} out of the id layout")
        # The id as a 128-bit number without its random bits: the 48-bit prefix, the version
        # and the variant; the prefix's row counter steps by ``_ROW``.
        prefix = ((clinic << _PATIENT_BITS) | patient) << _ROW_BITS
        self._next = prefix << 80 | _VERSION_8 | _VARIANT
        self._end = (prefix + (1 << _ROW_BITS)) << 80 | _VERSION_8 | _VARIANT

    def uuid(self) -> str:
        """The next id, as 32 hex digits."""
        base = self._next
        if base == self._end:
            raise OverflowError(f"more than {1 << _ROW_BITS} rows for one synthetic patient")
        self._next = base + _ROW
        # 74 random bits in one draw: 12 after the version digit, 62 after the variant bits.
        bits = self.getrandbits(74)
        return f"{base | (bits >> 62) << 64 | bits & _LOW_62:032x}"


def version_8(bits: int) -> uuid.UUID:
    """128 random bits as a version 8 UUID, the mark of a synthetic record (a clinic's id)."""
    bits &= ~(0xF000 << 64) & ~(0xC000 << 48)
    return uuid.UUID(int=bits | 0x8000 << 64 | 0x8000 << 48)


def is_synthetic(value: uuid.UUID | str) -> bool:
    """Whether an id is synth's: version 8. Trellis itself makes only random version 4 ids."""
    return uuid.UUID(str(value)).version == 8


def hyphenated(hex_id: str) -> str:
    """``str(uuid.UUID(hex_id))``: how a primary key is written in a text column."""
    return f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"


def day_number(day: date) -> int:
    """Days since 1970-01-01."""
    return day.toordinal() - _EPOCH_ORDINAL


def to_date(number: int) -> date:
    return date.fromordinal(number + _EPOCH_ORDINAL)


class _DayTexts(dict):
    """Day number -> ``YYYY-MM-DD``, computed on first lookup."""

    def __missing__(self, number: int) -> str:
        text = self[number] = to_date(number).isoformat()
        return text


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
        self._days = _DayTexts()
        # ``day(number)`` is a dictionary lookup, filled on first use.
        self.day = self._days.__getitem__
        self._offsets: dict[tuple[str, int], int] = {}

    def ts(self, seconds: int) -> str:
        day, second = divmod(seconds, 86400)
        return self._days[day] + self._times[second]

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


def _literal(value) -> str:
    """A constant column value as SQLite literal text."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    text = str(value).replace("'", "''")
    return f"'{text}'"


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
            if isinstance(f, models.JSONField):
                value = json.dumps(value)
            elif isinstance(value, str):
                value = str(value)  # a plain str, not a TextChoices member: rows are marshalled
            tail.append(value)
        quote = connection.ops.quote_name
        self.model = model
        table = self.quoted = quote(meta.db_table)
        columns = ", ".join(quote(f.column) for f in given + rest)
        if connection.vendor == "postgresql":
            # COPY takes every column from each row: the constants are added in ``take``.
            self.tail = tuple(tail)
            self.sql = f"COPY {table} ({columns}) FROM STDIN"
        else:
            # The constants are literals of the statement: fewer values to send and bind.
            self.tail = ()
            values = ["?"] * len(given) + [_literal(value) for value in tail]
            self.sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(values)})"  # noqa: S608 (names from the model, constants quoted)

    def take(self) -> list[tuple]:
        """The rows gathered so far, complete with the constant columns, leaving none behind."""
        rows, self.rows = self.rows, []
        if self.tail:
            tail = self.tail
            rows = [row + tail for row in rows]
        return rows

    def write(self, cursor, rows: list[tuple]) -> int:
        """Insert ``rows`` (as ``take`` gives them) with the DB-API ``cursor``; return how many."""
        if not rows:
            return 0
        if connection.vendor == "postgresql":
            with cursor.copy(self.sql) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(self.sql, rows)
        return len(rows)


# --- Indexes and foreign keys put back once, after the load ---------------------------------------


def secondary_indexes(cursor, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of each index of ``table`` that no constraint needs: not
    the primary key, not unique. Those are the ones a bulk load may drop and build again."""
    if connection.vendor == "sqlite":
        cursor.execute(f"PRAGMA index_list({connection.ops.quote_name(table)})")
        # (seq, name, unique, origin, partial); origin "c" is a CREATE INDEX statement.
        names = [row[1] for row in cursor.fetchall() if not row[2] and row[3] == "c"]
        if not names:
            return []
        marks = ", ".join(["%s"] * len(names))
        cursor.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN ({marks})",  # noqa: S608 (placeholders only)
            names,
        )
    else:
        cursor.execute(
            """
            SELECT c.relname, pg_get_indexdef(i.indexrelid)
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = %s::regclass AND NOT i.indisunique AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
            """,
            [connection.ops.quote_name(table)],
        )
    return sorted(cursor.fetchall())


def foreign_keys(cursor, table: str) -> list[tuple[str, str]]:
    """(name, ``ADD CONSTRAINT`` clause) of each foreign key of ``table`` on PostgreSQL, which a
    bulk load may drop and add again; none on SQLite, where a foreign key is part of its table
    (and checking it costs a load little)."""
    if connection.vendor != "postgresql":
        return []
    cursor.execute(
        """
        SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE contype = 'f' AND conrelid = %s::regclass
        """,
        [connection.ops.quote_name(table)],
    )
    return sorted(cursor.fetchall())


def triggers(cursor, table: str, names: frozenset[str]) -> list[tuple[str, str]]:
    """(name, CREATE TRIGGER statement) of the SQLite triggers of ``table`` named in ``names``;
    none on PostgreSQL, whose rules of that kind are constraints, checked as each row arrives."""
    if connection.vendor != "sqlite" or not names:
        return []
    cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table]
    )
    return sorted((name, sql) for name, sql in cursor.fetchall() if name in names)


def _exists(cursor, item: DeferredSchema) -> bool:
    if connection.vendor == "sqlite":
        kind = "trigger" if item.kind == DeferredSchema.Kind.TRIGGER else "index"
        cursor.execute(
            "SELECT 1 FROM sqlite_master WHERE type = %s AND name = %s", [kind, item.name]
        )
        return cursor.fetchone() is not None
    quote = connection.ops.quote_name
    if item.kind == DeferredSchema.Kind.FOREIGN_KEY:
        cursor.execute(
            "SELECT 1 FROM pg_constraint WHERE conname = %s AND conrelid = %s::regclass",
            [item.name, quote(item.table)],
        )
        return cursor.fetchone() is not None
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [quote(item.name)])
    return cursor.fetchone()[0]


@contextmanager
def _schema_change(cursor) -> Iterator[None]:
    """PostgreSQL refuses to change a table's indexes while the transaction holds deferred
    foreign-key checks on it (when the load runs inside a larger transaction, as in tests):
    run those checks first, and defer them again after, as Django declares them."""
    if connection.vendor != "postgresql":
        yield
        return
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    yield
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def restore_schema() -> list[str]:
    """Build every index and add every foreign key that a bulk load dropped and has not put
    back (``DeferredSchema``), in one transaction; return their names (none when nothing was
    pending). Adding a foreign key checks every row against it."""
    with transaction.atomic():
        pending = list(DeferredSchema.objects.select_for_update().order_by("kind", "pk"))
        if not pending:
            return []
        with connection.cursor() as cursor, _schema_change(cursor):
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            for item in pending:
                if not _exists(cursor, item):
                    cursor.execute(item.sql)
        DeferredSchema.objects.filter(pk__in=[item.pk for item in pending]).delete()
    return [item.name for item in pending]


class Deferred:
    """What ``deferred_schema`` dropped, put back by ``rebuild()``."""

    def __init__(self, indexes: int, foreign_keys: int, triggers: int = 0) -> None:
        self.indexes = indexes
        self.foreign_keys = foreign_keys
        self.triggers = triggers
        self.rebuilt = False

    def __str__(self) -> str:
        parts = [f"{self.indexes} indexes"]
        if self.foreign_keys:
            parts.append(f"{self.foreign_keys} foreign keys")
        if self.triggers:
            parts.append(f"{self.triggers} triggers")
        return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]

    def rebuild(self) -> None:
        if not self.rebuilt:
            restore_schema()
            self.rebuilt = True


@contextmanager
def deferred_schema(
    models_: list[type[models.Model]], trigger_names: frozenset[str] = frozenset()
) -> Iterator[Deferred]:
    """Drop the secondary indexes (and, on PostgreSQL, the foreign keys) of the models' tables
    for a bulk load; put them back when the block ends, however it ends (or earlier, with
    ``rebuild()``). On SQLite, also drop the triggers named in ``trigger_names``: those that
    search their own table on every insert, which without its indexes is a scan of the whole
    table for each row. The load must keep their rule itself; put back, they check later
    writes.

    Building an index once from all its rows is a sort; keeping it in order row by row costs a
    B-tree search and often a page split for every row of every index, several times more. A
    foreign key added after the load checks all rows in one join; during it, PostgreSQL checks
    each row with a trigger, which halves COPY's speed. Primary keys and unique indexes stay:
    they are constraints the load must not break.

    The statements that put them back are written to ``DeferredSchema`` in the transaction that
    drops them, so a load killed in between (SIGKILL, power loss) leaves a record: the next
    ``manage.py synth`` puts them back first, ``manage.py synth --restore`` does it alone, and
    ``manage.py check --database default`` warns until then.
    """
    restore_schema()  # a killed load's
    quote = connection.ops.quote_name
    Kind = DeferredSchema.Kind
    with transaction.atomic(), connection.cursor() as cursor:
        found = []
        for model in models_:
            table = model._meta.db_table
            found += [
                DeferredSchema(table=table, name=name, kind=Kind.INDEX, sql=sql)
                for name, sql in secondary_indexes(cursor, table)
            ]
            found += [
                DeferredSchema(
                    table=table,
                    name=name,
                    kind=Kind.FOREIGN_KEY,
                    sql=f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}",
                )
                for name, definition in foreign_keys(cursor, table)
            ]
            found += [
                DeferredSchema(table=table, name=name, kind=Kind.TRIGGER, sql=sql)
                for name, sql in triggers(cursor, table, trigger_names)
            ]
        DeferredSchema.objects.bulk_create(found)
        with _schema_change(cursor):
            for item in found:
                if item.kind == Kind.INDEX:
                    cursor.execute(f"DROP INDEX {quote(item.name)}")
                elif item.kind == Kind.TRIGGER:
                    cursor.execute(f"DROP TRIGGER {quote(item.name)}")
                else:
                    cursor.execute(
                        f"ALTER TABLE {quote(item.table)} DROP CONSTRAINT {quote(item.name)}"
                    )
    deferred = Deferred(
        indexes=sum(item.kind == Kind.INDEX for item in found),
        foreign_keys=sum(item.kind == Kind.FOREIGN_KEY for item in found),
        triggers=sum(item.kind == Kind.TRIGGER for item in found),
    )
    try:
        yield deferred
    finally:
        deferred.rebuild()
