"""The protocol library gains the oral and sublingual ketamine protocols (DOMAIN.md §9)."""

from django.db import migrations

from trellis.patients.modality import Modality
from trellis.treatments.protocols import BUILTIN


def load(apps, schema_editor):
    Protocol = apps.get_model("treatments", "Protocol")
    for spec in BUILTIN:
        if spec["modality"] == Modality.ORAL_KETAMINE:
            Protocol.objects.update_or_create(clinic=None, code=spec["code"], defaults=spec)


def unload(apps, schema_editor):
    Protocol = apps.get_model("treatments", "Protocol")
    Protocol.objects.filter(clinic=None, modality=Modality.ORAL_KETAMINE, courses=None).delete()


class Migration(migrations.Migration):
    dependencies = [("treatments", "0011_oral_ketamine_dose_records")]
    operations = [migrations.RunPython(load, unload)]
