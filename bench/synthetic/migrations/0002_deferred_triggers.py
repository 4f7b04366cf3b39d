from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("synthetic", "0001_deferred_schema")]

    operations = [
        migrations.AlterField(
            model_name="deferredschema",
            name="kind",
            field=models.CharField(
                choices=[("index", "index"), ("key", "foreign key"), ("trigger", "trigger")],
                max_length=8,
            ),
        ),
    ]
