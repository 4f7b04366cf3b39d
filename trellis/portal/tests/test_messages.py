"""Secure messages: the patient writes and reads their own conversations, the clinic answers
and closes them, crisis words raise an alert, and every wall holds."""

from trellis.accounts.access import Actor
from trellis.portal import messages as services
from trellis.portal.models import MessageThread, PortalMessage, ThreadStatus
from trellis.portal.tests.base import PortalTestCase
from trellis.safety.models import SafetyAlert
from trellis.testing import actor_for

NOTICE = (
    "Messages are read during clinic hours.</strong> They are not monitored for emergencies — "
    'if you are in danger or thinking of harming yourself, call or text <a href="tel:988">988'
    '</a> or call <a href="tel:911">911</a>.'
)


class MessageTestCase(PortalTestCase):
    def setUp(self):
        self.browser, self.account = self.enrol(self.patient, self.front_desk, "ada")

    def write(self, subject="Infusion time", body="Can I come at 10 instead of 9?"):
        response = self.browser.post("/portal/messages/new/", {"subject": subject, "body": body})
        return response, MessageThread.objects.filter(patient=self.patient).first()


class PatientMessageTests(MessageTestCase):
    def test_a_patient_starts_a_conversation_and_sees_it_listed(self):
        response, thread = self.write()
        self.assertRedirects(
            response, f"/portal/messages/{thread.id}/", fetch_redirect_response=False
        )
        message = PortalMessage.objects.get(thread=thread)
        self.assertTrue(message.by_patient)
        self.assertEqual(message.body, "Can I come at 10 instead of 9?")
        self.assertEqual((thread.clinic, thread.status), (self.clinic_a, ThreadStatus.OPEN))
        self.assertContains(self.browser.get("/portal/messages/"), "Infusion time")
        self.assertFalse(SafetyAlert.objects.exists())

    def test_every_messages_page_says_they_are_not_watched_for_emergencies(self):
        _, thread = self.write()
        for url in ["/portal/messages/", "/portal/messages/new/", f"/portal/messages/{thread.id}/"]:
            with self.subTest(url=url):
                self.assertContains(self.browser.get(url), NOTICE, html=False)

    def test_crisis_words_show_the_crisis_screen_and_alert_the_care_team(self):
        response, thread = self.write(body="Some nights I want to die.")
        self.assertContains(response, "Please reach out now")
        self.assertContains(response, "has been told")
        message = PortalMessage.objects.get(thread=thread)
        self.assertTrue(message.crisis_language)
        alert = SafetyAlert.objects.get(patient=self.patient)
        self.assertEqual((alert.kind, alert.severity), ("message_crisis_language", "high"))
        self.assertEqual(alert.source_id, str(message.id))

    def test_a_reply_with_crisis_words_alerts_too(self):
        _, thread = self.write()
        response = self.browser.post(
            f"/portal/messages/{thread.id}/", {"body": "I keep thinking of ending it all"}
        )
        self.assertContains(response, "Please reach out now")
        self.assertEqual(SafetyAlert.objects.filter(patient=self.patient).count(), 1)

    def test_a_message_over_4000_characters_is_refused_by_name(self):
        response, thread = self.write(body="x" * 4001)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "4000 characters")
        self.assertIsNone(thread)

    def test_the_clinic_reply_is_marked_new_until_the_patient_opens_it(self):
        _, thread = self.write()
        services.reply_as_staff(self.actor(self.nurse), thread, "Yes, 10 is fine.")
        listing = self.browser.get("/portal/messages/")
        self.assertContains(listing, "1 unread")
        page = self.browser.get(f"/portal/messages/{thread.id}/")
        self.assertContains(page, "Yes, 10 is fine.")
        self.assertNotContains(self.browser.get("/portal/messages/"), "1 unread")

    def test_a_closed_conversation_takes_no_reply(self):
        _, thread = self.write()
        services.close_thread(self.actor(self.nurse), thread)
        response = self.browser.post(f"/portal/messages/{thread.id}/", {"body": "One more"})
        self.assertContains(response, "this conversation is closed")
        self.assertEqual(PortalMessage.objects.filter(thread=thread).count(), 1)

    def actor(self, user) -> Actor:
        return actor_for(user, self.clinic_a)


class WallTests(MessageTestCase):
    def test_another_patient_cannot_read_or_answer_the_thread(self):
        _, thread = self.write(body="Ada's own words.")
        alan, _ = self.enrol(self.patient_b, self.prescriber_b, "alan")
        self.assertEqual(alan.get(f"/portal/messages/{thread.id}/").status_code, 404)
        response = alan.post(f"/portal/messages/{thread.id}/", {"body": "Intruding"})
        self.assertEqual(response.status_code, 404)
        self.assertNotContains(alan.get("/portal/messages/"), "Infusion time")
        self.assertEqual(PortalMessage.objects.filter(thread=thread).count(), 1)

    def test_another_clinics_staff_get_404(self):
        _, thread = self.write()
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(f"/messages/{thread.id}/").status_code, 404)
        response = self.client.post(f"/messages/{thread.id}/", {"body": "Hello"})
        self.assertEqual(response.status_code, 404)
        self.assertEqual(self.client.post(f"/messages/{thread.id}/close/").status_code, 404)
        self.assertNotContains(self.client.get("/messages/"), "Infusion time")

    def test_roles_without_the_permission_get_403(self):
        _, thread = self.write()
        for user in (self.admin, self.tms):
            with self.subTest(user=user.username):
                self.sign_in(user)
                self.assertEqual(self.client.get("/messages/").status_code, 403)
                self.assertEqual(self.client.get(f"/messages/{thread.id}/").status_code, 403)

    def test_a_signed_out_visitor_is_sent_to_the_sign_in(self):
        response = self.client.get("/portal/messages/")
        self.assertRedirects(
            response, "/portal/sign-in/?next=%2Fportal%2Fmessages%2F", fetch_redirect_response=False
        )


class StaffInboxTests(MessageTestCase):
    def test_the_inbox_lists_the_thread_and_the_home_page_counts_it(self):
        _, thread = self.write()
        for user in (self.nurse, self.prescriber, self.therapist, self.front_desk):
            with self.subTest(user=user.username):
                self.sign_in(user)
                inbox = self.client.get("/messages/")
                self.assertContains(inbox, "Infusion time")
                home = self.client.get("/")
                self.assertContains(home, "Patient messages to read")
                self.assertContains(home, f"/messages/{thread.id}/")

    def test_a_member_of_staff_reads_replies_and_closes(self):
        _, thread = self.write()
        self.sign_in(self.nurse)
        page = self.client.get(f"/messages/{thread.id}/")
        self.assertContains(page, "Can I come at 10 instead of 9?")
        self.assertIsNotNone(PortalMessage.objects.get(thread=thread).read_by_staff_at)
        self.assertNotContains(self.client.get("/"), f"/messages/{thread.id}/")
        response = self.client.post(f"/messages/{thread.id}/", {"body": "Yes, 10 is fine."})
        self.assertRedirects(response, f"/messages/{thread.id}/", fetch_redirect_response=False)
        reply = PortalMessage.objects.get(thread=thread, staff_author=self.nurse)
        self.assertEqual(reply.body, "Yes, 10 is fine.")
        self.client.post(f"/messages/{thread.id}/close/")
        thread.refresh_from_db()
        self.assertEqual((thread.status, thread.closed_by), (ThreadStatus.CLOSED, self.nurse))

    def test_the_thread_pages_never_show_psychotherapy_notes(self):
        from trellis.therapy import services as therapy

        therapist = actor_for(self.therapist, self.clinic_a)
        therapy.write_psychotherapy_note(therapist, self.patient, "Process note: dream of a boat.")
        _, thread = self.write()
        services.reply_as_staff(therapist, thread, "See you Tuesday.")
        self.sign_in(self.therapist)
        self.assertNotContains(self.client.get(f"/messages/{thread.id}/"), "dream of a boat")
        self.assertNotContains(
            self.browser.get(f"/portal/messages/{thread.id}/"), "dream of a boat"
        )

    def test_the_alert_page_links_to_the_conversation(self):
        _, thread = self.write(body="I feel suicidal tonight.")
        alert = SafetyAlert.objects.get(patient=self.patient)
        self.sign_in(self.nurse)
        page = self.client.get(f"/alerts/{alert.id}/")
        self.assertContains(page, "Portal message of")
        self.assertContains(page, f"/messages/{thread.id}/")


class QueryCountTests(MessageTestCase):
    def count(self, url, client) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            self.assertEqual(client.get(url).status_code, 200)
        return len(queries)

    def test_the_lists_cost_does_not_grow_with_the_conversations(self):
        self.write()
        self.sign_in(self.nurse)
        pages = [("/portal/messages/", self.browser), ("/messages/", self.client)]
        pages.append(("/", self.client))
        one = [self.count(url, client) for url, client in pages]
        for i in range(12):
            self.write(subject=f"Question {i}")
        self.assertEqual([self.count(url, client) for url, client in pages], one)
