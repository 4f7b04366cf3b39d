"""Each container keeps running totals of what was given, wasted and adjusted, filled here from
its entries; migration 0006 then has the database hold remaining = received − administered −
wasted − adjusted."""

from django.db import migrations, models
from django.db.models import Q, Sum


def fill(apps, schema_editor):
    Container = apps.get_model("controlled", "Container")
    LedgerEntry = apps.get_model("controlled", "LedgerEntry")
    sums = (
        LedgerEntry.objects.values("container_id")
        .annotate(
            administered=Sum("amount_ug", filter=Q(kind="administration")),
            wasted=Sum("amount_ug", filter=Q(kind="waste")),
            adjusted=Sum("amount_ug", filter=Q(kind="adjustment")),
        )
        .order_by()
    )
    for row in sums.iterator():
        # Entries are signed as they move the balance; the totals are what was taken away.
        Container.objects.filter(pk=row["container_id"]).update(
            administered_ug=-(row["administered"] or 0),
            wasted_ug=-(row["wasted"] or 0),
            adjusted_ug=-(row["adjusted"] or 0),
        )


class Migration(migrations.Migration):
    dependencies = [("controlled", "0004_quarantine_on_the_ledger")]

    operations = [
        migrations.AddField(
            model_name="container",
            name="administered_ug",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="container",
            name="wasted_ug",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="container",
            name="adjusted_ug",
            field=models.BigIntegerField(default=0),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
    ]
