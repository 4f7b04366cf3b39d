"""The psychotherapy-note wall (HIPAA 164.501, DOMAIN.md §11): every read path of the record —
pages, the API, search, the audit report and its CSV, the desk, the outcome export — is tried
by a prescriber and by the administrator without a grant, and the note's words are nowhere;
with the author's grant they are on the psychotherapy-notes page and only there."""

import io
import json

from django.core.management import call_command

from trellis.audit.models import Action, AuditEvent
from trellis.lib.errors import InputError
from trellis.testing import actor_for
from trellis.therapy import services
from trellis.therapy.tests.base import TherapyTestCase

MARKER = "zq-wall-marker-7731"


class PsychotherapyNoteWallTests(TherapyTestCase):
    def setUp(self):
        super().setUp()
        self.progress = self.note()
        self.secret = services.write_psychotherapy_note(
            self.therapist_actor, self.patient, f"Transference noted. {MARKER}"
        )
        self.page = f"/therapy/patients/{self.patient.id}/psychotherapy-notes/"

    def token(self, username: str) -> str:
        out = io.StringIO()
        call_command("issue_token", username, stdout=out)
        return out.getvalue().strip()

    def read_paths(self, user) -> dict[str, object]:
        """Every read of the patient's record open to ``user``: path → response."""
        self.sign_in(user)
        pages = [
            f"/patients/{self.patient.id}/",
            "/patients/?q=Ada",
            "/patients/?q=Transference",
            "/",
            f"/sessions/{self.session.id}/",
            f"/courses/{self.course.id}/",
            f"/therapy/progress-notes/{self.progress.id}/",
            "/alerts/",
            "/audit/",
            f"/audit/?patient={self.patient.mrn}",
            "/audit/export.csv",
            "/reports/outcomes/",
            "/reports/outcomes.csv",
        ]
        found = {path: self.client.get(path) for path in pages}
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.token(user.username)}"}
        for path in (
            f"/api/v1/patients/{self.patient.id}",
            "/api/v1/patients?q=Ada",
            "/api/v1/patients?q=Transference",
            f"/api/v1/patients/{self.patient.id}/measures",
            f"/api/v1/courses/{self.course.id}",
        ):
            found[path] = self.client.get(path, **headers)
        return found

    def assert_nowhere(self, user) -> dict[str, object]:
        """Read every path as ``user``, check the note is on none, and return what was read."""
        found = self.read_paths(user)
        # The paths were read, not refused wholesale: the wall is tested, not the door.
        self.assertEqual(found[f"/patients/{self.patient.id}/"].status_code, 200)
        self.assertEqual(found[f"/api/v1/patients/{self.patient.id}"].status_code, 200)
        for path, response in found.items():
            body = b"".join(response) if response.streaming else response.content
            self.assertNotIn(MARKER, body.decode(), f"{user.username} read the note at {path}")
        return found

    def test_without_a_grant_no_read_path_shows_the_note(self):
        found = {}
        for user in (self.prescriber, self.admin):
            with self.subTest(user=user.username):
                found[user] = self.assert_nowhere(user)
        self.assertEqual(found[self.admin]["/audit/export.csv"].status_code, 200)
        self.assertEqual(found[self.admin]["/reports/outcomes.csv"].status_code, 200)
        # Nor in any audit event's detail, whoever reads the trail.
        for event in AuditEvent.objects.all():
            self.assertNotIn(MARKER, json.dumps(event.detail))

    def test_without_a_grant_the_page_does_not_exist(self):
        for user in (self.admin, self.nurse, self.front_desk, self.tms):
            self.sign_in(user)
            self.assertEqual(self.client.get(self.page).status_code, 404, user.username)
        # A prescriber may keep notes of their own: the page is theirs, with none of another's.
        self.sign_in(self.prescriber)
        response = self.client.get(self.page)
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, MARKER)
        self.assertNotContains(response, "Transference")

    def test_with_a_grant_the_note_is_on_its_own_page_only_and_each_read_is_audited(self):
        grant = services.grant_psychotherapy_notes(
            self.therapist_actor, self.patient, self.prescriber
        )
        found = self.read_paths(self.prescriber)
        for path, response in found.items():
            body = b"".join(response) if response.streaming else response.content
            self.assertNotIn(MARKER, body.decode(), path)
        self.sign_in(self.prescriber)
        self.assertContains(self.client.get(self.page), MARKER)
        reads = AuditEvent.objects.filter(
            action=Action.READ, user=self.prescriber, object_id=str(self.secret.id)
        )
        self.assertEqual(reads.count(), 1)
        self.assertEqual(reads.get().object_type, "therapy.psychotherapynote")
        self.assertNotIn(MARKER, json.dumps(reads.get().detail))
        # The audit report names the record, never its words.
        self.sign_in(self.admin)
        report = self.client.get("/audit/").content.decode()
        self.assertIn("Psychotherapy note", report)
        self.assertNotIn(MARKER, report)
        # Revoked, the page is gone again.
        services.revoke_psychotherapy_grant(self.therapist_actor, grant)
        self.sign_in(self.nurse)
        self.assertEqual(self.client.get(self.page).status_code, 404)
        self.sign_in(self.prescriber)
        self.assertNotContains(self.client.get(self.page), MARKER)

    def test_a_grant_of_one_note_shows_that_note_only(self):
        later = services.write_psychotherapy_note(
            self.therapist_actor, self.patient, "Second note, not shared"
        )
        services.grant_psychotherapy_notes(
            self.therapist_actor, self.patient, self.nurse, note=self.secret
        )
        self.sign_in(self.nurse)
        response = self.client.get(self.page)
        self.assertContains(response, MARKER)
        self.assertNotContains(response, "Second note, not shared")
        self.assertFalse(
            AuditEvent.objects.filter(user=self.nurse, object_id=str(later.id)).exists()
        )

    def test_grants_go_to_clinicians_of_the_clinic_only_and_by_the_author(self):
        for user in (self.admin, self.front_desk, self.therapist):
            with self.assertRaises(InputError):
                services.grant_psychotherapy_notes(self.therapist_actor, self.patient, user)
        with self.assertRaises(InputError):
            services.grant_psychotherapy_notes(
                self.therapist_actor, self.patient, self.prescriber_b
            )
        # Another writer may not share the therapist's note.
        prescriber = actor_for(self.prescriber, self.clinic_a)
        with self.assertRaises(Exception) as error:
            services.grant_psychotherapy_notes(
                prescriber, self.patient, self.nurse, note=self.secret
            )
        self.assertEqual(error.exception.__class__.__name__, "Http404")

    def test_the_author_grants_and_revokes_through_the_page(self):
        self.sign_in(self.therapist)
        page = self.client.get(self.page)
        self.assertContains(page, MARKER)
        self.client.post(f"{self.page}grants/", {"grantee": str(self.nurse.pk), "note": ""})
        self.sign_in(self.nurse)
        self.assertContains(self.client.get(self.page), MARKER)
        self.sign_in(self.therapist)
        grant = services.PsychotherapyNoteGrant.objects.get()
        self.client.post(f"/therapy/psychotherapy-grants/{grant.id}/revoke/")
        self.sign_in(self.nurse)
        self.assertEqual(self.client.get(self.page).status_code, 404)
        event = AuditEvent.objects.get(object_id=str(grant.id), action=Action.UPDATE)
        self.assertEqual(event.detail, {"revoked": "nurse"})
