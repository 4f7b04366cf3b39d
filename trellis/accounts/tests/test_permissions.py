from pathlib import Path

from django.test import SimpleTestCase

from trellis.accounts.permissions import DESCRIPTIONS, RULES, Perm, Role, matrix_markdown

DOC = Path(__file__).resolve().parents[3] / "docs" / "permissions.md"


class PermissionMatrixTests(SimpleTestCase):
    def test_the_documented_matrix_is_the_one_in_code(self):
        self.assertIn(matrix_markdown(), DOC.read_text())

    def test_every_permission_has_rules_and_a_description(self):
        self.assertEqual(set(RULES), set(Perm))
        self.assertEqual(set(DESCRIPTIONS), set(Perm))

    def test_only_prescribers_sign_screenings_and_override(self):
        self.assertEqual(RULES[Perm.SCREENING_SIGN], {Role.PRESCRIBER})
        self.assertEqual(RULES[Perm.COURSE_OVERRIDE], {Role.PRESCRIBER})

    def test_front_desk_and_administrators_never_read_clinical_records(self):
        clinical = [Perm.SCREENING_READ, Perm.SESSION_READ, Perm.MEASURE_READ]
        for perm in clinical:
            with self.subTest(perm=perm):
                self.assertNotIn(Role.FRONT_DESK, RULES[perm])
                self.assertNotIn(Role.CLINIC_ADMIN, RULES[perm])
        self.assertNotIn(Role.FRONT_DESK, RULES[Perm.ALERT_READ])

    def test_administrators_open_alerts_they_are_escalated_but_never_acknowledge(self):
        self.assertIn(Role.CLINIC_ADMIN, RULES[Perm.ALERT_READ])
        self.assertNotIn(Role.CLINIC_ADMIN, RULES[Perm.ALERT_ACKNOWLEDGE])

    def test_therapists_add_notes_but_never_document_the_treatment(self):
        self.assertIn(Role.THERAPIST, RULES[Perm.SESSION_NOTE])
        for perm in (Perm.SESSION_CHANGE, Perm.SESSION_SIGN, Perm.COURSE_CHANGE):
            with self.subTest(perm=perm):
                self.assertNotIn(Role.THERAPIST, RULES[perm])
