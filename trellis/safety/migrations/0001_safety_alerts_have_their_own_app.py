"""Safety alerts move from measures into their own app, rows and table untouched.

Only Django's picture of the models changes: the table keeps its name, measures_safetyalert,
with its indexes and constraint, so nothing is copied or locked on a large table. Measures
drops the model from its picture in its 0006, after this.
"""

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0003_clinic_country_subdivision'),
        ('patients', '0007_screening_sources_readable'),
        ('measures', '0005_one_answer_per_moment_across_courses'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
        migrations.CreateModel(
            name='SafetyAlert',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('kind', models.CharField(choices=[('suicide_item', 'PHQ-9 item 9: thoughts of death or self-harm'), ('vital_sign', 'Vital sign past its threshold'), ('seizure', 'Seizure'), ('serious_adverse_event', 'Serious adverse event')], max_length=32)),
                ('severity', models.CharField(choices=[('elevated', 'Elevated'), ('high', 'High'), ('urgent', 'Urgent')], max_length=10)),
                ('summary', models.CharField(max_length=300)),
                ('source_type', models.CharField(blank=True, max_length=64)),
                ('source_id', models.CharField(blank=True, max_length=64)),
                ('status', models.CharField(choices=[('open', 'Open'), ('acknowledged', 'Acknowledged')], default='open', max_length=12)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('acknowledged_at', models.DateTimeField(blank=True, null=True)),
                ('actions', models.JSONField(blank=True, default=list, help_text='AlertAction codes')),
                ('note', models.TextField(blank=True, verbose_name='action note')),
                ('escalation_count', models.PositiveSmallIntegerField(default=0)),
                ('last_escalated_at', models.DateTimeField(blank=True, null=True)),
                ('next_escalation_at', models.DateTimeField(blank=True, help_text='When it escalates if still open; empty once acknowledged', null=True)),
                ('acknowledged_by', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('clinic', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.clinic')),
                ('patient', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='safety_alerts', to='patients.patient')),
                ('raised_by', models.ForeignKey(blank=True, db_index=False, help_text="Empty when raised by a patient's own answers or by the system", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'measures_safetyalert',
                'ordering': ['-created_at'],
                'indexes': [models.Index(fields=['clinic', 'status', 'created_at'], name='measures_sa_clinic__31129d_idx'), models.Index(fields=['status', 'next_escalation_at'], name='alert_escalation_idx'), models.Index(fields=['patient', 'status'], name='measures_sa_patient_1793ce_idx')],
                'constraints': [models.CheckConstraint(condition=models.Q(('status', 'open'), models.Q(('acknowledged_at__isnull', False), ('acknowledged_by__isnull', False), models.Q(('note', ''), _negated=True)), _connector='OR'), name='acknowledged_alert_has_who_when_and_note')],
            },
        ),
            ],
        ),
    ]
