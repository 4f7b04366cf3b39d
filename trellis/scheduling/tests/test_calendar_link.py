"""The calendar link on the patient's page: issued and shown once, sent to the patient the way
they are reached, stopped; only by staff who may change appointments, each step audited."""

import re

from trellis.audit.models import Action, AuditEvent
from trellis.messaging.models import OutboxMessage
from trellis.patients.models import Patient
from trellis.scheduling.models import CalendarFeed
from trellis.scheduling.tests.test_reminders import MessagesTestCase, contactable

FEED_URL = re.compile(r"https?://[^\s\"<]+/calendar/feed/[^\s\"<]+\.ics")


class CalendarLinkPageTests(MessagesTestCase):
    def page(self):
        return self.client.get(f"/patients/{self.patient.id}/")

    def issue(self, **data):
        return self.client.post(f"/patients/{self.patient.id}/calendar-link/", data)

    def feed_events(self):
        return AuditEvent.objects.filter(object_type="scheduling.calendarfeed").order_by("seq")

    def test_front_desk_issues_a_link_shown_once_that_works_and_is_audited(self):
        self.sign_in(self.front_desk)
        self.assertContains(self.page(), "no link in use")
        response = self.issue()
        self.assertEqual(response.status_code, 200)
        (url,) = set(FEED_URL.findall(response.content.decode()))
        self.assertContains(response, "Shown this once")
        feed = CalendarFeed.objects.get(patient=self.patient, revoked_at__isnull=True)
        self.assertNotIn(url.rsplit("/", 1)[1].removesuffix(".ics"), str(feed.__dict__))
        feed_path = url[url.index("/calendar/feed/") :]
        self.assertEqual(self.client.get(feed_path).status_code, 200)
        self.assertEqual(OutboxMessage.objects.count(), 0)  # not sent unless asked
        self.assertEqual(
            [(e.action, e.username, e.patient_id) for e in self.feed_events()],
            [(Action.CREATE, "frontdesk", self.patient.pk)],
        )
        # The page now says a link is in use, and no longer shows the address.
        page = self.page()
        self.assertContains(page, "in use since")
        self.assertContains(page, "Stop calendar link")
        self.assertNotContains(page, url)

    def test_sending_it_goes_the_way_the_patient_is_reached(self):
        contactable(self.patient, choice="email")
        self.sign_in(self.nurse)
        self.assertContains(self.page(), "Send it by e-mail")
        response = self.issue(send="1")
        self.assertContains(response, "Sent to Ada by e-mail.")
        (url,) = set(FEED_URL.findall(response.content.decode()))
        (message,) = OutboxMessage.objects.all()
        self.assertEqual(
            (message.channel, message.recipient, message.purpose),
            ("email", "ada@example.org", "calendar_feed"),
        )
        self.assertIn(url, message.body)
        self.assertNotIn("Lovelace", message.body)
        self.assertEqual(
            [(e.action, e.detail) for e in self.feed_events()],
            [
                (Action.CREATE, {"calendar_feed": True}),
                (Action.UPDATE, {"sent_by": ["email"]}),
            ],
        )

    def test_a_patient_who_wants_no_messages_is_not_sent_one(self):
        contactable(self.patient, choice="none")
        self.sign_in(self.front_desk)
        self.assertNotContains(self.page(), "Send it by")
        response = self.client.post(
            f"/patients/{self.patient.id}/calendar-link/", {"send": "1"}, follow=True
        )
        self.assertEqual(response.redirect_chain, [(f"/patients/{self.patient.id}/", 302)])
        self.assertContains(response, "has no way to receive automated messages; no link was made")
        self.assertFalse(CalendarFeed.objects.exists())
        self.assertFalse(OutboxMessage.objects.exists())

    def test_stop_revokes_it_audited(self):
        self.sign_in(self.front_desk)
        response = self.issue()
        (url,) = set(FEED_URL.findall(response.content.decode()))
        response = self.client.post(f"/patients/{self.patient.id}/calendar-link/stop/")
        self.assertRedirects(response, f"/patients/{self.patient.id}/")
        self.assertEqual(self.client.get(url[url.index("/calendar/feed/") :]).status_code, 404)
        self.assertEqual(
            [(e.action, e.detail) for e in self.feed_events()][-1],
            (Action.UPDATE, {"revoked": True}),
        )
        self.assertContains(self.page(), "no link in use")

    def test_only_staff_who_change_appointments_and_only_in_their_clinic(self):
        self.sign_in(self.therapist)
        page = self.page()
        self.assertContains(page, "Upcoming appointments")
        self.assertNotContains(page, "Calendar link")
        self.assertEqual(self.issue().status_code, 403)
        self.assertEqual(
            self.client.post(f"/patients/{self.patient.id}/calendar-link/stop/").status_code, 403
        )
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.issue().status_code, 404)
        self.assertEqual(
            self.client.get(f"/patients/{self.patient.id}/calendar-link/").status_code, 405
        )
        self.assertFalse(CalendarFeed.objects.exists())
        self.assertTrue(Patient.objects.filter(pk=self.patient.pk).exists())
