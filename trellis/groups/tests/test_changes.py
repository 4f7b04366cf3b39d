"""Changing a planned cohort: cancelling it, changing its time, room and facilitators."""

from datetime import datetime, time, timedelta

from django.test import SimpleTestCase

from trellis.accounts.permissions import RULES, Perm
from trellis.audit.models import AuditEvent
from trellis.groups import services
from trellis.groups.models import Cohort, Enrolment, EnrolmentStatus
from trellis.groups.tests.base import GroupsTestCase
from trellis.lib.errors import Conflict, InputError
from trellis.messaging.models import OutboxMessage
from trellis.scheduling import services as booking
from trellis.scheduling.kinds import AppointmentStatus, ResourceKind
from trellis.scheduling.models import Appointment, BlockKind, ResourceBlock
from trellis.scheduling.tests.base import add_resource


class PlannersMayFreeRoomsTests(SimpleTestCase):
    def test_whoever_plans_cohorts_may_also_give_a_room_back(self):
        # Cancelling a cohort or moving its sessions removes its room holds through the
        # appointment book, which asks resource.change.
        self.assertLessEqual(RULES[Perm.GROUP_PROGRAM_CHANGE], RULES[Perm.RESOURCE_CHANGE])


class CancelCohortTests(GroupsTestCase):
    def full_cohort(self):
        cohort = self.cohort(capacity=2)
        members = self.patients(3)
        for patient in members:
            patient.email = f"{patient.given_name.lower()}@example.org"
            patient.save(update_fields=["email"])
            services.enrol(self.actor(), cohort, patient)
        return cohort, members

    def test_it_frees_the_room_cancels_the_appointments_and_ends_every_place(self):
        cohort, members = self.full_cohort()
        done = services.cancel_cohort(self.actor(self.admin), cohort, "Facilitator on leave")
        self.assertEqual((done.sessions, done.members, done.waitlisted), (8, 2, 1))
        cohort.refresh_from_db()
        self.assertIsNotNone(cohort.cancelled_at)
        self.assertEqual(cohort.cancelled_reason, "Facilitator on leave")
        self.assertFalse(ResourceBlock.objects.filter(kind=BlockKind.GROUP).exists())
        self.assertFalse(cohort.meetings.filter(room_block__isnull=False).exists())
        self.assertEqual(
            set(Appointment.objects.filter(patient__in=members).values_list("status", flat=True)),
            {AppointmentStatus.CANCELLED},
        )
        places = Enrolment.objects.filter(cohort=cohort)
        self.assertEqual({e.status for e in places}, {EnrolmentStatus.WITHDRAWN})
        self.assertTrue(all(e.withdrawn_reason.startswith("Cohort cancelled") for e in places))
        told = OutboxMessage.objects.filter(purpose="group_cancelled")
        self.assertEqual(set(told.values_list("patient", flat=True)), {p.pk for p in members})
        # One message each: the eight sessions' appointments are cancelled without a message
        # of their own.
        self.assertEqual(told.count(), 3)
        enrolled = [p.pk for p in members if Appointment.objects.filter(patient=p).exists()]
        self.assertTrue(enrolled)
        self.assertEqual(
            OutboxMessage.objects.filter(patient__in=enrolled, body__icontains="cancel")
            .exclude(purpose__startswith="group_")
            .count(),
            0,
        )
        self.assertTrue(
            AuditEvent.objects.filter(object_id=str(cohort.pk), detail__status="cancelled").exists()
        )

    def test_it_keeps_sessions_held_and_refuses_a_second_time(self):
        # Six days ago, so that no session falls today, held or not by the hour of the run.
        start = self.clinic_a.today() - timedelta(days=6)
        cohort = self.cohort(start, now=datetime.combine(start, time(8), self.clinic_a.tzinfo))
        done = services.cancel_cohort(self.actor(self.admin), cohort, "Too few members")
        self.assertEqual(done.sessions, 7)
        # The session of last week keeps its room hold: it is history.
        self.assertEqual(ResourceBlock.objects.filter(kind=BlockKind.GROUP).count(), 1)
        with self.assertRaises(Conflict):
            services.cancel_cohort(self.actor(self.admin), cohort, "Again")

    def test_a_reason_is_required_and_only_planners_cancel(self):
        cohort = self.cohort()
        with self.assertRaises(InputError) as error:
            services.cancel_cohort(self.actor(self.admin), cohort, "  ")
        self.assertEqual(error.exception.field, "reason")
        self.sign_in(self.front_desk)
        self.assertEqual(self.client.get(f"/groups/cohorts/{cohort.id}/cancel/").status_code, 403)
        self.assertIsNone(Cohort.objects.get(pk=cohort.pk).cancelled_at)

    def test_the_page_confirms_with_counts_then_cancels_and_the_public_page_drops_it(self):
        cohort, members = self.full_cohort()
        public = f"/request/{self.clinic_a.slug}/groups/"
        self.assertContains(self.client.get(public), "Integration group, 8 weeks")
        self.sign_in(self.admin)
        page = self.client.get(f"/groups/cohorts/{cohort.id}/")
        self.assertContains(page, f"/groups/cohorts/{cohort.id}/cancel/")
        confirm = self.client.get(f"/groups/cohorts/{cohort.id}/cancel/")
        self.assertContains(confirm, "<strong>8 sessions</strong>", html=False)
        self.assertContains(confirm, "<strong>2 members</strong>", html=False)
        self.assertContains(confirm, "<strong>1 on the waitlist</strong>", html=False)
        blank = self.client.post(f"/groups/cohorts/{cohort.id}/cancel/", {"reason": ""})
        self.assertContains(blank, "This field is required", status_code=422)
        self.assertIsNone(Cohort.objects.get(pk=cohort.pk).cancelled_at)
        response = self.client.post(
            f"/groups/cohorts/{cohort.id}/cancel/", {"reason": "Facilitator on leave"}
        )
        self.assertRedirects(response, f"/groups/cohorts/{cohort.id}/")
        page = self.client.get(f"/groups/cohorts/{cohort.id}/")
        self.assertContains(page, "Facilitator on leave")
        self.assertNotContains(page, f"/groups/cohorts/{cohort.id}/cancel/")
        chart = self.client.get(f"/patients/{members[0].id}/")
        self.assertContains(chart, "Cohort cancelled")
        self.client.logout()
        self.assertNotContains(self.client.get(public), "Integration group, 8 weeks")


class PlannedTestCase(GroupsTestCase):
    """A cohort of three members a week from today at 17:00."""

    def planned(self, start=None, **kw):
        cohort = self.cohort(start, **kw)
        members = self.patients(3)
        for patient in members:
            services.enrol(self.actor(), cohort, patient, now=kw.get("now"))
        return cohort, members

    def change(self, cohort, **values):
        fields = {
            "start_time": cohort.start_time,
            "room": cohort.room,
            "facilitators": list(cohort.facilitators.all()),
            "late_join_until": cohort.late_join_until,
            "listed": cohort.listed,
            **values,
        }
        return services.update_cohort(self.actor(self.admin), cohort, **fields)

    def local_times(self, rows):
        return {r.start.astimezone(self.clinic_a.tzinfo).time() for r in rows}


class EditCohortTests(PlannedTestCase):
    def test_a_new_weekly_time_moves_every_session_its_room_hold_and_appointments(self):
        cohort, members = self.planned()
        changed = self.change(cohort, start_time=time(18))
        self.assertEqual(changed, ["start_time"])
        self.assertEqual(self.local_times(cohort.meetings.all()), {time(18)})
        blocks = ResourceBlock.objects.filter(kind=BlockKind.GROUP)
        self.assertEqual(blocks.count(), 8)
        self.assertEqual(self.local_times(blocks), {time(18)})
        appointments = Appointment.objects.filter(patient__in=members)
        self.assertEqual(appointments.count(), 24)
        self.assertEqual(self.local_times(appointments), {time(18)})
        self.assertEqual(
            set(appointments.values_list("status", flat=True)), {AppointmentStatus.BOOKED}
        )

    def test_a_clash_with_the_room_is_refused_naming_it_and_changes_nothing(self):
        cohort, members = self.planned()
        fourth = cohort.meetings.get(number=4)
        booking.book_appointment(
            self.actor(),
            patient=self.other_patient,
            kind="therapy",
            start=fourth.start + timedelta(hours=1, minutes=30),
            resource=self.room,
        )
        with self.assertRaises(Conflict) as error:
            self.change(cohort, start_time=time(18))
        self.assertIn("Session 4", error.exception.message)
        self.assertIn("Group room is booked", error.exception.message)
        self.assertIn("Therapy", error.exception.message)
        cohort.refresh_from_db()
        self.assertEqual(cohort.start_time, time(17))
        self.assertEqual(self.local_times(cohort.meetings.all()), {time(17)})
        blocks = ResourceBlock.objects.filter(kind=BlockKind.GROUP)
        self.assertEqual((blocks.count(), self.local_times(blocks)), (8, {time(17)}))
        self.assertEqual(
            self.local_times(Appointment.objects.filter(patient__in=members)), {time(17)}
        )

    def test_a_member_busy_at_the_new_time_refuses_the_move_naming_them(self):
        cohort, members = self.planned()
        second = cohort.meetings.get(number=2)
        booking.book_appointment(
            self.actor(),
            patient=members[0],
            kind="therapy",
            start=second.start + timedelta(hours=2),
        )
        with self.assertRaises(Conflict) as error:
            self.change(cohort, start_time=time(18, 30))
        self.assertIn(f"Session 2: {members[0].full_name} already has", error.exception.message)
        self.assertEqual(self.local_times(cohort.meetings.all()), {time(17)})

    def test_a_new_room_held_by_another_group_is_refused_naming_that_group(self):
        cohort, _ = self.planned()
        studio = add_resource(
            self.clinic_a, "Studio", ResourceKind.ROOM, opens=time(8), closes=time(20)
        )
        services.create_cohort(
            self.actor(self.admin),
            self.program,
            start_date=cohort.start_date + timedelta(weeks=2),
            start_time=time(17, 30),
            room=studio,
            facilitators=[self.therapist],
        )
        with self.assertRaises(Conflict) as error:
            self.change(cohort, room=studio)
        self.assertIn(
            "Session 3: Studio is out (held for Integration group", error.exception.message
        )
        cohort.refresh_from_db()
        self.assertEqual(cohort.room, self.room)

    def test_sessions_held_never_move(self):
        start = self.clinic_a.today() - timedelta(days=7)
        then = datetime.combine(start, time(8), self.clinic_a.tzinfo)
        cohort, _ = self.planned(start, now=then)
        first = cohort.meetings.get(number=1)
        # Early on the day of session 2, so that its new time (10:00) is still to come.
        morning = datetime.combine(self.clinic_a.today(), time(7), self.clinic_a.tzinfo)
        self.change(cohort, start_time=time(10), listed=False, now=morning)
        first.refresh_from_db()
        self.assertEqual(self.local_times([first]), {time(17)})
        self.assertEqual(self.local_times(cohort.meetings.exclude(number=1)), {time(10)})
        self.assertFalse(Cohort.objects.get(pk=cohort.pk).listed)

    def test_the_page_changes_the_cohort_and_names_a_bad_field_or_a_clash(self):
        cohort, _ = self.planned()
        other = self.patients(1, prefix="Other")[0]
        booking.book_appointment(
            self.actor(),
            patient=other,
            kind="therapy",
            start=cohort.meetings.get(number=2).start - timedelta(hours=2),
            resource=self.room,
        )
        self.sign_in(self.admin)
        url = f"/groups/cohorts/{cohort.id}/edit/"
        self.assertContains(self.client.get(url), "Change the cohort")
        values = {
            "start_time": "17:00",
            "room": self.room.id,
            "facilitators": [self.therapist.id, self.prescriber.id],
            "late_join_until": 9,
            "listed": "on",
        }
        bad = self.client.post(url, values)
        self.assertContains(bad, "the program has 8 sessions", status_code=422)
        clash = self.client.post(url, {**values, "late_join_until": 3, "start_time": "15:00"})
        self.assertContains(clash, "Session 2: Group room is booked", status_code=422)
        self.assertContains(clash, "Nothing was changed.", status_code=422)
        self.assertEqual(Cohort.objects.get(pk=cohort.pk).late_join_until, 2)
        done = self.client.post(url, {**values, "late_join_until": 3})
        self.assertRedirects(done, f"/groups/cohorts/{cohort.id}/")
        cohort.refresh_from_db()
        self.assertEqual(cohort.late_join_until, 3)
        self.assertEqual(cohort.facilitators.count(), 2)
        self.sign_in(self.therapist)
        self.assertEqual(self.client.get(url).status_code, 403)


class MoveSessionTests(PlannedTestCase):
    def test_a_session_moved_for_a_holiday_moves_its_room_hold_and_appointments(self):
        cohort, members = self.planned()
        third = cohort.meetings.get(number=3)
        services.move_meeting(
            self.actor(self.admin), third, day=third.day + timedelta(days=1), start_time=time(10)
        )
        third.refresh_from_db()
        self.assertEqual(third.day, cohort.start_date + timedelta(weeks=2, days=1))
        self.assertEqual(self.local_times([third]), {time(10)})
        self.assertEqual(third.room_block.start, third.start)
        rows = Appointment.objects.filter(patient__in=members, start=third.start)
        self.assertEqual(rows.count(), 3)
        self.assertEqual(ResourceBlock.objects.filter(kind=BlockKind.GROUP).count(), 8)
        # The other sessions stay where they were.
        self.assertEqual(self.local_times(cohort.meetings.exclude(number=3)), {time(17)})

    def test_a_move_onto_a_booked_room_or_out_of_order_is_refused_and_changes_nothing(self):
        cohort, members = self.planned()
        third = cohort.meetings.get(number=3)
        target = datetime.combine(third.day + timedelta(days=1), time(10), self.clinic_a.tzinfo)
        booking.book_appointment(
            self.actor(),
            patient=self.other_patient,
            kind="therapy",
            start=target,
            resource=self.room,
        )
        with self.assertRaises(Conflict) as error:
            services.move_meeting(
                self.actor(self.admin), third, day=target.date(), start_time=time(10)
            )
        self.assertIn("Session 3: Group room is booked", error.exception.message)
        with self.assertRaises(InputError) as error:
            services.move_meeting(
                self.actor(self.admin),
                third,
                day=third.day + timedelta(weeks=1),
                start_time=time(17),
            )
        self.assertEqual(error.exception.field, "day")
        self.assertIn("must be before session 4", error.exception.message)
        third.refresh_from_db()
        self.assertEqual(self.local_times([third]), {time(17)})
        self.assertEqual(
            self.local_times(Appointment.objects.filter(patient__in=members)), {time(17)}
        )

    def test_the_page_moves_a_session_and_names_a_clash(self):
        cohort, _ = self.planned()
        second = cohort.meetings.get(number=2)
        self.sign_in(self.admin)
        page = self.client.get(f"/groups/cohorts/{cohort.id}/")
        self.assertContains(page, f"/groups/sessions/{second.id}/move/")
        url = f"/groups/sessions/{second.id}/move/"
        bad = self.client.post(url, {"day": "", "start_time": "10:00"})
        self.assertContains(bad, "This field is required", status_code=422)
        late = self.client.post(url, {"day": second.day.isoformat(), "start_time": "21:00"})
        self.assertContains(late, "is not open for all of the session", status_code=422)
        day = second.day + timedelta(days=2)
        done = self.client.post(url, {"day": day.isoformat(), "start_time": "11:00"})
        self.assertRedirects(done, f"/groups/cohorts/{cohort.id}/#sessions")
        second.refresh_from_db()
        self.assertEqual(second.day, day)


class RetireProgramTests(GroupsTestCase):
    def test_a_retired_program_takes_no_new_cohort_leaves_the_public_page_and_its_cohorts_run_on(
        self,
    ):
        cohort = self.cohort()
        admin = self.actor(self.admin)
        services.set_program_active(admin, self.program, False)
        with self.assertRaises(InputError) as error:
            self.cohort(self.clinic_a.today() + timedelta(days=30))
        self.assertEqual(error.exception.field, "program")
        self.assertIn("retired", error.exception.message)
        public = f"/request/{self.clinic_a.slug}/groups/"
        self.assertNotContains(self.client.get(public), "Integration group, 8 weeks")
        # The cohort already planned runs on: it still enrols.
        done = services.enrol(self.actor(), cohort, self.patient)
        self.assertEqual(done.enrolment.status, EnrolmentStatus.ENROLLED)
        services.set_program_active(admin, self.program, True)
        self.assertContains(self.client.get(public), "Integration group, 8 weeks")
        with self.assertRaises(Conflict):
            services.set_program_active(admin, self.program, True)

    def test_the_list_page_retires_and_brings_back_for_the_administrator_only(self):
        self.sign_in(self.therapist)
        url = f"/groups/programs/{self.program.id}/active/"
        self.assertEqual(self.client.post(url, {"active": "0"}).status_code, 403)
        self.sign_in(self.admin)
        response = self.client.post(url, {"active": "0"})
        self.assertRedirects(response, "/groups/#programs")
        self.program.refresh_from_db()
        self.assertFalse(self.program.is_active)
        page = self.client.get("/groups/")
        self.assertContains(page, "Bring back")
        self.assertNotContains(page, f"/groups/programs/{self.program.id}/cohorts/new/")
        refused = self.client.get(f"/groups/programs/{self.program.id}/cohorts/new/")
        self.assertRedirects(refused, "/groups/")
        self.client.post(url, {"active": "1"})
        self.program.refresh_from_db()
        self.assertTrue(self.program.is_active)


class WaitlistClosedTests(GroupsTestCase):
    def test_after_the_cut_off_the_waitlist_shows_closed_and_closing_it_tells_each_patient(self):
        start = self.clinic_a.today() - timedelta(days=7)
        then = datetime.combine(start, time(8), self.clinic_a.tzinfo)
        cohort = self.cohort(start, capacity=1, late=1, now=then)
        member, waiting = self.patients(2)
        waiting.email = "waiting@example.org"
        waiting.save(update_fields=["email"])
        services.enrol(self.actor(), cohort, member, now=then)
        services.enrol(self.actor(), cohort, waiting, now=then)
        self.sign_in(self.front_desk)
        page = self.client.get(f"/groups/cohorts/{cohort.id}/")
        self.assertContains(page, "Waitlist closed")
        response = self.client.post(f"/groups/cohorts/{cohort.id}/close-waitlist/")
        self.assertRedirects(response, f"/groups/cohorts/{cohort.id}/#waitlist")
        place = Enrolment.objects.get(patient=waiting)
        self.assertEqual(place.status, EnrolmentStatus.WITHDRAWN)
        self.assertIn("Waitlist closed", place.withdrawn_reason)
        self.assertEqual(Enrolment.objects.get(patient=member).status, EnrolmentStatus.ENROLLED)
        told = OutboxMessage.objects.get(purpose="group_waitlist_closed")
        self.assertEqual(told.patient, waiting)

    def test_a_waitlist_still_open_is_not_closed(self):
        cohort = self.cohort(capacity=1)
        member, waiting = self.patients(2)
        services.enrol(self.actor(), cohort, member)
        services.enrol(self.actor(), cohort, waiting)
        with self.assertRaises(Conflict):
            services.close_waitlist(self.actor(), cohort)
        self.assertEqual(Enrolment.objects.get(patient=waiting).status, EnrolmentStatus.WAITLISTED)
        self.sign_in(self.front_desk)
        self.assertNotContains(self.client.get(f"/groups/cohorts/{cohort.id}/"), "Waitlist closed")
