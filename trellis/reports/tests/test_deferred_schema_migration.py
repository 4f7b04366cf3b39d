"""The bulk loader's record of dropped indexes leaves the product's schema; an index a killed
load left dropped is put back on the way, not forgotten with the table.

The migrations run on an empty database of their own (``migration_database``), brought to the
state before the move with the measures table whose index the load dropped, so the test
database is not taken back past every later migration and forward again."""

from django.db.migrations.executor import MigrationExecutor
from django.test import TestCase

from trellis.testing import migration_database

# The reports app before its table leaves, and the measures table with the dropped index.
BEFORE = [("reports", "0001_deferred_schema"), ("measures", "0001_initial")]
AFTER = [("reports", "0002_deferred_schema_leaves_the_product")]
INDEX = "measures_me_patient_84d501_idx"  # one of the indexes a bulk load drops


def _index_sql(database, name: str) -> str | None:
    with database.cursor() as cursor:
        if database.vendor == "sqlite":
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s", [name]
            )
        else:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        row = cursor.fetchone()
    return row[0] if row else None


class DeferredSchemaLeavesTheProductTest(TestCase):
    def test_a_dropped_index_is_put_back_and_the_table_dropped(self):
        with migration_database() as database:
            executor = MigrationExecutor(database)
            executor.migrate(BEFORE)
            old = executor.loader.project_state(BEFORE).apps
            definition = _index_sql(database, INDEX)
            self.assertIsNotNone(definition)
            with database.cursor() as cursor:
                cursor.execute(f'DROP INDEX "{INDEX}"')
            self.assertIsNone(_index_sql(database, INDEX))
            old.get_model("reports", "DeferredSchema").objects.create(
                table="measures_measure", name=INDEX, kind="index", sql=definition
            )
            executor = MigrationExecutor(database)
            executor.loader.build_graph()
            executor.migrate(AFTER)
            self.assertEqual(_index_sql(database, INDEX), definition)
            self.assertNotIn("reports_deferredschema", database.introspection.table_names())
