"""The dashboard's numbers equal the hand-written SQL: on the product's own hand-built cases
(``trellis/reports/tests/test_outcomes.py``, run again here with every row compared), and on a
seeded synthetic network, where both also agree with the pure per-course outcome of
``trellis.measures.outcomes``."""

from collections import Counter
from datetime import UTC, date, datetime

from django.test import TestCase

from bench.synthetic.synth import generate
from bench.synthetic.tests.oracle import OracleMixin
from trellis.accounts.models import Clinic
from trellis.measures.outcomes import course_outcome
from trellis.reports.outcomes import outcome_table
from trellis.reports.tests import test_outcomes
from trellis.treatments.models import Course

NOW = datetime(2026, 6, 15, 18, 30, tzinfo=UTC)


class OutcomeFiguresAgainstTheOracleTest(OracleMixin, test_outcomes.OutcomeFiguresTest):
    """Each hand-built case of the product's tests, every row also checked against the SQL."""

    def rows(self, clinic_ids, **filters):
        return self.assert_matches_reference(clinic_ids, **filters)


class SeededNetworkTest(OracleMixin, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        generate(3, 120, 11, now=NOW)
        cls.clinic_ids = list(
            Clinic.objects.filter(slug__startswith="synth-").values_list("pk", flat=True)
        )

    def test_the_dashboard_equals_the_hand_written_sql(self):
        rows = self.assert_matches_reference(self.clinic_ids)
        self.assertGreater(len(rows), 20)
        totals = Counter()
        for row in rows:
            totals.update(
                started=row.courses_started,
                responders=row.responders,
                remitters=row.remitters,
                durable_3m=row.durable_3m_assessed,
                durable_6m=row.durable_6m_assessed,
            )
        # The network exercises every figure, so the comparison means something.
        self.assertTrue(all(totals[k] > 5 for k in totals), totals)
        self.assertTrue(any(row.median_weeks_to_response for row in rows))

    def test_they_agree_with_filters_and_single_clinics(self):
        self.assert_matches_reference(
            self.clinic_ids, date_from=date(2025, 4, 1), date_to=date(2025, 12, 31)
        )
        self.assert_matches_reference(self.clinic_ids[:1])
        self.assert_matches_reference(self.clinic_ids[1:], date_from=date(2026, 1, 1))

    def test_they_agree_with_the_pure_course_outcome(self):
        """Response, remission and assessed, course by course in Python, summed per group."""
        expected = Counter()
        courses = Course.objects.filter(clinic__in=self.clinic_ids).prefetch_related("measures")
        for course in courses:
            totals = [
                (m.observed_at, m.total)
                for m in sorted(
                    course.measures.all(), key=lambda m: (m.observed_at, m.created_at, m.id)
                )
                if m.instrument == "phq9"
            ]
            # The outcome window is the pure function's own rule, as on the patient page.
            outcome = course_outcome(totals, ended_at=course.ended_at)
            key = (course.modality, course.clinic_id, _quarter(course.start_date))
            expected[(*key, "started")] += 1
            expected[(*key, "assessed")] += outcome.measurement_count >= 2
            expected[(*key, "responders")] += outcome.response
            expected[(*key, "remitters")] += outcome.remission
        found = Counter()
        for row in outcome_table(self.clinic_ids):
            key = (row.modality, row.clinic_id, row.quarter)
            found[(*key, "started")] = row.courses_started
            found[(*key, "assessed")] = row.assessed
            found[(*key, "responders")] = row.responders
            found[(*key, "remitters")] = row.remitters
        self.assertEqual(+found, +expected)


def _quarter(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
