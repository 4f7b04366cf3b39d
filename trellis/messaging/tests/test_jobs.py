"""The worker's timed jobs are registered by the apps that own them and run escalation first;
one job's failure never holds up the next."""

from unittest import mock

from django.test import SimpleTestCase

from trellis.messaging import jobs


class ClinicJobsTests(SimpleTestCase):
    def test_escalation_runs_first_then_reminders_then_schedules(self):
        self.assertEqual(
            [job.name for job in jobs.registered()],
            [
                "escalated",
                "reminders",
                "unwitnessed_waste",
                "appointment_reminders",
                "check_ins",
                "scheduled",
                "portal_questionnaire_notices",
                "follow_up_escalations",
                "portal_sign_in_failures",
                "fhir_export",
                "fhir_export_expiry",
                "research_export",
            ],
        )

    def test_a_failing_job_is_logged_and_the_others_still_run(self):
        def broken(now):
            raise RuntimeError("boom")

        with (
            mock.patch.dict(jobs._JOBS, clear=True),
            self.assertLogs("trellis.messaging.jobs", "ERROR"),
        ):
            jobs.register("first", broken, lambda n: f"first {n}", order=1)
            jobs.register("second", lambda now: 2, lambda n: f"did {n} things", order=2)
            counts = jobs.run_clinic_jobs()
            self.assertEqual(str(counts), "did 2 things")
        self.assertEqual((counts.count("first"), counts.count("second")), (0, 2))
