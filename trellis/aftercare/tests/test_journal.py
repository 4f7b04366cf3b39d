"""The journal on the staff side: entries entered for the patient, shared or private; shared
ones on the patient page and through the crisis-language net, private ones never shown."""

from trellis.aftercare.models import JournalEntry
from trellis.aftercare.tests.base import AftercareTestCase
from trellis.audit.models import AuditEvent
from trellis.safety.models import SafetyAlert


class JournalTests(AftercareTestCase):
    def url(self, patient=None):
        return f"/aftercare/patients/{(patient or self.patient).id}/journal/new/"

    def test_a_shared_entry_appears_on_the_patient_page(self):
        self.sign_in(self.therapist)
        response = self.client.post(
            self.url(), {"text": "Noticed I laughed at dinner again.", "shared": "1"}
        )
        self.assertRedirects(
            response, f"/patients/{self.patient.id}/#aftercare", fetch_redirect_response=False
        )
        entry = JournalEntry.objects.get()
        self.assertEqual(
            (entry.shared, entry.via, entry.recorded_by), (True, "staff", self.therapist)
        )
        self.assertFalse(entry.crisis_language)
        self.assertFalse(SafetyAlert.objects.exists())
        page = self.client.get(f"/patients/{self.patient.id}/")
        self.assertContains(page, "Noticed I laughed at dinner again.")
        self.assertContains(page, "A safety net, not monitoring.")

    def test_a_shared_entry_with_crisis_words_raises_an_alert_in_the_same_save(self):
        self.sign_in(self.nurse)
        page = self.client.post(
            self.url(),
            {"text": "I am not suicidal, but some nights I can't go on.", "shared": "1"},
            follow=True,
        )
        self.assertContains(page, "a safety alert is open at the top of this page")
        # To the top of the page, where the alert banner is, not down to the card.
        self.assertEqual(page.redirect_chain[0][0], f"/patients/{self.patient.id}/")
        entry = JournalEntry.objects.get()
        self.assertTrue(entry.crisis_language)
        alert = SafetyAlert.objects.get()
        self.assertEqual((alert.kind, alert.severity), ("journal_crisis_language", "high"))
        self.assertEqual(alert.source_id, str(entry.pk))
        self.assertIn("2 phrases", alert.summary)
        self.assertNotIn("suicidal", alert.summary)
        self.assertContains(page, "Crisis words found")

    def test_a_private_entry_is_not_screened_and_not_shown(self):
        self.sign_in(self.nurse)
        self.client.post(self.url(), {"text": "I want to die, keep this to myself", "shared": "0"})
        entry = JournalEntry.objects.get()
        self.assertFalse(entry.shared)
        self.assertFalse(entry.crisis_language)
        self.assertFalse(SafetyAlert.objects.exists())
        page = self.client.get(f"/patients/{self.patient.id}/")
        self.assertNotContains(page, "keep this to myself")
        self.assertContains(page, "1 private entry the patient keeps to themselves is not shown")

    def test_no_word_of_an_entry_is_in_the_audit_trail(self):
        self.sign_in(self.nurse)
        self.client.post(self.url(), {"text": "Marigold lighthouse secret", "shared": "1"})
        self.client.get(f"/patients/{self.patient.id}/")
        for event in AuditEvent.objects.all():
            self.assertNotIn("Marigold", str(event.detail))

    def test_an_empty_entry_is_refused_by_name(self):
        self.sign_in(self.nurse)
        response = self.client.post(self.url(), {"text": "   ", "shared": "1"})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "field-error")
        self.assertFalse(JournalEntry.objects.exists())

    def test_who_may_enter_and_read(self):
        self.sign_in(self.front_desk)
        self.assertEqual(self.client.get(self.url()).status_code, 403)
        page = self.client.get(f"/patients/{self.patient.id}/")
        self.assertNotContains(page, 'id="aftercare"')
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(self.url()).status_code, 404)
        self.sign_in(self.nurse)
        self.assertEqual(self.client.get(self.url(self.patient_b)).status_code, 404)
