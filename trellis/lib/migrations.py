"""Operations shared by Trellis's migrations."""

from django.db import migrations


def unindex_foreign_key(model_name: str, name: str, field, *, table: str, column: str, index: str):
    """Give up a foreign key's own index, keeping its constraint.

    ``field`` is the field as it now stands (``db_index=False``). A plain ``AlterField`` would
    also drop, re-add and re-validate the foreign-key constraint on PostgreSQL and rebuild the
    whole table on SQLite; this only drops ``index`` (which Django names the same way on every
    backend) and creates it again when migrating back.
    """
    return migrations.SeparateDatabaseAndState(
        database_operations=[
            migrations.RunSQL(
                f'DROP INDEX "{index}"',
                reverse_sql=f'CREATE INDEX "{index}" ON "{table}" ("{column}")',
            )
        ],
        state_operations=[migrations.AlterField(model_name=model_name, name=name, field=field)],
    )
