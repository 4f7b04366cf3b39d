"""The groups' pages: who may see and do what, validation messages by field, the public
listing and its interest request."""

from datetime import time, timedelta

from trellis.groups import selectors, services
from trellis.groups.models import (
    Attendance,
    Cohort,
    Enrolment,
    EnrolmentStatus,
    GroupInterest,
    GroupNote,
    InterestStatus,
)
from trellis.groups.tests.base import GroupsTestCase
from trellis.patients.services import REQUESTS_PER_HOUR


class StaffPageTests(GroupsTestCase):
    def test_every_role_sees_the_groups_and_only_the_administrator_plans(self):
        cohort = self.cohort()
        for user in self.staff_a.values():
            self.sign_in(user)
            response = self.client.get("/groups/")
            self.assertContains(response, "Integration group, 8 weeks")
            self.assertEqual(self.client.get(f"/groups/cohorts/{cohort.id}/").status_code, 200)
            planning = self.client.get("/groups/programs/new/").status_code
            self.assertEqual(planning, 200 if user == self.admin else 403, user.username)

    def test_a_program_and_a_cohort_planned_through_the_pages(self):
        self.sign_in(self.admin)
        response = self.client.post(
            "/groups/programs/new/", {"name": "Preparation group", "sessions": 3, "minutes": 90}
        )
        program = self.program.__class__.objects.get(name="Preparation group")
        self.assertRedirects(response, f"/groups/programs/{program.id}/cohorts/new/")
        start = self.clinic_a.today() + timedelta(days=10)
        bad = self.client.post(
            f"/groups/programs/{program.id}/cohorts/new/",
            {
                "start_date": start.isoformat(),
                "start_time": "10:00",
                "room": self.room.id,
                "facilitators": [self.therapist.id],
                "capacity": 12,
                "late_join_until": 5,
            },
        )
        self.assertEqual(bad.status_code, 422)
        self.assertContains(bad, "must be between 1 and 3", status_code=422)
        response = self.client.post(
            f"/groups/programs/{program.id}/cohorts/new/",
            {
                "start_date": start.isoformat(),
                "start_time": "10:00",
                "room": self.room.id,
                "facilitators": [self.therapist.id],
                "capacity": 10,
                "late_join_until": 1,
                "listed": "on",
            },
        )
        cohort = Cohort.objects.get(program=program)
        self.assertRedirects(response, f"/groups/cohorts/{cohort.id}/")
        self.assertEqual(cohort.meetings.count(), 3)

    def test_front_desk_enrols_by_mrn_and_withdraws_with_a_reason(self):
        cohort = self.cohort(capacity=1)
        self.sign_in(self.front_desk)
        unknown = self.client.post(f"/groups/cohorts/{cohort.id}/enrol/", {"mrn": "ALP-999999"})
        self.assertContains(unknown, "No patient of this clinic has that MRN.", status_code=422)
        self.client.post(f"/groups/cohorts/{cohort.id}/enrol/", {"mrn": self.patient.mrn})
        self.client.post(f"/groups/cohorts/{cohort.id}/enrol/", {"mrn": self.other_patient.mrn})
        page = self.client.get(f"/groups/cohorts/{cohort.id}/")
        self.assertContains(page, "Waitlist")
        self.assertEqual(
            Enrolment.objects.get(patient=self.other_patient).status, EnrolmentStatus.WAITLISTED
        )
        enrolment = Enrolment.objects.get(patient=self.patient)
        self.client.post(f"/groups/enrolments/{enrolment.id}/withdraw/", {"reason": ""})
        self.assertEqual(Enrolment.objects.get(pk=enrolment.pk).status, EnrolmentStatus.ENROLLED)
        response = self.client.post(
            f"/groups/enrolments/{enrolment.id}/withdraw/", {"reason": "Work hours"}, follow=True
        )
        self.assertContains(response, "Moved up from the waitlist: Grace Hopper")
        self.assertEqual(
            Enrolment.objects.get(patient=self.other_patient).status, EnrolmentStatus.ENROLLED
        )

    def test_another_clinics_staff_get_404(self):
        cohort = self.cohort()
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(f"/groups/cohorts/{cohort.id}/").status_code, 404)


class SessionPageTests(GroupsTestCase):
    def setUp(self) -> None:
        self.cohort_ = self.cohort(self.clinic_a.today(), start_time=time(18))
        for p in (self.patient, self.other_patient):
            services.enrol(self.actor(), self.cohort_, p, now=self.before(self.cohort_))
        self.meeting = self.cohort_.meetings.get(number=1)
        self.url = f"/groups/sessions/{self.meeting.id}/"
        self.keys = {e.patient_id: f"status_{e.pk}" for e in self.cohort_.enrolments.all()}

    def test_front_desk_may_not_open_the_room(self):
        self.sign_in(self.front_desk)
        self.assertEqual(self.client.get(self.url).status_code, 403)

    def test_a_missing_status_is_named_and_nothing_is_saved(self):
        self.sign_in(self.therapist)
        response = self.client.post(
            self.url + "attendance/", {self.keys[self.patient.pk]: "present"}
        )
        self.assertContains(
            response,
            "Grace Hopper: choose present, late, left early or absent",
            status_code=422,
        )
        # What was chosen stays chosen.
        self.assertContains(response, 'value="present" checked', status_code=422)
        self.assertFalse(Attendance.objects.exists())

    def test_attendance_then_the_note_signed_from_the_page(self):
        self.sign_in(self.therapist)
        response = self.client.post(
            self.url + "attendance/",
            {self.keys[self.patient.pk]: "present", self.keys[self.other_patient.pk]: "absent"},
            follow=True,
        )
        self.assertContains(response, "Attendance taken: 1 of 2 took part.")
        attendance = Attendance.objects.get(patient=self.patient)
        prefix = f"section_{attendance.pk}_"
        response = self.client.post(
            self.url + "note/",
            {
                "topic": "Routines",
                "interventions": "Reflection",
                prefix + "participation": "Active",
                prefix + "response": "Hopeful",
                prefix + "risk_level": "none",
                "sign": "1",
            },
            follow=True,
        )
        self.assertContains(response, "Group note signed.")
        self.assertTrue(GroupNote.objects.get().is_signed)
        record = self.client.get(f"/groups/attendance/{attendance.id}/")
        self.assertContains(record, "Hopeful")
        self.assertContains(record, "90853")

    def test_the_members_chart_asks_no_progress_note_for_a_group_session(self):
        self.sign_in(self.therapist)
        self.client.post(
            self.url + "attendance/",
            {self.keys[self.patient.pk]: "present", self.keys[self.other_patient.pk]: "present"},
        )
        page = self.client.get(f"/patients/{self.patient.id}/")
        self.assertContains(page, "Integration group, 8 weeks")
        self.assertNotContains(page, "Therapy appointments without a note")

    def test_the_patient_card_reads_attendance_only_for_a_patient_ever_enrolled(self):
        self.sign_in(self.therapist)
        self.client.post(
            self.url + "attendance/",
            {self.keys[self.patient.pk]: "present", self.keys[self.other_patient.pk]: "absent"},
        )
        therapist = self.actor(self.therapist)
        card = selectors.patient_card(therapist, self.patient)
        self.assertEqual([r.attendance.status for r in card["records"]], ["present"])
        (never,) = self.patients(1, prefix="Never")
        with self.assertNumQueries(1):  # the enrolments, and no attendance read
            card = selectors.patient_card(therapist, never)
        self.assertEqual((card["enrolments"], card["records"]), ([], []))

    def test_signing_an_incomplete_note_says_what_is_missing(self):
        self.sign_in(self.therapist)
        self.client.post(
            self.url + "attendance/",
            {self.keys[self.patient.pk]: "late", self.keys[self.other_patient.pk]: "present"},
        )
        response = self.client.post(
            self.url + "note/", {"topic": "T", "interventions": "", "sign": "1"}, follow=True
        )
        self.assertContains(response, "Before signing, add the interventions")
        self.assertContains(response, "Ada Lovelace&#x27;s participation and response")
        self.assertFalse(GroupNote.objects.get().is_signed)


class PublicPageTests(GroupsTestCase):
    def form(self, **values) -> dict:
        data = {
            "given_name": "Rosa",
            "family_name": "Quintero",
            "phone": "",
            "email": "rosa@example.org",
            "consent_to_contact": "on",
        }
        data.update(values)
        return data

    def test_the_listing_says_when_the_next_group_starts_and_names_no_one(self):
        start = self.clinic_a.today() + timedelta(days=20)
        cohort = self.cohort(start)
        services.enrol(self.actor(), cohort, self.patient)
        response = self.client.get("/request/alpha/groups/")
        self.assertContains(response, f"Next group starts {start:%B} {start.day}")
        self.assertContains(response, "Integration group, 8 weeks")
        self.assertNotContains(response, "Lovelace")

    def test_no_upcoming_group_is_said_plainly(self):
        response = self.client.get("/request/alpha/groups/")
        self.assertContains(response, "No group is planned just now")

    def test_an_interest_request_is_filed_and_staff_enrol_from_it(self):
        cohort = self.cohort()
        response = self.client.post(
            "/request/alpha/groups/",
            self.form(cohort=cohort.id, given_name="Ada", family_name="Lovelace"),
        )
        self.assertRedirects(response, "/request/alpha/groups/thanks/")
        interest = GroupInterest.objects.get()
        self.assertEqual(interest.cohort, cohort)
        self.sign_in(self.front_desk)
        self.assertContains(self.client.get("/groups/interest/"), "Lovelace")
        page = self.client.get(f"/groups/interest/{interest.id}/")
        self.assertContains(page, self.patient.mrn)
        response = self.client.post(
            f"/groups/interest/{interest.id}/", {"patient": self.patient.id, "cohort": cohort.id}
        )
        self.assertRedirects(response, f"/groups/cohorts/{cohort.id}/")
        self.assertEqual(GroupInterest.objects.get().status, InterestStatus.ENROLLED)
        self.assertTrue(Enrolment.objects.filter(cohort=cohort, patient=self.patient).exists())

    def test_validation_names_each_field(self):
        cases = [
            ({"consent_to_contact": ""}, "We can only reply if you agree to be contacted."),
            ({"email": "", "phone": ""}, "Give a phone number or an e-mail address."),
            ({"email": "not-an-address"}, "Enter a valid email address."),
            ({"given_name": ""}, "This field is required."),
            ({"phone": "12", "email": ""}, "phone"),
        ]
        for values, words in cases:
            with self.subTest(values=values):
                response = self.client.post("/request/alpha/groups/", self.form(**values))
                self.assertEqual(response.status_code, 422)
                self.assertContains(response, words, status_code=422)
        self.assertFalse(GroupInterest.objects.exists())

    def test_requests_from_one_address_are_limited_per_hour(self):
        for _ in range(REQUESTS_PER_HOUR):
            self.client.post("/request/alpha/groups/", self.form())
        response = self.client.post("/request/alpha/groups/", self.form())
        self.assertEqual(response.status_code, 429)
        self.assertEqual(GroupInterest.objects.count(), REQUESTS_PER_HOUR)

    def test_a_bot_filling_the_hidden_field_is_thanked_and_ignored(self):
        response = self.client.post("/request/alpha/groups/", self.form(website="spam"))
        self.assertRedirects(response, "/request/alpha/groups/thanks/")
        self.assertFalse(GroupInterest.objects.exists())
