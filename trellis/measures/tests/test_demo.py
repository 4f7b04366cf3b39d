"""The demo trajectories the demo network loader asks for."""

import random
from datetime import timedelta

from django.utils import timezone

from trellis.measures import services
from trellis.measures.demo import add_demo_measures
from trellis.measures.models import Measure
from trellis.measures.tests.helpers import MeasuresTestCase
from trellis.safety.models import SafetyAlert
from trellis.treatments.models import Session


class DemoMeasuresTests(MeasuresTestCase):
    def finished_course(self, patient, protocol="ketamine-iv-induction", weeks_ago=5):
        """A course whose sessions lie in the past, as the demo's do."""
        course = self.start_course(patient=patient, protocol=protocol)
        shift = timedelta(weeks=weeks_ago + 2)
        for session in Session.objects.filter(course=course):
            session.planned_date -= shift
            session.save(update_fields=["planned_date"])
        services.schedule_course(course)
        return course

    def outcome(self, pattern, protocol="ketamine-iv-induction", seed=1):
        patient = self.patient if pattern != "non_responding" else self.other_patient
        course = self.finished_course(patient, protocol)
        measures = add_demo_measures(
            self.prescriber_actor, course, random.Random(seed), pattern=pattern
        )
        self.assertTrue(measures)
        return course, services.course_outcome(course)

    def test_a_responding_course_responds_without_remitting(self):
        _, outcome = self.outcome("responding")
        self.assertTrue(outcome.response, outcome)
        self.assertFalse(outcome.remission, outcome)
        self.assertGreaterEqual(outcome.baseline, 15)

    def test_a_remitting_tms_course_remits(self):
        _, outcome = self.outcome("remitting", protocol="tms-10hz")
        self.assertTrue(outcome.remission and outcome.response, outcome)

    def test_a_non_responding_course_does_not_respond(self):
        _, outcome = self.outcome("non_responding")
        self.assertFalse(outcome.response, outcome)
        self.assertGreater(outcome.measurement_count, 3)

    def test_the_item_nine_pattern_leaves_exactly_one_open_alert_raised_minutes_ago(self):
        course = self.finished_course(self.patient)
        add_demo_measures(self.prescriber_actor, course, random.Random(7), pattern="item9_alert")
        alert = SafetyAlert.objects.get(status="open")
        self.assertEqual(alert.kind, "suicide_item")
        self.assertLess(timezone.now() - alert.created_at, timedelta(hours=1))

    def test_older_baseline_alerts_are_acknowledged_and_the_loader_is_idempotent(self):
        course = self.finished_course(self.patient)
        rng = random.Random(3)
        first = add_demo_measures(self.prescriber_actor, course, rng, pattern="responding")
        self.assertFalse(SafetyAlert.objects.filter(status="open").exists())
        self.assertEqual(add_demo_measures(self.prescriber_actor, course, rng), [])
        self.assertEqual(Measure.objects.filter(course=course).count(), len(first))
        self.assertEqual({m.entered_via for m in first}, {"staff", "patient_link"})
