"""Follow-up questionnaires not returned in the clinic's time escalate to the care team: a
timed job of the outbox worker, run here with a faked clock."""

from datetime import timedelta

from trellis.aftercare.models import FollowUpEscalation
from trellis.aftercare.tests.base import AftercareTestCase
from trellis.measures import services as measures
from trellis.measures.models import ScheduledMeasure
from trellis.messaging.jobs import run_clinic_jobs
from trellis.safety.models import SafetyAlert


class EscalationTests(AftercareTestCase):
    def setUp(self):
        self.due_on = self.clinic_a.today() - timedelta(days=40)
        for code in ("phq9", "gad7"):
            ScheduledMeasure.objects.create(
                clinic=self.clinic_a,
                patient=self.patient,
                course=self.course,
                key="follow-up-1",
                occasion="follow_up",
                label="1-month follow-up",
                instrument=code,
                opens_on=self.due_on - timedelta(days=7),
                due_on=self.due_on,
                closes_on=self.due_on + timedelta(days=28),
            )

    def at(self, days_after_due: int, hour: int = 10):
        return self.local(self.due_on + timedelta(days=days_after_due), hour)

    def test_it_escalates_once_after_the_clinics_time(self):
        self.assertEqual(run_clinic_jobs(self.at(13)).count("follow_up_escalations"), 0)
        self.assertFalse(SafetyAlert.objects.exists())
        self.assertEqual(run_clinic_jobs(self.at(14)).count("follow_up_escalations"), 1)
        alert = SafetyAlert.objects.get()
        self.assertEqual((alert.kind, alert.severity), ("follow_up_unreturned", "elevated"))
        self.assertEqual(alert.patient, self.patient)
        self.assertIn("1-month follow-up (PHQ-9, GAD-7)", alert.summary)
        self.assertIn("not returned after 14 days", alert.summary)
        escalation = FollowUpEscalation.objects.get()
        self.assertEqual(alert.source_id, str(escalation.pk))
        self.assertEqual(escalation.instruments, ["phq9", "gad7"])
        # The next passes, and the next day's, raise nothing more.
        run_clinic_jobs(self.at(14, 11))
        run_clinic_jobs(self.at(20))
        self.assertEqual(SafetyAlert.objects.count(), 1)

    def test_the_clinic_sets_the_time(self):
        self.clinic_a.settings = {"follow_up_escalation_days": 21}
        self.clinic_a.save(update_fields=["settings"])
        run_clinic_jobs(self.at(20))
        self.assertFalse(SafetyAlert.objects.exists())
        run_clinic_jobs(self.at(21))
        self.assertEqual(SafetyAlert.objects.count(), 1)

    def test_a_returned_follow_up_is_not_escalated(self):
        nurse = self.nurse_actor
        day = self.local(self.due_on + timedelta(days=3), 9)
        for code, answers in (("phq9", [1] * 8 + [0]), ("gad7", [1] * 7)):
            measures.record_measure(nurse, self.patient, code, answers, observed_at=day, now=day)
        self.assertFalse(
            ScheduledMeasure.objects.filter(key="follow-up-1", measure__isnull=True).exists()
        )
        run_clinic_jobs(self.at(30))
        self.assertFalse(SafetyAlert.objects.exists())

    def test_long_past_follow_ups_are_left_alone(self):
        run_clinic_jobs(self.at(14 + 61))
        self.assertFalse(SafetyAlert.objects.exists())

    def test_the_alert_page_names_the_follow_up(self):
        run_clinic_jobs(self.at(15))
        alert = SafetyAlert.objects.get()
        self.sign_in(self.nurse)
        page = self.client.get(f"/alerts/{alert.id}/")
        self.assertContains(page, "1-month follow-up due")

    def test_escalated_moments_never_hold_back_new_ones(self):
        from trellis.aftercare import services

        run_clinic_jobs(self.at(14))
        later = self.due_on + timedelta(days=1)
        ScheduledMeasure.objects.create(
            clinic=self.clinic_a,
            patient=self.other_patient,
            course=self.course,
            key="follow-up-1b",
            occasion="follow_up",
            label="1-month follow-up",
            instrument="phq9",
            opens_on=later - timedelta(days=7),
            due_on=later,
            closes_on=later + timedelta(days=28),
        )
        # A batch of one: the moment escalated already is not what fills it.
        escalated = services.escalate_unreturned_follow_ups(now=self.at(16), limit=1)
        self.assertEqual(escalated, 1)
        self.assertEqual(SafetyAlert.objects.count(), 2)
