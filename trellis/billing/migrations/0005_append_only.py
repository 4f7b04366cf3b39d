"""The database itself refuses to change or delete a charge, a payment or an allocation, on
SQLite and PostgreSQL: a correction is a new row (a credit), never an edit."""

from django.db import migrations

TABLES = ("billing_charge", "billing_payment", "billing_allocation")
MESSAGE = "charges, payments and their allocations are append-only"


def _postgresql_create(table: str) -> str:
    return f"""
CREATE TRIGGER {table}_append_only
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION billing_refuse_change();
"""


POSTGRESQL_FUNCTION = f"""
CREATE OR REPLACE FUNCTION billing_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE} (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def install(connection) -> None:
    """Create the triggers (the migration; tests that must empty the tables put them back)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRESQL_FUNCTION)
            for table in TABLES:
                cursor.execute(_postgresql_create(table))
        elif connection.vendor == "sqlite":
            for table in TABLES:
                for op in ("UPDATE", "DELETE"):
                    cursor.execute(
                        f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE} ({op} refused)'); END"
                    )


def remove(connection) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in TABLES:
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            cursor.execute("DROP FUNCTION IF EXISTS billing_refuse_change()")
        elif connection.vendor == "sqlite":
            for table in TABLES:
                for op in ("update", "delete"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op}")


def forwards(apps, schema_editor):
    install(schema_editor.connection)


def backwards(apps, schema_editor):
    remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("billing", "0004_problem_list_charges_payments")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
