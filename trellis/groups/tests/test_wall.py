"""The group-note wall: member A's chart — the patient page, A's session record, the API and
the audit report and CSV filtered to A — shows A's own attendance and section and the note's
shared part, and never member B's name or section [R109]."""

import io
import json
from datetime import time

from django.core.management import call_command

from trellis.audit.models import AuditEvent
from trellis.groups import services
from trellis.groups.models import Attendance
from trellis.groups.tests.base import GroupsTestCase
from trellis.patients.models import Patient

A_SECTION = "zq-member-a-section-4410"
B_SECTION = "zq-member-b-section-9902"
SHARED = "zq-shared-topic-1207"


class GroupNoteWallTests(GroupsTestCase):
    def setUp(self) -> None:
        cohort = self.cohort(self.clinic_a.today(), start_time=time(18))
        self.a = Patient.objects.create(
            clinic=self.clinic_a,
            mrn="ALP-700001",
            given_name="Wilhelmina",
            family_name="Ashcombe",
            birth_date="1979-03-03",
            sex="female",
        )
        self.b = Patient.objects.create(
            clinic=self.clinic_a,
            mrn="ALP-700002",
            given_name="Bartholomew",
            family_name="Brackenridge",
            birth_date="1983-04-04",
            sex="male",
        )
        for p in (self.a, self.b):
            services.enrol(self.actor(), cohort, p, now=self.before(cohort))
        meeting = cohort.meetings.get(number=1)
        therapist = self.actor(self.therapist)
        enrolments = {e.patient_id: str(e.pk) for e in cohort.enrolments.all()}
        rows = services.take_attendance(
            therapist, meeting, {enrolments[self.a.pk]: "present", enrolments[self.b.pk]: "late"}
        )
        by_patient = {r.patient_id: str(r.pk) for r in rows}
        note = services.save_note(
            therapist,
            meeting,
            topic=f"Self-compassion {SHARED}",
            interventions="Guided reflection",
            sections={
                by_patient[self.a.pk]: {"participation": A_SECTION, "response": "Open"},
                by_patient[self.b.pk]: {
                    "participation": B_SECTION,
                    "response": "Guarded",
                    "risk_level": "moderate",
                    "risk_notes": f"Low mood {B_SECTION}",
                },
            },
        )
        services.sign_note(therapist, note)
        section_b = note.sections.get(patient=self.b)
        services.add_addendum(
            therapist, note, reason="Correction", text=f"B detail {B_SECTION}", section=section_b
        )
        self.attendance_a = Attendance.objects.get(patient=self.a)

    def token(self, username: str) -> str:
        out = io.StringIO()
        call_command("issue_token", username, stdout=out)
        return out.getvalue().strip()

    def bodies(self) -> dict[str, str]:
        found = {}
        self.sign_in(self.prescriber)
        for path in (f"/patients/{self.a.id}/", f"/groups/attendance/{self.attendance_a.id}/"):
            response = self.client.get(path)
            self.assertEqual(response.status_code, 200, path)
            found[path] = response.content.decode()
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.token(self.prescriber.username)}"}
        path = f"/api/v1/patients/{self.a.id}/group-attendance"
        response = self.client.get(path, **headers)
        self.assertEqual(response.status_code, 200)
        found[path] = response.content.decode()
        self.sign_in(self.admin)
        for path in (f"/audit/?patient={self.a.mrn}", f"/audit/export.csv?patient={self.a.mrn}"):
            response = self.client.get(path)
            self.assertEqual(response.status_code, 200, path)
            body = b"".join(response) if response.streaming else response.content
            found[path] = body.decode()
        return found

    def test_member_as_chart_never_shows_member_b(self):
        found = self.bodies()
        for path, body in found.items():
            with self.subTest(path=path):
                self.assertNotIn(B_SECTION, body)
                self.assertNotIn("Bartholomew", body)
                self.assertNotIn("Brackenridge", body)
                self.assertNotIn(self.b.mrn, body)
        # The wall is tested, not the door: A's own part is there.
        for path in (f"/patients/{self.a.id}/", f"/api/v1/patients/{self.a.id}/group-attendance"):
            self.assertIn(SHARED, found[path])
        self.assertIn(A_SECTION, found[f"/groups/attendance/{self.attendance_a.id}/"])
        self.assertIn("Wilhelmina", found[f"/audit/export.csv?patient={self.a.mrn}"])

    def test_the_api_gives_a_own_attendance_section_and_billing(self):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.token(self.prescriber.username)}"}
        rows = self.client.get(f"/api/v1/patients/{self.a.id}/group-attendance", **headers).json()
        self.assertEqual(len(rows), 1)
        row = rows[0]
        self.assertEqual(row["status"], "present")
        self.assertEqual(row["section"]["participation"], A_SECTION)
        self.assertEqual(row["note"]["participant_count"], 2)
        self.assertEqual((row["billing_code"], row["billing_units"]), ("90853", 1))
        self.assertNotIn(B_SECTION, json.dumps(rows))

    def test_the_api_refuses_the_front_desk_and_other_clinics(self):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.token(self.front_desk.username)}"}
        response = self.client.get(f"/api/v1/patients/{self.a.id}/group-attendance", **headers)
        self.assertEqual(response.status_code, 403)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.token(self.prescriber_b.username)}"}
        response = self.client.get(f"/api/v1/patients/{self.a.id}/group-attendance", **headers)
        self.assertEqual(response.status_code, 404)

    def test_no_audit_event_of_a_names_or_quotes_b(self):
        for event in AuditEvent.objects.filter(patient=self.a):
            text = json.dumps(event.detail)
            self.assertNotIn(B_SECTION, text)
            self.assertNotIn("Brackenridge", text)
        for event in AuditEvent.objects.all():
            self.assertNotIn(B_SECTION, json.dumps(event.detail))

    def test_bs_alert_is_bs_alone(self):
        from trellis.safety.models import SafetyAlert

        alert = SafetyAlert.objects.get()
        self.assertEqual(alert.patient, self.b)
        self.sign_in(self.prescriber)
        page = self.client.get(f"/patients/{self.a.id}/").content.decode()
        self.assertNotIn(str(alert.id), page)
