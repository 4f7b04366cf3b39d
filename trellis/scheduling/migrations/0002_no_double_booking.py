"""No resource and no patient is booked twice at once: refused by the database itself.

PostgreSQL: exclusion constraints over the appointment's time range (``tstzrange(start, end)``,
half-open, so one appointment may end when the next begins), with ``=`` on the resource or the
patient — ``=`` on a uuid inside a GiST index needs the ``btree_gist`` extension
(docs/operations.md). SQLite: triggers that abort an insert or update overlapping another
active appointment. Both name the rule the same way (``appointment_resource_free``,
``appointment_patient_free``), which the services read to say which rule a booking broke.
Cancelled and no-show appointments hold nothing.
"""

from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations

ACTIVE = "('booked', 'confirmed', 'checked_in', 'completed')"
TABLE = "scheduling_appointment"

POSTGRESQL = [
    f"""ALTER TABLE {TABLE} ADD CONSTRAINT appointment_resource_free
        EXCLUDE USING gist (resource_id WITH =, tstzrange("start", "end", '[)') WITH &&)
        WHERE (resource_id IS NOT NULL AND status IN {ACTIVE})""",
    f"""ALTER TABLE {TABLE} ADD CONSTRAINT appointment_patient_free
        EXCLUDE USING gist (patient_id WITH =, tstzrange("start", "end", '[)') WITH &&)
        WHERE (status IN {ACTIVE})""",
]
POSTGRESQL_REVERSE = [
    f"ALTER TABLE {TABLE} DROP CONSTRAINT appointment_resource_free",
    f"ALTER TABLE {TABLE} DROP CONSTRAINT appointment_patient_free",
]


def _sqlite_trigger(event: str) -> str:
    # On update the row does not clash with itself.
    same = "AND a.id <> NEW.id" if event == "UPDATE" else ""
    overlaps = f'a.status IN {ACTIVE} AND a."start" < NEW."end" AND a."end" > NEW."start" {same}'
    return f"""CREATE TRIGGER appointment_no_overlap_{event.lower()}
        BEFORE {event} ON {TABLE}
        WHEN NEW.status IN {ACTIVE}
        BEGIN
            SELECT RAISE(ABORT, 'appointment_resource_free')
            WHERE NEW.resource_id IS NOT NULL AND EXISTS (
                SELECT 1 FROM {TABLE} a WHERE a.resource_id = NEW.resource_id AND {overlaps});
            SELECT RAISE(ABORT, 'appointment_patient_free')
            WHERE EXISTS (
                SELECT 1 FROM {TABLE} a WHERE a.patient_id = NEW.patient_id AND {overlaps});
        END"""


SQLITE = [_sqlite_trigger("INSERT"), _sqlite_trigger("UPDATE")]
SQLITE_REVERSE = [
    "DROP TRIGGER appointment_no_overlap_insert",
    "DROP TRIGGER appointment_no_overlap_update",
]


class BtreeGist(BtreeGistExtension):
    """Django's operation, whose reverse also checks the vendor (it would query PostgreSQL's
    catalogue on SQLite when migrating back)."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor) -> None:
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_appointment_book")]

    operations = [
        BtreeGist(),
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
            elidable=False,
        ),
    ]
