"""Clinics that exist when recorded text consent arrives keep texting their patients as before
(``sms_consent_required`` 0) until they record their patients' agreement and turn it on; a
clinic created afterwards requires it from the start (the setting's default)."""

from django.db import migrations


def keep_texting(apps, schema_editor):
    Clinic = apps.get_model("accounts", "Clinic")
    for clinic in Clinic.objects.all():
        if "sms_consent_required" not in clinic.settings:
            clinic.settings = {**clinic.settings, "sms_consent_required": 0}
            clinic.save(update_fields=["settings"])


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0008_contact_preference_and_text_consent"),
        ("accounts", "0002_fk_indexes_covered_by_composites"),
    ]

    operations = [migrations.RunPython(keep_texting, migrations.RunPython.noop)]
