"""The synthetic network's bulk loader, and its record of the indexes and foreign keys a killed
load left dropped, moved out of the product into the development app ``bench.synthetic``
(which keeps its own table where it is installed). Anything still recorded here is put back
before the table goes, so no index or foreign key is lost with it."""

from django.db import migrations


def put_back_what_a_killed_load_dropped(apps, schema_editor):
    DeferredSchema = apps.get_model("reports", "DeferredSchema")
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for item in DeferredSchema.objects.order_by("kind", "pk"):  # indexes before keys
            if connection.vendor == "sqlite":
                cursor.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = %s", [item.name]
                )
                present = cursor.fetchone() is not None
            elif item.kind == "key":
                cursor.execute(
                    "SELECT 1 FROM pg_constraint WHERE conname = %s AND conrelid = %s::regclass",
                    [item.name, quote(item.table)],
                )
                present = cursor.fetchone() is not None
            else:
                cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [quote(item.name)])
                present = cursor.fetchone()[0]
            if not present:
                cursor.execute(item.sql)


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0001_deferred_schema"),
    ]

    operations = [
        migrations.RunPython(put_back_what_a_killed_load_dropped, migrations.RunPython.noop),
        migrations.DeleteModel(name="DeferredSchema"),
    ]
