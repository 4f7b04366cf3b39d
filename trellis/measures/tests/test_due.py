"""Schedules per course, the clinic's due-and-overdue list, and reminders through the outbox."""

from datetime import datetime, time, timedelta
from unittest import mock, skipUnless

from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from trellis.audit.models import Action, AuditEvent
from trellis.lib.errors import InputError
from trellis.measures import services
from trellis.measures.models import Measure, QuestionnaireLink, ScheduledMeasure
from trellis.measures.tests.helpers import GAD7_MILD, PHQ9_CLEAN, MeasuresTestCase, form_data
from trellis.messaging.models import Channel, OutboxMessage
from trellis.patients.models import Patient
from trellis.testing import actor_for, make_patient
from trellis.treatments.models import Course, Session, SessionStatus


def local(clinic, day, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=clinic.tzinfo)


class ScheduleCourseTests(MeasuresTestCase):
    def test_a_ketamine_course_gets_its_questionnaires(self):
        course = self.start_course()
        rows = list(ScheduledMeasure.objects.filter(course=course))
        self.assertEqual(len(rows), 15)
        first = Session.objects.get(course=course, number=1).planned_date
        baseline = next(r for r in rows if r.key == "baseline" and r.instrument == "phq9")
        self.assertEqual(
            (baseline.due_on, baseline.patient, baseline.clinic),
            (first, self.patient, self.clinic_a),
        )
        self.assertEqual(
            {r.key for r in rows if r.occasion == "before_session"},
            {f"session-{n}" for n in range(2, 7)},
        )

    def test_follow_ups_follow_the_clinic_settings(self):
        self.clinic_a.settings = {"measure_follow_up_2_months": 0, "measure_follow_up_3_months": 12}
        self.clinic_a.save(update_fields=["settings"])
        course = self.start_course(protocol="tms-10hz")
        keys = set(
            ScheduledMeasure.objects.filter(course=course, occasion="follow_up").values_list(
                "key", flat=True
            )
        )
        self.assertEqual(keys, {"follow-up-1m", "follow-up-12m"})
        weekly = ScheduledMeasure.objects.filter(course=course, occasion="weekly").count()
        self.assertGreaterEqual(weekly, 6)

    def test_re_planning_moves_open_items_keeps_answered_ones_and_drops_cancelled_sessions(self):
        course = self.start_course()
        first = Session.objects.get(course=course, number=1).planned_date
        baseline = ScheduledMeasure.objects.get(course=course, key="baseline", instrument="phq9")
        measure = services.record_measure(
            self.nurse_actor,
            self.patient,
            "phq9",
            PHQ9_CLEAN,
            course=course,
            observed_at=local(self.clinic_a, first - timedelta(days=1), 10),
            now=local(self.clinic_a, first - timedelta(days=1), 10),
        )
        baseline.refresh_from_db()
        self.assertEqual(baseline.measure, measure)
        # Sessions move a week later and session 6 is cancelled.
        for session in Session.objects.filter(course=course):
            session.planned_date += timedelta(days=7)
            session.save(update_fields=["planned_date"])
        Session.objects.filter(course=course, number=6).update(status=SessionStatus.CANCELLED)
        self.assertEqual(services.schedule_course(course), 14)
        baseline.refresh_from_db()
        self.assertEqual((baseline.due_on, baseline.measure), (first, measure))  # answered: kept
        session_2 = Session.objects.get(course=course, number=2).planned_date
        self.assertEqual(
            ScheduledMeasure.objects.get(course=course, key="session-2").due_on, session_2
        )
        self.assertFalse(ScheduledMeasure.objects.filter(course=course, key="session-6").exists())
        self.assertEqual(services.schedule_course(course), 14)  # idempotent
        self.assertEqual(ScheduledMeasure.objects.filter(course=course).count(), 14)

    def test_a_phq9_of_no_course_answering_a_scheduled_one_joins_its_course(self):
        course = self.start_course()
        first = Session.objects.get(course=course, number=1).planned_date
        measure = services.record_measure(
            self.nurse_actor,
            self.patient,
            "gad7",
            GAD7_MILD,
            observed_at=local(self.clinic_a, first - timedelta(days=3), 10),
            now=local(self.clinic_a, first - timedelta(days=3), 10),
        )
        measure.refresh_from_db()
        self.assertEqual(measure.course, course)
        self.assertEqual(ScheduledMeasure.objects.get(measure=measure).key, "baseline")

    def test_an_answer_fills_one_slot_only(self):
        course = self.start_course()
        first = Session.objects.get(course=course, number=1).planned_date
        measure = services.record_measure(
            self.nurse_actor,
            self.patient,
            "gad7",
            GAD7_MILD,
            observed_at=local(self.clinic_a, first - timedelta(days=3), 10),
            now=local(self.clinic_a, first - timedelta(days=3), 10),
        )
        other = ScheduledMeasure.objects.filter(course=course, measure__isnull=True).first()
        with self.assertRaises(IntegrityError), transaction.atomic():
            ScheduledMeasure.objects.filter(pk=other.pk).update(measure=measure)
        # many open slots have none: the uniqueness holds only where an answer is set
        self.assertGreater(ScheduledMeasure.objects.filter(measure__isnull=True).count(), 1)

    @skipUnless(connection.vendor == "sqlite", "SQLite's planner")
    def test_open_slots_are_found_through_the_patient_index(self):
        query = ScheduledMeasure.objects.filter(
            patient=self.patient,
            instrument="phq9",
            measure__isnull=True,
            opens_on__lte="2026-01-01",
            closes_on__gte="2026-01-01",
        )
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        self.assertIn("(patient_id=? AND instrument=?", plan)

    def test_the_worker_plans_active_courses_that_have_no_schedule(self):
        course = self.start_course()
        ScheduledMeasure.objects.filter(course=course).delete()
        self.assertEqual(services.schedule_unscheduled_courses(), 1)
        self.assertEqual(ScheduledMeasure.objects.filter(course=course).count(), 15)
        self.assertEqual(services.schedule_unscheduled_courses(), 0)

    def test_the_worker_audits_each_schedule_it_plans(self):
        course = self.start_course()
        ScheduledMeasure.objects.filter(course=course).delete()
        services.schedule_unscheduled_courses()
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual(
            (event.action, event.object_id, event.username, event.patient, event.clinic),
            (Action.UPDATE, str(course.pk), "(system)", self.patient, self.clinic_a),
        )
        self.assertEqual(event.detail, {"scheduled_measures": 15})


class DueListTests(MeasuresTestCase):
    def make_due(self, patient, days_overdue: int = 0):
        """A course whose baseline PHQ-9 and GAD-7 are due today (or overdue by some days)."""
        course = self.start_course(patient=patient)
        today = timezone.localdate(timezone=self.clinic_a.tzinfo)
        ScheduledMeasure.objects.filter(course=course, key="baseline").update(
            opens_on=today - timedelta(days=days_overdue + 3),
            due_on=today - timedelta(days=days_overdue),
            closes_on=today + timedelta(days=5),
        )
        return course

    def test_the_list_shows_due_and_overdue_questionnaires_of_the_clinic_only(self):
        self.make_due(self.patient)
        self.make_due(self.other_patient, days_overdue=2)
        services.schedule_course(self.other_course_b())
        self.sign_in(self.nurse)
        response = self.client.get("/measures/due/")
        self.assertEqual(response.status_code, 200)
        items = response.context["items"]  # one line per occasion: PHQ-9 and GAD-7 together
        self.assertEqual([i.status for i in items], ["overdue", "due"])
        self.assertEqual([len(i.items) for i in items], [2, 2])
        self.assertEqual(response.context["overdue"], 1)
        self.assertContains(response, "PHQ-9 and GAD-7")
        self.assertContains(response, "Hopper")
        self.assertNotContains(response, "Turing")
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual(
            (event.action, event.object_type), (Action.QUERY, "measures.scheduledmeasure")
        )

    def other_course_b(self):
        """A course at clinic B, to prove clinic A's list never shows it."""
        from trellis.patients.services import create_screening, sign_screening
        from trellis.patients.tests.test_api import SAFE_ANSWERS, TRD_TRIALS
        from trellis.treatments.services import start_course

        actor = actor_for(self.prescriber_b, self.clinic_b)
        screening = create_screening(actor, self.patient_b, SAFE_ANSWERS, TRD_TRIALS)
        sign_screening(actor, screening)
        course = start_course(actor, self.patient_b, "tms-10hz", self.clinic_b.today())
        ScheduledMeasure.objects.filter(course=course).update(opens_on=self.clinic_b.today())
        return course

    def test_answered_upcoming_and_missed_ones_are_not_listed(self):
        course = self.make_due(self.patient)
        services.record_measure(self.nurse_actor, self.patient, "phq9", PHQ9_CLEAN, course=course)
        rows = services.due_and_overdue(self.nurse_actor)
        self.assertEqual([(r.key, r.instrument) for r in rows], [("baseline", "gad7")])

    def test_the_list_takes_the_same_queries_for_one_patient_or_many(self):
        self.make_due(self.patient)
        self.sign_in(self.nurse)
        self.client.get("/measures/due/")
        with CaptureQueriesContext(connection) as one:
            self.client.get("/measures/due/")
        for i in range(4):
            self.make_due(make_patient(self.nurse_actor, f"P{i}", "Many"), days_overdue=i)
        with self.assertNumQueries(len(one)):
            response = self.client.get("/measures/due/")
        self.assertEqual(len(response.context["items"]), 5)

    def test_sending_links_from_the_list(self):
        course = self.make_due(self.patient)
        phq, gad = (
            ScheduledMeasure.objects.get(course=course, key="baseline", instrument=code)
            for code in ("phq9", "gad7")
        )
        self.sign_in(self.nurse)
        response = self.client.post(f"/measures/due/{phq.id}/send/", {"channel": "sms"})
        self.assertRedirects(response, "/measures/due/")
        links = {link.instrument: link for link in QuestionnaireLink.objects.all()}
        self.assertEqual((links["phq9"].scheduled, links["gad7"].scheduled), (phq, gad))
        self.assertEqual(links["phq9"].course, course)
        phq.refresh_from_db()
        self.assertIsNotNone(phq.link_sent_at)
        message = OutboxMessage.objects.get()  # one text with both links
        lines = message.body.splitlines()
        self.assertEqual(
            [line.split(":")[0] for line in lines[1:3]],
            ["Mood questionnaire (PHQ-9)", "Anxiety questionnaire (GAD-7)"],
        )
        token = lines[1].split("/q/")[1].split("/")[0]
        # The patient's answer fills exactly that scheduled questionnaire.
        self.client.logout()
        self.client.post(f"/q/{token}/", form_data(PHQ9_CLEAN))
        phq.refresh_from_db()
        self.assertEqual(phq.measure, Measure.objects.get())
        self.assertEqual(Measure.objects.get().course, course)

    def test_a_questionnaire_answered_meanwhile_gets_no_link(self):
        course = self.make_due(self.patient)
        phq = ScheduledMeasure.objects.get(course=course, key="baseline", instrument="phq9")
        services.record_measure(self.nurse_actor, self.patient, "phq9", PHQ9_CLEAN, course=course)
        phq.refresh_from_db()
        self.assertIsNotNone(phq.measure)
        self.sign_in(self.nurse)
        response = self.client.post(
            f"/measures/due/{phq.id}/send/", {"channel": "sms"}, follow=True
        )
        self.assertRedirects(response, "/measures/due/")
        self.assertContains(response, "has already answered the PHQ-9")
        with self.assertRaises(InputError) as error:
            services.send_questionnaire_links(
                self.nurse_actor, self.patient, ["phq9"], "sms", scheduled=[phq]
            )
        self.assertEqual(error.exception.field, "scheduled")
        self.assertFalse(QuestionnaireLink.objects.exists())
        self.assertFalse(OutboxMessage.objects.exists())

    def test_entering_answers_from_the_list_fills_that_questionnaire(self):
        course = self.make_due(self.patient)
        item = ScheduledMeasure.objects.get(course=course, key="baseline", instrument="gad7")
        self.sign_in(self.nurse)
        url = f"/patients/{self.patient.id}/measures/gad7/new/?scheduled={item.id}"
        page = self.client.get(url)
        self.assertContains(page, "Baseline, before the first session")
        self.client.post(
            url, form_data(GAD7_MILD, observed_at="2026-01-15T09:30", course=str(course.pk))
        )
        item.refresh_from_db()
        self.assertIsNotNone(item.measure)

    def test_roles_without_the_right_and_other_clinics(self):
        course = self.make_due(self.patient)
        item = ScheduledMeasure.objects.filter(course=course).first()
        self.sign_in(self.front_desk)
        self.assertEqual(self.client.get("/measures/due/").status_code, 403)
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.post(f"/measures/due/{item.id}/send/").status_code, 404)
        self.assertFalse(QuestionnaireLink.objects.exists())


class ReminderTests(MeasuresTestCase):
    def setUp(self):
        self.course = self.start_course()
        self.first = Session.objects.get(course=self.course, number=1).planned_date
        self.eve = self.first - timedelta(days=1)

    def test_one_reminder_with_both_links_goes_out_the_day_before_in_daytime(self):
        self.assertEqual(
            services.send_measure_reminders(
                now=local(self.clinic_a, self.eve - timedelta(days=1), 10)
            ),
            0,
        )
        self.assertEqual(services.send_measure_reminders(now=local(self.clinic_a, self.eve, 7)), 0)
        now = local(self.clinic_a, self.eve, 10)
        self.assertEqual(services.send_measure_reminders(now=now), 1)
        message = OutboxMessage.objects.get()
        self.assertEqual((message.channel, message.purpose), (Channel.SMS, "questionnaire_link"))
        self.assertIn("Mood questionnaire (PHQ-9)", message.body)
        self.assertIn("Anxiety questionnaire (GAD-7)", message.body)
        self.assertEqual(message.body.count("/q/"), 2)
        links = QuestionnaireLink.objects.all()
        self.assertEqual({link.scheduled.key for link in links}, {"baseline"})
        self.assertTrue(all(link.created_by is None for link in links))
        # Never twice.
        self.assertEqual(services.send_measure_reminders(now=now + timedelta(hours=2)), 0)
        self.assertEqual(OutboxMessage.objects.count(), 1)
        event = AuditEvent.objects.filter(object_type="measures.questionnairelink").first()
        self.assertEqual(event.username, "(questionnaire reminder)")

    def test_e_mail_when_there_is_no_phone_and_nothing_without_either(self):
        self.patient.phone = ""
        self.patient.save(update_fields=["phone"])
        services.send_measure_reminders(now=local(self.clinic_a, self.eve, 10))
        self.assertEqual(OutboxMessage.objects.get().channel, Channel.EMAIL)
        OutboxMessage.objects.all().delete()
        QuestionnaireLink.objects.all().delete()
        ScheduledMeasure.objects.update(reminded_at=None, link_sent_at=None)
        self.patient.email = ""
        self.patient.save(update_fields=["email"])
        self.assertEqual(services.send_measure_reminders(now=local(self.clinic_a, self.eve, 10)), 0)
        self.assertFalse(OutboxMessage.objects.exists())
        self.assertTrue(
            ScheduledMeasure.objects.filter(key="baseline", reminded_at__isnull=False).exists()
        )

    def test_the_patients_choice_decides_and_no_automated_text_without_agreement(self):
        Patient.objects.filter(pk=self.patient.pk).update(contact_channel="none")
        self.assertEqual(services.send_measure_reminders(now=local(self.clinic_a, self.eve, 10)), 0)
        self.assertFalse(OutboxMessage.objects.exists())
        ScheduledMeasure.objects.update(reminded_at=None, link_sent_at=None)
        Patient.objects.filter(pk=self.patient.pk).update(contact_channel="", sms_consent_at=None)
        services.send_measure_reminders(now=local(self.clinic_a, self.eve, 10))
        self.assertEqual(OutboxMessage.objects.get().channel, Channel.EMAIL)

    def test_no_reminder_when_a_link_was_already_sent_or_it_was_answered(self):
        services.send_questionnaire_links(
            self.nurse_actor,
            self.patient,
            ["phq9"],
            "sms",
            scheduled=ScheduledMeasure.objects.filter(
                course=self.course, key="baseline", instrument="phq9"
            ),
        )
        services.record_measure(
            self.nurse_actor,
            self.patient,
            "gad7",
            GAD7_MILD,
            course=self.course,
            observed_at=local(self.clinic_a, self.eve - timedelta(days=3), 10),
            now=local(self.clinic_a, self.eve - timedelta(days=3), 10),
        )
        OutboxMessage.objects.all().delete()
        self.assertEqual(services.send_measure_reminders(now=local(self.clinic_a, self.eve, 10)), 0)

    def test_a_patient_no_message_can_reach_does_not_stop_the_others(self):
        self.start_course(patient=self.other_patient)
        Patient.objects.filter(pk=self.other_patient.pk).update(phone="+1 555 010 9999")
        # Neither a number the outbox can text nor an address it can e-mail.
        Patient.objects.filter(pk=self.patient.pk).update(phone="12", email="ada@")
        with self.assertLogs("trellis.measures.services", "WARNING") as logs:
            sent = services.send_measure_reminders(now=local(self.clinic_a, self.eve, 10))
        self.assertEqual(sent, 1)
        self.assertIn(f"No reminder for {self.patient.mrn}", " ".join(logs.output))
        self.assertEqual(OutboxMessage.objects.get().recipient, "+15550109999")
        self.assertFalse(QuestionnaireLink.objects.filter(patient=self.patient).exists())

    def test_an_unexpected_failure_for_one_patient_is_logged_and_the_others_still_go_out(self):
        self.start_course(patient=self.other_patient)
        Patient.objects.filter(pk=self.other_patient.pk).update(phone="+1 555 010 9999")
        issue_links = services._issue_links
        calls = []

        def fails_once(*args, **kwargs):
            calls.append(args[0])
            if len(calls) == 1:
                raise RuntimeError("the outbox table is being migrated")
            return issue_links(*args, **kwargs)

        with (
            mock.patch.object(services, "_issue_links", side_effect=fails_once),
            self.assertLogs("trellis.measures.services", "ERROR"),
        ):
            sent = services.send_measure_reminders(now=local(self.clinic_a, self.eve, 10))
        self.assertEqual(sent, 1)
        failed, reached = calls
        self.assertEqual(OutboxMessage.objects.get().patient, reached)
        # The failed patient's questionnaires are left for the next pass.
        self.assertFalse(
            ScheduledMeasure.objects.filter(patient=failed, reminded_at__isnull=False).exists()
        )

    def test_clinics_at_night_do_not_crowd_out_clinics_in_their_daytime(self):
        from trellis.patients.services import create_screening, sign_screening
        from trellis.patients.tests.test_api import SAFE_ANSWERS, TRD_TRIALS
        from trellis.treatments.services import start_course

        # Clinic B is in Tokyo, where it is night when it is mid-morning in New York.
        type(self.clinic_b).objects.filter(pk=self.clinic_b.pk).update(timezone="Asia/Tokyo")
        self.clinic_b.refresh_from_db()
        Patient.objects.filter(pk=self.patient_b.pk).update(phone="+81 3 1234 5678")
        actor_b = actor_for(self.prescriber_b, self.clinic_b)
        sign_screening(actor_b, create_screening(actor_b, self.patient_b, SAFE_ANSWERS, TRD_TRIALS))
        course_b = start_course(
            actor_b, self.patient_b, "ketamine-iv-induction", self.first - timedelta(days=7)
        )
        # Clinic B's questionnaires are the most overdue, so they come first by due date.
        ScheduledMeasure.objects.filter(course=course_b).update(
            opens_on=self.eve - timedelta(days=10),
            due_on=self.eve - timedelta(days=3),
            closes_on=self.eve + timedelta(days=5),
        )
        new_york_morning = local(self.clinic_a, self.eve, 10)
        self.assertFalse(9 <= timezone.localtime(new_york_morning, self.clinic_b.tzinfo).hour < 20)
        # A batch of two: clinic A's baseline PHQ-9 and GAD-7 go out, not crowded out by B's.
        self.assertEqual(services.send_measure_reminders(now=new_york_morning, limit=2), 1)
        self.assertEqual(OutboxMessage.objects.get().patient, self.patient)
        # Clinic B's go out in Tokyo's morning.
        tokyo_morning = local(self.clinic_b, self.eve, 10)
        self.assertEqual(services.send_measure_reminders(now=tokyo_morning, limit=2), 1)
        self.assertEqual(OutboxMessage.objects.filter(patient=self.patient_b).count(), 1)

    def test_the_worker_queues_reminders(self):
        from trellis.messaging.jobs import run_clinic_jobs

        counts = run_clinic_jobs(now=local(self.clinic_a, self.eve, 10))
        self.assertEqual((counts.count("reminders"), counts.count("escalated")), (1, 0))
        self.assertEqual(str(counts), "queued 1 questionnaire reminder")


class TrajectorySessionMarkTests(MeasuresTestCase):
    """The chart marks the sessions the patient was given, on the day given, and its note
    promises dashed lines only when there are some."""

    def setUp(self):
        self.course = self.start_course()
        self.today = self.clinic_a.today()
        services.record_measure(
            self.nurse_actor,
            self.patient,
            "phq9",
            PHQ9_CLEAN,
            observed_at=local(self.clinic_a, self.today - timedelta(days=10), 9),
            now=local(self.clinic_a, self.today - timedelta(days=10), 9),
        )

    def marks(self):
        chart = services.patient_measures(self.nurse_actor, self.patient).chart
        return [(m["number"], m["date"]) for m in chart["sessions"]]

    def test_a_session_given_ahead_of_its_planned_day_is_marked_on_the_day_given(self):
        # Planned for next week, started this morning (documentation begun).
        Session.objects.filter(course=self.course, number=1).update(
            status=SessionStatus.IN_PROGRESS, started_at=local(self.clinic_a, self.today, 9)
        )
        self.assertEqual(self.marks(), [(1, f"{self.today:%b %-d, %Y}")])

    def test_sessions_given_are_marked_and_planned_ones_in_the_past_are_not(self):
        given = self.today - timedelta(days=6)
        Session.objects.filter(course=self.course, number=1).update(
            planned_date=given,
            status=SessionStatus.SIGNED,
            started_at=local(self.clinic_a, given, 10),
            signed_at=local(self.clinic_a, given, 12),
        )
        Session.objects.filter(course=self.course, number=2).update(
            planned_date=self.today - timedelta(days=4), status=SessionStatus.SIGNED
        )
        Session.objects.filter(course=self.course, number=3).update(
            planned_date=self.today - timedelta(days=2)  # planned, never started: not given
        )
        Session.objects.filter(course=self.course, number=4).update(
            planned_date=self.today - timedelta(days=1), status=SessionStatus.CANCELLED
        )
        self.assertEqual(
            self.marks(),
            [
                (1, f"{given:%b %-d, %Y}"),
                (2, f"{self.today - timedelta(days=4):%b %-d, %Y}"),
            ],
        )

    def test_the_page_promises_dashed_lines_only_when_sessions_are_marked(self):
        self.sign_in(self.nurse)
        response = self.client.get(f"/patients/{self.patient.id}/")
        self.assertContains(response, "No treatment session has been given yet")
        self.assertNotContains(response, "Dashed lines mark")
        Session.objects.filter(course=self.course, number=1).update(
            status=SessionStatus.IN_PROGRESS, started_at=local(self.clinic_a, self.today, 9)
        )
        response = self.client.get(f"/patients/{self.patient.id}/")
        self.assertContains(response, "Dashed lines mark the treatment sessions given")
        self.assertEqual(len(response.context["summary"].chart["sessions"]), 1)


class PatientPanelTests(MeasuresTestCase):
    def test_the_panel_shows_outcomes_the_chart_data_and_every_questionnaire(self):
        course = self.start_course()
        first = Session.objects.get(course=course, number=1).planned_date
        services.record_measure(
            self.nurse_actor,
            self.patient,
            "phq9",
            [3, 3, 3, 2, 2, 2, 2, 2, 1],
            course=course,
            observed_at=local(self.clinic_a, first - timedelta(days=20), 9),
            now=local(self.clinic_a, first - timedelta(days=20), 9),
        )
        services.record_measure(
            self.nurse_actor,
            self.patient,
            "phq9",
            [1, 1, 1, 1, 0, 0, 0, 0, 0],
            course=course,
            observed_at=local(self.clinic_a, first - timedelta(days=2), 9),
            now=local(self.clinic_a, first - timedelta(days=2), 9),
        )
        Course.objects.filter(pk=course.pk).update(start_date=first - timedelta(days=30))
        self.sign_in(self.therapist)
        response = self.client.get(f"/patients/{self.patient.id}/")
        self.assertContains(response, "Questionnaires and outcomes")
        self.assertContains(response, "✓ Response")
        self.assertContains(response, "✓ Remission")
        self.assertContains(response, "\N{MINUS SIGN}16 points")
        self.assertContains(response, "80 % fall")
        self.assertContains(response, 'id="trajectory-data" type="application/json"')
        self.assertContains(response, "chart-4.6.1.umd.min.js")
        self.assertContains(response, "js/trajectory.js")
        self.assertNotContains(response, "<script>")
        self.assertNotContains(response, "style=")
        # The page view is one READ of the patient, as for every patient page.
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual(
            (event.action, event.object_type, event.user),
            (Action.READ, "patients.patient", self.therapist),
        )

    def test_chart_data_carries_bands_in_words_points_and_session_days(self):
        course = self.start_course()
        Session.objects.filter(course=course, number__lte=2).update(
            planned_date=timezone.localdate() - timedelta(days=3), status=SessionStatus.SIGNED
        )
        services.record_measure(self.nurse_actor, self.patient, "phq9", [*PHQ9_CLEAN[:8], 2])
        summary = services.patient_measures(self.nurse_actor, self.patient)
        phq = summary.chart["series"]["phq9"]
        self.assertEqual(
            [b["label"] for b in phq["bands"]],
            ["Minimal", "Mild", "Moderate", "Moderately severe", "Severe"],
        )
        self.assertEqual(
            [b["label"] for b in summary.chart["series"]["gad7"]["bands"]],
            ["Minimal", "Mild", "Moderate", "Severe"],
        )
        self.assertEqual(
            (phq["points"][0]["y"], phq["points"][0]["item9"], phq["max"]), (13, 2, 27)
        )
        self.assertEqual([s["number"] for s in summary.chart["sessions"]], [1, 2])


class SharedMomentTests(MeasuresTestCase):
    """Three courses starting together share one baseline: one line, one message, one answer."""

    def setUp(self):
        self.courses = [
            self.start_course(protocol=code)
            for code in ("ketamine-iv-induction", "tms-10hz", "esketamine-trd")
        ]
        self.first = Session.objects.get(course=self.courses[0], number=1).planned_date
        self.eve = self.first - timedelta(days=1)

    def baselines(self, instrument: str):
        return ScheduledMeasure.objects.filter(key="baseline", instrument=instrument)

    def test_the_shared_baseline_is_one_line_on_the_due_list(self):
        self.assertEqual(self.baselines("phq9").count(), 3)
        self.assertEqual(self.baselines("phq9").values("due_on").distinct().count(), 1)
        moments = services.due_moments(self.nurse_actor, today=self.eve)
        self.assertEqual(len(moments), 1)
        moment = moments[0]
        self.assertEqual([i.instrument for i in moment.instruments], ["phq9", "gad7"])
        self.assertEqual(len(moment.courses), 3)
        self.assertEqual(moment.labels, ["Baseline, before the first session"])

    def test_sending_from_the_list_sends_one_message_with_one_link_per_questionnaire(self):
        self.sign_in(self.nurse)
        response = self.client.get("/measures/due/")  # the baseline is open from 14 days before
        self.assertEqual(len(response.context["items"]), 1)
        self.assertContains(response, "PHQ-9 and GAD-7", count=1)
        phq = self.baselines("phq9").first()
        self.client.post(f"/measures/due/{phq.id}/send/", {"channel": "sms"})
        message = OutboxMessage.objects.get()
        self.assertEqual(message.body.count("/q/"), 2)
        self.assertEqual(QuestionnaireLink.objects.count(), 2)
        self.assertFalse(ScheduledMeasure.objects.filter(key="baseline", link_sent_at=None))
        # Answering the PHQ-9 link once fills the baseline PHQ-9 of all three courses.
        token = message.body.splitlines()[1].split("/q/")[1].split("/")[0]
        self.client.logout()
        self.client.post(f"/q/{token}/", form_data(PHQ9_CLEAN))
        measure = Measure.objects.get()
        self.assertEqual(
            sorted(self.baselines("phq9").values_list("measure", flat=True)), [measure.pk] * 3
        )
        self.assertEqual(self.baselines("gad7").filter(measure__isnull=False).count(), 0)

    def test_the_reminder_is_one_message_for_the_three_courses(self):
        self.assertEqual(services.send_measure_reminders(now=local(self.clinic_a, self.eve, 10)), 1)
        message = OutboxMessage.objects.get()
        self.assertEqual(message.body.count("/q/"), 2)
        self.assertFalse(ScheduledMeasure.objects.filter(key="baseline", reminded_at=None))
        self.assertEqual(services.send_measure_reminders(now=local(self.clinic_a, self.eve, 12)), 0)

    def test_a_questionnaire_staff_enter_for_one_course_fills_the_moment_of_every_course(self):
        services.record_measure(
            self.nurse_actor,
            self.patient,
            "gad7",
            GAD7_MILD,
            course=self.courses[1],
            observed_at=local(self.clinic_a, self.eve, 10),
            now=local(self.clinic_a, self.eve, 10),
        )
        measure = Measure.objects.get()
        self.assertEqual(measure.course, self.courses[1])
        self.assertEqual(self.baselines("gad7").filter(measure=measure).count(), 3)
        (moment,) = services.due_moments(self.nurse_actor, today=self.eve)
        self.assertEqual([i.instrument for i in moment.instruments], ["phq9"])
