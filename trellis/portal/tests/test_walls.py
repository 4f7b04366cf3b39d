"""The walls: one patient never reaches another's record, staff and patient sessions never
stand in for each other, and psychotherapy notes never reach the portal."""

from datetime import timedelta

from django.test import Client

from trellis.aftercare import services as aftercare
from trellis.measures.models import Measure, ScheduledMeasure
from trellis.portal.models import PortalAccount
from trellis.portal.tests.base import PortalTestCase
from trellis.testing import actor_for
from trellis.therapy import services as therapy

PAGES = ["/portal/", "/portal/scores/", "/portal/aftercare/"]


def scheduled_phq9(course, key="portal-check"):
    today = course.clinic.today()
    return ScheduledMeasure.objects.create(
        clinic=course.clinic,
        patient=course.patient,
        course=course,
        key=key,
        occasion="weekly",
        label="Weekly",
        instrument="phq9",
        opens_on=today - timedelta(days=1),
        due_on=today,
        closes_on=today + timedelta(days=3),
    )


class AccessWallTests(PortalTestCase):
    def setUp(self):
        self.ada, _ = self.enrol(self.patient, self.front_desk, "ada")
        self.alan, _ = self.enrol(self.patient_b, self.prescriber_b, "alan")
        self.due = scheduled_phq9(self.course)

    def test_each_patient_sees_only_their_own_name_and_questionnaires(self):
        self.assertContains(self.ada.get("/portal/"), "Hello, Ada")
        self.assertContains(self.ada.get("/portal/"), f"/portal/questionnaires/{self.due.id}/")
        home = self.alan.get("/portal/")
        self.assertContains(home, "Hello, Alan")
        self.assertNotContains(home, "Ada")
        self.assertNotContains(home, str(self.due.id))

    def test_every_url_with_the_other_patients_ids_is_404(self):
        url = f"/portal/questionnaires/{self.due.id}/"
        self.assertEqual(self.ada.get(url).status_code, 200)
        self.assertEqual(self.alan.get(url).status_code, 404)
        self.assertEqual(self.alan.post(url, {"item_1": "0"}).status_code, 404)
        self.assertFalse(Measure.objects.exists())

    def test_a_patient_of_the_same_clinic_is_walled_off_too(self):
        # The questionnaire now belongs to another patient of Ada's own clinic.
        ScheduledMeasure.objects.filter(pk=self.due.pk).update(patient=self.other_patient)
        self.assertEqual(self.ada.get(f"/portal/questionnaires/{self.due.id}/").status_code, 404)
        self.assertNotContains(self.ada.get("/portal/"), str(self.due.id))
        self.assertEqual(PortalAccount.objects.get(login="alan").clinic, self.clinic_b)

    def test_a_staff_session_is_nobody_in_the_portal(self):
        self.sign_in(self.front_desk)
        for url in [*PAGES, f"/portal/questionnaires/{self.due.id}/"]:
            response = self.client.get(url)
            self.assertEqual(response.status_code, 302, url)
            self.assertTrue(response["Location"].startswith("/portal/sign-in/"), url)

    def test_a_patient_session_is_nobody_on_staff_pages(self):
        for url in ["/", f"/patients/{self.patient.id}/", "/measures/due/", "/api/v1/patients"]:
            response = self.ada.get(url)
            self.assertIn(response.status_code, (302, 401, 403), url)
            if response.status_code == 302:
                self.assertTrue(response["Location"].startswith("/accounts/login/"), url)
        response = self.ada.post(f"/patients/{self.patient.id}/portal-invitation/")
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith("/accounts/login/"))

    def test_the_clinic_stops_a_sign_in_and_its_session_ends(self):
        self.sign_in(self.front_desk)
        response = self.client.post(f"/patients/{self.patient.id}/portal-sign-in/revoke/")
        self.assertEqual(response.status_code, 302)
        self.assertFalse(PortalAccount.objects.get(login="ada").is_active)
        self.assertEqual(self.ada.get("/portal/").status_code, 302)
        self.assertContains(self.client.get(f"/patients/{self.patient.id}/"), "stopped")
        self.sign_in(self.prescriber_b)
        response = self.client.post(f"/patients/{self.patient.id}/portal-sign-in/revoke/")
        self.assertEqual(response.status_code, 404)

    def test_a_staff_cookie_cannot_be_used_as_the_portal_cookie(self):
        self.sign_in(self.front_desk)
        staff_key = self.client.cookies["sessionid"].value
        browser = Client()
        browser.cookies["trellis_portal"] = staff_key
        self.assertEqual(browser.get("/portal/").status_code, 302)


class PsychotherapyNoteWallTests(PortalTestCase):
    def test_psychotherapy_notes_never_appear_on_any_portal_page(self):
        therapist = actor_for(self.therapist, self.clinic_a)
        secret = "Unique words from the therapist's own process note"
        therapy.write_psychotherapy_note(therapist, self.patient, secret)
        aftercare.save_plan(
            actor_for(self.prescriber, self.clinic_a),
            self.patient,
            aftercare.PlanInput(
                coaching=True, coaching_goals="Walk each morning", notes="Staff: " + secret
            ),
        )
        browser, _ = self.enrol(self.patient, self.front_desk, "ada")
        for url in PAGES:
            response = browser.get(url)
            self.assertEqual(response.status_code, 200, url)
            self.assertNotContains(response, secret)
            self.assertNotContains(response, "process note")
        self.assertContains(browser.get("/portal/aftercare/"), "Walk each morning")
