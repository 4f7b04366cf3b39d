"""Phone numbers already on file, in E.164 where they can be read (``trellis.lib.phones``).

A number that cannot be read as a valid one in its clinic's country is left as it was, for a
person to correct: the page shows it as it is, and the next save asks for a valid one.
"""

from django.db import migrations

from trellis.lib import phones

FIELDS = {
    "Patient": ("phone", "emergency_contact_phone"),
    "AssessmentRequest": ("phone",),
}


def to_e164(apps, schema_editor):
    Clinic = apps.get_model("accounts", "Clinic")
    regions = {clinic.pk: phones.region_of(clinic) for clinic in Clinic.objects.all()}
    for model_name, fields in FIELDS.items():
        model = apps.get_model("patients", model_name)
        changed = []
        for row in model.objects.only("pk", "clinic_id", *fields).iterator():
            dirty = False
            for field in fields:
                value = getattr(row, field)
                try:
                    normal = phones.to_e164(value, regions.get(row.clinic_id, "US"))
                except phones.InvalidPhone:
                    continue
                if normal != value:
                    setattr(row, field, normal)
                    dirty = True
            if dirty:
                changed.append(row)
        model.objects.bulk_update(changed, fields, batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_fk_indexes_covered_by_composites"),
        ("patients", "0005_request_contact_history"),
    ]

    operations = [migrations.RunPython(to_e164, migrations.RunPython.noop)]
