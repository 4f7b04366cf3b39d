"""The single front-desk note of requests filed before the contact history becomes its first
entry, and phone numbers on file move to E.164 where they can be read.

The migrations run on an empty database of their own (``migration_database``), brought to the
state before them, so the test database is not taken back past every app after patients."""

from django.db.migrations.executor import MigrationExecutor
from django.test import TestCase

from trellis.testing import migration_database

BEFORE = [
    ("patients", "0004_staff_references_unindexed"),
    ("accounts", "0002_fk_indexes_covered_by_composites"),
]
AFTER = [("patients", "0006_phones_in_e164")]


class RequestNoteMigrationTests(TestCase):
    def test_a_note_becomes_the_first_entry_of_the_history_and_phones_become_e164(self):
        with migration_database() as database:
            executor = MigrationExecutor(database)
            executor.migrate(BEFORE)
            old = executor.loader.project_state(BEFORE).apps
            clinic = old.get_model("accounts", "Clinic").objects.create(
                slug="gamma", name="Gamma", mrn_prefix="GAM"
            )
            request = old.get_model("patients", "AssessmentRequest").objects.create(
                clinic=clinic,
                given_name="Dana",
                family_name="Okafor",
                phone="(860) 555-0142",
                note="Called twice, no answer",
            )
            executor = MigrationExecutor(database)
            executor.loader.build_graph()
            executor.migrate(AFTER)
            new = executor.loader.project_state(AFTER).apps
            contact = new.get_model("patients", "RequestContact").objects.get()
            self.assertEqual(
                (contact.request_id, contact.method, contact.note),
                (request.pk, "note", "Called twice, no answer"),
            )
            row = new.get_model("patients", "AssessmentRequest").objects.get()
            self.assertEqual(row.phone, "+18605550142")
