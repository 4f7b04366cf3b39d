"""The day's sessions at /sessions/today/: the clinic's sessions planned on a day."""

from datetime import UTC, datetime, time, timedelta
from unittest import mock

from django.utils import timezone

from trellis.audit.models import Action, AuditEvent
from trellis.patients.services import create_screening, sign_screening
from trellis.patients.tests.test_api import SAFE_ANSWERS
from trellis.testing import AUDIT_LOCK_QUERIES, actor_for, make_patient
from trellis.treatments import services
from trellis.treatments.models import ClosureDay, Session, SessionStatus
from trellis.treatments.tests.test_courses import CourseTestCase, next_monday


class TodayTests(CourseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        prescriber = actor_for(cls.prescriber, cls.clinic_a)
        for patient in (cls.patient, cls.other_patient):
            screening = create_screening(prescriber, patient, SAFE_ANSWERS, [])
            sign_screening(prescriber, screening, acknowledge_cautions=True)
        prescriber_b = actor_for(cls.prescriber_b, cls.clinic_b)
        screening = create_screening(prescriber_b, cls.patient_b, SAFE_ANSWERS, [])
        sign_screening(prescriber_b, screening, acknowledge_cautions=True)
        cls.monday = next_monday(cls.clinic_a)

    def url(self, day=None):
        return f"/sessions/today/?date={(day or self.monday).isoformat()}"

    def test_it_lists_the_days_sessions_by_modality_with_links(self):
        tms = self.start("tms-10hz", self.monday)
        ketamine = self.start("ketamine-iv-induction", self.monday, patient=self.other_patient)
        services.start_course(
            actor_for(self.prescriber_b, self.clinic_b), self.patient_b, "tms-10hz", self.monday
        )
        self.sign_in(self.nurse)
        page = self.client.get(self.url())
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "2 sessions")
        content = page.content.decode()
        self.assertLess(content.index("IV ketamine"), content.index(">TMS<"))
        self.assertContains(page, "Lovelace, Ada")
        self.assertContains(page, "Hopper, Grace")
        self.assertNotContains(page, "Turing")  # clinic B's patient
        self.assertContains(page, "<strong>1</strong> of 36")
        self.assertContains(page, "<strong>1</strong> of 6")
        for course in (tms, ketamine):
            session = course.sessions.get(number=1)
            self.assertContains(page, f'href="/sessions/{session.id}/"')
            self.assertContains(page, f'href="/courses/{course.id}/"')
        self.assertContains(page, f'href="/patients/{self.patient.id}/"')

        tuesday = self.client.get(self.url(self.monday + timedelta(days=1)))
        self.assertContains(tuesday, "1 session")
        self.assertContains(tuesday, "<strong>2</strong> of 36")
        self.assertNotContains(tuesday, "Hopper")

    def test_times_order_the_day_and_cancelled_sessions_are_left_out(self):
        course = self.start("tms-accelerated-itbs", self.monday)
        course.sessions.filter(number=3).update(status=SessionStatus.CANCELLED)
        self.sign_in(self.tms)
        page = self.client.get(self.url())
        self.assertContains(page, "9 sessions")
        content = page.content.decode()
        self.assertLess(content.index("08:00"), content.index("09:00"))
        self.assertNotIn("10:00", content)
        self.assertContains(page, "<strong>10</strong> of 50")

    def test_the_query_count_does_not_grow_with_the_sessions(self):
        self.start("tms-10hz", self.monday)
        self.sign_in(self.nurse)
        self.client.get(self.url())
        # 12: the sessions' appointments (treatments.hooks.session_bookings) are one query
        with self.assertNumQueries(12 + AUDIT_LOCK_QUERIES):
            self.client.get(self.url())
        self.start("tms-accelerated-itbs", self.monday, patient=self.other_patient)
        front = actor_for(self.front_desk, self.clinic_a)
        for n in range(3):
            patient = make_patient(front, f"Extra{n}", "Patient")
            self.sign_screening_for(patient)
            self.start("ketamine-iv-induction", self.monday, patient=patient)
        with self.assertNumQueries(12 + AUDIT_LOCK_QUERIES):
            page = self.client.get(self.url())
        self.assertContains(page, "14 sessions")

    def test_the_list_read_is_audited_as_a_query(self):
        self.start("tms-10hz", self.monday)
        self.sign_in(self.nurse)
        self.client.get(self.url())
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual(
            (event.action, event.object_type, event.detail),
            (
                Action.QUERY,
                "treatments.session",
                {"planned_date": self.monday.isoformat(), "results": 1},
            ),
        )

    def test_today_is_the_clinics_day_not_the_servers(self):
        # 02:00 UTC on a Tuesday is still Monday evening in New York and in Chicago.
        tuesday_2am = datetime.combine(self.monday + timedelta(days=1), time(2), tzinfo=UTC)
        with mock.patch.object(timezone, "now", return_value=tuesday_2am):
            self.assertEqual(services.clinic_today(self.clinic_a), self.monday)
            self.assertEqual(services.clinic_today(self.clinic_b), self.monday)
        self.sign_in(self.nurse)
        page = self.client.get("/sessions/today/")
        self.assertEqual(page.context["day"], services.clinic_today(self.clinic_a))
        self.assertContains(page, "Today's sessions")

    def test_a_closure_day_and_a_bad_date_are_explained(self):
        ClosureDay.objects.create(clinic=self.clinic_a, date=self.monday, reason="Snow day")
        self.sign_in(self.nurse)
        page = self.client.get(self.url())
        self.assertContains(page, "The clinic is closed on this day")
        self.assertContains(page, "Snow day")
        self.assertContains(page, "No sessions are planned on this day")
        cases = {
            "2026-13-45": "Date: 2026-13-45 is not a calendar date; showing today.",
            "2027-02-29": "Date: 2027-02-29 is not a calendar date; showing today.",
            "tomorrow": "Date: “tomorrow” must be a date written YYYY-MM-DD; showing today.",
            "03/16/2026": "must be a date written YYYY-MM-DD; showing today.",
        }
        for value, message in cases.items():
            with self.subTest(date=value):
                page = self.client.get("/sessions/today/", {"date": value})
                self.assertEqual(page.status_code, 200)
                self.assertContains(page, message, html=False)
                self.assertEqual(page.context["day"], services.clinic_today(self.clinic_a))
        page = self.client.get("/sessions/today/", {"date": "  "})
        self.assertEqual(page.context["date_error"], "")

    def test_a_date_more_than_ten_years_away_shows_today(self):
        self.sign_in(self.nurse)
        for value in ("0001-01-01", "9999-12-31"):
            with self.subTest(date=value):
                page = self.client.get(f"/sessions/today/?date={value}")
                self.assertEqual(page.status_code, 200)
                self.assertContains(page, f"Date: {value} is more than ten years from today")
                self.assertEqual(page.context["day"], services.clinic_today(self.clinic_a))

    def test_roles_without_the_right_get_403(self):
        for user in (self.admin,):
            with self.subTest(user=user.username):
                self.sign_in(user)
                self.assertEqual(self.client.get("/sessions/today/").status_code, 403)
        for user in (self.prescriber, self.nurse, self.tms, self.therapist, self.front_desk):
            with self.subTest(user=user.username):
                self.sign_in(user)
                self.assertEqual(self.client.get("/sessions/today/").status_code, 200)

    def test_signing_out_sends_to_the_sign_in_page(self):
        response = self.client.get("/sessions/today/")
        self.assertEqual(response.status_code, 302)
        self.assertIn("/accounts/login/", response["Location"])
        self.assertEqual(Session.objects.count(), 0)
