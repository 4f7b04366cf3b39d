"""Safety alerts now belong to the safety app (its 0001): measures forgets the model, the
table and its rows stay where they are."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('measures', '0005_one_answer_per_moment_across_courses'),
        ('safety', '0001_safety_alerts_have_their_own_app'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name='SafetyAlert')],
        ),
    ]
