"""The bulk loader's record of dropped indexes leaves the product's schema; an index a killed
load left dropped is put back on the way, not forgotten with the table."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import TransactionTestCase

BEFORE = [("reports", "0001_deferred_schema")]
AFTER = [("reports", "0002_deferred_schema_leaves_the_product")]
INDEX = "measures_me_patient_84d501_idx"  # one of the indexes a bulk load drops


def _index_sql(name: str) -> str | None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s", [name]
            )
        else:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        row = cursor.fetchone()
    return row[0] if row else None


class DeferredSchemaLeavesTheProductTest(TransactionTestCase):
    def tearDown(self) -> None:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    def test_a_dropped_index_is_put_back_and_the_table_dropped(self):
        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)
        old = executor.loader.project_state(BEFORE).apps
        definition = _index_sql(INDEX)
        self.assertIsNotNone(definition)
        with connection.cursor() as cursor:
            cursor.execute(f'DROP INDEX "{INDEX}"')
        old.get_model("reports", "DeferredSchema").objects.create(
            table="measures_measure", name=INDEX, kind="index", sql=definition
        )
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(AFTER)
        self.assertEqual(_index_sql(INDEX), definition)
        self.assertNotIn("reports_deferredschema", connection.introspection.table_names())
