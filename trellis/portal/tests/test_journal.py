"""The patient's journal: private or shared, the shared entries screened by the aftercare
crisis-language net, and each patient's entries walled off from the other's."""

from trellis.aftercare.models import JournalEntry, JournalVia
from trellis.portal.tests.base import PortalTestCase
from trellis.safety.models import SafetyAlert


class JournalTests(PortalTestCase):
    def setUp(self):
        self.browser, _ = self.enrol(self.patient, self.front_desk, "ada")

    def test_a_private_entry_is_kept_and_raises_nothing(self):
        response = self.browser.post(
            "/portal/journal/", {"text": "Walked by the lake today.", "shared": "0"}
        )
        self.assertRedirects(response, "/portal/journal/", fetch_redirect_response=False)
        entry = JournalEntry.objects.get(patient=self.patient)
        self.assertEqual((entry.shared, entry.via), (False, JournalVia.PORTAL))
        page = self.browser.get("/portal/journal/")
        self.assertContains(page, "Walked by the lake today.")
        self.assertContains(page, "only you")

    def test_a_shared_entry_with_crisis_words_shows_the_crisis_screen_and_alerts(self):
        response = self.browser.post(
            "/portal/journal/", {"text": "I felt suicidal last night.", "shared": "1"}
        )
        self.assertContains(response, "Please reach out now")
        self.assertContains(response, "has been told")
        alert = SafetyAlert.objects.get(patient=self.patient)
        self.assertEqual(alert.kind, "journal_crisis_language")
        self.assertTrue(JournalEntry.objects.get(patient=self.patient).crisis_language)

    def test_a_private_entry_with_crisis_words_shows_the_screen_without_an_alert(self):
        response = self.browser.post(
            "/portal/journal/", {"text": "I felt suicidal last night.", "shared": "0"}
        )
        self.assertContains(response, "Please reach out now")
        self.assertContains(response, "has not been told")
        self.assertFalse(SafetyAlert.objects.exists())

    def test_an_empty_entry_is_refused_by_name(self):
        response = self.browser.post("/portal/journal/", {"text": "  ", "shared": "0"})
        self.assertContains(response, "This field is required")
        self.assertFalse(JournalEntry.objects.exists())

    def test_another_patients_entries_are_never_shown(self):
        alan, _ = self.enrol(self.patient_b, self.prescriber_b, "alan")
        self.browser.post("/portal/journal/", {"text": "Ada's own words.", "shared": "1"})
        self.assertNotContains(alan.get("/portal/journal/"), "Ada's own words.")
