"""The database holds remaining = received − administered − wasted − adjusted for every
container (its own transaction, after 0005 filled the totals)."""

from django.db import migrations, models
from django.db.models import F


def refuse_if_any_does_not_add_up(apps, schema_editor):
    """A balance changed behind the ledger's back would stop the constraint with an opaque
    error; name the containers instead, for a prescriber to correct before migrating."""
    Container = apps.get_model("controlled", "Container")
    wrong = list(
        Container.objects.exclude(
            balance_ug=F("received_ug") - F("administered_ug") - F("wasted_ug") - F("adjusted_ug")
        ).values_list("lot", "number")[:20]
    )
    if wrong:
        named = ", ".join(f"lot {lot} #{number}" for lot, number in wrong)
        raise RuntimeError(
            f"These containers' balances do not add up to their entries: {named}. Run "
            "`manage.py controlled_verify`, correct them, then migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [("controlled", "0005_container_running_totals")]

    operations = [
        migrations.RunPython(
            refuse_if_any_does_not_add_up, migrations.RunPython.noop, elidable=False
        ),
        migrations.AddConstraint(
            model_name="container",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    balance_ug=models.F("received_ug")
                    - models.F("administered_ug")
                    - models.F("wasted_ug")
                    - models.F("adjusted_ug")
                ),
                name="container_balance_adds_up",
            ),
        ),
    ]
