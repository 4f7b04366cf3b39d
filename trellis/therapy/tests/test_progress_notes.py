"""Progress notes for a session or a therapy appointment: the pages, the add-on code, signing,
addenda, the risk alert, goals and themes, and other clinics."""

from django.core.exceptions import PermissionDenied

from trellis.audit.models import Action, AuditEvent
from trellis.lib.errors import Conflict, InputError
from trellis.safety.models import SafetyAlert
from trellis.testing import actor_for
from trellis.therapy import services
from trellis.therapy.models import GoalStatus, ProgressNote
from trellis.therapy.tests.base import TherapyTestCase

FORM = {
    "modality": "kap",
    "phase": "integration",
    "start": "09:05",
    "end": "09:47",
    "focus": "Meaning of the dosing session",
    "interventions": "Reflective listening, values work",
    "response": "Tearful, then hopeful",
    "plan": "Journal daily; next integration in a week",
    "risk_level": "none",
    "risk_notes": "",
    "themes": "Grief, self-compassion",
}


class ProgressNotePageTests(TherapyTestCase):
    def post_note(self, **change):
        data = {**FORM, "day": self.day.isoformat(), **change}
        return self.client.post(f"/therapy/sessions/{self.session.id}/progress-notes/new/", data)

    def test_the_therapist_writes_one_and_the_session_page_shows_it_with_its_code(self):
        self.sign_in(self.therapist)
        response = self.post_note()
        note = ProgressNote.objects.get()
        self.assertRedirects(response, f"/therapy/progress-notes/{note.id}/")
        self.assertEqual(note.minutes, 42)
        self.assertEqual(note.themes, ["grief", "self-compassion"])
        self.assertEqual(note.author, self.therapist)
        draft = self.client.get(f"/therapy/progress-notes/{note.id}/")
        self.assertContains(draft, 'Saved: 42 min, <span class="mono">+90836</span>')
        page = self.client.get(f"/sessions/{self.session.id}/").content.decode()
        self.assertIn("Therapist's progress note", page)
        self.assertIn("Meaning of the dosing session", page)
        self.assertIn("+90836", page)
        self.assertIn("Integration", page)
        # The nurse reads it beside her documentation, and cannot write one.
        self.sign_in(self.nurse)
        page = self.client.get(f"/sessions/{self.session.id}/").content.decode()
        self.assertIn("Meaning of the dosing session", page)
        self.assertNotIn("Write progress note", page)

    def test_a_bad_form_names_the_field_and_saves_nothing(self):
        self.sign_in(self.therapist)
        response = self.post_note(end="08:59")
        self.assertEqual(response.status_code, 422)
        self.assertContains(response, "must be after the start time", status_code=422)
        response = self.post_note(modality="cbt", phase="dosing")
        self.assertContains(
            response, "is a phase of ketamine-assisted psychotherapy only", status_code=422
        )
        self.assertFalse(ProgressNote.objects.exists())

    def test_a_nurse_may_not_write_one(self):
        self.sign_in(self.nurse)
        self.assertEqual(self.post_note().status_code, 403)

    def test_the_patient_page_lists_notes_goals_and_themes(self):
        note = self.note(themes=["grief", "work"])
        self.note(minutes=20, themes=["grief"])
        services.add_goal(self.therapist_actor, self.patient, "Return to work part-time")
        self.sign_in(self.prescriber)
        page = self.client.get(f"/patients/{self.patient.id}/").content.decode()
        self.assertIn("Psychotherapy progress notes", page)
        self.assertIn(f"/therapy/progress-notes/{note.id}/", page)
        self.assertIn("+90836", page)
        self.assertIn("+90833", page)
        self.assertIn("Return to work part-time", page)
        self.assertIn("grief ×2", page)
        # The front desk and the administrator hold no clinical read: no card.
        self.sign_in(self.front_desk)
        page = self.client.get(f"/patients/{self.patient.id}/").content.decode()
        self.assertNotIn("Psychotherapy progress notes", page)

    def test_another_clinic_gets_not_found(self):
        note = self.note()
        self.sign_in(self.prescriber_b)
        for url in (
            f"/therapy/progress-notes/{note.id}/",
            f"/therapy/sessions/{self.session.id}/progress-notes/new/",
            f"/therapy/patients/{self.patient.id}/psychotherapy-notes/",
        ):
            self.assertEqual(self.client.get(url).status_code, 404, url)
        actor_b = actor_for(self.prescriber_b, self.clinic_b)
        with self.assertRaises(Exception) as error:
            services.add_goal(actor_b, self.patient, "A goal")
        self.assertEqual(error.exception.__class__.__name__, "Http404")


class ProgressNoteServiceTests(TherapyTestCase):
    def test_a_signed_note_never_changes_and_takes_addenda(self):
        note = self.note()
        services.sign_progress_note(self.therapist_actor, note)
        with self.assertRaises(Conflict):
            services.update_progress_note(
                self.therapist_actor, note, **{**self.values(note), "focus": "Rewritten"}
            )
        with self.assertRaises(Conflict):
            services.sign_progress_note(self.therapist_actor, note)
        note.refresh_from_db()
        self.assertEqual(note.focus, "Intention setting")
        services.add_progress_addendum(
            self.therapist_actor, note, reason="Wrong time", text="Ended at 09:50"
        )
        self.assertEqual(note.addenda.count(), 1)
        # Through the page, a POST to a signed note changes nothing either.
        self.sign_in(self.therapist)
        response = self.client.post(f"/therapy/progress-notes/{note.id}/", {"focus": "x"})
        self.assertEqual(response.status_code, 404)
        note.refresh_from_db()
        self.assertEqual(note.focus, "Intention setting")

    def values(self, note):
        return {
            name: getattr(note, name)
            for name in ("modality", "phase", "started_at", "ended_at", "risk_level", "themes")
        } | {name: getattr(note, name) for name in services.TEXT_FIELDS}

    def test_only_the_author_changes_or_signs_a_draft(self):
        note = self.note()
        other = actor_for(self.prescriber, self.clinic_a)
        with self.assertRaises(PermissionDenied):
            services.update_progress_note(other, note, **self.values(note))
        with self.assertRaises(PermissionDenied):
            services.sign_progress_note(other, note)

    def test_signing_needs_the_content_and_the_risk_found(self):
        note = self.note(response="", risk_level="high")
        with self.assertRaises(Conflict) as error:
            services.sign_progress_note(self.therapist_actor, note)
        self.assertIn("the patient's response", error.exception.message)
        self.assertIn("what the risk assessment found", error.exception.message)

    def test_a_risk_raises_one_safety_alert(self):
        quiet = self.note(risk_level="low")
        with self.assertRaises(Conflict):
            services.raise_risk_alert(self.therapist_actor, quiet)
        note = self.note(risk_level="high", risk_notes="Passive ideation")
        self.sign_in(self.therapist)
        response = self.client.post(f"/therapy/progress-notes/{note.id}/alert/")
        alert = SafetyAlert.objects.get()
        self.assertRedirects(response, f"/alerts/{alert.id}/")
        self.assertEqual((alert.kind, alert.severity), ("therapy_risk", "urgent"))
        self.assertEqual(alert.source_type, "therapy.progressnote")
        self.assertNotIn("Passive ideation", alert.summary)
        page = self.client.get(f"/alerts/{alert.id}/").content.decode()
        self.assertIn(f"/therapy/progress-notes/{note.id}/", page)
        with self.assertRaises(Conflict):
            services.raise_risk_alert(self.therapist_actor, note)

    def test_a_standalone_therapy_appointment_takes_a_note(self):
        appointment = self.appointment()
        self.sign_in(self.therapist)
        page = self.client.get(f"/patients/{self.patient.id}/").content.decode()
        self.assertIn(f"/therapy/appointments/{appointment.id}/progress-notes/new/", page)
        data = {**FORM, "modality": "cbt", "phase": "", "start": "14:00", "end": "14:53"}
        response = self.client.post(
            f"/therapy/appointments/{appointment.id}/progress-notes/new/",
            {**data, "day": self.day.isoformat()},
        )
        note = ProgressNote.objects.get(appointment=appointment)
        self.assertRedirects(response, f"/therapy/progress-notes/{note.id}/")
        self.assertContains(self.client.get(f"/therapy/progress-notes/{note.id}/"), "+90838")

    def test_only_therapy_kinds_that_took_place_take_a_note(self):
        values = {
            "modality": "cbt",
            "started_at": self.at(14),
            "ended_at": self.at(14, 30),
        }
        with self.assertRaises(InputError):
            services.create_progress_note(
                self.therapist_actor, appointment=self.appointment(kind="follow_up"), **values
            )
        cancelled = self.appointment(kind="group", status="cancelled")
        with self.assertRaises(Conflict):
            services.create_progress_note(self.therapist_actor, appointment=cancelled, **values)

    def test_goals_change_status_audited(self):
        goal = services.add_goal(self.therapist_actor, self.patient, "  Sleep   7 hours ")
        self.assertEqual(goal.text, "Sleep 7 hours")
        services.set_goal_status(self.therapist_actor, goal, GoalStatus.MET)
        goal.refresh_from_db()
        self.assertEqual(goal.status, "met")
        self.assertTrue(
            AuditEvent.objects.filter(
                action=Action.UPDATE, object_id=str(goal.id), detail={"status": "met"}
            ).exists()
        )
        with self.assertRaises(InputError):
            services.set_goal_status(self.therapist_actor, goal, "forgotten")
