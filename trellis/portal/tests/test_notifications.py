"""Notifications: quiet hours as a pure function (a table), the patient's settings page, and
the notices a reply from the clinic and a new questionnaire queue in the outbox."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.test import SimpleTestCase
from django.utils import timezone

from trellis.measures.models import ScheduledMeasure
from trellis.messaging.models import OutboxMessage
from trellis.portal import messages as message_services
from trellis.portal import notifications
from trellis.portal.models import (
    NoticeKind,
    NotificationPreference,
    PortalAccount,
    PortalNotice,
    PortalPasskey,
)
from trellis.portal.quiet_hours import send_at
from trellis.portal.tests.base import PortalTestCase
from trellis.testing import actor_for

NY = ZoneInfo("America/New_York")
NIGHT = (time(21, 0), time(8, 0))
LUNCH = (time(12, 0), time(13, 30))
NONE = (time(8, 0), time(8, 0))


def ny(*args, fold=0) -> datetime:
    return datetime(*args, tzinfo=NY, fold=fold)


# (moment, (quiet start, quiet end), when it may be sent)
QUIET_HOURS = [
    # A window that crosses midnight.
    (ny(2026, 6, 10, 20, 59), NIGHT, ny(2026, 6, 10, 20, 59)),
    (ny(2026, 6, 10, 21, 0), NIGHT, ny(2026, 6, 11, 8, 0)),
    (ny(2026, 6, 10, 23, 45), NIGHT, ny(2026, 6, 11, 8, 0)),
    (ny(2026, 6, 11, 0, 0), NIGHT, ny(2026, 6, 11, 8, 0)),
    (ny(2026, 6, 11, 7, 59), NIGHT, ny(2026, 6, 11, 8, 0)),
    (ny(2026, 6, 11, 8, 0), NIGHT, ny(2026, 6, 11, 8, 0)),
    (ny(2026, 12, 31, 22, 0), NIGHT, ny(2027, 1, 1, 8, 0)),
    # A window within one day.
    (ny(2026, 6, 10, 11, 59), LUNCH, ny(2026, 6, 10, 11, 59)),
    (ny(2026, 6, 10, 12, 0), LUNCH, ny(2026, 6, 10, 13, 30)),
    (ny(2026, 6, 10, 13, 30), LUNCH, ny(2026, 6, 10, 13, 30)),
    # Start equal to end: no quiet hours.
    (ny(2026, 6, 10, 3, 0), NONE, ny(2026, 6, 10, 3, 0)),
    # Spring forward (Mar 8, 2026): the night is an hour shorter; 08:00 is still 08:00 (EDT).
    (ny(2026, 3, 7, 22, 0), NIGHT, ny(2026, 3, 8, 8, 0)),
    (ny(2026, 3, 8, 3, 30), NIGHT, ny(2026, 3, 8, 8, 0)),
    # An end in the skipped hour is the first moment after the gap.
    (ny(2026, 3, 8, 1, 30), (time(1, 0), time(2, 30)), ny(2026, 3, 8, 3, 30)),
    # Fall back (Nov 1, 2026): the night is an hour longer; 08:00 EST.
    (ny(2026, 10, 31, 21, 30), NIGHT, ny(2026, 11, 1, 8, 0)),
    (ny(2026, 11, 1, 1, 30, fold=1), NIGHT, ny(2026, 11, 1, 8, 0)),
    # Inside a window that ends in the repeated hour, in its second run: the second 01:30.
    (ny(2026, 11, 1, 1, 15, fold=1), (time(1, 0), time(1, 30)), ny(2026, 11, 1, 1, 30, fold=1)),
]


class QuietHoursTests(SimpleTestCase):
    def test_the_table(self):
        for moment, (start, end), expected in QUIET_HOURS:
            with self.subTest(moment=moment.isoformat(), start=start, end=end):
                got = send_at(moment, start, end, NY)
                # Compared in UTC: Python never calls a time in the repeated hour (fold=1)
                # equal to one in another zone (PEP 495).
                self.assertEqual(got, expected.astimezone(UTC))
                self.assertEqual(got.tzinfo, UTC)
                self.assertGreaterEqual(got, moment.astimezone(UTC))

    def test_a_naive_moment_is_refused(self):
        with self.assertRaises(ValueError):
            send_at(datetime(2026, 6, 10, 12, 0), *NIGHT, NY)

    def test_the_spring_night_is_an_hour_shorter_and_the_autumn_one_longer(self):
        spring = send_at(ny(2026, 3, 7, 21, 0), *NIGHT, NY) - ny(2026, 3, 7, 21, 0)
        autumn = send_at(ny(2026, 10, 31, 21, 0), *NIGHT, NY) - ny(2026, 10, 31, 21, 0)
        self.assertEqual((spring, autumn), (timedelta(hours=10), timedelta(hours=12)))


class NotificationTests(PortalTestCase):
    def setUp(self):
        self.browser, self.account = self.enrol(self.patient, self.front_desk, "ada")
        self.nurse_actor = actor_for(self.nurse, self.clinic_a)
        OutboxMessage.objects.all().delete()

    def thread(self):
        self.browser.post("/portal/messages/new/", {"subject": "Forms", "body": "Which forms?"})
        return self.patient.message_threads.get()

    def settings(self, **choices):
        data = {
            "questionnaire": "email",
            "appointment_reminder": "email",
            "message_reply": "email",
            "quiet_start": "21:00",
            "quiet_end": "08:00",
        } | choices
        return self.browser.post("/portal/notifications/", data)

    def noon(self, days=1):
        """Noon of a clinic day ahead: outside the default quiet hours whenever the test runs."""
        day = self.clinic_a.today() + timedelta(days=days)
        return datetime.combine(day, time(12, 0), self.clinic_a.tzinfo)

    def test_the_settings_page_saves_the_patients_choice(self):
        response = self.settings(message_reply="none", quiet_start="22:30", quiet_end="07:00")
        self.assertRedirects(response, "/portal/notifications/", fetch_redirect_response=False)
        saved = NotificationPreference.objects.get(account=self.account)
        self.assertEqual(saved.message_reply, "none")
        self.assertEqual((saved.quiet_start, saved.quiet_end), (time(22, 30), time(7, 0)))
        self.assertContains(self.browser.get("/portal/notifications/"), 'value="22:30"')

    def test_texts_are_refused_without_the_patients_agreement_on_file(self):
        self.patient.phone = "+15550104477"
        self.patient.sms_consent_at = None
        self.patient.save(update_fields=["phone", "sms_consent_at"])
        response = self.settings(message_reply="sms")
        self.assertContains(response, "agreement to texts")
        self.assertFalse(NotificationPreference.objects.exists())

    def test_a_reply_notifies_by_email_without_clinical_content(self):
        thread = self.thread()
        message_services.reply_as_staff(
            self.nurse_actor, thread, "Your ketamine dose stays at 0.5 mg/kg.", now=self.noon()
        )
        notice = OutboxMessage.objects.get(patient=self.patient)
        self.assertEqual((notice.channel, notice.recipient), ("email", "ada@example.org"))
        self.assertEqual(notice.purpose, "portal_message_reply")
        self.assertIn("You have a new message from Alpha Clinic — sign in to read it", notice.body)
        for secret in ("ketamine", "0.5", "Forms", "dose"):
            self.assertNotIn(secret, notice.body + notice.subject)
        self.assertEqual(notice.next_attempt_at, self.noon())

    def test_a_reply_in_quiet_hours_waits_for_their_end(self):
        self.settings(quiet_start="21:00", quiet_end="08:00")
        thread = self.thread()
        late = self.noon().replace(hour=23)
        message_services.reply_as_staff(self.nurse_actor, thread, "Noted.", now=late)
        notice = OutboxMessage.objects.get(patient=self.patient)
        expected = (late + timedelta(days=1)).replace(hour=8)
        self.assertEqual(notice.next_attempt_at, expected)

    def test_a_reply_goes_by_text_when_chosen_and_agreed(self):
        self.patient.phone = "+15550104477"
        self.patient.sms_consent_at = timezone.now()
        self.patient.save(update_fields=["phone", "sms_consent_at"])
        self.settings(message_reply="sms")
        message_services.reply_as_staff(self.nurse_actor, self.thread(), "Ok.", now=self.noon())
        notice = OutboxMessage.objects.get(patient=self.patient)
        self.assertEqual((notice.channel, notice.recipient), ("sms", "+15550104477"))

    def test_a_text_choice_after_agreement_is_withdrawn_goes_by_email(self):
        self.patient.phone = "+15550104477"
        self.patient.sms_consent_at = timezone.now()
        self.patient.save(update_fields=["phone", "sms_consent_at"])
        self.settings(message_reply="sms")
        self.patient.sms_consent_at = None
        self.patient.save(update_fields=["sms_consent_at"])
        message_services.reply_as_staff(self.nurse_actor, self.thread(), "Ok.", now=self.noon())
        self.assertEqual(OutboxMessage.objects.get(patient=self.patient).channel, "email")

    def test_no_notice_when_the_patient_chose_none(self):
        self.settings(message_reply="none")
        message_services.reply_as_staff(self.nurse_actor, self.thread(), "Ok.", now=self.noon())
        self.assertFalse(OutboxMessage.objects.filter(patient=self.patient).exists())

    def test_two_replies_before_the_first_notice_goes_send_one_notice(self):
        thread = self.thread()
        message_services.reply_as_staff(self.nurse_actor, thread, "One.", now=self.noon())
        message_services.reply_as_staff(self.nurse_actor, thread, "Two.", now=self.noon())
        self.assertEqual(OutboxMessage.objects.filter(patient=self.patient).count(), 1)

    def due_today(self):
        """A follow-up PHQ-9 opening today, the patient's only questionnaire; and a moment of
        today at which the notice job runs."""
        today = self.clinic_a.today()
        ScheduledMeasure.objects.filter(patient=self.patient).delete()
        ScheduledMeasure.objects.create(
            clinic=self.clinic_a,
            patient=self.patient,
            course=self.course,
            key="follow-up-1",
            occasion="follow_up",
            label="Follow-up",
            instrument="phq9",
            opens_on=today,
            due_on=today,
            closes_on=today + timedelta(days=3),
        )
        return self.noon(days=0) if timezone.now() < self.noon(days=0) else timezone.now()

    def test_a_new_questionnaire_is_told_once(self):
        today = self.clinic_a.today()
        now = self.due_today()
        self.assertEqual(notifications.send_questionnaire_notices(now=now), 1)
        self.assertEqual(notifications.send_questionnaire_notices(now=now), 0)
        notice = OutboxMessage.objects.get(patient=self.patient)
        self.assertEqual(notice.purpose, "portal_questionnaire")
        self.assertIn("You have a new questionnaire from Alpha Clinic", notice.body)
        self.assertNotIn("PHQ", notice.body)
        told = PortalNotice.objects.get(patient=self.patient)
        self.assertEqual((told.kind, told.day), (NoticeKind.QUESTIONNAIRE, today))

    def passkey_only(self):
        """Ada's sign-in set up with a passkey in place of the authenticator app."""
        PortalAccount.objects.filter(pk=self.account.pk).update(totp_confirmed_at=None)
        PortalPasskey.objects.create(
            clinic=self.clinic_a,
            account=self.account,
            credential_id="cred-ada-phone",
            public_key=b"cose",
            name="Phone",
        )

    def test_a_sign_in_set_up_with_a_passkey_alone_is_told_of_a_new_questionnaire(self):
        self.passkey_only()
        self.assertEqual(notifications.send_questionnaire_notices(now=self.due_today()), 1)
        notice = OutboxMessage.objects.get(patient=self.patient)
        self.assertEqual(notice.purpose, "portal_questionnaire")

    def test_the_notices_and_the_staff_card_agree_on_whose_sign_in_is_ready(self):
        now = self.due_today()
        states = {
            "with the app": lambda: None,
            "with a passkey alone": self.passkey_only,
            "not finished": lambda: PortalAccount.objects.filter(pk=self.account.pk).update(
                totp_confirmed_at=None
            ),
            "stopped": lambda: PortalAccount.objects.filter(pk=self.account.pk).update(
                is_active=False
            ),
        }
        expected = {"with the app": 1, "with a passkey alone": 1, "not finished": 0, "stopped": 0}
        for state, make in states.items():
            with self.subTest(state), transaction.atomic():
                make()
                ready = PortalAccount.objects.get(pk=self.account.pk).ready
                told = notifications.send_questionnaire_notices(now=now)
                self.assertEqual(told, expected[state])
                self.assertEqual(ready, bool(told))
                transaction.set_rollback(True)

    def test_appointment_reminders_go_the_way_the_patient_chose(self):
        from trellis.scheduling import reminders

        self.patient.phone, self.patient.email = "+1 860 555 0142", "ada@example.org"
        self.patient.sms_consent_at = timezone.now()
        self.patient.save(update_fields=["phone", "email", "sms_consent_at"])
        purpose = reminders.REMINDER_PURPOSE
        usual = reminders.channels(self.patient, self.clinic_a)
        # Not chosen yet: the clinic's usual way.
        self.assertEqual(reminders.channels(self.patient, self.clinic_a, purpose), usual)
        self.settings(appointment_reminder="none")
        self.assertEqual(reminders.channels(self.patient, self.clinic_a, purpose), [])
        self.settings(appointment_reminder="email")
        self.assertEqual(reminders.channels(self.patient, self.clinic_a, purpose), ["email"])
        # Other appointment messages (booked, moved) keep the usual way.
        self.assertEqual(reminders.channels(self.patient, self.clinic_a), usual)


class ChosenWayTests(PortalTestCase):
    """Questionnaire reminders and check-in links, sent by apps below the portal, go the way
    the patient chose for new questionnaires in their notification settings, or not at all."""

    def setUp(self):
        self.browser, self.account = self.enrol(self.patient, self.front_desk, "ada")
        # Reached by text in the clinic's usual way: a phone, agreement to texts, an e-mail.
        self.patient.phone = "+15550104477"
        self.patient.sms_consent_at = timezone.now()
        self.patient.save(update_fields=["phone", "sms_consent_at"])

    def choose(self, questionnaire: str):
        data = {
            "questionnaire": questionnaire,
            "appointment_reminder": "email",
            "message_reply": "email",
            "quiet_start": "21:00",
            "quiet_end": "08:00",
        }
        self.browser.post("/portal/notifications/", data)
        saved = NotificationPreference.objects.get(account=self.account)
        self.assertEqual(saved.questionnaire, questionnaire)

    def remind(self):
        """The reminder job at noon today, with one PHQ-9 due today and no link sent yet."""
        from trellis.measures import services as measures

        ScheduledMeasure.objects.filter(patient=self.patient).delete()
        today = self.clinic_a.today()
        ScheduledMeasure.objects.create(
            clinic=self.clinic_a,
            patient=self.patient,
            course=self.course,
            key="weekly-1",
            occasion="weekly",
            label="Weekly",
            instrument="phq9",
            opens_on=today,
            due_on=today,
            closes_on=today + timedelta(days=3),
        )
        noon = datetime.combine(today, time(12, 0), self.clinic_a.tzinfo)
        return measures.send_measure_reminders(now=noon)

    def links(self, purpose):
        return OutboxMessage.objects.filter(patient=self.patient, purpose=purpose)

    def test_a_questionnaire_reminder_goes_by_the_usual_way_until_the_patient_chooses(self):
        self.assertEqual(self.remind(), 1)
        self.assertEqual(self.links("questionnaire_link").get().channel, "sms")

    def test_a_questionnaire_reminder_goes_the_chosen_way(self):
        self.choose("email")
        self.assertEqual(self.remind(), 1)
        reminder = self.links("questionnaire_link").get()
        self.assertEqual((reminder.channel, reminder.recipient), ("email", "ada@example.org"))

    def test_no_questionnaire_reminder_when_the_patient_chose_none(self):
        self.choose("none")
        self.assertEqual(self.remind(), 0)
        self.assertFalse(self.links("questionnaire_link").exists())
        # Still due in the portal, and reminded once only: the job does not try again.
        self.assertContains(self.browser.get("/portal/"), "Mood questionnaire (PHQ-9)")
        self.assertTrue(ScheduledMeasure.objects.get(patient=self.patient).reminded_at)

    def test_a_check_in_link_goes_the_chosen_way(self):
        from trellis.aftercare import services as aftercare

        self.choose("email")
        sent = aftercare.send_check_in(self.nurse_actor, self.patient)
        self.assertEqual(sent.channels, ("email",))
        link = self.links("check_in_link").get()
        self.assertEqual((link.channel, link.recipient), ("email", "ada@example.org"))

    def test_a_check_in_waits_in_the_portal_alone_when_the_patient_chose_none(self):
        from trellis.aftercare import services as aftercare
        from trellis.aftercare.models import CheckInStatus

        self.choose("none")
        sent = aftercare.send_check_in(self.nurse_actor, self.patient)
        self.assertEqual(sent.url, "")
        self.assertFalse(self.links("check_in_link").exists())
        row = sent.check_in
        row.refresh_from_db()
        self.assertEqual(row.status, CheckInStatus.IN_PORTAL)
        self.assertIsNone(row.token_hash)
        url = f"/portal/check-ins/{row.id}/"
        self.assertContains(self.browser.get("/portal/"), url)
        data = {"mood": "7", "sleep": "0", "harm_thoughts": "no"}
        self.assertContains(self.browser.post(url, data), "Your check-in has been sent")
        row.refresh_from_db()
        self.assertEqual((row.status, row.mood), (CheckInStatus.ANSWERED, 7))

    def test_the_check_in_job_opens_it_in_the_portal_for_a_patient_who_chose_none(self):
        from trellis.aftercare.models import CheckIn, CheckInStatus
        from trellis.messaging.jobs import run_clinic_jobs

        self.choose("none")
        ended = datetime.combine(
            self.clinic_a.today() - timedelta(days=1), time(11, 0), self.clinic_a.tzinfo
        )
        session = self.course.sessions.get(number=1)
        self.signed_session(ended)
        run_clinic_jobs(ended + timedelta(hours=24, minutes=30))
        first = CheckIn.objects.get(session=session, hours_after=24)
        self.assertEqual(first.status, CheckInStatus.IN_PORTAL)
        self.assertFalse(self.links("check_in_link").exists())

    def test_the_staff_are_told_where_the_check_in_went(self):
        self.choose("none")
        self.sign_in(self.nurse)
        response = self.client.post(
            f"/aftercare/patients/{self.patient.id}/check-ins/send/", follow=True
        )
        self.assertContains(response, "chose in their portal not to be sent check-ins")
        self.assertContains(response, "In the portal")
