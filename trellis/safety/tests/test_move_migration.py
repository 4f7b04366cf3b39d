"""Alerts raised before they had their own app are the safety app's afterwards: the move
changes no table and no row.

The migrations run on an empty database of their own (``migration_database``), brought to the
state before the move, so the test database is not taken back past every app after measures."""

from datetime import date

from django.db.migrations.executor import MigrationExecutor
from django.test import TestCase

from trellis.safety.models import AlertStatus
from trellis.testing import migration_database

BEFORE = [("measures", "0005_one_answer_per_moment_across_courses")]
AFTER = [("measures", "0006_safety_alerts_have_their_own_app")]


class SafetyAlertsMoveTest(TestCase):
    def test_an_alert_raised_before_the_move_is_still_open_after_it(self):
        with migration_database() as database:
            executor = MigrationExecutor(database)
            executor.migrate(BEFORE)
            old = executor.loader.project_state(BEFORE).apps
            clinic = old.get_model("accounts", "Clinic").objects.create(
                slug="alpha", name="Alpha Clinic", mrn_prefix="ALP"
            )
            patient = old.get_model("patients", "Patient").objects.create(
                clinic=clinic,
                mrn="ALP-000001",
                given_name="Ada",
                family_name="Lovelace",
                birth_date=date(1980, 5, 17),
                sex="female",
            )
            created = old.get_model("measures", "SafetyAlert").objects.create(
                clinic_id=patient.clinic_id,
                patient_id=patient.pk,
                kind="suicide_item",
                severity="high",
                summary="Item 9 answered 2",
            )
            executor = MigrationExecutor(database)
            executor.loader.build_graph()
            executor.migrate(AFTER)
            self.assertIn("measures_safetyalert", database.introspection.table_names())
            new = executor.loader.project_state(AFTER).apps
            alert = new.get_model("safety", "SafetyAlert").objects.get(pk=created.pk)
            self.assertEqual(
                (alert.patient_id, alert.summary, alert.status),
                (patient.pk, "Item 9 answered 2", AlertStatus.OPEN),
            )
