"""The outcome figures on small hand-built courses whose answers are known. (The development
tools run these cases again with every row checked against an independent SQL query:
bench/synthetic/tests/test_reference.py.)"""

from datetime import date, timedelta

from trellis.reports.outcomes import (
    BY_CLINIC,
    BY_QUARTER,
    OVERALL,
    OutcomeRow,
    outcome_report,
    outcome_table,
)
from trellis.reports.tests.helpers import T0, make_course, phq9, trajectory
from trellis.testing import TrellisTestCase


class OutcomeFiguresTest(TrellisTestCase):
    def rows(self, clinic_ids, **filters) -> list[OutcomeRow]:
        return outcome_table(clinic_ids, **filters)

    def course(self, **options):
        return make_course(self.patient, self.prescriber, **options)

    def only_row(self, **filters):
        rows = self.rows([self.clinic_a.pk], **filters)
        self.assertEqual(len(rows), 1, rows)
        return rows[0]

    def test_a_fall_from_20_to_10_is_a_response(self):
        trajectory(self.course(), [20, 10])
        row = self.only_row()
        self.assertEqual((row.assessed, row.responders, row.remitters), (1, 1, 0))
        self.assertEqual(row.response_rate, 1.0)

    def test_a_fall_from_20_to_11_is_not(self):
        trajectory(self.course(), [20, 11])
        row = self.only_row()
        self.assertEqual((row.assessed, row.responders), (1, 0))
        self.assertEqual(row.response_rate, 0.0)
        self.assertIsNone(row.median_weeks_to_response)

    def test_a_latest_of_4_is_remission_and_5_is_not(self):
        trajectory(self.course(), [18, 4])
        trajectory(self.course(), [18, 5])
        row = self.only_row()
        self.assertEqual((row.assessed, row.remitters, row.responders), (2, 1, 2))
        self.assertEqual(row.remission_rate, 0.5)

    def test_the_latest_decides_not_the_best(self):
        trajectory(self.course(), [20, 8, 12])  # responded in week 1, lost it by week 2
        row = self.only_row()
        self.assertEqual((row.assessed, row.responders), (1, 0))

    def test_a_single_measurement_is_never_assessed(self):
        trajectory(self.course(), [3])
        row = self.only_row()
        self.assertEqual(
            (row.courses_started, row.assessed, row.responders, row.remitters), (1, 0, 0, 0)
        )
        self.assertIsNone(row.response_rate)
        self.assertIsNone(row.remission_rate)

    def test_a_baseline_of_0_never_responds(self):
        trajectory(self.course(), [0, 0])
        row = self.only_row()
        self.assertEqual((row.assessed, row.responders, row.remitters), (1, 0, 1))

    def test_gad7_and_courseless_questionnaires_do_not_count(self):
        course = self.course()
        trajectory(course, [20, 10])
        phq9(course, 3, T0 + timedelta(days=10), instrument="gad7")
        loose = phq9(course, 27, T0 + timedelta(days=11))
        loose.course = None
        loose.save()
        row = self.only_row()
        self.assertEqual(row.responders, 1)

    def test_median_weeks_to_response(self):
        # Responders at 1, 2 and 4 weeks (and a non-responder): the middle one is 2 weeks.
        for weeks in (1, 2, 4):
            course = self.course()
            phq9(course, 20, T0)
            phq9(course, 10, T0 + timedelta(weeks=weeks))
        trajectory(self.course(), [20, 15])
        row = self.only_row()
        self.assertEqual(row.responders, 3)
        self.assertAlmostEqual(row.median_weeks_to_response, 2.0)

    def test_median_of_an_even_number_is_the_mean_of_the_middle_two(self):
        for days in (7, 14, 21, 35):
            course = self.course()
            phq9(course, 16, T0)
            phq9(course, 12, T0 + timedelta(days=days // 2))  # not yet 50 % below
            phq9(course, 8, T0 + timedelta(days=days))
        row = self.only_row()
        self.assertAlmostEqual(row.median_weeks_to_response, 2.5)

    def test_weeks_to_response_run_to_the_first_fall_of_half(self):
        course = self.course()
        phq9(course, 20, T0)
        phq9(course, 9, T0 + timedelta(days=3, hours=12))  # half a week
        phq9(course, 6, T0 + timedelta(days=14))
        row = self.only_row()
        self.assertAlmostEqual(row.median_weeks_to_response, 0.5)

    def test_questionnaires_after_the_end_of_course_window_judge_durability_only(self):
        ended = T0 + timedelta(days=14)
        course = self.course(ended_at=ended)
        trajectory(course, [20, 12])
        phq9(course, 9, ended + timedelta(days=20))  # still the course's: a response
        phq9(course, 27, ended + timedelta(days=22))  # a follow-up: not the latest
        row = self.only_row()
        self.assertEqual(row.responders, 1)

    def test_an_active_course_counts_every_questionnaire_so_far(self):
        course = self.course(status="active")
        trajectory(course, [20, 14, 12], every_days=30)
        row = self.only_row()
        self.assertEqual((row.assessed, row.responders, row.courses_completed), (1, 0, 0))

    def test_durable_response_uses_the_questionnaire_closest_to_3_months(self):
        ended = T0 + timedelta(days=14)
        course = self.course(ended_at=ended)
        trajectory(course, [20, 8])
        phq9(course, 8, ended + timedelta(days=80))  # 11 days from 91: still responding
        phq9(course, 14, ended + timedelta(days=95))  # 4 days from 91: relapsed, and closest
        row = self.only_row()
        self.assertEqual((row.durable_3m_assessed, row.durable_3m), (1, 0))
        self.assertEqual((row.durable_6m_assessed, row.durable_6m), (0, 0))

    def test_durable_response_at_6_months_and_ties_go_to_the_earlier(self):
        ended = T0 + timedelta(days=14)
        course = self.course(ended_at=ended)
        trajectory(course, [20, 8])
        phq9(course, 10, ended + timedelta(days=177))  # 5 days early: still 50 % below
        phq9(course, 16, ended + timedelta(days=187))  # 5 days late
        row = self.only_row()
        self.assertEqual((row.durable_6m_assessed, row.durable_6m), (1, 1))
        self.assertIsNone(row.durable_3m_rate)
        self.assertEqual(row.durable_6m_rate, 1.0)

    def test_a_questionnaire_outside_the_window_does_not_assess_durability(self):
        ended = T0 + timedelta(days=14)
        course = self.course(ended_at=ended)
        trajectory(course, [20, 8])
        phq9(course, 8, ended + timedelta(days=60))  # 31 days before the 3-month mark
        phq9(course, 8, ended + timedelta(days=130))  # after the 3-month window, before 6
        row = self.only_row()
        self.assertEqual((row.durable_3m_assessed, row.durable_6m_assessed), (0, 0))

    def test_durability_is_only_for_responders(self):
        ended = T0 + timedelta(days=14)
        course = self.course(ended_at=ended)
        trajectory(course, [20, 15])
        phq9(course, 5, ended + timedelta(days=91))
        row = self.only_row()
        self.assertEqual((row.responders, row.durable_3m_assessed), (0, 0))

    def test_courses_group_by_the_quarter_of_their_start_date(self):
        self.course(start=date(2026, 3, 31))
        self.course(start=date(2026, 4, 1), status="stopped")
        self.course(start=date(2026, 4, 2), modality="tms", status="active")
        rows = self.rows([self.clinic_a.pk])
        got = [(r.modality, r.quarter, r.courses_started, r.courses_completed) for r in rows]
        self.assertEqual(
            got,
            [
                ("iv_ketamine", "2026-Q1", 1, 1),
                ("iv_ketamine", "2026-Q2", 1, 0),
                ("tms", "2026-Q2", 1, 0),
            ],
        )

    def test_the_date_range_filters_on_the_start_date(self):
        self.course(start=date(2025, 12, 31))
        self.course(start=date(2026, 1, 1))
        self.course(start=date(2026, 2, 1))
        rows = self.rows([self.clinic_a.pk], date_from=date(2026, 1, 1), date_to=date(2026, 1, 31))
        self.assertEqual([(r.quarter, r.courses_started) for r in rows], [("2026-Q1", 1)])

    def test_other_clinics_courses_stay_out(self):
        trajectory(self.course(), [20, 10])
        trajectory(make_course(self.patient_b, self.prescriber_b), [20, 20])
        row = self.only_row()
        self.assertEqual(
            (row.clinic_id, row.courses_started, row.responders), (self.clinic_a.pk, 1, 1)
        )
        both = self.rows([self.clinic_a.pk, self.clinic_b.pk])
        self.assertEqual([r.clinic_name for r in both], ["Alpha Clinic", "Beta Clinic"])

    def test_no_clinics_no_rows(self):
        self.assertEqual(self.rows([]), [])

    def test_pooled_levels_add_up(self):
        trajectory(self.course(), [20, 10])
        trajectory(self.course(start=date(2026, 5, 4)), [20, 4])
        trajectory(make_course(self.patient_b, self.prescriber_b), [20, 14])
        for week in (2, 3):
            course = make_course(self.patient_b, self.prescriber_b)
            phq9(course, 20, T0)
            phq9(course, 9, T0 + timedelta(weeks=week))
        report = outcome_report([self.clinic_a.pk, self.clinic_b.pk])
        quarters = {
            (r.quarter, r.courses_started, r.responders, r.remitters) for r in report[BY_QUARTER]
        }
        self.assertEqual(quarters, {("2026-Q1", 4, 3, 0), ("2026-Q2", 1, 1, 1)})
        (overall,) = report[OVERALL]
        self.assertEqual((overall.quarter, overall.courses_started, overall.responders), ("", 5, 4))
        # Pooled medians come from the pooled courses (1, 1, 2 and 3 weeks), not from medians.
        self.assertAlmostEqual(overall.median_weeks_to_response, 1.5)
        self.assertEqual(len(report[BY_CLINIC]), 3)
        self.assertIsNone(overall.clinic_id)
