"""A course's sessions in the appointment book: proposed, booked together, cancelled, missed."""

from datetime import datetime, time, timedelta

from trellis.lib.errors import Conflict, InputError
from trellis.patients.services import create_screening, sign_screening
from trellis.scheduling import services
from trellis.scheduling.models import Appointment
from trellis.scheduling.tests.base import SchedulingTestCase
from trellis.testing import SAFE_ANSWERS, actor_for
from trellis.treatments import services as treatment_services
from trellis.treatments.models import Session, SessionStatus
from trellis.treatments.tests.helpers import antidepressant


class CourseBookingTests(SchedulingTestCase):
    def start_course(self, protocol="ketamine-iv-induction", patient=None):
        patient = patient or self.patient
        prescriber = actor_for(self.prescriber, self.clinic_a)
        screening = create_screening(prescriber, patient, SAFE_ANSWERS, [])
        sign_screening(prescriber, screening, acknowledge_cautions=True)
        return treatment_services.start_course(
            actor_for(self.nurse, self.clinic_a),
            patient,
            protocol,
            self.monday,
            with_antidepressant=antidepressant(protocol),
        )

    def local(self, moment):
        return moment.astimezone(self.clinic_a.tzinfo)

    def test_it_proposes_a_free_chair_for_each_planned_session_on_its_day(self):
        course = self.start_course()
        # Chair 1 is taken on the first morning: the first session goes to Chair 2.
        self.book(patient=self.other_patient, resource=self.chair, start=self.at(8))
        proposals = services.propose_course_slots(course)
        sessions = list(course.sessions.order_by("number"))
        self.assertEqual([p.session for p in proposals], sessions)
        first = proposals[0]
        self.assertEqual((first.resource, self.local(first.start).time()), (self.chair_2, time(8)))
        self.assertEqual(first.minutes, 90)
        for proposal in proposals[1:]:
            self.assertEqual(proposal.resource, self.chair)
            self.assertEqual(self.local(proposal.start).date(), proposal.session.planned_date)

    def test_a_first_start_sets_the_time_of_day_searched_from(self):
        course = self.start_course()
        proposals = services.propose_course_slots(course, first_start=self.at(13))
        self.assertTrue(all(self.local(p.start).time() == time(13) for p in proposals))

    def test_booking_a_course_books_every_session(self):
        course = self.start_course()
        booked = services.book_course(
            self.actor(), course, services.propose_course_slots(course, first_start=self.at(10))
        )
        self.assertEqual(len(booked), course.sessions.count())
        for session in course.sessions.all():
            self.assertEqual(session.status, SessionStatus.BOOKED)
            self.assertEqual(session.planned_time, time(10))
            self.assertEqual(session.appointments.get().kind, "iv_ketamine")

    def test_a_course_is_booked_all_or_nothing(self):
        course = self.start_course()
        proposals = services.propose_course_slots(course)
        third = proposals[2]
        self.book(patient=self.other_patient, resource=third.resource, start=third.start)
        with self.assertRaises(services.CourseBookingFailed) as caught:
            services.book_course(self.actor(), course, proposals)
        self.assertTrue(caught.exception.message.startswith("Session 3: resource: Chair 1"))
        self.assertEqual(caught.exception.session, third.session)
        self.assertFalse(Appointment.objects.filter(patient=self.patient).exists())
        self.assertEqual(
            set(course.sessions.values_list("status", flat=True)), {SessionStatus.PLANNED}
        )

    def test_accelerated_itbs_sessions_are_proposed_at_their_planned_times(self):
        course = self.start_course("tms-accelerated-itbs")
        proposals = services.propose_course_slots(course)[:10]
        times = [self.local(p.start).time() for p in proposals]
        self.assertEqual(times, [time(8 + n) for n in range(10)])
        self.assertEqual({p.minutes for p in proposals}, {10})
        self.assertEqual({p.resource for p in proposals}, {self.device})

    def test_cancelling_plans_the_session_again_and_a_no_show_marks_it(self):
        course = self.start_course()
        first, second = course.sessions.order_by("number")[:2]
        appointment = self.book(session=first, resource=self.chair, start=self.at(11))
        first.refresh_from_db()
        self.assertEqual((first.status, first.planned_time), (SessionStatus.BOOKED, time(11)))
        services.set_status(self.actor(), appointment, "cancelled", "Patient asked to move it")
        first.refresh_from_db()
        self.assertEqual(first.status, SessionStatus.PLANNED)
        # Booked again, and missed: front desk marks the no-show, and the session follows.
        again = self.book(session=first, resource=self.chair, start=self.at(12))
        services.set_status(self.actor(), again, "no_show", now=self.at(15))
        first.refresh_from_db()
        self.assertEqual(first.status, SessionStatus.NO_SHOW)
        self.assertEqual(second.status, SessionStatus.PLANNED)

    def test_a_session_is_booked_once_and_only_for_its_own_patient_and_kind(self):
        course = self.start_course()
        session = course.sessions.get(number=1)
        self.book(session=session, resource=self.chair)
        with self.assertRaises(Conflict):
            self.book(session=session, resource=self.chair_2, start=self.at(14))
        session_2 = course.sessions.get(number=2)
        with self.assertRaises(InputError) as caught:
            self.book(session=session_2, kind="tms", resource=self.device)
        self.assertEqual(caught.exception.field, "session")
        with self.assertRaises(InputError):
            self.book(patient=self.other_patient, session=session_2)

    def test_moving_a_booked_session_moves_its_planned_day(self):
        course = self.start_course()
        session = course.sessions.get(number=1)
        appointment = self.book(session=session, resource=self.chair)
        tuesday = self.monday + timedelta(days=1)
        if Session.objects.filter(course=course, planned_date=tuesday).exists():
            tuesday += timedelta(days=7)
        services.move_appointment(
            self.actor(),
            appointment,
            start=datetime.combine(tuesday, time(9), self.clinic_a.tzinfo),
        )
        session.refresh_from_db()
        self.assertEqual((session.planned_date, session.status), (tuesday, SessionStatus.BOOKED))
