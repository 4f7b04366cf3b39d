"""Each course's stored outcome facts follow every change to what they are computed from, in
the same transaction, and equal the facts computed afresh; ``rebuild`` and
``rebuild_outcomes`` put them right after a load that wrote around the models."""

import io
from datetime import date, timedelta

from django.core.management import CommandError, call_command
from django.db import transaction

from trellis.measures.models import Measure
from trellis.reports import outcomes
from trellis.reports.models import CourseOutcome
from trellis.reports.tests.helpers import T0, make_course, phq9, trajectory
from trellis.testing import TrellisTestCase


class StoredFactsTests(TrellisTestCase):
    def course(self, **options):
        return make_course(self.patient, self.prescriber, **options)

    def figures(self, **filters):
        """The dashboard's figures from the stored facts, after checking they equal the ones
        computed from the questionnaires now."""
        stored = outcomes.outcome_report([self.clinic_a.pk], **filters)
        self.assertEqual(stored, outcomes.outcome_report([self.clinic_a.pk], live=True, **filters))
        (row,) = stored[outcomes.OVERALL]
        return (row.courses_started, row.courses_completed, row.assessed, row.responders)

    def test_every_change_is_followed(self):
        course = self.course(status="active")
        self.assertTrue(CourseOutcome.objects.filter(course=course).exists())
        # (what changes, the figures after it: started, completed, assessed, responders)
        baseline, *_ = trajectory(course, [20, 12])
        self.assertEqual(self.figures(), (1, 0, 1, 0))
        latest = phq9(course, 9, T0 + timedelta(days=14))
        self.assertEqual(self.figures(), (1, 0, 1, 1))
        course.status, course.ended_at = "completed", T0 + timedelta(days=15)
        course.save(update_fields=["status", "ended_at"])
        self.assertEqual(self.figures(), (1, 1, 1, 1))
        # A total corrected, a questionnaire moved to no course, another deleted.
        latest.total = 15
        latest.save(update_fields=["total"])
        self.assertEqual(self.figures(), (1, 1, 1, 0))
        latest.course = None
        latest.save(update_fields=["course"])
        self.assertEqual(self.figures(), (1, 1, 1, 0))
        baseline.delete()
        self.assertEqual(self.figures(), (1, 1, 0, 0))
        # A PHQ-9 answered long after the course ended is outside its outcome window.
        phq9(course, 2, course.ended_at + timedelta(days=40))
        self.assertEqual(self.figures(), (1, 1, 0, 0))
        # The course's start moves to another quarter.
        course.start_date = date(2026, 4, 6)
        course.save(update_fields=["start_date"])
        self.assertEqual(self.figures(date_from=date(2026, 4, 1))[0], 1)
        self.assertEqual(CourseOutcome.objects.get(course=course).quarter, "2026-Q2")

    def test_a_questionnaire_moved_between_courses_changes_both(self):
        first, second = self.course(), self.course(start=date(2026, 1, 12))
        trajectory(first, [20, 8])
        moved = phq9(first, 6, T0 + timedelta(days=10))
        self.assertEqual(self.figures(), (2, 2, 1, 1))
        moved.course = second
        moved.save()
        self.assertEqual(CourseOutcome.objects.get(course=second).measured, 1)
        self.assertEqual(CourseOutcome.objects.get(course=first).measured, 2)
        self.assertEqual(self.figures(), (2, 2, 1, 1))

    def test_a_change_rolled_back_leaves_the_stored_facts_as_they_were(self):
        course = self.course()
        trajectory(course, [20, 15])
        with self.assertRaises(RuntimeError), transaction.atomic():
            phq9(course, 4, T0 + timedelta(days=14))
            self.assertEqual(CourseOutcome.objects.get(course=course).latest, 4)
            raise RuntimeError("the recording failed after the questionnaire was saved")
        self.assertEqual(CourseOutcome.objects.get(course=course).latest, 15)

    def test_rebuild_puts_right_what_a_bulk_load_wrote_around(self):
        course = self.course()
        first = trajectory(course, [20])[0]
        # A bulk load writes rows without saving models one by one.
        Measure.objects.bulk_create(
            [
                Measure(
                    clinic=course.clinic,
                    patient=course.patient,
                    course=course,
                    instrument="phq9",
                    answers=first.answers,
                    total=6,
                    severity="mild",
                    suicide_item=0,
                    observed_at=T0 + timedelta(days=7),
                    entered_via="staff",
                )
            ]
        )
        with self.assertRaises(CommandError):
            call_command("rebuild_outcomes", "--check", stdout=io.StringIO())
        out = io.StringIO()
        call_command("rebuild_outcomes", stdout=out)
        self.assertIn("Outcome facts computed for 1 course.", out.getvalue())
        self.assertEqual(self.figures(), (1, 1, 1, 1))
        out = io.StringIO()
        call_command("rebuild_outcomes", "--check", stdout=out)
        self.assertIn("match", out.getvalue())
