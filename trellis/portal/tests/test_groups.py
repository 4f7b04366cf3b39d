"""Groups in the portal: the clinic's cohorts open to join, asking for a place, and staff
accepting (through the groups app's enrolment) or declining. Full, started and other clinics'
cohorts cannot be joined."""

from datetime import date, time, timedelta

from django.contrib.messages import get_messages

from trellis.audit.models import AuditEvent
from trellis.groups import services as groups
from trellis.groups.models import (
    Cohort,
    Enrolment,
    EnrolmentStatus,
    GroupInterest,
    GroupProgram,
    InterestStatus,
)
from trellis.lib.errors import InputError
from trellis.portal.tests.base import PortalTestCase
from trellis.scheduling.kinds import AppointmentKind, ResourceKind
from trellis.scheduling.models import Appointment
from trellis.scheduling.tests.base import add_resource
from trellis.testing import actor_for


class PortalGroupsTestCase(PortalTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.admin_actor = actor_for(cls.admin, cls.clinic_a)
        cls.desk_actor = actor_for(cls.front_desk, cls.clinic_a)
        cls.room = add_resource(
            cls.clinic_a, "Group room", ResourceKind.ROOM, opens=time(8), closes=time(20)
        )
        cls.program = groups.create_program(
            cls.admin_actor,
            name="Integration group",
            sessions=6,
            minutes=90,
            description="Weekly integration after ketamine or TMS treatment.",
        )
        # Clinic B's own group, set up directly: only its id matters here.
        room_b = add_resource(cls.clinic_b, "Beta room", ResourceKind.ROOM)
        program_b = GroupProgram.objects.create(
            clinic=cls.clinic_b, name="Beta circle", sessions=4, minutes=60, created_by=cls.admin
        )
        cls.cohort_b = Cohort.objects.create(
            clinic=cls.clinic_b,
            program=program_b,
            start_date=cls.clinic_b.today() + timedelta(days=10),
            start_time=time(17),
            room=room_b,
            created_by=cls.admin,
        )

    def setUp(self):
        self.browser, self.account = self.enrol(self.patient, self.front_desk, "ada")

    def cohort(self, start: date | None = None, **kw) -> Cohort:
        return groups.create_cohort(
            self.admin_actor,
            self.program,
            start_date=start or self.clinic_a.today() + timedelta(days=7),
            start_time=kw.pop("start_time", time(17)),
            room=self.room,
            facilitators=[self.therapist],
            **kw,
        )

    def ask(self, cohort: Cohort):
        return self.browser.post(f"/portal/groups/{cohort.id}/ask/")

    def flash(self, response) -> str:
        return " ".join(str(m) for m in get_messages(response.wsgi_request))


class ListingTests(PortalGroupsTestCase):
    def test_the_page_lists_the_clinics_upcoming_cohort_and_not_another_clinics(self):
        cohort = self.cohort(capacity=8)
        page = self.browser.get("/portal/groups/")
        self.assertContains(page, "Integration group")
        self.assertContains(page, "Weekly integration after ketamine or TMS treatment.")
        self.assertContains(page, f"Starts {cohort.start_date:%A, %b} {cohort.start_date.day}")
        self.assertContains(page, "6 sessions of 90 minutes")
        self.assertContains(page, "8 places left.")
        self.assertContains(page, f"/portal/groups/{cohort.id}/ask/")
        self.assertNotContains(page, "Beta circle")
        self.assertNotContains(page, str(self.cohort_b.id))
        event = AuditEvent.objects.filter(patient=self.patient).order_by("-seq").first()
        self.assertEqual((event.detail, event.username), ({"portal": "groups"}, "(patient portal)"))

    def test_the_nav_and_home_link_to_groups(self):
        # The row of links on a wide screen, the phone's menu, and the home page's button.
        self.assertContains(self.browser.get("/portal/"), 'href="/portal/groups/"', count=3)

    def test_the_page_says_nothing_about_who_is_in_a_group(self):
        cohort = self.cohort()
        groups.enrol(self.desk_actor, cohort, self.other_patient)
        page = self.browser.get("/portal/groups/")
        self.assertContains(page, "11 places left.")
        self.assertNotContains(page, "Grace")
        self.assertNotContains(page, "Hopper")


class AskTests(PortalGroupsTestCase):
    def test_asking_files_a_request_and_staff_accept_it_through_enrolment(self):
        cohort = self.cohort()
        response = self.ask(cohort)
        self.assertRedirects(response, "/portal/groups/", fetch_redirect_response=False)
        self.assertIn("You asked to join Integration group", self.flash(response))
        request = GroupInterest.objects.get()
        self.assertEqual(
            (request.patient, request.cohort, request.source, request.status),
            (self.patient, cohort, "portal", InterestStatus.NEW),
        )
        self.assertFalse(Enrolment.objects.exists())  # a request, not a place
        event = AuditEvent.objects.get(object_type="groups.groupinterest", action="create")
        self.assertEqual((event.patient_id, event.username), (self.patient.pk, "(patient portal)"))
        self.assertContains(self.browser.get("/portal/groups/"), "You asked to join on")
        # Asking twice is refused with a message, and files nothing.
        again = self.ask(cohort)
        self.assertIn("You have asked to join this group already", self.flash(again))
        self.assertEqual(GroupInterest.objects.count(), 1)
        # Staff see the request on the cohort's page and accept it.
        self.sign_in(self.front_desk)
        staff_page = self.client.get(f"/groups/cohorts/{cohort.id}/")
        self.assertContains(staff_page, "Asked to join")
        self.assertContains(staff_page, "Patient portal")
        response = self.client.post(
            f"/groups/interest/{request.id}/",
            {"patient": str(self.patient.id), "cohort": str(cohort.id)},
        )
        self.assertRedirects(
            response, f"/groups/cohorts/{cohort.id}/", fetch_redirect_response=False
        )
        enrolment = Enrolment.objects.get(patient=self.patient)
        self.assertEqual(enrolment.status, EnrolmentStatus.ENROLLED)
        booked = Appointment.objects.filter(patient=self.patient, kind=AppointmentKind.GROUP)
        self.assertEqual(booked.count(), 6)
        request.refresh_from_db()
        self.assertEqual(request.status, InterestStatus.ENROLLED)
        page = self.browser.get("/portal/groups/")
        self.assertContains(page, "Your groups")
        self.assertContains(page, "Next session")
        self.assertContains(page, "You are in this group.")

    def test_staff_decline_from_the_cohort_page_and_the_patient_is_told(self):
        cohort = self.cohort()
        self.ask(cohort)
        request = GroupInterest.objects.get()
        self.sign_in(self.front_desk)
        response = self.client.post(
            f"/groups/interest/{request.id}/",
            {"decline": "1", "next": f"/groups/cohorts/{cohort.id}/#requests"},
        )
        self.assertRedirects(
            response, f"/groups/cohorts/{cohort.id}/#requests", fetch_redirect_response=False
        )
        request.refresh_from_db()
        self.assertEqual(request.status, InterestStatus.DECLINED)
        event = AuditEvent.objects.filter(object_type="groups.groupinterest").order_by("-seq")[0]
        self.assertEqual((event.action, event.patient_id), ("update", self.patient.pk))
        self.assertNotContains(self.client.get(f"/groups/cohorts/{cohort.id}/"), "Asked to join")
        self.assertContains(
            self.browser.get("/portal/groups/"), "Requests the clinic could not offer"
        )

    def test_a_portal_request_enrols_only_the_patient_who_asked(self):
        cohort = self.cohort()
        self.ask(cohort)
        request = GroupInterest.objects.get()
        with self.assertRaises(InputError) as error:
            groups.enrol_from_interest(self.desk_actor, request, self.other_patient, cohort)
        self.assertEqual(error.exception.field, "patient")
        self.assertFalse(Enrolment.objects.exists())


class RefusalTests(PortalGroupsTestCase):
    def test_a_full_cohort_cannot_be_joined(self):
        cohort = self.cohort(capacity=1)
        groups.enrol(self.desk_actor, cohort, self.other_patient)
        page = self.browser.get("/portal/groups/")
        self.assertContains(page, "Full: no places left.")
        self.assertNotContains(page, f"/portal/groups/{cohort.id}/ask/")
        response = self.ask(cohort)
        self.assertIn("This group is full.", self.flash(response))
        self.assertFalse(GroupInterest.objects.exists())

    def test_a_cohort_that_has_started_cannot_be_joined(self):
        cohort = self.cohort(self.clinic_a.today())
        self.assertNotContains(self.browser.get("/portal/groups/"), str(cohort.id))
        response = self.ask(cohort)
        self.assertIn("This group has started (or starts today)", self.flash(response))
        self.assertFalse(GroupInterest.objects.exists())

    def test_a_cancelled_or_unlisted_cohort_cannot_be_joined(self):
        cancelled = self.cohort()
        Cohort.objects.filter(pk=cancelled.pk).update(cancelled_at=cancelled.created_at)
        unlisted = self.cohort(start_time=time(10), listed=False)
        for cohort in (cancelled, unlisted):
            self.assertNotContains(self.browser.get("/portal/groups/"), str(cohort.id))
            self.assertIn("This group is not open to join.", self.flash(self.ask(cohort)))
        self.assertFalse(GroupInterest.objects.exists())

    def test_another_clinics_cohort_is_404(self):
        self.assertEqual(self.ask(self.cohort_b).status_code, 404)
        self.assertFalse(GroupInterest.objects.exists())

    def test_asking_needs_a_signed_in_patient_and_a_post(self):
        cohort = self.cohort()
        self.assertEqual(self.browser.get(f"/portal/groups/{cohort.id}/ask/").status_code, 405)
        self.sign_in(self.front_desk)
        response = self.client.post(f"/portal/groups/{cohort.id}/ask/")
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith("/portal/sign-in/"))
        self.assertFalse(GroupInterest.objects.exists())
