"""Maintenance plans after an induction, and the relapse watch on a table of PHQ-9 trajectories:
the flag on the care team's lists and the next session brought forward [R51, R52, R22, R111]."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from trellis.lib.errors import Conflict, InputError
from trellis.measures import relapse
from trellis.plans import services
from trellis.plans.models import FlagStatus, MaintenanceBooking, RelapseFlag
from trellis.plans.tests.base import PlansTestCase
from trellis.scheduling.models import Appointment, BlockKind, Resource, ResourceBlock
from trellis.testing import actor_for, make_patient

# (name, (days ago, PHQ-9 total) with the course's baseline first, the total that raised the
# flag or None).
TRAJECTORIES = [
    ("responded and held", [(60, 20), (40, 8), (20, 6), (1, 7)], None),
    ("never responded", [(60, 20), (40, 14), (1, 22)], None),
    ("responded, back to 10", [(60, 20), (40, 8), (20, 4), (1, 10)], 10),
    ("responded, rose 5 under 10", [(60, 20), (40, 3), (20, 1), (1, 6)], 6),
    ("responded at 12, still 12", [(60, 24), (40, 12), (1, 12)], None),
    ("one high total among lows", [(60, 20), (40, 5), (30, 9), (20, 4), (1, 6)], None),
    # The flag raised at 12 stays for a clinician to review when the patient responds again.
    ("relapsed then responded again", [(60, 20), (40, 5), (20, 12), (1, 4)], 12),
    # Answered out of order (a paper form entered late): judged in time order.
    ("entered late", [(60, 20), (1, 11), (40, 4)], 11),
]


class RelapseWatchTests(PlansTestCase):
    def setUp(self):
        super().setUp()
        self.course = self.start(
            "ketamine-iv-induction", start=self.clinic_a.today() - timedelta(weeks=10)
        )
        self.give(self.course, 6)

    def record(self, trajectory):
        flags = []
        for days, total in trajectory:
            self.phq9(total, self.days_ago(days), self.course)
            flags.append(RelapseFlag.objects.filter(patient=self.patient).count())
        return flags

    def test_the_table_of_trajectories(self):
        for i, (name, trajectory, flagged_at) in enumerate(TRAJECTORIES):
            with self.subTest(name):
                patient = make_patient(self.nursing, "Case", f"Number{i}", date(1980, 1, 1 + i))
                course = self.start(
                    "ketamine-iv-induction",
                    start=self.clinic_a.today() - timedelta(weeks=10),
                    patient=patient,
                )
                self.give(course, 6)
                for days, total in trajectory:
                    self.phq9(total, self.days_ago(days), course, patient=patient)
                flag = RelapseFlag.objects.filter(patient=patient).first()
                self.assertEqual(flag.total if flag else None, flagged_at)
                if flag:
                    self.assertEqual(flag.rule, relapse.LOSS_OF_RESPONSE)
                    self.assertEqual(flag.course, course)
                    self.assertEqual(flag.status, FlagStatus.OPEN)

    def test_the_clinics_rule_is_used_and_kept(self):
        self.set_clinic(relapse_rule=2)  # PHQ-9 10 or more only
        self.record([(60, 20), (40, 3), (20, 1), (2, 6)])
        self.assertFalse(RelapseFlag.objects.exists())
        self.phq9(11, self.days_ago(1), self.course)
        self.assertEqual(RelapseFlag.objects.get().rule, relapse.PHQ9_MODERATE)

    def test_a_flag_is_raised_once_and_a_reviewed_one_stays_reviewed(self):
        self.record([(60, 20), (40, 4), (20, 12)])
        flag = RelapseFlag.objects.get()
        self.phq9(14, self.days_ago(10), self.course)
        self.assertEqual(RelapseFlag.objects.count(), 1)
        services.review_flag(self.nursing, flag, "Prescriber called; booster booked.")
        self.phq9(15, self.days_ago(5), self.course)
        self.assertFalse(RelapseFlag.objects.filter(status=FlagStatus.OPEN).exists())
        with self.assertRaises(Conflict):
            services.review_flag(self.nursing, flag, "again")
        with self.assertRaises(InputError):
            services.review_flag(self.nursing, flag, "  ")

    def test_a_later_unlinked_follow_up_counts(self):
        self.record([(60, 20), (40, 4)])
        self.phq9(11, self.days_ago(1))  # no course: a follow-up questionnaire
        self.assertTrue(RelapseFlag.objects.exists())

    def test_gad7_is_not_watched(self):
        self.record([(60, 20), (40, 4)])
        from trellis.measures import services as measures

        measures.record_measure(self.nursing, self.patient, "gad7", [3, 3, 3, 3, 3, 3, 3])
        self.assertFalse(RelapseFlag.objects.exists())


class MaintenancePlanTests(PlansTestCase):
    def setUp(self):
        super().setUp()
        self.course = self.start(
            "ketamine-iv-induction", start=self.clinic_a.today() - timedelta(weeks=3)
        )

    def test_maintenance_follows_an_induction_given(self):
        with self.assertRaises(Conflict) as caught:
            services.start_maintenance(self.nursing, self.patient, after_course=self.course)
        self.assertEqual(caught.exception.code, "induction_not_given")
        self.give(self.course, 6)
        plan = services.start_maintenance(self.nursing, self.patient, after_course=self.course)
        self.assertEqual((plan.modality, plan.interval_days), ("iv_ketamine", 28))
        with self.assertRaises(Conflict) as twice:
            services.start_maintenance(self.nursing, self.patient, after_course=self.course)
        self.assertEqual(twice.exception.code, "maintenance_active")

    def test_the_interval_is_checked_for_the_treatment(self):
        self.give(self.course, 6)
        with self.assertRaises(InputError) as caught:
            services.start_maintenance(
                self.nursing, self.patient, after_course=self.course, interval_days=120
            )
        self.assertEqual(caught.exception.field, "interval_days")

    def test_the_next_session_is_due_by_the_interval_and_brought_forward_by_a_flag(self):
        self.give(self.course, 6)
        last = self.course.sessions.order_by("-number").first().planned_date
        plan = services.start_maintenance(
            self.nursing, self.patient, after_course=self.course, interval_days=42
        )
        state = services.maintenance_state(plan)
        self.assertEqual(state.last, last)
        self.assertGreaterEqual(state.due.day, last + timedelta(days=42))
        self.assertFalse(state.due.brought_forward)
        # Responded, then the PHQ-9 rose: the next session comes forward.
        self.phq9(20, self.days_ago(21), self.course)
        self.phq9(6, self.days_ago(7), self.course)
        self.phq9(13, self.days_ago(0, hour=0), self.course)
        self.assertTrue(RelapseFlag.objects.exists())
        state = services.maintenance_state(plan)
        self.assertTrue(state.due.brought_forward)
        self.assertLessEqual(state.due.day, self.clinic_a.today() + timedelta(days=3))
        self.assertIsNotNone(state.proposal)

        row = services.book_maintenance(actor_for(self.front_desk, self.clinic_a), plan)
        self.assertTrue(row.brought_forward)
        self.assertEqual(row.appointment.kind, "iv_ketamine")
        self.assertEqual(
            row.appointment.day, state.proposal[0].astimezone(self.clinic_a.tzinfo).date()
        )
        with self.assertRaises(Conflict) as again:
            services.book_maintenance(actor_for(self.front_desk, self.clinic_a), plan)
        self.assertEqual(again.exception.code, "already_booked")
        self.assertEqual(MaintenanceBooking.objects.count(), 1)

    def test_a_flag_moves_the_later_booking_forward_rather_than_booking_a_second(self):
        self.give(self.course, 6)
        plan = services.start_maintenance(
            self.nursing, self.patient, after_course=self.course, interval_days=42
        )
        desk = actor_for(self.front_desk, self.clinic_a)
        booked = services.book_maintenance(desk, plan).appointment
        later = booked.start
        # Responded, then the PHQ-9 rose: the session booked weeks away is now too late.
        self.phq9(20, self.days_ago(21), self.course)
        self.phq9(6, self.days_ago(7), self.course)
        self.phq9(13, self.days_ago(0, hour=0), self.course)
        state = services.maintenance_state(plan)
        self.assertTrue(state.moves_upcoming)
        self.assertEqual(state.upcoming, booked)

        self.sign_in(self.front_desk)
        page = self.client.get(f"/maintenance/{plan.id}/")
        self.assertContains(page, "Move the booked session to the proposed time")
        self.assertContains(page, "no second session is booked")
        self.assertNotContains(page, "Book the proposed time")
        response = self.client.post(f"/maintenance/{plan.id}/book/", follow=True)
        self.assertContains(response, "Maintenance session moved from")

        # The same appointment, now on the proposed day; nothing booked beside it.
        self.assertEqual(MaintenanceBooking.objects.count(), 1)
        row = MaintenanceBooking.objects.get()
        self.assertEqual(row.appointment_id, booked.pk)
        self.assertTrue(row.brought_forward)
        booked.refresh_from_db()
        self.assertLess(booked.start, later)
        self.assertEqual(booked.start, state.proposal[0])
        self.assertEqual(
            Appointment.objects.filter(patient=self.patient, kind="iv_ketamine").count(), 1
        )
        state = services.maintenance_state(plan)
        self.assertFalse(state.needs_booking)
        with self.assertRaises(Conflict) as again:
            services.book_maintenance(desk, plan)
        self.assertEqual(again.exception.code, "already_booked")

    def test_a_session_booked_after_a_full_due_day_stays_where_it_is(self):
        """Nothing free on the day it is due, so the session went on the next free day: booking
        again is refused as booked, not a move to a later day still."""
        self.give(self.course, 6)
        plan = services.start_maintenance(
            self.nursing, self.patient, after_course=self.course, interval_days=42
        )
        due = services.maintenance_state(plan, propose=False).due.day
        tz = self.clinic_a.tzinfo
        for resource in Resource.objects.filter(clinic=self.clinic_a):
            ResourceBlock.objects.create(
                clinic=self.clinic_a,
                resource=resource,
                start=datetime.combine(due, time(0), tz),
                end=datetime.combine(due + timedelta(days=1), time(0), tz),
                kind=BlockKind.CLOSURE,
            )
        desk = actor_for(self.front_desk, self.clinic_a)
        booked = services.book_maintenance(desk, plan).appointment
        self.assertGreater(booked.day, due)
        state = services.maintenance_state(plan)
        self.assertEqual((state.upcoming, state.proposal), (booked, None))
        self.assertFalse(state.needs_booking)
        self.assertFalse(state.moves_upcoming)
        with self.assertRaises(Conflict) as again:
            services.book_maintenance(desk, plan)
        self.assertEqual(again.exception.code, "already_booked")
        booked.refresh_from_db()
        self.assertGreater(booked.day, due)
        self.assertEqual(MaintenanceBooking.objects.count(), 1)
        self.sign_in(self.front_desk)
        page = self.client.get(f"/maintenance/{plan.id}/")
        self.assertNotContains(page, "Move the booked session")
        self.assertNotContains(page, "Book the proposed time")

    def test_a_booking_counts_as_given_once_its_time_has_begun_not_once_its_day_has(self):
        self.give(self.course, 6)
        plan = services.start_maintenance(self.nursing, self.patient, after_course=self.course)
        desk = actor_for(self.front_desk, self.clinic_a)
        row = services.book_maintenance(desk, plan)
        appointment = row.appointment

        def move_to(start):
            appointment.start, appointment.end = start, start + timedelta(minutes=90)
            appointment.day = start.astimezone(self.clinic_a.tzinfo).date()
            appointment.save(update_fields=["start", "end", "day"])

        # Booked for a minute from now: still to come, on whatever day that is.
        move_to(timezone.now() + timedelta(minutes=1))
        state = services.maintenance_state(plan, propose=False)
        self.assertEqual(state.upcoming, appointment)
        self.assertFalse(state.needs_booking)
        with self.assertRaises(Conflict) as again:
            services.book_maintenance(desk, plan)
        self.assertEqual(again.exception.code, "already_booked")
        # Begun a minute ago: it is the last session given, and the next is due from its day.
        move_to(timezone.now() - timedelta(minutes=1))
        state = services.maintenance_state(plan, propose=False)
        self.assertIsNone(state.upcoming)
        self.assertEqual(state.last, appointment.day)
        self.assertGreaterEqual(state.due.day, appointment.day + timedelta(days=plan.interval_days))

    def test_an_ended_plan_books_nothing(self):
        self.give(self.course, 6)
        plan = services.start_maintenance(self.nursing, self.patient, after_course=self.course)
        with self.assertRaises(InputError):
            services.end_maintenance(self.nursing, plan, "")
        services.end_maintenance(self.nursing, plan, "Remission held for 6 months")
        with self.assertRaises(Conflict) as caught:
            services.book_maintenance(self.nursing, plan)
        self.assertEqual(caught.exception.code, "maintenance_ended")
