"""Cohorts, capacity, the waitlist and late joining; the room and the members' appointments."""

from datetime import datetime, time, timedelta

from trellis.groups import selectors, services
from trellis.groups.models import Enrolment, EnrolmentStatus, MeetingBooking
from trellis.groups.tests.base import GroupsTestCase
from trellis.lib.errors import Conflict, InputError
from trellis.scheduling import services as booking
from trellis.scheduling.kinds import AppointmentKind, AppointmentStatus, ResourceKind
from trellis.scheduling.models import Appointment, BlockKind, ResourceBlock
from trellis.scheduling.tests.base import add_resource


class CohortTests(GroupsTestCase):
    def test_a_cohort_has_its_weekly_sessions_and_holds_the_room_for_each(self):
        cohort = self.cohort()
        meetings = list(cohort.meetings.order_by("number"))
        self.assertEqual(len(meetings), 8)
        self.assertEqual(
            [m.day for m in meetings],
            [cohort.start_date + timedelta(weeks=n) for n in range(8)],
        )
        blocks = ResourceBlock.objects.filter(resource=self.room, kind=BlockKind.GROUP)
        self.assertEqual(blocks.count(), 8)
        # Nothing else is booked in the room then.
        with self.assertRaises(booking.ResourceUnavailable):
            booking.book_appointment(
                self.actor(),
                patient=self.patient,
                kind="therapy",
                start=meetings[0].start,
                resource=self.room,
            )

    def test_a_room_already_booked_refuses_the_cohort_naming_the_day(self):
        start = self.clinic_a.today() + timedelta(days=14)
        booking.book_appointment(
            self.actor(),
            patient=self.patient,
            kind="therapy",
            start=datetime.combine(start + timedelta(weeks=1), time(17), self.clinic_a.tzinfo),
            resource=self.room,
        )
        with self.assertRaises(booking.SlotTaken) as error:
            self.cohort(start)
        self.assertIn("Group room is booked on", error.exception.message)
        self.assertEqual(ResourceBlock.objects.filter(kind=BlockKind.GROUP).count(), 0)

    def test_validation_names_the_field_and_the_rule(self):
        chair = add_resource(self.clinic_a, "Chair 9", ResourceKind.CHAIR)
        cases = [
            ({"capacity": 13}, "capacity", "between 1 and 12"),
            ({"capacity": 0}, "capacity", "between 1 and 12"),
            ({"late": 9}, "late_join_until", "the program has 8 sessions"),
            ({"room": chair}, "room", "must be a room"),
            ({"facilitators": [self.front_desk]}, "facilitators", "may not lead a group"),
            ({"facilitators": []}, "facilitators", "at least one therapist"),
            ({"start_time": time(19)}, "start_time", "is not open"),
            ({"start": self.clinic_a.today() - timedelta(days=1)}, "start_date", "today or later"),
        ]
        for values, field, words in cases:
            with self.subTest(field=field, values=values):
                kwargs = {
                    "start_date": values.pop("start", self.clinic_a.today() + timedelta(days=3)),
                    "start_time": values.pop("start_time", time(10)),
                    "room": values.pop("room", self.room),
                    "facilitators": values.pop("facilitators", [self.therapist]),
                    "capacity": values.pop("capacity", 10),
                    "late_join_until": values.pop("late", 2),
                }
                with self.assertRaises(InputError) as error:
                    services.create_cohort(self.actor(self.admin), self.program, **kwargs)
                self.assertEqual(error.exception.field, field)
                self.assertIn(words, error.exception.message)

    def test_only_the_administrator_plans_cohorts(self):
        from django.core.exceptions import PermissionDenied

        with self.assertRaises(PermissionDenied):
            services.create_program(self.actor(self.front_desk), name="X", sessions=4, minutes=60)


class EnrolmentTests(GroupsTestCase):
    def test_enrolment_fills_the_places_then_the_waitlist_in_order(self):
        cohort = self.cohort(capacity=3)
        people = self.patients(5)
        statuses = [services.enrol(self.actor(), cohort, p).enrolment.status for p in people]
        self.assertEqual(statuses, ["enrolled"] * 3 + ["waitlisted"] * 2)
        page = selectors.cohort_page(self.actor(), cohort)
        self.assertEqual([e.patient for e in page.waitlist], people[3:])
        self.assertEqual([e.position for e in page.waitlist], [1, 2])
        self.assertEqual(page.places, 0)

    def test_members_get_a_group_appointment_for_each_session_and_the_waitlist_none(self):
        cohort = self.cohort(capacity=1)
        first, second = self.patients(2)
        services.enrol(self.actor(), cohort, first)
        services.enrol(self.actor(), cohort, second)
        rows = Appointment.objects.filter(patient=first, kind=AppointmentKind.GROUP)
        self.assertEqual(rows.count(), 8)
        self.assertEqual({a.staff for a in rows}, {self.therapist})
        self.assertFalse(Appointment.objects.filter(patient=second).exists())

    def test_a_withdrawal_gives_the_place_to_the_first_waiting_and_books_them(self):
        cohort = self.cohort(capacity=2)
        a, b, c, d = self.patients(4)
        for p in (a, b, c, d):
            services.enrol(self.actor(), cohort, p)
        leaving = Enrolment.objects.get(cohort=cohort, patient=a)
        promoted = services.withdraw(self.actor(), leaving, "Moved away")
        self.assertEqual([e.patient for e in promoted], [c])
        self.assertEqual(
            Enrolment.objects.get(cohort=cohort, patient=c).status, EnrolmentStatus.ENROLLED
        )
        self.assertIsNotNone(Enrolment.objects.get(cohort=cohort, patient=c).promoted_at)
        self.assertEqual(
            Enrolment.objects.get(cohort=cohort, patient=d).status, EnrolmentStatus.WAITLISTED
        )
        self.assertEqual(
            Appointment.objects.filter(patient=a, status=AppointmentStatus.CANCELLED).count(), 8
        )
        self.assertEqual(Appointment.objects.active().filter(patient=c).count(), 8)

    def test_two_cancellations_promote_exactly_two(self):
        cohort = self.cohort(capacity=3)
        people = self.patients(6)
        for p in people:
            services.enrol(self.actor(), cohort, p)
        for p in people[:2]:
            services.withdraw(
                self.actor(), Enrolment.objects.get(cohort=cohort, patient=p), "Not for now"
            )
        enrolled = Enrolment.objects.filter(cohort=cohort, status=EnrolmentStatus.ENROLLED)
        self.assertEqual({e.patient for e in enrolled}, {people[2], people[3], people[4]})
        self.assertEqual(
            list(
                Enrolment.objects.filter(
                    cohort=cohort, status=EnrolmentStatus.WAITLISTED
                ).values_list("patient", flat=True)
            ),
            [people[5].pk],
        )

    def test_leaving_the_waitlist_promotes_no_one(self):
        cohort = self.cohort(capacity=1)
        a, b, c = self.patients(3)
        for p in (a, b, c):
            services.enrol(self.actor(), cohort, p)
        promoted = services.withdraw(
            self.actor(), Enrolment.objects.get(cohort=cohort, patient=b), "Changed mind"
        )
        self.assertEqual(promoted, [])
        self.assertEqual(
            Enrolment.objects.get(cohort=cohort, patient=c).status, EnrolmentStatus.WAITLISTED
        )

    def test_a_larger_capacity_promotes_from_the_waitlist(self):
        cohort = self.cohort(capacity=1)
        a, b = self.patients(2)
        services.enrol(self.actor(), cohort, a)
        services.enrol(self.actor(), cohort, b)
        promoted = services.set_capacity(self.actor(self.admin), cohort, 2)
        self.assertEqual([e.patient for e in promoted], [b])
        with self.assertRaises(InputError) as error:
            services.set_capacity(self.actor(self.admin), cohort, 1)
        self.assertIn("cannot be below the 2 members", error.exception.message)

    def test_enrolling_twice_is_refused(self):
        cohort = self.cohort()
        services.enrol(self.actor(), cohort, self.patient)
        with self.assertRaises(Conflict) as error:
            services.enrol(self.actor(), cohort, self.patient)
        self.assertEqual(error.exception.code, "already")

    def test_late_joining_closes_when_the_cohorts_session_begins(self):
        cohort = self.cohort(late=2)
        meetings = list(cohort.meetings.order_by("number"))
        first, second, third = self.patients(3)
        after_first = meetings[0].start + timedelta(minutes=5)
        done = services.enrol(self.actor(), cohort, first, now=after_first)
        self.assertEqual(done.enrolment.status, EnrolmentStatus.ENROLLED)
        # Joined after session 1 began: booked from session 2 on.
        self.assertEqual(
            sorted(
                MeetingBooking.objects.filter(enrolment=done.enrolment).values_list(
                    "meeting__number", flat=True
                )
            ),
            list(range(2, 9)),
        )
        after_second = meetings[1].start + timedelta(minutes=5)
        with self.assertRaises(Conflict) as error:
            services.enrol(self.actor(), cohort, second, now=after_second)
        self.assertEqual(error.exception.code, "late_join")
        self.assertIn("Joining closed when session 2 began", error.exception.message)
        self.assertFalse(Enrolment.objects.filter(patient=second).exists())
        self.assertIsNotNone(third)

    def test_no_promotion_after_the_late_join_cut_off(self):
        cohort = self.cohort(capacity=1, late=1)
        a, b = self.patients(2)
        services.enrol(self.actor(), cohort, a, now=self.before(cohort))
        services.enrol(self.actor(), cohort, b, now=self.before(cohort))
        started = cohort.meetings.get(number=1).start + timedelta(minutes=1)
        promoted = services.withdraw(
            self.actor(), Enrolment.objects.get(cohort=cohort, patient=a), "Unwell", now=started
        )
        self.assertEqual(promoted, [])

    def test_a_clash_skips_that_session_and_says_so(self):
        cohort = self.cohort()
        second = cohort.meetings.get(number=2)
        booking.book_appointment(
            self.actor(), patient=self.patient, kind="therapy", start=second.start
        )
        done = services.enrol(self.actor(), cohort, self.patient)
        self.assertEqual(done.skipped, [2])
        self.assertEqual(done.enrolment.bookings.count(), 7)
