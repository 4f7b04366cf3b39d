"""Check-ins after dosing sessions: planned at signing, sent by the timed job, answered once
through the patient's link; a yes to self-harm or a mood past the threshold raises its alert in
the same transaction and the crisis screen at once, with no worker running."""

from datetime import timedelta
from unittest import mock

from django.utils import timezone

from trellis.aftercare import services
from trellis.aftercare.models import CheckIn, CheckInStatus, JournalEntry
from trellis.aftercare.tests.base import AftercareTestCase
from trellis.audit.models import AuditEvent
from trellis.messaging.jobs import run_clinic_jobs
from trellis.messaging.models import OutboxMessage
from trellis.safety.models import SafetyAlert


def answers(**kw):
    data = {"mood": "6", "sleep": "1", "side_effects": ["nausea"], "harm_thoughts": "no"}
    data.update(kw)
    return data


class CheckInTestCase(AftercareTestCase):
    def send(self):
        """A check-in link sent now by the nurse; returns the token."""
        sent = services.send_check_in(self.nurse_actor, self.patient)
        return sent.url.rstrip("/").rsplit("/", 1)[-1]


class PlanningTests(CheckInTestCase):
    def test_a_signed_dosing_session_plans_check_ins_at_24_and_72_hours(self):
        ended = timezone.now() - timedelta(hours=3)
        session = self.signed_session(ended)
        rows = CheckIn.objects.filter(session=session).order_by("hours_after")
        self.assertEqual([r.hours_after for r in rows], [24, 72])
        self.assertEqual([r.due_at for r in rows], [ended + timedelta(hours=h) for h in (24, 72)])
        self.assertTrue(all(r.status == CheckInStatus.PLANNED for r in rows))
        # Signing told twice plans nothing twice.
        from trellis.aftercare import services

        services.plan_check_ins(self.nurse_actor, session)
        self.assertEqual(CheckIn.objects.filter(session=session).count(), 2)

    def test_the_clinic_sets_the_hours_and_zero_switches_one_off(self):
        self.clinic_a.settings = {"checkin_first_hours": 36, "checkin_second_hours": 0}
        self.clinic_a.save(update_fields=["settings"])
        session = self.signed_session(timezone.now())
        self.assertEqual(
            list(CheckIn.objects.filter(session=session).values_list("hours_after", flat=True)),
            [36],
        )

    def test_a_plan_without_check_ins_plans_none(self):
        services.save_plan(
            self.nurse_actor,
            self.patient,
            services.PlanInput(check_ins=False, journal=True),
        )
        session = self.signed_session(timezone.now())
        self.assertFalse(CheckIn.objects.filter(session=session).exists())

    def test_the_job_sends_due_links_in_the_clinics_daytime_and_marks_stale_ones_missed(self):
        ended = self.local(self.clinic_a.today() - timedelta(days=1), 11)
        self.signed_session(ended)
        first, second = CheckIn.objects.order_by("hours_after")
        # 02:00 the next night: due, but nobody is texted in the night.
        night = self.local(self.clinic_a.today() + timedelta(days=1), 2)
        self.assertEqual(run_clinic_jobs(night).count("check_ins"), 0)
        # 11:30 the day after the session: the 24-hour check-in goes, the 72-hour one waits.
        morning = ended + timedelta(hours=24, minutes=30)
        self.assertEqual(run_clinic_jobs(morning).count("check_ins"), 1)
        first.refresh_from_db()
        second.refresh_from_db()
        self.assertEqual(first.status, CheckInStatus.SENT)
        self.assertEqual(first.expires_at, morning + timedelta(hours=48))
        self.assertEqual(second.status, CheckInStatus.PLANNED)
        message = OutboxMessage.objects.get(purpose="check_in_link")
        self.assertEqual(message.recipient, "ada@example.org")
        self.assertIn("/c/", message.body)
        self.assertIn("988", message.body)
        self.assertNotIn(self.patient.family_name, message.body)
        # Far past its time (the worker was down for days): missed, never sent late.
        late = ended + timedelta(hours=72 + 49)
        late = late.replace(hour=12)
        run_clinic_jobs(late)
        second.refresh_from_db()
        self.assertEqual(second.status, CheckInStatus.MISSED)
        self.assertEqual(OutboxMessage.objects.filter(purpose="check_in_link").count(), 1)

    def test_a_patient_who_cannot_be_reached_is_marked_so(self):
        self.patient.email = ""
        self.patient.save(update_fields=["email"])
        ended = self.local(self.clinic_a.today() - timedelta(days=1), 11)
        self.signed_session(ended)
        run_clinic_jobs(ended + timedelta(hours=25))
        self.assertEqual(CheckIn.objects.get(hours_after=24).status, CheckInStatus.UNREACHABLE)


class AnsweringTests(CheckInTestCase):
    def test_a_calm_check_in_is_saved_with_no_alert(self):
        token = self.send()
        page = self.client.get(f"/c/{token}/")
        self.assertContains(page, "How are you since your treatment?")
        self.assertContains(page, "thoughts of harming yourself")
        self.assertNotContains(page, self.patient.family_name)
        self.assertEqual(page["Cache-Control"], "no-store, private")
        response = self.client.post(f"/c/{token}/", answers())
        self.assertContains(response, "Thank you")
        self.assertNotContains(response, "Please reach out now")
        row = CheckIn.objects.get()
        self.assertEqual((row.mood, row.sleep, row.harm_thoughts), (6, 1, False))
        self.assertEqual(row.side_effects, ["nausea"])
        self.assertEqual(row.status, CheckInStatus.ANSWERED)
        self.assertFalse(SafetyAlert.objects.exists())
        # Once only.
        self.assertEqual(self.client.get(f"/c/{token}/").status_code, 410)
        self.assertEqual(self.client.post(f"/c/{token}/", answers()).status_code, 410)

    def test_a_yes_to_self_harm_raises_an_urgent_alert_and_shows_the_crisis_screen(self):
        token = self.send()
        # No outbox worker runs in this test: nothing but the request itself.
        with mock.patch("trellis.messaging.jobs.run_clinic_jobs") as worker:
            response = self.client.post(f"/c/{token}/", answers(harm_thoughts="yes", mood="7"))
        worker.assert_not_called()
        self.assertContains(response, "Please reach out now")
        self.assertContains(response, 'href="tel:988"')
        self.assertContains(response, 'href="sms:988"')
        self.assertContains(response, 'href="tel:911"')
        self.assertContains(response, "thoughts of harming yourself")
        alert = SafetyAlert.objects.get()
        row = CheckIn.objects.get()
        self.assertEqual((alert.kind, alert.severity), ("check_in_harm", "urgent"))
        self.assertEqual((alert.source_type, alert.source_id), ("aftercare.checkin", str(row.pk)))
        self.assertEqual(alert.patient, self.patient)
        self.assertEqual(row.findings, ["harm_thoughts"])
        # On the care team's pages at once.
        self.sign_in(self.nurse)
        page = self.client.get(f"/patients/{self.patient.id}/")
        self.assertContains(page, "Check-in: thoughts of harming oneself")
        alert_page = self.client.get(f"/alerts/{alert.id}/")
        self.assertContains(alert_page, "Check-in of")

    def test_a_fall_in_mood_past_the_threshold_raises_an_alert(self):
        self.client.post(f"/c/{self.send()}/", answers(mood="8"))
        response = self.client.post(f"/c/{self.send()}/", answers(mood="5"))
        self.assertContains(response, "Please reach out now")
        self.assertNotContains(response, "You told us you have had thoughts of harming")
        alert = SafetyAlert.objects.get()
        self.assertEqual((alert.kind, alert.severity), ("check_in_worsening", "high"))
        self.assertIn("mood 5 of 10", alert.summary)

    def test_a_small_fall_raises_nothing(self):
        self.client.post(f"/c/{self.send()}/", answers(mood="8"))
        self.client.post(f"/c/{self.send()}/", answers(mood="6"))
        self.assertFalse(SafetyAlert.objects.exists())

    def test_the_check_in_and_its_alert_are_saved_together_or_not_at_all(self):
        token = self.send()
        with (
            mock.patch(
                "trellis.aftercare.services.raise_alert", side_effect=RuntimeError("disk full")
            ),
            self.assertRaises(RuntimeError),
        ):
            services.submit_check_in(token, mood=7, sleep=0, side_effects=[], harm_thoughts=True)
        row = CheckIn.objects.get()
        self.assertIsNone(row.answered_at)
        self.assertIsNone(row.harm_thoughts)
        self.assertFalse(SafetyAlert.objects.exists())
        # The link still works.
        self.assertEqual(self.client.get(f"/c/{token}/").status_code, 200)

    def test_an_unanswered_harm_question_is_asked_again_and_nothing_is_saved(self):
        token = self.send()
        data = answers()
        del data["harm_thoughts"]
        response = self.client.post(f"/c/{token}/", data)
        self.assertContains(response, "Please answer this question: yes or no.")
        self.assertIsNone(CheckIn.objects.get().answered_at)

    def test_a_journal_note_comes_with_the_check_in_private_or_shared(self):
        self.client.post(f"/c/{self.send()}/", answers(journal="Walked by the lake. Felt lighter."))
        entry = JournalEntry.objects.get()
        self.assertFalse(entry.shared)
        response = self.client.post(
            f"/c/{self.send()}/",
            answers(journal="I just want to die some days", share_journal="on"),
        )
        # The net's alert shows the crisis screen at once, as a yes to the question does.
        self.assertContains(response, "Please reach out now")
        self.assertContains(response, 'href="tel:988"')
        shared = JournalEntry.objects.get(shared=True)
        self.assertTrue(shared.crisis_language)
        alert = SafetyAlert.objects.get()
        self.assertEqual(alert.kind, "journal_crisis_language")
        self.assertNotIn("die", alert.summary)
        self.sign_in(self.nurse)
        self.assertContains(self.client.get(f"/alerts/{alert.id}/"), "Shared journal entry of")
        # The words are in no audit event.
        for event in AuditEvent.objects.all():
            self.assertNotIn("lake", str(event.detail))
            self.assertNotIn("want to die", str(event.detail))

    def test_a_forged_or_expired_link_shows_nothing(self):
        self.assertEqual(self.client.get("/c/abc.def/").status_code, 404)
        token = self.send()
        CheckIn.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
        response = self.client.get(f"/c/{token}/")
        self.assertEqual(response.status_code, 410)
        self.assertContains(response, "expired", status_code=410)
        self.assertContains(response, "988", status_code=410)


class SendingTests(CheckInTestCase):
    def test_the_care_team_sends_a_check_in_from_the_patient_page(self):
        self.sign_in(self.nurse)
        response = self.client.post(f"/aftercare/patients/{self.patient.id}/check-ins/send/")
        self.assertRedirects(
            response, f"/patients/{self.patient.id}/#aftercare", fetch_redirect_response=False
        )
        row = CheckIn.objects.get()
        self.assertEqual(row.status, CheckInStatus.SENT)
        self.assertEqual(row.created_by, self.nurse)
        self.assertIsNone(row.session)

    def test_front_desk_may_not_and_another_clinic_gets_404(self):
        self.sign_in(self.front_desk)
        url = f"/aftercare/patients/{self.patient.id}/check-ins/send/"
        self.assertEqual(self.client.post(url).status_code, 403)
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.post(url).status_code, 404)
        self.assertFalse(CheckIn.objects.exists())
