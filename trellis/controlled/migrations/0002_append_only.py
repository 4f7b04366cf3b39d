"""The database itself refuses to change or delete a ledger entry, on SQLite and PostgreSQL."""

from django.db import migrations

TABLE = "controlled_ledgerentry"
MESSAGE = "controlled-substance ledger entries are append-only"

POSTGRESQL_CREATE = f"""
CREATE OR REPLACE FUNCTION controlled_ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE} (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER controlled_ledger_append_only
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION controlled_ledger_refuse_change();
"""

POSTGRESQL_DROP = f"""
DROP TRIGGER IF EXISTS controlled_ledger_append_only ON {TABLE};
DROP FUNCTION IF EXISTS controlled_ledger_refuse_change();
"""

SQLITE_CREATE = [
    f"""CREATE TRIGGER controlled_ledger_no_{op.lower()} BEFORE {op} ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE} ({op} refused)'); END"""
    for op in ("UPDATE", "DELETE")
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS controlled_ledger_no_{op}" for op in ("update", "delete")]


def install(connection) -> None:
    """Create the triggers (the migration; tests that must empty the table put them back)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRESQL_CREATE)
        elif connection.vendor == "sqlite":
            for statement in SQLITE_CREATE:
                cursor.execute(statement)


def remove(connection) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRESQL_DROP)
        elif connection.vendor == "sqlite":
            for statement in SQLITE_DROP:
                cursor.execute(statement)


def forwards(apps, schema_editor):
    install(schema_editor.connection)


def backwards(apps, schema_editor):
    remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("controlled", "0001_ledger")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
