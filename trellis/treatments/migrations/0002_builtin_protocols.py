from django.db import migrations

from trellis.treatments.protocols import BUILTIN


def load(apps, schema_editor):
    Protocol = apps.get_model("treatments", "Protocol")
    for spec in BUILTIN:
        Protocol.objects.update_or_create(clinic=None, code=spec["code"], defaults=spec)


class Migration(migrations.Migration):
    dependencies = [("treatments", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
