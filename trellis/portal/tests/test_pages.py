"""The portal's pages: a due questionnaire answered with the same scoring and crisis screen as
a link, scores in plain words, appointments and the aftercare plan."""

from datetime import timedelta

from django.utils import timezone

from trellis.measures.models import EnteredVia, Measure
from trellis.portal.tests.base import PortalTestCase
from trellis.portal.tests.test_walls import scheduled_phq9
from trellis.safety.models import SafetyAlert

NONE = {f"item_{n}": "0" for n in range(1, 10)}


class QuestionnaireTests(PortalTestCase):
    def setUp(self):
        self.browser, self.account = self.enrol(self.patient, self.front_desk, "ada")
        self.due = scheduled_phq9(self.course)
        self.url = f"/portal/questionnaires/{self.due.id}/"

    def test_the_patient_answers_a_due_phq9_with_the_links_form(self):
        page = self.browser.get(self.url)
        self.assertContains(page, "Mood questionnaire (PHQ-9)")
        self.assertContains(page, 'type="radio"', count=9 * 4 + 4)
        answers = {**NONE, "item_1": "2", "item_2": "3", "difficulty": "1"}
        response = self.browser.post(self.url, answers)
        self.assertContains(response, "Thank you")
        self.assertNotContains(response, "Please reach out now")
        measure = Measure.objects.get(patient=self.patient)
        self.assertEqual((measure.total, measure.severity), (5, "mild"))
        self.assertEqual(measure.entered_via, EnteredVia.PATIENT_LINK)
        self.due.refresh_from_db()
        self.assertEqual(self.due.measure, measure)
        # Answered: it is no longer due, and its page is gone.
        self.assertEqual(self.browser.get(self.url).status_code, 404)
        self.assertNotContains(self.browser.get("/portal/"), self.url)

    def test_item_nine_shows_the_crisis_screen_and_raises_the_alert(self):
        response = self.browser.post(self.url, {**NONE, "item_9": "2"})
        self.assertContains(response, "Please reach out now")
        self.assertContains(response, 'href="tel:988"')
        alert = SafetyAlert.objects.get(patient=self.patient)
        self.assertEqual(alert.kind, "suicide_item")

    def test_a_missing_answer_is_named_and_nothing_is_saved(self):
        answers = dict(NONE)
        del answers["item_4"]
        response = self.browser.post(self.url, answers)
        self.assertContains(response, "Question 4")
        self.assertFalse(Measure.objects.exists())


class ScoresTests(PortalTestCase):
    def test_scores_over_time_in_plain_words(self):
        browser, _ = self.enrol(self.patient, self.front_desk, "ada")
        self.assertContains(browser.get("/portal/scores/"), "No questionnaires answered yet")
        first = scheduled_phq9(self.course, "week-1")
        browser.post(
            f"/portal/questionnaires/{first.id}/",
            {**NONE, "item_1": "3", "item_2": "3", "item_3": "3", "item_4": "3", "item_5": "2"},
        )
        second = scheduled_phq9(self.course, "week-2")
        browser.post(f"/portal/questionnaires/{second.id}/", {**NONE, "item_1": "1", "item_2": "1"})
        page = browser.get("/portal/scores/")
        self.assertContains(page, "Your latest score is 2 out of 27 (minimal).")
        self.assertContains(page, "12 points lower than your first score, 14.")
        self.assertContains(page, "Moderate")


class HomeTests(PortalTestCase):
    def test_home_lists_the_next_appointments_and_the_plan(self):
        from trellis.scheduling.models import Appointment

        start = timezone.now() + timedelta(days=2)
        Appointment.objects.create(
            clinic=self.clinic_a,
            patient=self.patient,
            kind="assessment",
            start=start,
            end=start + timedelta(minutes=30),
            day=timezone.localtime(start, self.clinic_a.tzinfo).date(),
            created_by=self.front_desk,
        )
        browser, _ = self.enrol(self.patient, self.front_desk, "ada")
        page = browser.get("/portal/")
        self.assertContains(page, "Your next appointments")
        local = timezone.localtime(start, self.clinic_a.tzinfo)
        self.assertContains(page, f"{local:%A, %b %-d} at {local:%-I:%M %p}")
        self.assertNotContains(page, "No appointments booked")
        self.assertContains(page, "not written an aftercare plan yet")
