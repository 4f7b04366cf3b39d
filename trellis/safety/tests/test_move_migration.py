"""Alerts raised before they had their own app are the safety app's afterwards: the move
changes no table and no row."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import TransactionTestCase

from trellis.accounts.permissions import Role
from trellis.safety.models import SafetyAlert
from trellis.testing import actor_for, make_clinic, make_patient, make_staff

BEFORE = [("measures", "0005_one_answer_per_moment_across_courses"), ("safety", None)]
AFTER = [("measures", "0006_safety_alerts_have_their_own_app")]


class SafetyAlertsMoveTest(TransactionTestCase):
    def tearDown(self) -> None:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    def test_an_alert_raised_before_the_move_is_still_open_after_it(self):
        clinic = make_clinic("alpha", "Alpha Clinic", "ALP")
        patient = make_patient(actor_for(make_staff("desk", clinic, Role.FRONT_DESK), clinic))
        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)
        old = executor.loader.project_state(BEFORE[:1]).apps.get_model("measures", "SafetyAlert")
        created = old.objects.create(
            clinic_id=patient.clinic_id,
            patient_id=patient.pk,
            kind="suicide_item",
            severity="high",
            summary="Item 9 answered 2",
        )
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(AFTER)
        self.assertIn("measures_safetyalert", connection.introspection.table_names())
        alert = SafetyAlert.objects.get(pk=created.pk)
        self.assertEqual(
            (alert.patient, alert.summary, alert.is_open), (patient, "Item 9 answered 2", True)
        )
