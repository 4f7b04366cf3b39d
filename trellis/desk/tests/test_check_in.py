"""Checking a patient in with one tap on a home page's row."""

from datetime import timedelta
from unittest.mock import patch

from django.test import Client

from trellis.audit.models import Action, AuditEvent
from trellis.desk.tests.test_home import DeskTestCase
from trellis.scheduling import selectors
from trellis.scheduling.kinds import AppointmentKind, AppointmentStatus, ResourceKind
from trellis.scheduling.models import Appointment

HTMX = {"HX-Request": "true"}


class CheckInTests(DeskTestCase):
    def setUp(self):
        self.dose = self.appoint(self.patient, AppointmentKind.IV_KETAMINE, ResourceKind.CHAIR)
        self.talk = self.appoint(
            self.other_patient, AppointmentKind.THERAPY, ResourceKind.ROOM, staff=self.therapist
        )

    def url(self, appointment) -> str:
        return f"/desk/appointments/{appointment.id}/check-in/"

    def check_in(self, user, appointment, *, section="arrivals", htmx=True):
        self.sign_in(user)
        return self.client.post(
            self.url(appointment), {"section": section}, headers=HTMX if htmx else {}
        )

    def status_updates(self, appointment) -> list[dict]:
        events = AuditEvent.objects.filter(
            action=Action.UPDATE,
            object_type="scheduling.appointment",
            object_id=str(appointment.pk),
        )
        return [e.detail for e in events]

    def test_front_desk_checks_a_patient_in_and_gets_the_row_back(self):
        answer = self.check_in(self.front_desk, self.dose)
        self.assertEqual(answer.status_code, 200)
        self.dose.refresh_from_db()
        self.assertEqual(self.dose.status, AppointmentStatus.CHECKED_IN)
        self.assertIsNotNone(self.dose.checked_in_at)
        self.assertContains(answer, f'<tr id="appt-{self.dose.id}"')
        self.assertContains(answer, "Checked in")
        self.assertNotContains(answer, ">Check in<")
        self.assertNotContains(answer, "<html")
        self.assertEqual(
            [d["status"] for d in self.status_updates(self.dose)], [AppointmentStatus.CHECKED_IN]
        )

    def test_a_second_tap_answers_with_the_row_already_checked_in(self):
        self.check_in(self.front_desk, self.dose)
        again = self.check_in(self.front_desk, self.dose)
        self.assertEqual(again.status_code, 200)
        self.assertContains(again, "Checked in")
        self.assertNotContains(again, 'role="alert"')
        self.assertEqual(len(self.status_updates(self.dose)), 1)

    def test_a_tap_that_loses_the_race_answers_with_the_row_checked_in(self):
        # This tap read the appointment still booked; another tap checked it in before this
        # one's change took the row's lock.
        stale = Appointment.objects.get(pk=self.dose.pk)
        self.check_in(self.nurse, self.dose)
        loads = iter([stale])
        real = selectors.appointment
        with patch(
            "trellis.desk.views.scheduling.appointment",
            side_effect=lambda actor, pk: next(loads, None) or real(actor, pk),
        ):
            answer = self.check_in(self.front_desk, self.dose)
        self.assertEqual(answer.status_code, 200)
        self.assertContains(answer, "Checked in")
        self.assertNotContains(answer, 'role="alert"')
        self.assertEqual(len(self.status_updates(self.dose)), 1)

    def test_the_row_is_drawn_as_the_list_it_was_tapped_in(self):
        answer = self.check_in(self.nurse, self.dose, section="chairs")
        self.assertContains(answer, "Chair alpha</strong>")  # the chairs list's first column
        answer = self.check_in(self.therapist, self.talk, section="no-such-list")
        self.assertContains(answer, "Therapy<br>")  # the arrivals row

    def test_a_therapist_checks_in_therapy_but_not_a_dose(self):
        self.assertEqual(self.check_in(self.therapist, self.dose).status_code, 403)
        self.dose.refresh_from_db()
        self.assertEqual(self.dose.status, AppointmentStatus.BOOKED)
        self.assertEqual(
            self.check_in(self.therapist, self.talk, section="therapy").status_code, 200
        )
        self.talk.refresh_from_db()
        self.assertEqual(self.talk.status, AppointmentStatus.CHECKED_IN)

    def test_another_clinics_appointment_is_not_found(self):
        theirs = self.appoint(self.patient_b, AppointmentKind.IV_KETAMINE, ResourceKind.CHAIR)
        self.assertEqual(self.check_in(self.front_desk, theirs).status_code, 404)
        theirs.refresh_from_db()
        self.assertEqual(theirs.status, AppointmentStatus.BOOKED)
        self.sign_in(self.front_desk)
        missing = "/desk/appointments/00000000-0000-0000-0000-000000000000/check-in/"
        self.assertEqual(self.client.post(missing, headers=HTMX).status_code, 404)

    def test_tomorrows_appointment_is_not_checked_in_and_the_row_says_why(self):
        tomorrow = self.appoint(
            self.patient,
            AppointmentKind.TMS,
            ResourceKind.TMS_DEVICE,
            day=self.today + timedelta(days=1),
        )
        answer = self.check_in(self.front_desk, tomorrow)
        self.assertEqual(answer.status_code, 200)
        self.assertContains(answer, 'role="alert"')
        self.assertContains(answer, "before its day")
        tomorrow.refresh_from_db()
        self.assertEqual(tomorrow.status, AppointmentStatus.BOOKED)

    def test_without_htmx_it_goes_back_home_with_a_message(self):
        answer = self.check_in(self.front_desk, self.dose, htmx=False)
        self.assertRedirects(answer, "/", fetch_redirect_response=False)
        page = self.client.get("/")
        self.assertContains(page, "Ada Lovelace is checked in.")

    def test_only_a_post_with_the_csrf_token(self):
        self.sign_in(self.front_desk)
        self.assertEqual(self.client.get(self.url(self.dose)).status_code, 405)
        strict = Client(enforce_csrf_checks=True)
        strict.cookies = self.client.cookies
        self.assertEqual(strict.post(self.url(self.dose), headers=HTMX).status_code, 403)
        self.dose.refresh_from_db()
        self.assertEqual(self.dose.status, AppointmentStatus.BOOKED)

    def test_the_arrivals_row_offers_check_in_until_the_patient_is_in(self):
        page = self.home(self.front_desk)
        self.assertContains(page, f'hx-post="{self.url(self.dose)}"')
        self.assertContains(page, f'hx-target="#appt-{self.dose.id}"')
        self.check_in(self.front_desk, self.dose)
        page = self.home(self.front_desk)
        self.assertNotContains(page, f'hx-post="{self.url(self.dose)}"')
