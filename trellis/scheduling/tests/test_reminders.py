"""What patients are told of their appointments: booking, move and cancellation messages in the
change's transaction, the day-before reminder at the clinic's hour, the confirmation link, and
calendar files and feeds."""

import re
from datetime import UTC, date, datetime, time, timedelta

import icalendar
import pytest
from django.db import transaction
from django.http import Http404
from django.test import TestCase
from django.utils import timezone

from trellis.accounts.permissions import Role
from trellis.audit.models import AuditEvent
from trellis.messaging import jobs
from trellis.messaging.models import OutboxMessage
from trellis.patients.models import Patient
from trellis.patients.services import create_screening, sign_screening
from trellis.scheduling import calendar_files, patient_words, reminders, selectors, services
from trellis.scheduling.kinds import AppointmentKind
from trellis.scheduling.models import Appointment, AppointmentLink, AppointmentMessage
from trellis.scheduling.services import SlotTaken
from trellis.scheduling.tests.base import SchedulingTestCase
from trellis.testing import SAFE_ANSWERS, actor_for, make_clinic, make_patient, make_staff
from trellis.treatments import services as treatment_services

ADDRESS = "12 Main St\nSpringfield, MA 01101"
LINK = re.compile(r"/a/([^/\s]+)/")


def contactable(
    patient: Patient, *, phone="+16175550134", email="ada@example.org", agreed=True, choice=""
) -> None:
    """The patient's phone and e-mail, their agreement to texts and their choice of channel."""
    Patient.objects.filter(pk=patient.pk).update(
        phone=phone,
        email=email,
        sms_consent_at=timezone.now() if agreed else None,
        contact_channel=choice,
    )
    patient.refresh_from_db()


def set_setting(clinic, **values) -> None:
    clinic.settings = {**clinic.settings, **values}
    clinic.save(update_fields=["settings"])


def token_of(message: OutboxMessage) -> str:
    return LINK.search(message.body).group(1)


def parse(body: bytes) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(body).walk("VEVENT"))


class MessagesTestCase(SchedulingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.clinic_a.address = ADDRESS
        cls.clinic_a.phone = "(617) 555-0100"
        cls.clinic_a.save(update_fields=["address", "phone"])
        contactable(cls.patient)

    def outbox(self, purpose: str | None = None) -> list[OutboxMessage]:
        rows = OutboxMessage.objects.order_by("created_at")
        return list(rows.filter(purpose=purpose) if purpose else rows)


class BookingMessageTests(MessagesTestCase):
    def test_a_booking_queues_its_message_with_the_time_and_a_link(self):
        appointment = self.book(resource=self.chair)
        (message,) = self.outbox()
        self.assertEqual((message.purpose, message.channel), ("appointment_booked", "sms"))
        self.assertEqual(message.patient, self.patient)
        self.assertIn(f"{self.monday:%a %b %-d}, 9:00 AM E", message.body)
        self.assertIn("12 Main St, Springfield, MA 01101", message.body)
        self.assertIn("A responsible adult must take you home", message.body)
        link = AppointmentLink.objects.get(appointment=appointment)
        self.assertEqual(link.expires_at, appointment.start)
        self.assertNotIn(token_of(message), str(link.__dict__))  # only its hash is stored

    def test_a_booking_that_fails_queues_nothing(self):
        self.book(resource=self.chair)
        before = OutboxMessage.objects.count()
        with self.assertRaises(SlotTaken):
            self.book(patient=self.other_patient, resource=self.chair, start=self.at(10))
        self.assertEqual(OutboxMessage.objects.count(), before)

    def test_the_message_commits_with_the_booking_or_not_at_all(self):
        with self.assertRaises(RuntimeError), transaction.atomic():
            self.book(resource=self.chair)
            self.assertEqual(len(self.outbox("appointment_booked")), 1)
            raise RuntimeError("the caller's transaction fails after booking")
        self.assertFalse(Appointment.objects.exists())
        self.assertEqual(self.outbox(), [])
        self.assertFalse(AppointmentMessage.objects.exists())

    def test_a_clinic_may_not_tell_bookings_but_moves_and_cancellations_are_told(self):
        set_setting(self.clinic_a, appointment_booking_message=0)
        self.clinic_a.refresh_from_db()
        appointment = self.book(resource=self.chair)
        self.assertEqual(self.outbox(), [])
        services.move_appointment(self.actor(), appointment, start=self.at(11))
        (moved,) = self.outbox("appointment_moved")
        self.assertIn("has moved to", moved.body)
        self.assertIn("11:00 AM", moved.body)
        services.set_status(self.actor(), appointment, "cancelled", "Clinic closed")
        (cancelled,) = self.outbox("appointment_cancelled")
        self.assertIn("is cancelled", cancelled.body)
        self.assertIn("(617) 555-0100", cancelled.body)
        self.assertIsNone(LINK.search(cancelled.body))

    def test_confirming_or_checking_in_by_staff_tells_nothing(self):
        appointment = self.book(resource=self.chair)
        services.set_status(self.actor(), appointment, "confirmed")
        self.assertEqual([m.purpose for m in self.outbox()], ["appointment_booked"])

    def test_channels_follow_the_clinic_setting_and_what_is_on_file(self):
        self.book(resource=self.chair)
        self.assertEqual([m.channel for m in self.outbox()], ["sms"])
        OutboxMessage.objects.all().delete()
        set_setting(self.clinic_a, appointment_message_channels=2)
        self.clinic_a.refresh_from_db()
        self.book(kind="therapy", resource=self.room, start=self.at(14))
        self.assertEqual(sorted(m.channel for m in self.outbox()), ["email", "sms"])
        email = self.outbox()[0] if self.outbox()[0].channel == "email" else self.outbox()[1]
        self.assertIn("Add it to your calendar: ", email.body)
        self.assertIn("/calendar.ics", email.body)

    def test_the_patients_choice_and_agreement_to_texts_decide_the_channels(self):
        cases = [
            # (choice, agreed to texts, clinic requires agreement) -> channels
            ("", False, 1, ["email"]),
            ("", False, 0, ["sms"]),
            ("email", True, 1, ["email"]),
            ("both", True, 1, ["email", "sms"]),
            ("both", False, 1, ["email"]),
            ("text", False, 1, ["email"]),
            ("none", True, 1, []),
        ]
        for choice, agreed, required, expected in cases:
            with self.subTest(choice=choice, agreed=agreed, required=required):
                contactable(self.patient, agreed=agreed, choice=choice)
                set_setting(self.clinic_a, sms_consent_required=required)
                self.clinic_a.refresh_from_db()
                appointment = self.book(resource=self.chair)
                self.assertEqual(sorted(m.channel for m in self.outbox()), expected)
                told = AppointmentMessage.objects.get(appointment=appointment)
                self.assertEqual(sorted(filter(None, told.channels.split(","))), expected)
                Appointment.objects.filter(pk=appointment.pk).update(status="cancelled")
                OutboxMessage.objects.all().delete()

    def test_no_phone_sends_e_mail_and_a_refused_phone_falls_back_to_e_mail(self):
        contactable(self.patient, phone="")
        self.book(resource=self.chair)
        self.assertEqual([m.channel for m in self.outbox()], ["email"])
        contactable(self.other_patient, phone="not a number", email="grace@example.org")
        self.book(patient=self.other_patient, resource=self.chair_2)
        self.assertEqual(
            [m.recipient for m in self.outbox() if m.patient_id == self.other_patient.pk],
            ["grace@example.org"],
        )

    def test_a_patient_with_no_contact_gets_nothing_and_the_booking_stands(self):
        appointment = self.book(patient=self.other_patient, resource=self.chair)
        self.assertEqual(self.outbox(), [])
        told = AppointmentMessage.objects.get(appointment=appointment)
        self.assertEqual(told.channels, "")


class WordsTests(TestCase):
    def test_every_kind_has_plain_words(self):
        for kind in AppointmentKind.values:
            with self.subTest(kind=kind):
                self.assertNotEqual(patient_words.plain(kind), "appointment")

    def test_travel_rules_per_kind(self):
        table = {
            AppointmentKind.ESKETAMINE: ("drive", "restful sleep", "ride home"),
            AppointmentKind.IV_KETAMINE: ("responsible adult",),
        }
        for kind in AppointmentKind.values:
            with self.subTest(kind=kind):
                words = patient_words.travel(kind)
                for phrase in table.get(kind, ()):
                    self.assertIn(phrase, words)
                if kind not in table:
                    self.assertEqual(words, "")

    def test_address_on_one_line(self):
        self.assertEqual(patient_words.one_line(" 1 A St \n\n B, CA "), "1 A St, B, CA")


class ReminderTests(TestCase):
    """A clinic in Los Angeles, the day before the spring DST change and across it."""

    # Sunday March 14 2027: clocks go from 2:00 PST to 3:00 PDT.
    SATURDAY = date(2027, 3, 13)
    SUNDAY = date(2027, 3, 14)
    MONDAY = date(2027, 3, 15)

    @classmethod
    def setUpTestData(cls) -> None:
        cls.clinic = make_clinic("la", "Westside Clinic", "WST", tz="America/Los_Angeles")
        cls.clinic.address = "500 Ocean Ave\nSanta Monica, CA 90401"
        cls.clinic.phone = "(310) 555-0100"
        cls.clinic.save(update_fields=["address", "phone"])
        cls.staff = make_staff("frontdesk_la", cls.clinic, Role.FRONT_DESK)
        actor = actor_for(cls.staff, cls.clinic)
        cls.patient = make_patient(actor)
        cls.other = make_patient(actor, "Grace", "Hopper", date(1956, 12, 9))
        contactable(cls.patient)
        contactable(cls.other, phone="+13105550177", email="grace@example.org")

    def actor(self):
        return actor_for(self.staff, self.clinic)

    def local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), self.clinic.tzinfo)

    def book(self, patient, kind, start):
        return services.book_appointment(self.actor(), patient=patient, kind=kind, start=start)

    def reminders_sent(self) -> list[OutboxMessage]:
        return list(OutboxMessage.objects.filter(purpose="appointment_reminder"))

    def test_once_for_tomorrows_appointments_from_the_clinic_hour_in_clinic_time(self):
        monday = self.book(self.patient, "esketamine", self.local(self.MONDAY, 8))
        cancelled = self.book(self.other, "therapy", self.local(self.MONDAY, 13))
        services.set_status(self.actor(), cancelled, "cancelled", "Patient called")
        self.book(self.other, "tms", self.local(self.MONDAY + timedelta(days=1), 9))
        # 9:59 PDT on Sunday is 16:59 UTC; a clock that forgot the DST change would read 8:59.
        self.assertEqual(
            reminders.send_day_before_reminders(now=datetime(2027, 3, 14, 16, 59, tzinfo=UTC)), 0
        )
        at_ten = datetime(2027, 3, 14, 17, 0, tzinfo=UTC)
        self.assertEqual(reminders.send_day_before_reminders(now=at_ten), 1)
        (reminder,) = self.reminders_sent()
        self.assertEqual(reminder.patient, self.patient)
        self.assertIn("tomorrow, Mon Mar 15, 8:00 AM PDT", reminder.body)
        self.assertIn("Westside Clinic", reminder.body)
        self.assertIn("500 Ocean Ave, Santa Monica, CA 90401", reminder.body)
        self.assertIn("Do not drive or operate machinery until the next day", reminder.body)
        self.assertIn("restful sleep", reminder.body)
        self.assertIn("Confirm or cancel: ", reminder.body)
        # Again on the next passes of the worker, and through the registry: nothing more.
        reminders.send_day_before_reminders(now=at_ten + timedelta(hours=2))
        jobs.run_clinic_jobs(now=at_ten + timedelta(hours=3))
        self.assertEqual(len(self.reminders_sent()), 1)
        self.assertTrue(
            AuditEvent.objects.filter(
                object_id=str(monday.pk), username=reminders.REMINDER_USERNAME
            ).exists()
        )

    def test_the_day_before_across_the_fall_change_and_the_clinics_own_hour(self):
        # Sunday November 7 2027: clocks go back from 2:00 PDT to 1:00 PST.
        set_setting(self.clinic, appointment_reminder_hour=17)
        self.book(self.patient, "iv_ketamine", self.local(date(2027, 11, 8), 9))
        self.assertEqual(
            reminders.send_day_before_reminders(now=datetime(2027, 11, 8, 0, 59, tzinfo=UTC)), 0
        )  # 16:59 PST on Sunday
        self.assertEqual(
            reminders.send_day_before_reminders(now=datetime(2027, 11, 8, 1, 0, tzinfo=UTC)), 1
        )  # 17:00 PST
        (reminder,) = self.reminders_sent()
        self.assertIn("9:00 AM PST", reminder.body)
        self.assertIn("A responsible adult must take you home", reminder.body)

    def test_not_for_an_appointment_moved_away_and_again_for_one_moved_onto_tomorrow(self):
        appointment = self.book(self.patient, "follow_up", self.local(self.MONDAY, 9))
        sunday_ten = datetime(2027, 3, 14, 17, 0, tzinfo=UTC)
        reminders.send_day_before_reminders(now=sunday_ten)
        services.move_appointment(
            self.actor(), appointment, start=self.local(self.MONDAY + timedelta(days=1), 9)
        )
        reminders.send_day_before_reminders(now=sunday_ten + timedelta(days=1))
        self.assertEqual(len(self.reminders_sent()), 2)
        self.assertEqual(
            sorted("Tue Mar 16" in m.body for m in self.reminders_sent()), [False, True]
        )

    def test_the_job_is_registered(self):
        self.assertIn("appointment_reminders", [job.name for job in jobs.registered()])


class ConfirmationLinkTests(MessagesTestCase):
    def setUp(self) -> None:
        self.appointment = self.book(kind="esketamine", resource=self.room)
        self.token = token_of(self.outbox("appointment_booked")[0])

    def test_the_page_shows_the_appointment_without_clinical_detail(self):
        response = self.client.get(f"/a/{self.token}/")
        self.assertEqual(response.status_code, 200)
        page = response.content.decode()
        self.assertIn("Your appointment, Ada", page)
        self.assertIn(f"{self.monday:%a %b %-d}, 9:00 AM", page)
        self.assertIn("Alpha Clinic", page)
        for clinical in ("esketamine", "Spravato", "Room 1", "Lovelace", self.patient.mrn):
            self.assertNotIn(clinical, page)
        self.assertEqual(response["Cache-Control"], "no-store, private")

    def test_confirm_works_once(self):
        response = self.client.post(f"/a/{self.token}/", {"answer": "confirm"})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "your appointment is confirmed")
        self.appointment.refresh_from_db()
        self.assertEqual(self.appointment.status, "confirmed")
        self.assertIsNotNone(self.appointment.confirmed_at)
        event = AuditEvent.objects.filter(object_id=str(self.appointment.pk)).order_by("seq").last()
        self.assertEqual(event.username, reminders.PATIENT_LINK_USERNAME)
        self.assertEqual(event.detail["status"], "confirmed")
        again = self.client.post(f"/a/{self.token}/", {"answer": "cancel"})
        self.assertEqual(again.status_code, 410)
        self.assertContains(again, "You have already answered", status_code=410)
        self.assertContains(self.client.get(f"/a/{self.token}/"), "You confirmed this appointment")
        self.assertFalse(selectors.cancel_requests(self.actor()))

    def test_asking_to_cancel_is_recorded_for_front_desk(self):
        response = self.client.post(f"/a/{self.token}/", {"answer": "cancel"})
        self.assertContains(response, "Front desk will contact you")
        self.appointment.refresh_from_db()
        self.assertEqual(self.appointment.status, "booked")
        (request,) = selectors.cancel_requests(self.actor())
        self.assertEqual(request.appointment, self.appointment)

    def test_a_tampered_unknown_or_expired_link_is_refused_with_a_clear_page(self):
        body, _, signature = self.token.partition(".")
        tampered = ("A" if body[0] != "A" else "B") + body[1:] + "." + signature
        for bad in (tampered, "nonsense", body + ".", f"{body}.{signature[:-1]}x"):
            with self.subTest(token=bad):
                response = self.client.get(f"/a/{bad}/")
                self.assertContains(response, "This link does not work", status_code=404)
                post = self.client.post(f"/a/{bad}/", {"answer": "confirm"})
                self.assertEqual(post.status_code, 404)
        AppointmentLink.objects.update(expires_at=self.appointment.start - timedelta(days=30))
        expired = self.client.post(f"/a/{self.token}/", {"answer": "confirm"})
        self.assertContains(expired, "This link has expired", status_code=410)
        self.appointment.refresh_from_db()
        self.assertEqual(self.appointment.status, "booked")

    def test_a_cancelled_appointments_link_is_closed(self):
        services.set_status(self.actor(), self.appointment, "cancelled", "Clinic closed")
        response = self.client.post(f"/a/{self.token}/", {"answer": "confirm"})
        self.assertContains(response, "can no longer be changed here", status_code=410)

    def test_an_unknown_answer_changes_nothing(self):
        response = self.client.post(f"/a/{self.token}/", {"answer": "maybe"})
        self.assertEqual(response.status_code, 400)
        self.assertIsNone(AppointmentLink.objects.get().answered_at)


class CalendarFileTests(MessagesTestCase):
    def test_the_appointments_file_parses_back_with_its_times_uid_and_sequence(self):
        appointment = self.book(resource=self.chair)
        token = token_of(self.outbox("appointment_booked")[0])
        response = self.client.get(f"/a/{token}/calendar.ics")
        self.assertEqual(response["Content-Type"], calendar_files.CONTENT_TYPE)
        (event,) = parse(response.content)
        self.assertEqual(str(event["uid"]), f"appointment-{appointment.pk}@trellis")
        self.assertEqual(event.decoded("dtstart"), appointment.start)
        self.assertEqual(event.decoded("dtend"), appointment.end)
        self.assertEqual(event.decoded("dtstart").utcoffset(), timedelta(0))
        self.assertEqual(int(event["sequence"]), 0)
        self.assertEqual(str(event["summary"]), "Appointment at Alpha Clinic")
        self.assertEqual(str(event["location"]), "12 Main St, Springfield, MA 01101")
        self.assertEqual(str(event["status"]), "CONFIRMED")
        self.assertNotIn(b"ketamine", response.content.lower())

        services.move_appointment(self.actor(), appointment, start=self.at(12))
        token = token_of(self.outbox("appointment_moved")[0])
        (moved,) = parse(self.client.get(f"/a/{token}/calendar.ics").content)
        self.assertEqual(str(moved["uid"]), str(event["uid"]))
        self.assertEqual(int(moved["sequence"]), 1)
        self.assertEqual(moved.decoded("dtstart"), self.at(12))

        services.set_status(self.actor(), appointment, "cancelled", "Clinic closed")
        appointment.refresh_from_db()
        (cancelled,) = parse(calendar_files.calendar([appointment], self.clinic_a))
        self.assertEqual((int(cancelled["sequence"]), str(cancelled["status"])), (2, "CANCELLED"))


class CalendarFeedTests(MessagesTestCase):
    def path(self, url: str) -> str:
        return url[url.index("/calendar/feed/") :]

    def test_a_patients_feed_shows_theirs_only_and_can_be_revoked(self):
        mine = self.book(resource=self.chair)
        theirs = self.book(patient=self.other_patient, resource=self.chair_2)
        url_a = reminders.issue_calendar_feed(self.actor(), self.patient)
        url_b = reminders.issue_calendar_feed(self.actor(), self.other_patient)
        self.assertTrue(url_a.endswith(".ics"))
        for url, expected in ((url_a, mine), (url_b, theirs)):
            response = self.client.get(self.path(url))
            self.assertEqual(response.status_code, 200)
            uids = {str(e["uid"]) for e in parse(response.content)}
            self.assertEqual(uids, {calendar_files.uid(expected)})
        # A new address revokes the old one; revoking ends it.
        url_a2 = reminders.issue_calendar_feed(self.actor(), self.patient)
        self.assertEqual(self.client.get(self.path(url_a)).status_code, 404)
        self.assertEqual(self.client.get(self.path(url_a2)).status_code, 200)
        self.assertEqual(reminders.revoke_calendar_feeds(self.actor(), self.patient), 1)
        self.assertEqual(self.client.get(self.path(url_a2)).status_code, 404)
        self.assertEqual(self.client.get(self.path(url_b)).status_code, 200)

    def test_a_tampered_feed_token_and_another_clinics_patient_are_refused(self):
        url = reminders.issue_calendar_feed(self.actor(), self.patient)
        path = self.path(url)
        tampered = path.replace("/feed/", "/feed/x", 1)
        self.assertEqual(self.client.get(tampered).status_code, 404)
        # A confirmation link's token is signed for links, not feeds.
        self.book(resource=self.chair)
        link_token = token_of(self.outbox("appointment_booked")[0])
        self.assertEqual(self.client.get(f"/calendar/feed/{link_token}.ics").status_code, 404)
        with pytest.raises(Http404):
            reminders.issue_calendar_feed(self.actor(), self.patient_b)


class CourseMessageTests(MessagesTestCase):
    def start_course(self):
        prescriber = actor_for(self.prescriber, self.clinic_a)
        screening = create_screening(prescriber, self.patient, SAFE_ANSWERS, [])
        sign_screening(prescriber, screening, acknowledge_cautions=True)
        return treatment_services.start_course(
            actor_for(self.nurse, self.clinic_a), self.patient, "ketamine-iv-induction", self.monday
        )

    def test_a_course_booking_that_fails_on_its_third_session_queues_nothing(self):
        course = self.start_course()
        proposals = services.propose_course_slots(course)
        third = proposals[2]
        self.book(patient=self.other_patient, resource=third.resource, start=third.start)
        with self.assertRaises(services.CourseBookingFailed):
            services.book_course(self.actor(), course, proposals)
        self.assertEqual(self.outbox(), [])
        self.assertFalse(AppointmentLink.objects.exists())
        booked = services.book_course(self.actor(), course, services.propose_course_slots(course))
        # One message for the course, listing every time; each is marked as told.
        (message,) = self.outbox("appointment_booked")
        self.assertIn(f"your {len(booked)} ketamine infusion appointments are booked", message.body)
        for appointment in booked:
            self.assertIn(reminders.when(appointment, self.clinic_a), message.body)
        self.assertEqual(
            AppointmentMessage.objects.filter(kind="booked", channels="sms").count(), len(booked)
        )
