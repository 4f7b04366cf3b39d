"""The database itself refuses an administration entry from a container that is quarantined, or
past its expiry date on the entry's date, on SQLite and PostgreSQL.

The code refuses these first (the conditional UPDATE in ``services._draw``); the trigger keeps
the rule when rows are written some other way. PostgreSQL takes the entry's date in the clinic's
own timezone, as the code does. SQLite has no timezones: it takes the entry's UTC date and
allows one day past the expiry date, so that a dose given late on the expiry day in the
Americas (already the next day in UTC) is not refused; the code holds the exact day.

SQLite checks a trigger's tables when a table it reads is rebuilt: a later migration that
rebuilds ``controlled_container`` on SQLite (adding a column or a constraint) must drop this
trigger first and create it again after (``SQLITE_DROP``, ``SQLITE_CREATE``).
"""

from django.db import migrations

TABLE = "controlled_ledgerentry"
QUARANTINED = "controlled-substance administration refused: the container is quarantined"
EXPIRED = "controlled-substance administration refused: the container is past its expiry date"

POSTGRESQL_CREATE = f"""
CREATE OR REPLACE FUNCTION controlled_ledger_refuse_unusable() RETURNS trigger AS $$
DECLARE
    held RECORD;
BEGIN
    SELECT c.quarantined, c.expires_on, k.timezone INTO held
      FROM controlled_container c JOIN accounts_clinic k ON k.id = c.clinic_id
     WHERE c.id = NEW.container_id;
    IF held.quarantined THEN
        RAISE EXCEPTION '{QUARANTINED}' USING ERRCODE = 'check_violation';
    END IF;
    IF (NEW.created_at AT TIME ZONE held.timezone)::date > held.expires_on THEN
        RAISE EXCEPTION '{EXPIRED}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER controlled_ledger_usable_container
    BEFORE INSERT ON {TABLE}
    FOR EACH ROW WHEN (NEW.kind = 'administration')
    EXECUTE FUNCTION controlled_ledger_refuse_unusable();
"""

POSTGRESQL_DROP = f"""
DROP TRIGGER IF EXISTS controlled_ledger_usable_container ON {TABLE};
DROP FUNCTION IF EXISTS controlled_ledger_refuse_unusable();
"""

SQLITE_CREATE = f"""
CREATE TRIGGER controlled_ledger_usable_container BEFORE INSERT ON {TABLE}
WHEN NEW.kind = 'administration'
BEGIN
    SELECT RAISE(ABORT, '{QUARANTINED}')
     WHERE (SELECT quarantined FROM controlled_container WHERE id = NEW.container_id);
    SELECT RAISE(ABORT, '{EXPIRED}')
     WHERE date(NEW.created_at) > date(
        (SELECT expires_on FROM controlled_container WHERE id = NEW.container_id), '+1 day'
     );
END
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS controlled_ledger_usable_container"


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRESQL_CREATE)
        elif connection.vendor == "sqlite":
            cursor.execute(SQLITE_CREATE)


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRESQL_DROP)
        elif connection.vendor == "sqlite":
            cursor.execute(SQLITE_DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_provider_identifiers"),
        ("controlled", "0006_container_balance_adds_up"),
    ]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
