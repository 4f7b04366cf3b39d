"""Closed-loop safety alerts: raised, shown on the patient's page and in the queue,
acknowledged with an action note, escalated while nobody does — every step audited."""

import io
from datetime import timedelta
from unittest import mock

from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from trellis.audit.models import Action, AuditEvent
from trellis.lib.errors import Conflict, InputError
from trellis.measures import services
from trellis.measures.models import Measure
from trellis.measures.tests.helpers import PHQ9_ITEM9, MeasuresTestCase
from trellis.messaging.jobs import run_clinic_jobs
from trellis.messaging.models import OutboxMessage
from trellis.messaging.services import send_due
from trellis.patients import panels
from trellis.safety import selectors
from trellis.safety import services as alerts
from trellis.safety.models import AlertStatus, SafetyAlert
from trellis.testing import actor_for, make_patient


class AlertTestCase(MeasuresTestCase):
    def item_nine(self, patient=None, answer=1, now=None):
        answers = [*PHQ9_ITEM9[:8], answer]
        services.record_measure(self.nurse_actor, patient or self.patient, "phq9", answers, now=now)
        return SafetyAlert.objects.order_by("-created_at").first()


class RaiseAlertTests(AlertTestCase):
    def test_raise_alert_takes_any_kind_and_a_source_for_later_modules(self):
        source = make_patient(self.nurse_actor, "Tmp", "Source")  # any saved record will do
        alert = alerts.raise_alert(
            self.nurse_actor, self.patient, "vital_sign", "high", "BP 182/104 at 40 min", source
        )
        self.assertEqual((alert.kind, alert.severity, alert.status), ("vital_sign", "high", "open"))
        self.assertEqual((alert.source_type, alert.source_id), ("patients.patient", str(source.pk)))
        self.assertEqual(alert.next_escalation_at, alert.created_at + timedelta(minutes=60))
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual(
            (event.action, event.object_id, event.user), (Action.CREATE, str(alert.pk), self.nurse)
        )

    def test_the_system_may_raise_one_without_a_member_of_staff(self):
        alert = alerts.raise_alert(None, self.patient, "seizure", "urgent", "Seizure at minute 12")
        self.assertIsNone(alert.raised_by)
        self.assertEqual(AuditEvent.objects.order_by("-seq").first().username, "(system)")

    def test_no_role_is_needed_to_raise_an_alert(self):
        alert = alerts.raise_alert(
            actor_for(self.front_desk, self.clinic_a),
            self.patient,
            "serious_adverse_event",
            "elevated",
            "Fainted in the waiting room",
        )
        self.assertEqual(alert.raised_by, self.front_desk)

    def test_bad_alerts_are_refused_by_field(self):
        cases = [
            ({"kind": "bad_mood"}, "kind"),
            ({"severity": "meh"}, "severity"),
            ({"summary": "  "}, "summary"),
            ({"actor": actor_for(self.prescriber_b, self.clinic_b)}, "patient"),
        ]
        for change, field in cases:
            args = {
                "actor": self.nurse_actor,
                "kind": "seizure",
                "severity": "urgent",
                "summary": "S",
                **change,
            }
            with self.subTest(field=field), self.assertRaises(InputError) as error:
                alerts.raise_alert(args.pop("actor"), self.patient, **args)
            self.assertEqual(error.exception.field, field)
        self.assertFalse(SafetyAlert.objects.exists())

    def test_a_long_summary_is_shortened_never_refused(self):
        alert = alerts.raise_alert(None, self.patient, "vital_sign", "high", "BP high; " * 50)
        self.assertEqual(len(alert.summary), 300)
        self.assertTrue(alert.summary.endswith("…"))

    def test_the_escalation_time_is_a_clinic_setting(self):
        self.clinic_a.settings = {"alert_escalation_minutes": 15}
        self.clinic_a.save(update_fields=["settings"])
        self.patient.clinic.refresh_from_db()
        alert = self.item_nine()
        self.assertEqual(alert.next_escalation_at - alert.created_at, timedelta(minutes=15))


class PatientPageTests(AlertTestCase):
    CARDS = {"patient_alert_banner": "alerts", "patient_measures_panel": "measures"}

    def render_tag(self, tag: str, user) -> str:
        """The card as the patient's page renders it: loaded by the view, drawn by the tag."""
        cards = panels.for_page(actor_for(user, self.clinic_a), self.patient)
        template = Template("{% load measures_tags safety_tags %}{% " + tag + " card %}")
        return template.render(Context({"card": cards.get(self.CARDS[tag])}))

    def test_the_banner_shows_open_alerts_most_severe_first_to_clinicians(self):
        self.item_nine(answer=1)
        self.item_nine(answer=3)
        html = self.render_tag("patient_alert_banner", self.tms)
        self.assertIn("Open safety alerts", html)
        self.assertLess(html.index("Urgent"), html.index("Elevated"))
        self.assertIn(">Review<", html)  # a TMS technician sees it but may not acknowledge
        self.assertIn("Review and acknowledge", self.render_tag("patient_alert_banner", self.nurse))

    def test_roles_without_the_right_see_nothing_at_all(self):
        self.item_nine()
        self.assertEqual(self.render_tag("patient_alert_banner", self.front_desk), "")
        for user in (self.front_desk, self.admin):
            with self.subTest(user=user.username):
                self.assertEqual(self.render_tag("patient_measures_panel", user), "")

    def test_no_open_alert_no_banner(self):
        alert = self.item_nine()
        alerts.acknowledge_alert(self.prescriber_actor, alert, "Called; safety plan reviewed.")
        self.assertEqual(self.render_tag("patient_alert_banner", self.nurse), "")

    def test_the_patient_page_carries_the_banner_above_the_name(self):
        self.item_nine(answer=2)
        self.sign_in(self.nurse)
        page = self.client.get(f"/patients/{self.patient.id}/").content.decode()
        self.assertIn("Open safety alert", page)
        self.assertLess(page.index("alert-banner"), page.index("<h1>"))
        self.sign_in(self.front_desk)
        self.assertNotContains(self.client.get(f"/patients/{self.patient.id}/"), "alert-banner")


class QueueTests(AlertTestCase):
    def test_the_queue_lists_the_clinics_open_alerts_most_severe_then_oldest(self):
        start = timezone.now() - timedelta(minutes=30)
        old_high = self.item_nine(answer=2, now=start)
        urgent = self.item_nine(self.other_patient, answer=3, now=start + timedelta(minutes=5))
        new_high = self.item_nine(answer=2, now=start + timedelta(minutes=10))
        self.item_nine(self.patient_b_in_a(), answer=1)
        alerts.raise_alert(
            actor_for(self.prescriber_b, self.clinic_b), self.patient_b, "seizure", "urgent", "B"
        )
        self.sign_in(self.therapist)
        response = self.client.get("/alerts/")
        self.assertEqual(
            [a.pk for a in response.context["alerts"]][:3], [urgent.pk, old_high.pk, new_high.pk]
        )
        self.assertNotContains(response, "Turing")
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual((event.action, event.object_type), (Action.QUERY, "safety.safetyalert"))

    def patient_b_in_a(self):
        return make_patient(self.nurse_actor, "Emmy", "Noether")

    def test_the_queue_takes_the_same_queries_for_one_alert_or_many(self):
        self.sign_in(self.nurse)
        self.item_nine()
        self.client.get("/alerts/")  # the first request after signing in also saves the session
        with CaptureQueriesContext(connection) as one:
            self.client.get("/alerts/")
        for i in range(6):
            self.item_nine(make_patient(self.nurse_actor, f"P{i}", "Many"), answer=1 + i % 3)
        alerts.acknowledge_alert(self.prescriber_actor, self.item_nine(), "Seen in clinic.")
        with self.assertNumQueries(len(one)):
            response = self.client.get("/alerts/")
        self.assertEqual(len(response.context["alerts"]), 7)
        with self.assertNumQueries(len(one) + 1):  # the open count on the other tab
            self.client.get("/alerts/?status=acknowledged")

    def test_roles_without_the_right_get_403_and_other_clinics_404(self):
        alert = self.item_nine()
        self.sign_in(self.front_desk)
        self.assertEqual(self.client.get("/alerts/").status_code, 403)
        self.assertEqual(self.client.get(f"/alerts/{alert.id}/").status_code, 403)
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(f"/alerts/{alert.id}/").status_code, 404)
        response = self.client.post(f"/alerts/{alert.id}/acknowledge/", {"note": "x"})
        self.assertEqual(response.status_code, 404)

    def test_the_open_alert_count_is_the_clinics_and_only_for_alert_readers(self):
        self.item_nine()
        self.item_nine()
        self.assertEqual(selectors.open_alert_count(self.nurse_actor), 2)
        self.assertEqual(selectors.open_alert_count(actor_for(self.prescriber_b, self.clinic_b)), 0)
        self.assertIsNone(selectors.open_alert_count(actor_for(self.front_desk, self.clinic_a)))

    def test_the_alerts_of_several_questionnaires_are_read_in_one_query_by_alert_readers(self):
        first, second = self.item_nine(), self.item_nine()
        quiet = services.record_measure(self.nurse_actor, self.patient, "phq9", [0] * 9)
        measures = [*Measure.objects.filter(pk__in=[first.source_id, second.source_id]), quiet]
        with self.assertNumQueries(1):
            found = selectors.alerts_raised_by_each(self.nurse_actor, measures)
        self.assertEqual(found, {first.source_id: [first], second.source_id: [second]})
        front_desk = actor_for(self.front_desk, self.clinic_a)
        with self.assertNumQueries(0):
            self.assertEqual(selectors.alerts_raised_by_each(front_desk, measures), {})
            self.assertEqual(selectors.alerts_raised_by_each(self.nurse_actor, []), {})

    def test_a_page_with_the_top_bar_counts_open_alerts_once(self):
        self.item_nine()
        self.sign_in(self.nurse)
        page = self.client.get("/alerts/")
        self.assertContains(page, 'aria-label="1 open safety alert"')
        self.sign_in(self.front_desk)
        self.assertNotContains(self.client.get("/patients/"), 'href="/alerts/"')


class AcknowledgeTests(AlertTestCase):
    def test_a_clinician_acknowledges_with_an_action_note_through_the_page(self):
        alert = self.item_nine()
        self.sign_in(self.nurse)
        page = self.client.get(f"/alerts/{alert.id}/")
        self.assertContains(page, "Suicide risk assessment done")
        response = self.client.post(
            f"/alerts/{alert.id}/acknowledge/",
            {
                "actions": ["contacted_patient", "risk_assessment", "safety_plan"],
                "note": "Phoned at 14:10; passive ideation, no plan. Safety plan reviewed.",
            },
        )
        self.assertRedirects(response, "/alerts/")
        alert.refresh_from_db()
        self.assertEqual(
            (alert.status, alert.acknowledged_by), (AlertStatus.ACKNOWLEDGED, self.nurse)
        )
        self.assertEqual(alert.actions, ["contacted_patient", "risk_assessment", "safety_plan"])
        self.assertIsNone(alert.next_escalation_at)
        event = AuditEvent.objects.filter(object_id=str(alert.pk)).order_by("-seq").first()
        self.assertEqual((event.action, event.user), (Action.UPDATE, self.nurse))
        self.assertEqual(event.detail["actions"], alert.actions)
        self.assertNotIn("Phoned", str(event.detail))  # the note stays in the record

    def test_from_the_patient_banner_it_returns_to_the_patient(self):
        alert = self.item_nine()
        self.sign_in(self.prescriber)
        response = self.client.post(
            f"/alerts/{alert.id}/acknowledge/", {"note": "Seen in clinic.", "next": "patient"}
        )
        self.assertRedirects(response, f"/patients/{self.patient.id}/")

    def test_after_a_missing_note_it_still_returns_to_the_patient(self):
        alert = self.item_nine()
        self.sign_in(self.prescriber)
        page = self.client.get(f"/alerts/{alert.id}/?next=patient")
        self.assertContains(page, 'name="next" value="patient"')
        response = self.client.post(
            f"/alerts/{alert.id}/acknowledge/", {"note": " ", "next": "patient"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, 'name="next" value="patient"')
        response = self.client.post(
            f"/alerts/{alert.id}/acknowledge/", {"note": "Seen in clinic.", "next": "patient"}
        )
        self.assertRedirects(response, f"/patients/{self.patient.id}/")

    def test_a_note_is_required(self):
        alert = self.item_nine()
        self.sign_in(self.nurse)
        response = self.client.post(f"/alerts/{alert.id}/acknowledge/", {"note": "   "})
        self.assertEqual(response.status_code, 200)
        self.assertIn("note", response.context["form"].errors)
        with self.assertRaises(InputError) as error:
            alerts.acknowledge_alert(self.nurse_actor, alert, "")
        self.assertEqual(error.exception.field, "note")
        with self.assertRaises(InputError) as error:
            alerts.acknowledge_alert(self.nurse_actor, alert, "ok", ["prayed"])
        self.assertEqual(error.exception.field, "actions")
        alert.refresh_from_db()
        self.assertEqual(alert.status, AlertStatus.OPEN)

    def test_only_prescribers_nurses_and_therapists_acknowledge(self):
        alert = self.item_nine()
        self.sign_in(self.tms)
        self.assertNotContains(self.client.get(f"/alerts/{alert.id}/"), "Acknowledge alert")
        self.assertEqual(
            self.client.post(f"/alerts/{alert.id}/acknowledge/", {"note": "x"}).status_code, 403
        )
        with self.assertRaises(PermissionDenied):
            alerts.acknowledge_alert(actor_for(self.tms, self.clinic_a), alert, "x")
        alert.refresh_from_db()
        self.assertEqual(alert.status, AlertStatus.OPEN)

    def test_an_alert_is_acknowledged_once(self):
        alert = self.item_nine()
        alerts.acknowledge_alert(self.nurse_actor, alert, "Seen.")
        with self.assertRaises(Conflict) as conflict:
            alerts.acknowledge_alert(self.prescriber_actor, SafetyAlert.objects.get(), "Me too.")
        self.assertEqual(conflict.exception.code, "already_acknowledged")
        self.assertEqual(SafetyAlert.objects.get().note, "Seen.")


class EscalationTests(AlertTestCase):
    def test_an_unacknowledged_alert_escalates_and_again_until_acknowledged(self):
        t0 = timezone.now()
        alert = self.item_nine(now=t0)
        self.assertEqual(alerts.escalate_due_alerts(now=t0 + timedelta(minutes=59)), 0)
        self.assertFalse(OutboxMessage.objects.exists())

        # 60 minutes: the clinic's prescribers and administrator are e-mailed, not the others.
        self.assertEqual(alerts.escalate_due_alerts(now=t0 + timedelta(minutes=60)), 1)
        recipients = sorted(OutboxMessage.objects.values_list("recipient", flat=True))
        self.assertEqual(recipients, ["admin@example.org", "prescriber@example.org"])
        message = OutboxMessage.objects.filter(recipient="prescriber@example.org").get()
        self.assertEqual(message.purpose, "alert_escalation")
        self.assertIn(f"/alerts/{alert.pk}/", message.body)
        for private in ("Ada", "Lovelace", self.patient.mrn):
            self.assertNotIn(private, message.body + message.subject)
        alert.refresh_from_db()
        self.assertEqual(alert.escalation_count, 1)
        self.assertEqual(alert.next_escalation_at, t0 + timedelta(minutes=120))

        # Not again before the next interval; again at it.
        self.assertEqual(alerts.escalate_due_alerts(now=t0 + timedelta(minutes=119)), 0)
        self.assertEqual(alerts.escalate_due_alerts(now=t0 + timedelta(minutes=121)), 1)
        alert.refresh_from_db()
        self.assertEqual(alert.escalation_count, 2)
        self.assertEqual(OutboxMessage.objects.count(), 4)

        # Acknowledged: it stops.
        alerts.acknowledge_alert(self.nurse_actor, alert, "Risk assessment done.")
        self.assertEqual(alerts.escalate_due_alerts(now=t0 + timedelta(days=1)), 0)
        self.assertEqual(OutboxMessage.objects.count(), 4)

        # Every step is in the audit trail.
        steps = list(
            AuditEvent.objects.filter(object_id=str(alert.pk))
            .order_by("seq")
            .values_list("action", "username")
        )
        self.assertEqual(
            steps,
            [
                (Action.CREATE, "nurse"),
                (Action.UPDATE, "(alert escalation)"),
                (Action.UPDATE, "(alert escalation)"),
                (Action.UPDATE, "nurse"),
            ],
        )

    def test_inactive_staff_other_clinics_and_other_roles_are_not_e_mailed(self):
        self.prescriber.is_active = False
        self.prescriber.save(update_fields=["is_active"])
        t0 = timezone.now()
        self.item_nine(now=t0)
        alerts.escalate_due_alerts(now=t0 + timedelta(hours=1))
        self.assertEqual(
            list(OutboxMessage.objects.values_list("recipient", flat=True)), ["admin@example.org"]
        )

    def test_the_worker_escalates_with_time_faked_and_sends_the_e_mails_in_the_same_pass(self):
        t0 = timezone.now()
        self.item_nine(now=t0)
        out = io.StringIO()
        with mock.patch("django.utils.timezone.now", return_value=t0 + timedelta(minutes=61)):
            call_command("run_outbox", "--once", stdout=out, stderr=io.StringIO())
        self.assertEqual(
            out.getvalue(), "Outbox: sent 2, retrying 0, failed 0; escalated 1 safety alert\n"
        )
        self.assertEqual(
            sorted(m.to[0] for m in mail.outbox), ["admin@example.org", "prescriber@example.org"]
        )
        self.assertIn("not acknowledged", mail.outbox[0].subject)

    def test_an_escalation_with_nobody_to_tell_is_still_counted_and_logged(self):
        type(self.admin).objects.filter(pk__in=[self.admin.pk, self.prescriber.pk]).update(email="")
        t0 = timezone.now()
        alert = self.item_nine(now=t0)
        with self.assertLogs("trellis.safety.services", "ERROR"):
            run_clinic_jobs(now=t0 + timedelta(hours=1))
        alert.refresh_from_db()
        self.assertEqual(alert.escalation_count, 1)
        self.assertFalse(OutboxMessage.objects.exists())

    def test_a_bad_address_is_skipped_and_every_clinics_alerts_still_escalate(self):
        type(self.prescriber).objects.filter(pk=self.prescriber.pk).update(email="prescriber@")
        t0 = timezone.now()
        alert_a = self.item_nine(now=t0)
        alert_b = alerts.raise_alert(
            None, self.patient_b, "suicide_item", "high", "Item 9 answered 2", now=t0
        )
        with self.assertLogs("trellis.safety.services", "WARNING") as logs:
            self.assertEqual(alerts.escalate_due_alerts(now=t0 + timedelta(minutes=61)), 2)
        self.assertIn("not e-mailed to prescriber ", " ".join(logs.output))
        self.assertEqual(
            sorted(OutboxMessage.objects.values_list("recipient", flat=True)),
            ["admin@example.org", "prescriber_b@example.org"],
        )
        for alert in (alert_a, alert_b):
            alert.refresh_from_db()
            self.assertEqual(alert.escalation_count, 1)
        event = AuditEvent.objects.filter(object_id=str(alert_a.pk)).order_by("-seq").first()
        self.assertEqual(event.detail["recipients"], ["admin"])

    def test_an_alert_that_fails_to_escalate_does_not_hold_up_the_others(self):
        t0 = timezone.now()
        first = self.item_nine(now=t0)
        second = self.item_nine(patient=self.other_patient, now=t0 + timedelta(minutes=1))
        escalate = alerts._escalate

        def fails_for_the_first(alert, now):
            if alert.pk == first.pk:
                raise RuntimeError("template missing")
            escalate(alert, now)

        with (
            mock.patch.object(alerts, "_escalate", side_effect=fails_for_the_first),
            self.assertLogs("trellis.safety.services", "ERROR"),
        ):
            self.assertEqual(alerts.escalate_due_alerts(now=t0 + timedelta(minutes=62)), 1)
        first.refresh_from_db()
        second.refresh_from_db()
        self.assertEqual((first.escalation_count, second.escalation_count), (0, 1))

    def test_escalation_e_mails_reach_the_staff_through_the_outbox(self):
        t0 = timezone.now()
        self.item_nine(now=t0)
        alerts.escalate_due_alerts(now=t0 + timedelta(hours=1))
        self.assertEqual(str(send_due(now=t0 + timedelta(hours=1))), "sent 2, retrying 0, failed 0")
        self.assertEqual(len(mail.outbox), 2)
