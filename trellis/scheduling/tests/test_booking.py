"""Booking, moving and closing appointments through the services; the database's own rules."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.test import skipUnlessDBFeature
from django.test.utils import CaptureQueriesContext

from trellis.accounts.permissions import Role
from trellis.audit.models import Action, AuditEvent
from trellis.lib.errors import Conflict, InputError
from trellis.scheduling import selectors, services
from trellis.scheduling.models import Appointment, BlockKind, ResourceBlock
from trellis.scheduling.services import (
    KetamineDayTaken,
    PatientBusy,
    ResourceUnavailable,
    SlotTaken,
)
from trellis.scheduling.tests.base import SchedulingTestCase, add_resource
from trellis.testing import AUDIT_LOCK_QUERIES, actor_for, make_clinic, make_patient, make_staff


class ConflictTests(SchedulingTestCase):
    def test_it_books_with_the_clinics_default_length_and_audits_it(self):
        appointment = self.book(resource=self.chair)
        self.assertEqual(appointment.end - appointment.start, timedelta(minutes=90))
        self.assertEqual((appointment.day, appointment.status), (self.monday, "booked"))
        self.assertTrue(
            AuditEvent.objects.filter(
                action=Action.CREATE, object_id=str(appointment.pk), patient=self.patient
            ).exists()
        )

    def test_a_resource_takes_one_appointment_at_a_time(self):
        self.book(resource=self.chair)
        with self.assertRaises(SlotTaken) as caught:
            self.book(patient=self.other_patient, resource=self.chair, start=self.at(10))
        self.assertIn("Chair 1 is booked then", caught.exception.message)
        self.assertIn("09:00–10:30", caught.exception.message)
        # Back to back is fine: the first ends at 10:30.
        self.book(patient=self.other_patient, resource=self.chair, start=self.at(10, 30))

    def test_a_patient_has_one_appointment_at_a_time(self):
        self.book(resource=self.chair)
        with self.assertRaises(PatientBusy) as caught:
            self.book(kind="therapy", resource=self.room, start=self.at(10))
        self.assertIn("patient: already has an appointment then", caught.exception.message)

    def test_the_database_refuses_an_overlap_the_service_did_not_see(self):
        first = self.book(resource=self.chair)
        for patient, resource in ((self.other_patient, self.chair), (self.patient, self.room)):
            clash = Appointment(
                clinic=self.clinic_a,
                patient=patient,
                kind="follow_up",
                start=first.start + timedelta(minutes=30),
                end=first.end,
                day=first.day,
                resource=resource,
                created_by=self.front_desk,
            )
            with self.assertRaises(IntegrityError), transaction.atomic():
                clash.save()
        # Moving another row onto the slot is refused too (the update rule).
        later = self.book(patient=self.other_patient, resource=self.chair, start=self.at(12))
        with self.assertRaises(IntegrityError), transaction.atomic():
            Appointment.objects.filter(pk=later.pk).update(start=self.at(9, 30))

    def test_a_cancelled_or_missed_appointment_frees_its_slot(self):
        first = self.book(resource=self.chair)
        services.set_status(self.actor(), first, "cancelled", "Patient unwell")
        second = self.book(patient=self.other_patient, resource=self.chair)
        self.assertEqual(second.start, first.start)

    def test_a_therapist_books_therapy_but_not_a_dose(self):
        self.book(self.therapist, kind="therapy", resource=self.room)
        with self.assertRaises(PermissionDenied):
            self.book(self.therapist, resource=self.chair, start=self.at(14))


class KetamineDayTests(SchedulingTestCase):
    def test_a_second_ketamine_family_dose_that_day_is_refused(self):
        self.book(resource=self.chair)
        with self.assertRaises(KetamineDayTaken) as caught:
            self.book(kind="esketamine", resource=self.chair_2, start=self.at(14))
        self.assertIn("IV ketamine on", caught.exception.message)
        # Another kind that day is fine, as is a dose the next day.
        self.book(kind="therapy", resource=self.room, start=self.at(14))
        self.book(kind="oral_ketamine", start=self.at(9, day=self.monday + timedelta(days=1)))

    def test_a_prescriber_may_allow_a_second_dose_with_a_reason(self):
        self.book(resource=self.chair)
        second = self.book(
            self.prescriber,
            kind="oral_ketamine",
            start=self.at(14),
            override_reason="Rescue dose agreed with the patient",
        )
        self.assertEqual(second.override_by, self.prescriber)
        self.assertEqual(second.override_reason, "Rescue dose agreed with the patient")

    def test_only_a_prescriber_overrides(self):
        self.book(resource=self.chair)
        for user in (self.nurse, self.front_desk, self.admin):
            with self.assertRaises(PermissionDenied):
                self.book(user, kind="esketamine", start=self.at(14), override_reason="Please")
        self.assertEqual(Appointment.objects.count(), 1)

    def test_an_override_with_nothing_to_override_is_not_kept(self):
        first = self.book(self.prescriber, override_reason="Just in case")
        self.assertEqual((first.override_reason, first.override_by), ("", None))
        with self.assertRaises(KetamineDayTaken):
            self.book(kind="esketamine", start=self.at(14))

    def test_the_database_holds_the_day_rule(self):
        first = self.book()
        clash = Appointment(
            clinic=self.clinic_a,
            patient=self.patient,
            kind="esketamine",
            start=self.at(15),
            end=self.at(17),
            day=first.day,
            created_by=self.nurse,
        )
        with self.assertRaises(IntegrityError), transaction.atomic():
            clash.save()
        clash.override_reason = "Prescriber allowed it"
        clash.save()


class OpeningTests(SchedulingTestCase):
    def test_a_booking_outside_opening_hours_names_the_start(self):
        for start in (self.at(7, 30), self.at(17)):
            with self.assertRaises(InputError) as caught:
                self.book(resource=self.chair, start=start)
            self.assertEqual(caught.exception.field, "start")
            self.assertIn("Chair 1 is not open", caught.exception.message)

    def test_a_resource_closed_on_weekends_cannot_be_booked_on_saturday(self):
        weekdays = add_resource(self.clinic_a, "Room 2", "room", weekdays=range(5))
        saturday = self.monday + timedelta(days=5)
        with self.assertRaises(InputError):
            self.book(kind="therapy", resource=weekdays, start=self.at(10, day=saturday))
        self.book(kind="therapy", resource=weekdays, start=self.at(10, day=self.monday))

    def test_a_block_takes_the_resource_out(self):
        ResourceBlock.objects.create(
            resource=self.device,
            start=self.at(12),
            end=self.at(14),
            kind=BlockKind.MAINTENANCE,
            note="Coil service",
        )
        with self.assertRaises(ResourceUnavailable) as caught:
            self.book(kind="tms", resource=self.device, start=self.at(13, 30))
        self.assertIn("maintenance", caught.exception.message)
        self.book(kind="tms", resource=self.device, start=self.at(14))

    @skipUnlessDBFeature("has_select_for_update")
    def test_booking_locks_the_resource_as_adding_a_block_does(self):
        # A block added at the same moment waits for the booking's transaction (and the
        # booking for the block's): both lock the resource's row before they look at the other.
        with CaptureQueriesContext(connection) as queries:
            self.book(resource=self.chair, start=self.at(9))
        locks = [
            q["sql"]
            for q in queries.captured_queries
            if "FOR UPDATE" in q["sql"] and '"scheduling_resource"' in q["sql"].split("WHERE")[0]
        ]
        self.assertEqual(len(locks), 1, [q["sql"] for q in queries.captured_queries])

    def test_the_resource_must_suit_the_kind(self):
        with self.assertRaises(InputError) as caught:
            self.book(kind="tms", resource=self.chair)
        self.assertEqual(caught.exception.field, "resource")
        with self.assertRaises(InputError):
            self.book(resource=self.device)

    def test_a_start_in_the_past_and_a_bad_length_are_refused(self):
        with self.assertRaises(InputError) as caught:
            self.book(start=self.at(9, day=self.monday - timedelta(days=14)))
        self.assertEqual(caught.exception.field, "start")
        for minutes in (0, 4, 721):
            with self.assertRaises(InputError) as caught:
                self.book(minutes=minutes)
            self.assertEqual(caught.exception.field, "minutes")

    def test_free_slots_skip_what_is_booked_and_blocked(self):
        self.book(resource=self.chair, start=self.at(8))  # 08:00–09:30
        ResourceBlock.objects.create(
            resource=self.chair, start=self.at(12), end=self.at(18), kind=BlockKind.CLOSURE
        )
        starts = selectors.free_slots(self.chair, self.monday, 90)
        self.assertEqual(starts[0], self.at(9, 30))
        self.assertEqual(starts[-1], self.at(10, 30))


class TimeZoneTests(SchedulingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.west = make_clinic("west", "West Clinic", "WST", tz="America/Los_Angeles")
        cls.west_desk = make_staff("westdesk", cls.west, Role.FRONT_DESK)
        cls.west_patient = make_patient(actor_for(cls.west_desk, cls.west), "Mary", "Shelley")
        cls.west_chair = add_resource(cls.west, "West chair", "chair")

    def book_west(self, local: datetime, **kwargs):
        return services.book_appointment(
            actor_for(self.west_desk, self.west),
            patient=self.west_patient,
            kind=kwargs.pop("kind", "iv_ketamine"),
            start=local,
            now=datetime(2027, 3, 1, 12, tzinfo=ZoneInfo("UTC")),
            **kwargs,
        )

    def test_8_am_in_los_angeles_is_stored_in_utc_across_the_dst_change(self):
        la = ZoneInfo("America/Los_Angeles")
        utc = ZoneInfo("UTC")
        # DST begins on Sunday 14 March 2027: 08:00 is 16:00 UTC before, 15:00 UTC after.
        friday = self.book_west(datetime(2027, 3, 12, 8, tzinfo=la), resource=self.west_chair)
        monday = self.book_west(datetime(2027, 3, 15, 8, tzinfo=la), resource=self.west_chair)
        self.assertEqual(friday.start, datetime(2027, 3, 12, 16, tzinfo=utc))
        self.assertEqual(monday.start, datetime(2027, 3, 15, 15, tzinfo=utc))
        self.assertEqual((str(friday.day), str(monday.day)), ("2027-03-12", "2027-03-15"))

    def test_a_naive_start_is_the_clinics_local_time(self):
        appointment = self.book_west(datetime(2027, 3, 15, 8), resource=self.west_chair)
        self.assertEqual(appointment.start, datetime(2027, 3, 15, 15, tzinfo=ZoneInfo("UTC")))

    def test_the_day_is_the_clinics_date_late_in_the_evening(self):
        # 23:30 on Saturday 13 March in Los Angeles is already Sunday in UTC.
        late = self.book_west(
            datetime(2027, 3, 13, 23, 30, tzinfo=ZoneInfo("America/Los_Angeles")),
            kind="follow_up",
        )
        self.assertEqual(str(late.day), "2027-03-13")
        self.assertEqual(late.start.astimezone(ZoneInfo("UTC")).day, 14)


class StatusTests(SchedulingTestCase):
    def test_it_moves_along_booked_confirmed_checked_in_completed(self):
        appointment = self.book(resource=self.chair, start=self.at(9))
        today_now = self.at(9, 5)
        for status in ("confirmed", "checked_in", "completed"):
            services.set_status(self.actor(), appointment, status, now=today_now)
            appointment.refresh_from_db()
            self.assertEqual(appointment.status, status)
        self.assertIsNotNone(appointment.confirmed_at)
        self.assertEqual(appointment.completed_at, today_now)
        with self.assertRaises(Conflict) as caught:
            services.set_status(self.actor(), appointment, "cancelled", "Too late")
        self.assertEqual(caught.exception.code, "transition")

    def test_cancelling_needs_a_reason(self):
        appointment = self.book()
        with self.assertRaises(InputError) as caught:
            services.set_status(self.actor(), appointment, "cancelled")
        self.assertEqual(caught.exception.field, "reason")
        services.set_status(self.actor(), appointment, "cancelled", "Flu")
        appointment.refresh_from_db()
        self.assertEqual((appointment.status, appointment.status_reason), ("cancelled", "Flu"))

    def test_checking_in_or_a_no_show_waits_for_the_day(self):
        appointment = self.book()
        for status in ("checked_in", "no_show"):
            with self.assertRaises(Conflict) as caught:
                services.set_status(self.actor(), appointment, status)
            self.assertEqual(caught.exception.code, "not_yet")
        services.set_status(self.actor(), appointment, "no_show", now=self.at(12))

    def test_moving_keeps_the_rules(self):
        appointment = self.book(resource=self.chair)
        other = self.book(patient=self.other_patient, resource=self.chair_2, start=self.at(12))
        with self.assertRaises(SlotTaken):
            services.move_appointment(
                self.actor(), appointment, start=self.at(12, 30), resource=self.chair_2
            )
        services.move_appointment(self.actor(), appointment, start=self.at(14), minutes=60)
        appointment.refresh_from_db()
        self.assertEqual((appointment.start, appointment.minutes), (self.at(14), 60))
        self.assertEqual(appointment.resource, self.chair)
        self.assertEqual(other.start, self.at(12))

    def test_another_clinics_appointment_is_not_found(self):
        appointment = self.book()
        with self.assertRaises(Http404):
            services.set_status(
                actor_for(self.prescriber_b, self.clinic_b), appointment, "confirmed"
            )

    def test_the_day_list_is_one_query_in_start_order(self):
        self.book(resource=self.chair, start=self.at(13))
        self.book(patient=self.other_patient, kind="therapy", resource=self.room, start=self.at(9))
        actor = self.actor()
        # The read itself, and the audit event (savepoint, the chain's tail, insert, release).
        with self.assertNumQueries(1 + 4 + AUDIT_LOCK_QUERIES):
            rows = selectors.day_appointments(actor, self.monday)
            names = [(a.patient.family_name, a.resource.name) for a in rows]
        self.assertEqual(names, [("Hopper", "Room 1"), ("Lovelace", "Chair 1")])
