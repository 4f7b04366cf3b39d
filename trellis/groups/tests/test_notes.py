"""Attendance taken once for the room; the group note with a section for each attendee; signing,
what billing needs, addenda and the risk alert."""

from datetime import time, timedelta

from django.core.exceptions import PermissionDenied

from trellis.groups import selectors, services
from trellis.groups.models import Attendance, GroupNoteAddendum
from trellis.groups.tests.base import GroupsTestCase
from trellis.lib.errors import Conflict, InputError
from trellis.safety.models import SafetyAlert
from trellis.scheduling.kinds import AppointmentStatus
from trellis.scheduling.models import Appointment


class SessionTestCase(GroupsTestCase):
    """A cohort whose first session is today, with four members booked."""

    def setUp(self) -> None:
        self.cohort_ = self.cohort(self.clinic_a.today(), start_time=time(18))
        self.members = self.patients(4)
        for p in self.members:
            services.enrol(self.actor(), self.cohort_, p, now=self.before(self.cohort_))
        self.meeting = self.cohort_.meetings.get(number=1)
        self.enrolments = {e.patient_id: e for e in self.cohort_.enrolments.all()}

    def statuses(self, *values) -> dict[str, str]:
        return {str(self.enrolments[p.pk].pk): v for p, v in zip(self.members, values, strict=True)}

    def document(self, *values, **kwargs):
        therapist = self.actor(self.therapist)
        rows = services.take_attendance(therapist, self.meeting, self.statuses(*values))
        sections = {
            str(a.pk): {
                "participation": f"Spoke about {a.patient.given_name}'s week",
                "response": "Engaged",
            }
            for a in rows
            if a.attended
        }
        sections.update(kwargs.pop("sections", {}))
        note = services.save_note(
            therapist,
            self.meeting,
            topic="Values and routines",
            interventions="Mindfulness practice; group reflection",
            sections=sections,
        )
        return rows, note


class AttendanceTests(SessionTestCase):
    def test_every_member_needs_a_status_and_the_message_names_them(self):
        statuses = self.statuses("present", "present", "absent", "late")
        missing = str(self.enrolments[self.members[2].pk].pk)
        statuses[missing] = ""
        with self.assertRaises(InputError) as error:
            services.take_attendance(self.actor(self.therapist), self.meeting, statuses)
        self.assertEqual(error.exception.field, f"status_{missing}")
        self.assertIn(self.members[2].full_name, error.exception.message)
        self.assertFalse(Attendance.objects.exists())

    def test_an_unknown_status_is_refused(self):
        statuses = self.statuses("present", "present", "maybe", "late")
        with self.assertRaises(InputError) as error:
            services.take_attendance(self.actor(self.therapist), self.meeting, statuses)
        self.assertIn("choose present, late, left early or absent", error.exception.message)

    def test_attendance_waits_for_the_day(self):
        later = self.cohort_.meetings.get(number=2)
        with self.assertRaises(Conflict) as error:
            services.take_attendance(self.actor(self.therapist), later, {})
        self.assertEqual(error.exception.code, "not_yet")

    def test_front_desk_does_not_document(self):
        with self.assertRaises(PermissionDenied):
            services.take_attendance(
                self.actor(self.front_desk), self.meeting, self.statuses(*["present"] * 4)
            )

    def test_attendance_may_be_taken_again_until_signing(self):
        therapist = self.actor(self.therapist)
        services.take_attendance(therapist, self.meeting, self.statuses(*["present"] * 4))
        services.take_attendance(
            therapist, self.meeting, self.statuses("present", "absent", "present", "present")
        )
        self.assertEqual(Attendance.objects.filter(meeting=self.meeting).count(), 4)
        self.assertEqual(Attendance.objects.filter(status="absent").count(), 1)


class GroupNoteTests(SessionTestCase):
    def test_signing_records_the_participant_count_and_one_90853_per_attendee_present(self):
        _rows, note = self.document("present", "late", "left_early", "absent")
        signed = services.sign_note(self.actor(self.therapist), note)
        self.assertEqual(signed.participant_count, 3)
        billed = list(selectors.billable_attendances(self.clinic_a))
        self.assertEqual(len(billed), 3)
        self.assertEqual(
            {(a.billing_code, a.billing_units, a.participant_count) for a in billed},
            {("90853", 1, 3)},
        )
        self.assertNotIn(self.members[3], [a.patient for a in billed])
        self.assertEqual(
            list(selectors.billable_attendances(self.clinic_a, patient=self.members[0])),
            [a for a in billed if a.patient == self.members[0]],
        )
        tomorrow = self.clinic_a.today() + timedelta(days=1)
        self.assertFalse(selectors.billable_attendances(self.clinic_a, since=tomorrow).exists())
        # The appointment book: completed for those who came, a no-show for the one who did not.
        statuses = {
            a.patient_id: a.status
            for a in Appointment.objects.filter(day=self.meeting.day, patient__in=self.members)
        }
        self.assertEqual(
            [statuses[p.pk] for p in self.members],
            [AppointmentStatus.COMPLETED] * 3 + [AppointmentStatus.NO_SHOW],
        )

    def test_nothing_is_billable_before_signing(self):
        self.document("present", "present", "present", "present")
        self.assertFalse(selectors.billable_attendances(self.clinic_a).exists())

    def test_signing_needs_topic_interventions_and_each_attendees_section(self):
        therapist = self.actor(self.therapist)
        rows = services.take_attendance(therapist, self.meeting, self.statuses(*["present"] * 4))
        note = services.save_note(therapist, self.meeting, topic="", interventions="", sections={})
        with self.assertRaises(Conflict) as error:
            services.sign_note(therapist, note)
        message = error.exception.message
        self.assertIn("the topic", message)
        self.assertIn("the interventions", message)
        for p in self.members:
            self.assertIn(f"{p.full_name}'s participation and response", message)
        self.assertIsNotNone(rows)

    def test_a_signed_note_never_changes_and_takes_addenda(self):
        _rows, note = self.document("present", "present", "present", "absent")
        therapist = self.actor(self.therapist)
        services.sign_note(therapist, note)
        with self.assertRaises(Conflict):
            services.save_note(therapist, self.meeting, topic="Changed", interventions="x")
        with self.assertRaises(Conflict):
            services.take_attendance(therapist, self.meeting, self.statuses(*["present"] * 4))
        with self.assertRaises(Conflict):
            services.sign_note(therapist, note)
        section = note.sections.get(patient=self.members[0])
        services.add_addendum(
            therapist, note, reason="Clarify", text="Left at 19:10.", section=section
        )
        with self.assertRaises(InputError) as error:
            services.add_addendum(therapist, note, reason="", text="x")
        self.assertEqual(error.exception.field, "reason")
        self.assertEqual(GroupNoteAddendum.objects.count(), 1)

    def test_only_the_author_changes_or_signs(self):
        _rows, note = self.document("present", "present", "present", "present")
        with self.assertRaises(PermissionDenied):
            services.sign_note(self.actor(self.prescriber), note)

    def test_a_moderate_or_high_risk_raises_an_alert_for_that_member_once(self):
        therapist = self.actor(self.therapist)
        rows = services.take_attendance(therapist, self.meeting, self.statuses(*["present"] * 4))
        at_risk = next(a for a in rows if a.patient == self.members[1])
        sections = {str(a.pk): {"participation": "Shared", "response": "Engaged"} for a in rows}
        sections[str(at_risk.pk)].update(risk_level="high", risk_notes="Passive ideation voiced")
        for _ in range(2):
            services.save_note(
                therapist, self.meeting, topic="T", interventions="I", sections=sections
            )
        alerts = SafetyAlert.objects.filter(clinic=self.clinic_a)
        self.assertEqual(alerts.count(), 1)
        alert = alerts.get()
        self.assertEqual(
            (alert.patient, alert.severity, alert.kind), (self.members[1], "urgent", "therapy_risk")
        )
        for other in self.members:
            if other != self.members[1]:
                self.assertNotIn(other.given_name, alert.summary)

    def test_a_risk_level_out_of_the_list_names_the_field(self):
        therapist = self.actor(self.therapist)
        rows = services.take_attendance(therapist, self.meeting, self.statuses(*["present"] * 4))
        with self.assertRaises(InputError) as error:
            services.save_note(
                therapist,
                self.meeting,
                topic="T",
                interventions="I",
                sections={str(rows[0].pk): {"risk_level": "extreme"}},
            )
        self.assertEqual(error.exception.field, f"section_{rows[0].pk}_risk_level")
