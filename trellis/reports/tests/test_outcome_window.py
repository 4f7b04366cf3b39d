"""One outcome window: the patient page, the API and the outcomes dashboard judge a course from
the same PHQ-9s (``trellis.measures.outcomes.in_outcome_window``)."""

from datetime import timedelta

from trellis.measures.tests.helpers import MeasuresTestCase
from trellis.patients.services import create_screening
from trellis.patients.tests.test_api import SAFE_ANSWERS, TRD_TRIALS
from trellis.reports.outcomes import outcome_table
from trellis.reports.tests.helpers import T0, make_course, phq9, trajectory
from trellis.testing import actor_for


class OneOutcomeWindowTest(MeasuresTestCase):
    def setUp(self) -> None:
        ended = T0 + timedelta(days=14)
        self.course = make_course(self.patient, self.prescriber, ended_at=ended)
        # Findings the patient page can show on the course's screening.
        actor = actor_for(self.prescriber, self.clinic_a)
        real = create_screening(actor, self.patient, SAFE_ANSWERS, TRD_TRIALS)
        self.course.screening.findings = real.findings
        self.course.screening.save(update_fields=["findings"])
        real.delete()
        trajectory(self.course, [20, 14])
        phq9(self.course, 9, ended + timedelta(days=7))  # end of course: a response
        phq9(self.course, 24, ended + timedelta(days=60))  # a later follow-up: relapse

    def test_patient_page_api_and_dashboard_agree_on_a_course_with_follow_ups(self):
        self.sign_in(self.prescriber)
        page = self.client.get(f"/patients/{self.patient.pk}/")
        self.assertContains(page, "✓ Response")
        self.assertNotContains(page, "No response")
        self.assertContains(page, "up to 21 days after the course")

        body = self.api("get", f"/api/v1/courses/{self.course.pk}/outcome").json()
        self.assertEqual((body["baseline"], body["latest"], body["response"]), (20, 9, True))
        self.assertEqual(body["measurement_count"], 3)

        (row,) = outcome_table([self.clinic_a.pk])
        self.assertEqual((row.assessed, row.responders), (1, 1))

        self.sign_in(self.admin)
        dashboard = self.client.get("/reports/outcomes/")
        self.assertContains(dashboard, "1 of 1")
        self.assertContains(dashboard, "up to 21 days after the course")

    def test_a_follow_up_inside_the_window_counts_everywhere(self):
        phq9(self.course, 25, self.course.ended_at + timedelta(days=21))
        body = self.api("get", f"/api/v1/courses/{self.course.pk}/outcome").json()
        self.assertEqual((body["latest"], body["response"]), (25, False))
        (row,) = outcome_table([self.clinic_a.pk])
        self.assertEqual((row.assessed, row.responders), (1, 0))
