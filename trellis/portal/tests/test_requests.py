"""Appointments in the portal: the patient asks to cancel, to change a time or for a new
appointment (never a booking), one open request per appointment; the front desk of the
patient's clinic answers, and the patient reads the answer."""

from datetime import timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from trellis.audit.models import Action, AuditEvent
from trellis.lib.errors import InputError
from trellis.portal import requests
from trellis.portal.models import PORTAL_USERNAME, PortalRequest, RequestKind, RequestStatus
from trellis.portal.tests.base import PortalTestCase
from trellis.scheduling.kinds import AppointmentStatus
from trellis.scheduling.models import Appointment
from trellis.testing import actor_for


class RequestTestCase(PortalTestCase):
    def setUp(self):
        self.ada, self.ada_account = self.enrol(self.patient, self.front_desk, "ada")
        self.soon = self.appoint(self.patient, days=3, kind="follow_up")

    def appoint(self, patient, *, days, kind="therapy", **fields):
        clinic = patient.clinic
        start = timezone.now() + timedelta(days=days)
        return Appointment.objects.create(
            clinic=clinic,
            patient=patient,
            kind=kind,
            start=start,
            end=start + timedelta(minutes=45),
            day=timezone.localtime(start, clinic.tzinfo).date(),
            created_by=self.front_desk if clinic == self.clinic_a else self.prescriber_b,
            **fields,
        )

    def staff(self, user) -> Client:
        """The test's own client, signed in as ``user`` (with their second factor)."""
        self.sign_in(user)
        return self.client


class AppointmentsPageTests(RequestTestCase):
    def test_the_page_lists_upcoming_in_the_clinics_time_and_plain_words_and_the_past(self):
        past = self.appoint(self.patient, days=-9, kind="iv_ketamine")
        Appointment.objects.filter(pk=past.pk).update(status=AppointmentStatus.COMPLETED)
        page = self.ada.get("/portal/appointments/")
        self.assertEqual(page.status_code, 200)
        local = timezone.localtime(self.soon.start, self.clinic_a.tzinfo)
        self.assertContains(page, f"{local:%A, %B %-d}")
        self.assertContains(page, f"{local:%-I:%M %p}")
        self.assertContains(page, "Follow-up visit")
        self.assertContains(page, "Ketamine infusion")  # the past one, in the patient's words
        self.assertContains(page, f"/portal/appointments/{self.soon.id}/cancel/")
        self.assertContains(page, f"/portal/appointments/{self.soon.id}/change/")
        self.assertContains(page, 'aria-current="page">Appointments')
        event = (
            AuditEvent.objects.filter(action=Action.READ, patient=self.patient)
            .order_by("seq")
            .last()
        )
        self.assertEqual(event.detail, {"portal": "appointments"})
        self.assertContains(self.ada.get("/portal/"), 'href="/portal/appointments/"')

    def test_nobody_signed_in_is_sent_to_the_portals_sign_in(self):
        for url in ["/portal/appointments/", f"/portal/appointments/{self.soon.id}/cancel/"]:
            response = Client().get(url)
            self.assertEqual(response.status_code, 302, url)
            self.assertTrue(response["Location"].startswith("/portal/sign-in/"), url)


class AskTests(RequestTestCase):
    def test_asking_to_cancel_is_a_request_and_the_appointment_stands(self):
        url = f"/portal/appointments/{self.soon.id}/cancel/"
        self.assertContains(self.ada.get(url), "Ask to cancel")
        response = self.ada.post(url, {"message": "I have a work trip."})
        self.assertRedirects(response, "/portal/appointments/", fetch_redirect_response=False)
        row = PortalRequest.objects.get()
        self.assertEqual(
            (row.kind, row.appointment, row.message, row.status, row.clinic, row.patient),
            (
                RequestKind.CANCEL,
                self.soon,
                "I have a work trip.",
                RequestStatus.OPEN,
                self.clinic_a,
                self.patient,
            ),
        )
        self.soon.refresh_from_db()
        self.assertEqual(self.soon.status, AppointmentStatus.BOOKED)
        page = self.ada.get("/portal/appointments/")
        self.assertContains(page, "You have asked to cancel.")
        self.assertNotContains(page, f"/portal/appointments/{self.soon.id}/cancel/")
        event = AuditEvent.objects.get(action=Action.CREATE, object_id=str(row.pk))
        self.assertEqual((event.username, event.patient), (PORTAL_USERNAME, self.patient))

    def test_asking_to_change_the_time_keeps_the_preferred_times(self):
        url = f"/portal/appointments/{self.soon.id}/change/"
        response = self.ada.post(url, {"preferred": "Tuesday mornings", "message": ""})
        self.assertEqual(response.status_code, 302)
        row = PortalRequest.objects.get()
        self.assertEqual((row.kind, row.preferred), (RequestKind.RESCHEDULE, "Tuesday mornings"))

    def test_asking_for_an_appointment_of_a_kind_the_portal_offers(self):
        page = self.ada.get("/portal/appointments/")
        self.assertContains(page, "A follow-up visit")
        self.assertContains(page, "A therapy session")
        self.assertContains(page, "An assessment for a new treatment")
        self.assertNotContains(page, 'value="iv_ketamine"')
        response = self.ada.post(
            "/portal/appointments/",
            {"appointment_kind": "therapy", "preferred": "After 5 pm", "message": "Hello"},
        )
        self.assertRedirects(response, "/portal/appointments/", fetch_redirect_response=False)
        row = PortalRequest.objects.get()
        self.assertEqual(
            (row.kind, row.appointment, row.appointment_kind, row.preferred),
            (RequestKind.APPOINTMENT, None, "therapy", "After 5 pm"),
        )
        self.assertContains(self.ada.get("/portal/appointments/"), "Asked for a therapy session")
        # A second request for the same kind while the first is open: refused, said plainly.
        again = self.ada.post("/portal/appointments/", {"appointment_kind": "therapy"})
        self.assertContains(again, "You have already asked for a therapy session", status_code=422)
        self.assertEqual(PortalRequest.objects.count(), 1)

    def test_a_second_request_for_the_same_appointment_is_refused_while_one_is_open(self):
        self.ada.post(f"/portal/appointments/{self.soon.id}/cancel/", {"message": ""})
        page = self.ada.get(f"/portal/appointments/{self.soon.id}/change/")
        self.assertContains(page, "You have already asked the clinic about this appointment")
        self.assertNotContains(page, "Send my request")
        response = self.ada.post(
            f"/portal/appointments/{self.soon.id}/change/", {"preferred": "Friday"}
        )
        self.assertContains(response, "You have already asked the clinic", status_code=422)
        self.assertEqual(PortalRequest.objects.count(), 1)
        # Once the clinic has answered, the patient may ask again.
        requests.handle(
            actor_for(self.front_desk, self.clinic_a), PortalRequest.objects.get(), "declined", "No"
        )
        response = self.ada.post(
            f"/portal/appointments/{self.soon.id}/change/", {"preferred": "Friday"}
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(PortalRequest.objects.filter(status=RequestStatus.OPEN).count(), 1)

    def test_bad_input_names_the_field_and_the_rule(self):
        response = self.ada.post("/portal/appointments/", {"message": "x" * 1001})
        self.assertContains(response, "Choose what kind of appointment", status_code=422)
        self.assertContains(
            response, "Your message must be at most 1000 characters (it has 1001)", status_code=422
        )
        response = self.ada.post(
            f"/portal/appointments/{self.soon.id}/change/", {"preferred": "y" * 301}
        )
        self.assertContains(
            response, "Days and times must be at most 300 characters", status_code=422
        )
        response = self.ada.post("/portal/appointments/", {"appointment_kind": "iv_ketamine"})
        self.assertContains(response, "Select a valid choice", status_code=422)
        self.assertFalse(PortalRequest.objects.exists())

    def test_the_service_refuses_what_the_form_would_not_send(self):
        with self.assertRaisesMessage(InputError, "at most 1,000 characters"):
            requests.ask(
                self.ada_account, "appointment", appointment_kind="therapy", message="z" * 1001
            )
        with self.assertRaisesMessage(InputError, "choose one of"):
            requests.ask(self.ada_account, "appointment", appointment_kind="iv_ketamine")
        with self.assertRaisesMessage(InputError, "kind: must be one of"):
            requests.ask(self.ada_account, "book", appointment=self.soon)
        with self.assertRaisesMessage(InputError, "one of your upcoming"):
            requests.ask(self.ada_account, "cancel")
        self.assertFalse(PortalRequest.objects.exists())

    def test_a_past_or_cancelled_appointment_cannot_be_asked_about(self):
        Appointment.objects.filter(pk=self.soon.pk).update(
            status=AppointmentStatus.CANCELLED, status_reason="Clinic closed"
        )
        self.assertEqual(
            self.ada.get(f"/portal/appointments/{self.soon.id}/cancel/").status_code, 404
        )
        past = self.appoint(self.patient, days=-2)
        self.assertEqual(self.ada.post(f"/portal/appointments/{past.id}/cancel/").status_code, 404)
        self.assertFalse(PortalRequest.objects.exists())

    def test_an_appointment_on_the_clinics_day_is_for_a_phone_call(self):
        # Later on the clinic's day (the stored day is what the rule reads, at any hour).
        today = self.appoint(self.patient, days=0, kind="therapy")
        Appointment.objects.filter(pk=today.pk).update(
            start=timezone.now() + timedelta(minutes=5),
            end=timezone.now() + timedelta(minutes=50),
            day=self.clinic_a.today(),
        )
        page = self.ada.get("/portal/appointments/")
        self.assertNotContains(page, f"/portal/appointments/{today.id}/cancel/")
        self.assertContains(page, "To change or cancel it now, please call the clinic.")
        response = self.ada.post(f"/portal/appointments/{today.id}/cancel/", {"message": ""})
        self.assertContains(response, "is today", status_code=422)
        self.assertFalse(PortalRequest.objects.exists())


class WallTests(RequestTestCase):
    """Ada (clinic A) and Alan (clinic B) each see and ask about their own appointments only."""

    def setUp(self):
        super().setUp()
        self.alan, self.alan_account = self.enrol(self.patient_b, self.prescriber_b, "alan")
        self.alans = self.appoint(self.patient_b, days=4)
        self.graces = self.appoint(self.other_patient, days=5)  # Ada's own clinic

    def test_a_patient_never_sees_another_patients_appointments(self):
        ada_page = self.ada.get("/portal/appointments/")
        self.assertNotContains(ada_page, str(self.alans.id))
        self.assertNotContains(ada_page, str(self.graces.id))
        alan_page = self.alan.get("/portal/appointments/")
        self.assertContains(alan_page, str(self.alans.id))
        self.assertNotContains(alan_page, str(self.soon.id))

    def test_asking_about_another_patients_appointment_is_404_and_writes_nothing(self):
        for appointment in (self.alans, self.graces):
            for action in ("cancel", "change"):
                url = f"/portal/appointments/{appointment.id}/{action}/"
                self.assertEqual(self.ada.get(url).status_code, 404, url)
                self.assertEqual(self.ada.post(url, {"message": "x"}).status_code, 404, url)
        self.assertEqual(
            self.alan.post(f"/portal/appointments/{self.soon.id}/cancel/").status_code, 404
        )
        self.assertFalse(PortalRequest.objects.exists())
        with self.assertRaisesMessage(InputError, "one of your upcoming"):
            requests.ask(self.ada_account, "cancel", appointment=self.alans)

    def test_a_patients_request_and_its_reply_stay_with_that_patient(self):
        self.alan.post(f"/portal/appointments/{self.alans.id}/cancel/", {"message": "Alan's"})
        self.assertNotContains(self.ada.get("/portal/appointments/"), "Alan&#x27;s")
        self.assertNotContains(self.ada.get("/portal/appointments/"), "Asked to cancel")


class FrontDeskTests(RequestTestCase):
    def setUp(self):
        super().setUp()
        self.ada.post(
            f"/portal/appointments/{self.soon.id}/change/",
            {"preferred": "Thursday afternoon", "message": "Childcare fell through."},
        )
        self.row = PortalRequest.objects.get()
        self.desk = self.staff(self.front_desk)

    def test_the_front_desk_home_lists_open_requests_and_the_full_list_answers_them(self):
        home = self.desk.get("/")
        self.assertContains(home, "Requests from the patient portal")
        self.assertContains(home, "Lovelace, Ada")
        self.assertContains(home, "Asked to change the time")
        queue = self.desk.get("/portal-requests/")
        self.assertContains(queue, "Thursday afternoon")
        self.assertContains(queue, "Childcare fell through.")
        self.assertContains(queue, f"/portal-requests/{self.row.id}/answer/")

    def test_answering_done_updates_the_request_and_the_patient_reads_the_reply(self):
        response = self.desk.post(
            f"/portal-requests/{self.row.id}/answer/",
            {"outcome": "done", "reply": "Moved to Thursday at 2 pm."},
        )
        self.assertRedirects(
            response, f"/portal-requests/#request-{self.row.id}", fetch_redirect_response=False
        )
        self.row.refresh_from_db()
        self.assertEqual(
            (self.row.status, self.row.handled_by, self.row.reply),
            (RequestStatus.DONE, self.front_desk, "Moved to Thursday at 2 pm."),
        )
        self.assertIsNotNone(self.row.handled_at)
        event = AuditEvent.objects.get(action=Action.UPDATE, object_id=str(self.row.pk))
        self.assertEqual((event.user, event.detail["outcome"]), (self.front_desk, "done"))
        page = self.ada.get("/portal/appointments/")
        self.assertContains(page, "Moved to Thursday at 2 pm.")
        self.assertContains(page, "Done")
        self.assertNotContains(self.desk.get("/portal-requests/"), "Childcare fell through.")
        self.assertContains(self.desk.get("/portal-requests/?status=done"), "Childcare")
        # Answered once: a second answer changes nothing.
        again = self.desk.post(
            f"/portal-requests/{self.row.id}/answer/", {"outcome": "declined", "reply": "No"}
        )
        self.assertEqual(again.status_code, 302)
        self.row.refresh_from_db()
        self.assertEqual(self.row.status, RequestStatus.DONE)

    def test_the_patient_is_told_of_the_answer_the_way_they_chose_for_replies(self):
        from trellis.messaging.models import OutboxMessage
        from trellis.portal import notifications

        requests.handle(actor_for(self.front_desk, self.clinic_a), self.row, "done", "Moved.")
        notice = OutboxMessage.objects.get(purpose=notifications.REQUEST_ANSWER)
        self.assertEqual(notice.patient, self.patient)
        self.assertIn("has answered your request", notice.body)
        self.assertIn("/portal/appointments/", notice.body)
        self.assertNotIn("Moved.", notice.body)  # the answer itself is read in the portal

        preference = notifications.preferences_for(self.ada_account)
        notifications.save_preferences(
            self.ada_account,
            channels={
                **{kind: preference.channel_for(kind) for kind in notifications.FIELDS},
                "message_reply": "none",
            },
            quiet_start=preference.quiet_start,
            quiet_end=preference.quiet_end,
        )
        second = requests.ask(
            self.ada_account, RequestKind.APPOINTMENT, appointment_kind="follow_up"
        )
        requests.handle(actor_for(self.front_desk, self.clinic_a), second, "done", "Booked.")
        answers = OutboxMessage.objects.filter(purpose=notifications.REQUEST_ANSWER)
        self.assertEqual(answers.count(), 1)

    def test_declining_needs_a_reply_for_the_patient(self):
        self.desk.post(f"/portal-requests/{self.row.id}/answer/", {"outcome": "declined"})
        self.row.refresh_from_db()
        self.assertEqual(self.row.status, RequestStatus.OPEN)
        page = self.desk.get("/portal-requests/")
        self.assertContains(page, "Nothing changed: reply must say why")
        self.desk.post(
            f"/portal-requests/{self.row.id}/answer/",
            {"outcome": "declined", "reply": "Please call us: Thursdays are full."},
        )
        self.row.refresh_from_db()
        self.assertEqual(self.row.status, RequestStatus.DECLINED)
        self.assertContains(self.ada.get("/portal/appointments/"), "Thursdays are full.")

    def test_another_clinics_staff_get_404_and_change_nothing(self):
        other = self.staff(self.prescriber_b)
        response = other.post(
            f"/portal-requests/{self.row.id}/answer/", {"outcome": "done", "reply": ""}
        )
        self.assertEqual(response.status_code, 404)
        self.assertNotContains(other.get("/portal-requests/"), "Lovelace")
        self.row.refresh_from_db()
        self.assertEqual(self.row.status, RequestStatus.OPEN)
        with self.assertRaisesMessage(InputError, "must be a request of this clinic"):
            requests.handle(actor_for(self.prescriber_b, self.clinic_b), self.row, "done")

    def test_a_role_that_may_not_change_appointments_is_refused(self):
        therapist = self.staff(self.therapist)
        response = therapist.post(
            f"/portal-requests/{self.row.id}/answer/", {"outcome": "done", "reply": ""}
        )
        self.assertEqual(response.status_code, 403)
        self.row.refresh_from_db()
        self.assertEqual(self.row.status, RequestStatus.OPEN)


class QueryCountTests(RequestTestCase):
    """The patient's page and the front desk's list cost the same with one request as with
    several: no query per row."""

    def cost(self, client, url) -> int:
        client.get(url)  # the first request after signing in also stores the session
        with CaptureQueriesContext(connection) as queries:
            self.assertEqual(client.get(url).status_code, 200)
        return len(queries)

    def ask_once_more(self, n):
        appointment = self.appoint(self.patient, days=10 + n)
        self.ada.post(f"/portal/appointments/{appointment.id}/change/", {"preferred": f"{n}"})

    def test_no_query_per_row(self):
        self.ask_once_more(0)
        desk = self.staff(self.front_desk)
        one = (self.cost(self.ada, "/portal/appointments/"), self.cost(desk, "/portal-requests/"))
        for n in range(1, 4):
            self.ask_once_more(n)
        self.assertEqual(PortalRequest.objects.count(), 4)
        many = (self.cost(self.ada, "/portal/appointments/"), self.cost(desk, "/portal-requests/"))
        self.assertEqual(one, many)
