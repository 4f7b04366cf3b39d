"""Aftercare check-ins in the portal: listed on the aftercare page and the home's to-do list,
answered through the link's own service (the same alerts in the same transaction, the same
crisis screen), once, whichever way comes first; another patient's is a 404."""

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from trellis.aftercare import services as aftercare
from trellis.aftercare.models import CheckIn, CheckInStatus
from trellis.audit.models import AuditEvent
from trellis.portal.models import PORTAL_USERNAME
from trellis.portal.tests.base import PortalTestCase
from trellis.safety.models import SafetyAlert


def answers(**kw):
    data = {"mood": "6", "sleep": "1", "side_effects": ["nausea"], "harm_thoughts": "no"}
    data.update(kw)
    return data


class PortalCheckInTests(PortalTestCase):
    def setUp(self):
        self.browser, self.account = self.enrol(self.patient, self.front_desk, "ada")

    def send(self) -> tuple[CheckIn, str]:
        """A check-in the nurse sends now: the row and its link's token."""
        sent = aftercare.send_check_in(self.nurse_actor, self.patient)
        return sent.check_in, sent.url.rstrip("/").rsplit("/", 1)[-1]

    def test_an_open_check_in_is_on_the_to_do_list_and_the_aftercare_page(self):
        row, _ = self.send()
        url = f"/portal/check-ins/{row.id}/"
        self.assertContains(self.browser.get("/portal/"), url)
        self.assertContains(self.browser.get("/portal/aftercare/"), url)
        page = self.browser.get(url)
        self.assertContains(page, "How are you since your treatment?")
        self.assertContains(page, "thoughts of harming yourself")
        self.assertEqual(page["Cache-Control"], "no-store, private")

    def test_the_patient_answers_in_the_portal_and_the_link_no_longer_works(self):
        row, token = self.send()
        url = f"/portal/check-ins/{row.id}/"
        response = self.browser.post(url, answers(journal="A quiet day.", share_journal="on"))
        self.assertContains(response, "Your check-in has been sent to your care team")
        self.assertNotContains(response, "Please reach out now")
        row.refresh_from_db()
        self.assertEqual(row.status, CheckInStatus.ANSWERED)
        self.assertEqual((row.mood, row.sleep, row.harm_thoughts), (6, 1, False))
        self.assertTrue(
            AuditEvent.objects.filter(
                object_id=str(row.pk), username=PORTAL_USERNAME, action="update"
            ).exists()
        )
        # Off the to-do list, and read back on the aftercare page.
        self.assertNotContains(self.browser.get("/portal/"), url)
        page = self.browser.get("/portal/aftercare/")
        self.assertNotContains(page, url)
        self.assertContains(page, "6 of 10")
        self.assertContains(page, "Nausea or being sick")
        # Answered once: the link says so.
        link = Client().get(f"/c/{token}/")
        self.assertContains(link, "already been answered", status_code=410)

    def test_a_low_mood_raises_the_same_alert_in_the_portal_as_by_link(self):
        first, token = self.send()
        Client().post(f"/c/{token}/", answers(mood="1"))
        by_link = SafetyAlert.objects.get(source_id=str(first.pk))
        second, _ = self.send()
        response = self.browser.post(f"/portal/check-ins/{second.id}/", answers(mood="1"))
        self.assertContains(response, "Please reach out now")
        self.assertContains(response, 'href="tel:988"')
        in_portal = SafetyAlert.objects.get(source_id=str(second.pk))
        self.assertEqual(
            (in_portal.kind, in_portal.severity, in_portal.summary),
            (by_link.kind, by_link.severity, by_link.summary),
        )
        self.assertEqual((in_portal.kind, in_portal.severity), ("check_in_worsening", "high"))

    def test_a_yes_to_self_harm_shows_the_crisis_screen_and_raises_the_urgent_alert(self):
        row, _ = self.send()
        response = self.browser.post(f"/portal/check-ins/{row.id}/", answers(harm_thoughts="yes"))
        self.assertContains(response, "You told us you have had thoughts of harming yourself")
        self.assertContains(response, 'href="tel:911"')
        alert = SafetyAlert.objects.get()
        self.assertEqual((alert.kind, alert.severity), ("check_in_harm", "urgent"))

    def test_a_second_answer_is_refused_politely(self):
        row, _ = self.send()
        url = f"/portal/check-ins/{row.id}/"
        self.browser.post(url, answers(mood="2"))
        # A second tap: refused, the first answer kept, no second alert; the second tap's page
        # replaces the first's, so it shows the crisis screen again.
        again = self.browser.post(url, answers(mood="9"))
        self.assertContains(again, "already been answered", status_code=410)
        self.assertContains(again, "Please reach out now", status_code=410)
        row.refresh_from_db()
        self.assertEqual(row.mood, 2)
        self.assertEqual(SafetyAlert.objects.count(), 1)
        self.assertContains(self.browser.get(url), "already been answered", status_code=410)

    def test_a_check_in_answered_by_link_first_is_closed_in_the_portal(self):
        row, token = self.send()
        Client().post(f"/c/{token}/", answers())
        url = f"/portal/check-ins/{row.id}/"
        self.assertNotContains(self.browser.get("/portal/"), url)
        response = self.browser.post(url, answers(mood="3"))
        self.assertContains(response, "already been answered", status_code=410)
        self.assertNotContains(response, "Please reach out now", status_code=410)
        row.refresh_from_db()
        self.assertEqual(row.mood, 6)

    def test_an_expired_check_in_is_not_listed_and_cannot_be_answered(self):
        row, _ = self.send()
        CheckIn.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        url = f"/portal/check-ins/{row.id}/"
        self.assertNotContains(self.browser.get("/portal/aftercare/"), url)
        response = self.browser.post(url, answers())
        self.assertContains(response, "This check-in has closed", status_code=410)
        row.refresh_from_db()
        self.assertIsNone(row.answered_at)

    def test_a_missing_answer_is_named_and_nothing_is_saved(self):
        row, _ = self.send()
        data = answers()
        del data["harm_thoughts"]
        response = self.browser.post(f"/portal/check-ins/{row.id}/", data)
        self.assertContains(response, "Please answer this question: yes or no.")
        row.refresh_from_db()
        self.assertIsNone(row.answered_at)


class CheckInWallTests(PortalTestCase):
    def setUp(self):
        self.ada, _ = self.enrol(self.patient, self.front_desk, "ada")
        self.alan, _ = self.enrol(self.patient_b, self.prescriber_b, "alan")
        self.row = aftercare.send_check_in(self.nurse_actor, self.patient).check_in
        self.url = f"/portal/check-ins/{self.row.id}/"

    def test_another_patients_check_in_is_404(self):
        self.assertEqual(self.ada.get(self.url).status_code, 200)
        self.assertEqual(self.alan.get(self.url).status_code, 404)
        self.assertEqual(self.alan.post(self.url, answers(mood="1")).status_code, 404)
        self.assertNotContains(self.alan.get("/portal/"), str(self.row.id))
        self.assertNotContains(self.alan.get("/portal/aftercare/"), str(self.row.id))
        self.row.refresh_from_db()
        self.assertIsNone(self.row.answered_at)
        self.assertFalse(SafetyAlert.objects.exists())

    def test_a_patient_of_the_same_clinic_is_walled_off_too(self):
        CheckIn.objects.filter(pk=self.row.pk).update(patient=self.other_patient)
        self.assertEqual(self.ada.get(self.url).status_code, 404)
        self.assertNotContains(self.ada.get("/portal/"), str(self.row.id))

    def test_a_staff_session_cannot_use_the_portal_page(self):
        self.sign_in(self.nurse)
        response = self.client.get(self.url)
        self.assertRedirects(
            response, f"/portal/sign-in/?next={self.url}", fetch_redirect_response=False
        )
        response = self.client.post(self.url, answers())
        self.assertRedirects(response, "/portal/sign-in/", fetch_redirect_response=False)
        self.row.refresh_from_db()
        self.assertIsNone(self.row.answered_at)
