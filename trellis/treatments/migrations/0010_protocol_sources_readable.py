"""Built-in protocols cite their references readably ("Andrade 2017 [R1]; …") instead of
pointing at the project's notes ("DOMAIN.md §1.1 [R1, R3]"): the references stay the same."""

from django.db import migrations

from trellis.lib import sources


def readable_sources(apps, schema_editor):
    Protocol = apps.get_model("treatments", "Protocol")
    for protocol in Protocol.objects.filter(source__contains="[R"):
        text = sources.readable(protocol.source)
        if text != protocol.source:
            Protocol.objects.filter(pk=protocol.pk).update(source=text)


class Migration(migrations.Migration):
    dependencies = [("treatments", "0009_session_statuses_and_reasons")]
    operations = [migrations.RunPython(readable_sources, migrations.RunPython.noop)]
