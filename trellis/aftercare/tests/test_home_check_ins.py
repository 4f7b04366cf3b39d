"""Check-ins during at-home oral ketamine: a week apart over each supply, planned when the
prescription is issued and when a refill is recorded, sent and answered like those after a
session; a cancelled prescription's unsent ones are not sent; bladder symptoms ticked by a
patient on oral ketamine raise the bladder alert (DOMAIN.md §9, §13)."""

import re
from datetime import datetime, time, timedelta

from django.test import SimpleTestCase

from trellis.aftercare import checkins, services
from trellis.aftercare.models import AftercarePlan, CheckIn, CheckInStatus
from trellis.aftercare.tests.base import AftercareTestCase
from trellis.lib.errors import Conflict, InputError
from trellis.messaging.jobs import run_clinic_jobs
from trellis.messaging.models import OutboxMessage
from trellis.safety.models import AlertKind, SafetyAlert
from trellis.treatments import prescriptions, urinary
from trellis.treatments.models import OralPrescription
from trellis.treatments.tests.test_oral_home import OralHomeTestCase


class HomeCheckInDaysTests(SimpleTestCase):
    def test_a_check_in_every_week_of_the_supply_and_at_least_one(self):
        for days_supply, expected in [
            (28, [7, 14, 21, 28]),
            (30, [7, 14, 21, 28]),
            (14, [7, 14]),
            (10, [7]),
            (7, [7]),
            (5, [5]),
            (1, [1]),
            (0, []),
        ]:
            with self.subTest(days_supply=days_supply):
                self.assertEqual(checkins.home_check_in_days(days_supply), expected)

    def test_the_bladder_side_effects_stand_for_the_cystitis_symptoms_and_their_grade(self):
        for code, severity in [("bladder", "elevated"), ("bladder_blood", "high")]:
            with self.subTest(code=code):
                self.assertIn(code, checkins.SIDE_EFFECTS)
                symptoms = checkins.BLADDER_SIDE_EFFECTS[code]
                self.assertLessEqual(set(symptoms), set(urinary.SYMPTOMS))
                self.assertEqual(urinary.Answers(symptoms).severity, severity)


class HomeCheckInTestCase(OralHomeTestCase):
    def setUp(self):
        super().setUp()
        self.patient.email = "ada@example.org"
        self.patient.save(update_fields=["email"])
        self.enable()
        self.checks()

    def at(self, day, hour=checkins.HOME_HOUR):
        return datetime.combine(day, time(hour), self.tz)

    def home_rows(self, **filters):
        return list(
            CheckIn.objects.filter(prescription__isnull=False, **filters).order_by("due_at")
        )


class PlanningTests(HomeCheckInTestCase):
    def test_issuing_a_prescription_plans_a_check_in_each_week_of_its_supply(self):
        rx = self.issue(days_supply="28")
        rows = self.home_rows()
        self.assertEqual([r.days_after for r in rows], [7, 14, 21, 28])
        self.assertEqual(
            [r.due_at for r in rows],
            [self.at(self.today + timedelta(days=d)) for d in (7, 14, 21, 28)],
        )
        self.assertTrue(all(r.prescription_id == rx.pk for r in rows))
        self.assertTrue(all(r.status == CheckInStatus.PLANNED for r in rows))
        self.assertTrue(all(r.session_id is None for r in rows))
        self.assertEqual(rows[0].label(), "day 7 of oral ketamine at home")

    def test_the_same_supply_told_twice_plans_nothing_twice(self):
        rx = self.issue(days_supply="14")
        services.plan_home_check_ins(self.prescriber_actor, rx, self.today)
        services.plan_home_check_ins(self.prescriber_actor, rx, self.today)
        self.assertEqual(len(self.home_rows()), 2)
        self.assertEqual(len(self.home_rows(status=CheckInStatus.CANCELLED)), 0)

    def test_a_patient_whose_plan_has_check_ins_off_gets_none(self):
        AftercarePlan.objects.create(
            clinic=self.clinic_a,
            patient=self.patient,
            check_ins=False,
            journal=True,
            updated_by=self.prescriber,
        )
        self.issue()
        self.assertEqual(self.home_rows(), [])

    def test_a_refill_starts_a_new_schedule_and_the_first_fill_does_not(self):
        rx = self.issue(days_supply="14", refills="1")
        prescriptions.record_fill(self.prescriber_actor, rx, filled_on=self.today)
        self.assertEqual(len(self.home_rows()), 2)
        # A refill ten days in (as ``record_fill`` tells aftercare on the day): from the fill's
        # day on, its own weekly schedule; the first supply's day-14 check-in gives way.
        services.plan_home_check_ins(self.prescriber_actor, rx, self.today + timedelta(days=10))
        live = self.home_rows(status=CheckInStatus.PLANNED)
        self.assertEqual(
            [r.due_at for r in live],
            [self.at(self.today + timedelta(days=d)) for d in (7, 17, 24)],
        )
        self.assertEqual(len(self.home_rows(status=CheckInStatus.CANCELLED)), 1)

    def test_recording_a_refill_plans_its_supply(self):
        rx = self.issue(days_supply="14", refills="1")
        prescriptions.record_fill(self.prescriber_actor, rx, filled_on=self.today)
        prescriptions.record_fill(self.prescriber_actor, rx, filled_on=self.today)
        # The refill starts today as the issue did: the same days, nothing doubled.
        self.assertEqual(len(self.home_rows(status=CheckInStatus.PLANNED)), 2)

    def test_a_new_prescription_replaces_the_unsent_check_ins_of_the_last(self):
        first = self.issue(days_supply="28")
        # As if issued 21 days ago: three check-ins sent, the fourth due in a week.
        for row in CheckIn.objects.filter(prescription=first).order_by("days_after"):
            row.due_at = self.at(self.today + timedelta(days=row.days_after - 21))
            row.status = CheckInStatus.SENT if row.days_after < 28 else CheckInStatus.PLANNED
            row.save(update_fields=["due_at", "status"])
        second = self.issue(days_supply="14", early_reason="Travelling")
        planned = self.home_rows(status=CheckInStatus.PLANNED)
        self.assertEqual({r.prescription_id for r in planned}, {second.pk})
        self.assertEqual(len(planned), 2)
        # The old one's sent check-ins stay open; its unsent one gives way.
        old = CheckIn.objects.filter(prescription=first)
        self.assertEqual(old.filter(status=CheckInStatus.SENT).count(), 3)
        self.assertEqual(old.get(days_after=28).status, CheckInStatus.CANCELLED)


class CancellingTests(HomeCheckInTestCase):
    def url(self, rx):
        return f"/prescriptions/{rx.id}/cancel/"

    def test_cancelling_stops_the_unsent_check_ins_and_any_later_fill(self):
        rx = self.issue(days_supply="28")
        sent = self.home_rows()[0]
        CheckIn.objects.filter(pk=sent.pk).update(status=CheckInStatus.SENT)
        self.sign_in(self.prescriber)
        response = self.client.post(self.url(rx), {"reason": "Cystitis: stopped"})
        self.assertRedirects(response, f"/patients/{self.patient.id}/prescriptions/")
        rx.refresh_from_db()
        self.assertIsNotNone(rx.cancelled_at)
        self.assertEqual(rx.cancel_reason, "Cystitis: stopped")
        statuses = [r.status for r in self.home_rows()]
        self.assertEqual(statuses, [CheckInStatus.SENT] + [CheckInStatus.CANCELLED] * 3)
        page = self.client.get(f"/patients/{self.patient.id}/prescriptions/")
        self.assertContains(page, "Cancelled")
        self.assertNotContains(page, "Record fill")
        # A double tap: the second post changes nothing and says why.
        again = self.client.post(self.url(rx), {"reason": "Cystitis: stopped"}, follow=True)
        self.assertContains(again, "already cancelled")
        rx.refresh_from_db()
        self.assertEqual(rx.cancel_reason, "Cystitis: stopped")
        with self.assertRaises(InputError) as raised:
            prescriptions.record_fill(self.prescriber_actor, rx, filled_on=self.today)
        self.assertEqual(raised.exception.field, "filled_on")
        with self.assertRaises(Conflict):
            prescriptions.cancel_prescription(self.prescriber_actor, rx, reason="again")
        # A cancelled prescription plans nothing when told again.
        self.assertEqual(services.plan_home_check_ins(self.prescriber_actor, rx, self.today), [])

    def test_a_reason_is_required_and_named(self):
        rx = self.issue()
        self.sign_in(self.prescriber)
        response = self.client.post(self.url(rx), {"reason": " "})
        self.assertContains(response, "Not cancelled", status_code=422)
        self.assertContains(response, "Why it is cancelled: say why", status_code=422)
        rx.refresh_from_db()
        self.assertIsNone(rx.cancelled_at)
        with self.assertRaises(InputError) as raised:
            prescriptions.cancel_prescription(self.prescriber_actor, rx, reason="")
        self.assertEqual(raised.exception.field, "reason")

    def test_only_a_prescriber_of_the_clinic_cancels(self):
        rx = self.issue()
        self.sign_in(self.nurse)
        self.assertEqual(self.client.post(self.url(rx), {"reason": "x"}).status_code, 403)
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.post(self.url(rx), {"reason": "x"}).status_code, 404)
        self.assertIsNone(OralPrescription.objects.get().cancelled_at)


class SendingAndAnsweringTests(HomeCheckInTestCase):
    def answer_link(self, day):
        """Run the worker at the check-in's time and return the token of the link it sent."""
        self.assertEqual(run_clinic_jobs(self.at(day, 11)).count("check_ins"), 1)
        message = OutboxMessage.objects.filter(purpose="check_in_link").latest("created_at")
        self.assertEqual(message.recipient, "ada@example.org")
        self.assertIn("988", message.body)
        return re.search(r"/c/([^/\s]+)/", message.body).group(1)

    def test_a_home_check_in_goes_out_the_patients_way_and_its_answers_raise_alerts(self):
        self.issue(days_supply="14")
        token = self.answer_link(self.today + timedelta(days=7))
        result = services.submit_check_in(
            token,
            mood=1,
            sleep=2,
            side_effects=["bladder_blood"],
            harm_thoughts=True,
            now=self.at(self.today + timedelta(days=7), 12),
        )
        kinds = set(SafetyAlert.objects.values_list("kind", flat=True))
        self.assertEqual(
            kinds,
            {AlertKind.CHECK_IN_HARM, AlertKind.CHECK_IN_WORSENING, AlertKind.URINARY_SYMPTOMS},
        )
        self.assertTrue(result.crisis)
        bladder = SafetyAlert.objects.get(kind=AlertKind.URINARY_SYMPTOMS)
        self.assertEqual(bladder.severity, "high")
        self.assertIn("blood in your urine", bladder.summary)
        self.assertIn("day 7 of oral ketamine at home", bladder.summary)

    def test_bladder_symptoms_alone_raise_an_elevated_bladder_alert_and_no_crisis_screen(self):
        self.issue(days_supply="14")
        token = self.answer_link(self.today + timedelta(days=7))
        result = services.submit_check_in(
            token,
            mood=7,
            sleep=0,
            side_effects=["bladder"],
            harm_thoughts=False,
            now=self.at(self.today + timedelta(days=7), 12),
        )
        self.assertFalse(result.crisis)
        alert = SafetyAlert.objects.get()
        self.assertEqual((alert.kind, alert.severity), (AlertKind.URINARY_SYMPTOMS, "elevated"))
        self.assertEqual(result.bladder_alert, alert)

    def test_the_check_in_page_asks_about_the_bladder(self):
        self.issue(days_supply="14")
        token = self.answer_link(self.today + timedelta(days=7))
        page = self.client.get(f"/c/{token}/")
        self.assertContains(page, "Blood in your urine")
        self.assertContains(page, "Passing urine more often")


class NotOnOralKetamineTests(AftercareTestCase):
    def test_an_iv_patient_ticking_a_bladder_symptom_raises_no_bladder_alert(self):
        sent = services.send_check_in(self.nurse_actor, self.patient)
        token = sent.url.rstrip("/").rsplit("/", 1)[-1]
        services.submit_check_in(
            token, mood=7, sleep=0, side_effects=["bladder"], harm_thoughts=False
        )
        self.assertFalse(SafetyAlert.objects.filter(kind=AlertKind.URINARY_SYMPTOMS).exists())
        self.assertEqual(CheckIn.objects.get().side_effects, ["bladder"])
