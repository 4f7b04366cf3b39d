"""Stored eligibility reasons cite their references readably ("Ketamine trial criteria [R18]")
instead of pointing at the project's notes ("DOMAIN.md §1.5 [R18]"). Only the form of each
reason's ``source`` changes: the same references, the same statuses and messages."""

from django.db import migrations

from trellis.lib import sources

BATCH = 500


def readable_sources(apps, schema_editor):
    Screening = apps.get_model("patients", "Screening")
    changed = []
    for screening in Screening.objects.only("pk", "findings").iterator(chunk_size=BATCH):
        edited = False
        for finding in (screening.findings or {}).values():
            for reason in finding.get("reasons", []):
                text = sources.readable(reason.get("source", ""))
                if text != reason.get("source"):
                    reason["source"] = text
                    edited = True
        if edited:
            changed.append(screening)
        if len(changed) >= BATCH:
            Screening.objects.bulk_update(changed, ["findings"])
            changed = []
    if changed:
        Screening.objects.bulk_update(changed, ["findings"])


class Migration(migrations.Migration):
    dependencies = [("patients", "0006_phones_in_e164")]
    operations = [migrations.RunPython(readable_sources, migrations.RunPython.noop)]
