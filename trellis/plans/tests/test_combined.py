"""Combined plans: two courses, one calendar that never clashes, the sequencing rule, one outcome
beside each course's."""

import itertools
from datetime import timedelta

from django.http import Http404

from trellis.lib.errors import Conflict, InputError
from trellis.measures import outcomes
from trellis.measures.services import course_outcome
from trellis.plans import sequencing, services
from trellis.plans.tests.base import PlansTestCase
from trellis.scheduling.models import Appointment
from trellis.testing import actor_for
from trellis.treatments.models import SessionStatus


class CombinedPlanTests(PlansTestCase):
    def plan(self, dose="ketamine-iv-induction", tms="tms-10hz", rule=None):
        dose_course = self.start(dose)
        tms_course = self.start(tms)
        return services.create_plan(
            self.nursing, self.patient, tms_course=tms_course, dose_course=dose_course, rule=rule
        )

    def days(self, course):
        return set(course.sessions.values_list("planned_date", flat=True))

    def test_the_clinic_default_is_separate_days_and_tms_moves_off_dose_days(self):
        plan = self.plan()
        self.assertEqual(plan.sequencing, sequencing.SEPARATE_DAYS)
        # Daily TMS and IV ketamine three a week began on the same Monday: moved apart.
        self.assertTrue(plan.moved)
        self.assertFalse(self.days(plan.tms_course) & self.days(plan.dose_course))
        dates = list(
            plan.tms_course.sessions.order_by("number").values_list("planned_date", flat=True)
        )
        self.assertEqual(dates, sorted(dates))
        self.assertEqual(plan.tms_course.sessions.count(), 36)  # none lost

    def test_the_clinic_setting_chooses_the_same_day_rule(self):
        self.set_clinic(plan_sequencing=2)
        plan = self.plan()
        self.assertEqual(plan.sequencing, sequencing.SAME_DAY_AFTER_DISCHARGE)
        self.assertEqual(plan.moved, [])
        self.assertTrue(self.days(plan.tms_course) & self.days(plan.dose_course))

    def test_same_day_tms_is_proposed_after_the_infusion_is_discharged(self):
        plan = self.plan(rule=sequencing.SAME_DAY_AFTER_DISCHARGE)
        proposal = services.propose_plan(plan)
        self.assertEqual(proposal.problems, {})
        doses = {p.session.planned_date: p for p in proposal.dose}
        shared = [p for p in proposal.tms if p.session.planned_date in doses]
        self.assertTrue(shared)
        for tms in shared:
            dose = doses[tms.session.planned_date]
            self.assertGreaterEqual(tms.start, dose.start + timedelta(minutes=dose.minutes))

    def test_same_day_tms_waits_two_hours_after_esketamine_even_if_booked_shorter(self):
        self.set_clinic(appointment_minutes_esketamine=130)
        plan = self.plan(dose="esketamine-trd", rule=sequencing.SAME_DAY_AFTER_DISCHARGE)
        proposal = services.propose_plan(plan)
        doses = {p.session.planned_date: p for p in proposal.dose}
        for tms in proposal.tms:
            dose = doses.get(tms.session.planned_date)
            if dose is not None:
                self.assertGreaterEqual(tms.start, dose.start + timedelta(hours=2))

    def book_and_check(self, rule):
        plan = self.plan(rule=rule)
        booked, unbooked = services.book_plan(actor_for(self.front_desk, self.clinic_a), plan)
        self.assertEqual(unbooked, {})
        self.assertEqual(len(booked), 6 + 36)
        dose, tms = services.booked_slots(plan)
        self.assertEqual(sequencing.problems(rule, dose, tms, esketamine=False), {})
        spans = sorted((a.start, a.end) for a in booked)
        for (_, end), (start, _) in itertools.pairwise(spans):
            self.assertLessEqual(end, start)
        self.assertFalse(plan.tms_course.sessions.filter(status=SessionStatus.PLANNED).exists())
        return dose, tms

    def test_booking_a_separate_days_plan_books_both_courses_on_different_days(self):
        dose, tms = self.book_and_check(sequencing.SEPARATE_DAYS)
        self.assertFalse({s.day for s in dose} & {s.day for s in tms})

    def test_booking_a_same_day_plan_books_tms_after_each_discharge(self):
        dose, tms = self.book_and_check(sequencing.SAME_DAY_AFTER_DISCHARGE)
        ends = {s.day: s.end for s in dose}
        shared = [s for s in tms if s.day in ends]
        self.assertTrue(shared)
        self.assertTrue(all(s.start >= ends[s.day] for s in shared))

    def test_a_tms_appointment_on_a_dose_day_is_named_under_separate_days(self):
        plan = self.plan()
        services.book_plan(actor_for(self.front_desk, self.clinic_a), plan)
        tms = Appointment.objects.filter(session__course=plan.tms_course).order_by("start").first()
        dose_day = plan.dose_course.sessions.order_by("number").first().planned_date
        # Someone moved a TMS appointment onto the first infusion's day, in the evening.
        tms.start = tms.start.replace(year=dose_day.year, month=dose_day.month, day=dose_day.day)
        tms.start = tms.start.replace(hour=22)
        tms.end = tms.start + timedelta(minutes=40)
        tms.day = dose_day
        tms.save()
        proposal = services.propose_plan(plan)
        label = f"TMS session {tms.session.number}"
        self.assertIn("separate days", proposal.problems[label])

    def test_wrong_courses_are_named(self):
        ketamine = self.start("ketamine-iv-induction")
        tms = self.start("tms-10hz")
        with self.assertRaises(InputError) as caught:
            services.create_plan(self.nursing, self.patient, tms_course=ketamine, dose_course=tms)
        self.assertEqual(caught.exception.field, "tms_course")
        other = self.start("tms-itbs", patient=self.other_patient)
        with self.assertRaises(InputError) as caught:
            services.create_plan(self.nursing, self.patient, tms_course=other, dose_course=ketamine)
        self.assertEqual(caught.exception.field, "tms_course")
        services.create_plan(self.nursing, self.patient, tms_course=tms, dose_course=ketamine)
        with self.assertRaises(Conflict) as taken:
            services.create_plan(self.nursing, self.patient, tms_course=tms, dose_course=ketamine)
        self.assertEqual(taken.exception.code, "course_in_plan")

    def test_another_clinics_patient_is_not_found(self):
        with self.assertRaises(Http404):
            services.start_plan(
                actor_for(self.prescriber_b, self.clinic_b),
                self.patient,
                tms_protocol="tms-10hz",
                dose_protocol="ketamine-iv-induction",
                start_date=self.monday,
            )

    def test_start_plan_is_all_or_nothing(self):
        self.screen()
        with self.assertRaises(InputError) as caught:
            services.start_plan(
                self.nursing,
                self.patient,
                tms_protocol="tms-10hz",
                dose_protocol="esketamine-trd",
                start_date=self.monday,
            )
        self.assertEqual(caught.exception.field, "concomitant_antidepressant")
        self.assertFalse(self.patient.courses.exists())

    def test_one_outcome_for_the_plan_beside_each_course(self):
        plan = self.plan()
        # The dose course's PHQ-9s: 20 then 14; the TMS course's later: 12 then 8.
        self.phq9(20, self.days_ago(20), plan.dose_course)
        self.phq9(14, self.days_ago(10), plan.dose_course)
        self.phq9(12, self.days_ago(9), plan.tms_course)
        self.phq9(8, self.days_ago(2), plan.tms_course)
        whole = services.plan_outcome(plan)
        self.assertEqual((whole.baseline, whole.latest, whole.change_pct), (20, 8, 60.0))
        self.assertTrue(whole.response)
        self.assertEqual(whole.response, outcomes.course_outcome([20, 14, 12, 8]).response)
        # Each course's own outcome, by the same definition, stays beside it.
        self.assertFalse(course_outcome(plan.dose_course).response)  # 20 → 14
        self.assertFalse(course_outcome(plan.tms_course).response)  # 12 → 8
