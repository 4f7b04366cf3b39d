"""The synthetic network's books hold the rules the product holds for its own: the ledger verifies,
no chair, device or patient is booked twice at once, and charges are what signing would write."""

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from django.db import DatabaseError, transaction
from django.test import TestCase

from bench.synthetic.synth import generate
from trellis.accounts.models import Clinic
from trellis.billing import services as billing
from trellis.billing.models import Charge, Fee
from trellis.controlled import services as ledger
from trellis.controlled.models import Container, EntryKind, LedgerEntry, SessionDraw
from trellis.groups.models import ATTENDED, Attendance, GroupNote, Meeting, MeetingBooking
from trellis.scheduling.kinds import ACTIVE_STATUSES
from trellis.scheduling.models import Appointment
from trellis.treatments.models import Session

NOW = datetime(2026, 3, 10, 20, 15, tzinfo=UTC)


class SyntheticBooksTest(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.result = generate(2, 160, 11, now=NOW)

    def test_every_new_area_is_populated(self):
        for label in (
            "scheduling.appointment", "scheduling.resource", "scheduling.resourceblock",
            "billing.fee", "billing.diagnosis", "billing.charge",
            "controlled.receipt", "controlled.container", "controlled.ledgerentry",
            "controlled.sessiondraw",
            "groups.groupprogram", "groups.cohort", "groups.enrolment", "groups.meeting",
            "groups.meetingbooking", "groups.attendance", "groups.groupnote",
            "groups.membersection",
        ):  # fmt: skip
            with self.subTest(label):
                self.assertGreater(self.result.tables.get(label, 0), 0)

    def test_each_clinics_ledger_chain_verifies(self):
        for clinic in Clinic.objects.order_by("slug"):
            with self.subTest(clinic.slug):
                result = ledger.verify_chain(clinic)
                self.assertTrue(result.ok, result.first_break)
                self.assertEqual(result.count, LedgerEntry.objects.filter(clinic=clinic).count())

    def test_every_container_adds_up(self):
        for container in Container.objects.all():
            self.assertEqual(ledger.verify_container(container), [], container)

    def test_the_ledger_is_written_in_time_order(self):
        for clinic in Clinic.objects.all():
            times = list(
                LedgerEntry.objects.filter(clinic=clinic)
                .order_by("seq")
                .values_list("created_at", flat=True)
            )
            self.assertEqual(times, sorted(times))

    def test_each_dose_is_drawn_and_administered_once(self):
        drawn = defaultdict(int)
        for draw in SessionDraw.objects.select_related("entry"):
            self.assertEqual(draw.entry.kind, EntryKind.ADMINISTRATION)
            self.assertEqual(draw.entry.session_id, draw.session_id)
            self.assertEqual(-draw.entry.amount_ug, draw.amount_ug)
            drawn[draw.session_id] += draw.amount_ug
        signed = Session.objects.filter(status="signed").select_related(
            "course", "infusion", "esketamine"
        )
        doses = {}
        for session in signed:
            if session.course.modality == "iv_ketamine":
                doses[session.pk] = int(session.infusion.dose_mg * 1000)
            elif session.course.modality == "esketamine":
                doses[session.pk] = session.esketamine.dose_mg * 1000
        self.assertTrue(doses)
        self.assertEqual(dict(drawn), doses)

    def test_every_waste_is_witnessed_once_by_someone_else(self):
        wastes = LedgerEntry.objects.filter(kind=EntryKind.WASTE)
        self.assertTrue(wastes.exists())
        for waste in wastes:
            confirmations = LedgerEntry.objects.filter(kind=EntryKind.WITNESS, refers_to=waste)
            self.assertEqual([c.actor_id for c in confirmations], [waste.witness_id])
            self.assertNotEqual(waste.witness_id, waste.actor_id)

    def test_no_resource_or_patient_is_booked_twice_at_once(self):
        active = list(
            Appointment.objects.filter(status__in=ACTIVE_STATUSES).values_list(
                "resource_id", "patient_id", "start", "end"
            )
        )
        for position in (0, 1):  # the resource, the patient
            by_holder = defaultdict(list)
            for row in active:
                if row[position] is not None:
                    by_holder[row[position]].append((row[2], row[3]))
            for holder, times in by_holder.items():
                times.sort()
                for (_, end), (start, _) in pairwise(times):
                    self.assertLessEqual(end, start, holder)

    def test_every_session_has_one_appointment_in_step_with_it(self):
        expected = {"signed": "completed", "planned": "booked", "cancelled": "cancelled"}
        appointments = dict(
            Appointment.objects.filter(session__isnull=False).values_list("session_id", "status")
        )
        sessions = dict(Session.objects.values_list("pk", "status"))
        self.assertEqual(set(appointments), set(sessions))
        for pk, status in sessions.items():
            self.assertIn(appointments[pk], {expected[status], "confirmed"}, status)

    def test_the_database_still_refuses_a_double_booking_afterwards(self):
        taken = Appointment.objects.filter(status="booked", resource__isnull=False).first()
        clash = Appointment(
            clinic_id=taken.clinic_id, patient_id=Session.objects.exclude(
                patient_id=taken.patient_id
            ).values_list("patient_id", flat=True)[0],
            kind=taken.kind, start=taken.start + timedelta(minutes=5),
            end=taken.end + timedelta(minutes=5), day=taken.day, resource_id=taken.resource_id,
            created_by_id=taken.created_by_id,
        )  # fmt: skip
        with (
            self.assertRaisesMessage(DatabaseError, "appointment_resource_free"),
            transaction.atomic(),
        ):
            clash.save(force_insert=True)

    def test_each_signed_session_is_charged_as_signing_would_charge_it(self):
        fees = {(f.clinic_id, f.code): f.amount for f in Fee.objects.all()}
        lines = defaultdict(list)
        for charge in Charge.objects.filter(source="session").order_by("line"):
            lines[charge.session_id].append(charge)
        signed = Session.objects.filter(status="signed").select_related(
            "course", "clinic", "patient", "infusion", "esketamine", "tms__motor_threshold"
        )
        checked = Counter()
        for session in signed:
            codes = [(ln.code, ln.units) for ln in billing.session_codes(session)]
            charged = lines.pop(session.pk)
            self.assertEqual([(c.code, c.units) for c in charged], codes, session.pk)
            for charge in charged:
                fee = fees[session.clinic_id, charge.code]
                self.assertEqual((charge.unit_fee, charge.amount), (fee, fee * charge.units))
                self.assertEqual(charge.service_date, session.planned_date)
                self.assertEqual(charge.rendering_provider_id, session.signed_by_id)
            checked[session.course.modality] += 1
        self.assertEqual(lines, {})  # no charge for a session not signed
        self.assertEqual(set(checked), {"iv_ketamine", "esketamine", "tms"})

    def test_an_infusions_drug_line_carries_the_drawn_ndc_and_milligrams(self):
        for charge in Charge.objects.filter(code="J3490").select_related("session")[:50]:
            drug = billing.selectors.drawn_drug(charge.session)
            self.assertEqual((charge.ndc, charge.ndc_quantity), (drug.ndc, drug.mg))

    def test_each_group_attendee_present_is_charged_once_with_the_count(self):
        for meeting in Meeting.objects.filter(attendance_taken_at__isnull=False):
            attendance = list(Attendance.objects.filter(meeting=meeting))
            present = [a for a in attendance if a.status in ATTENDED]
            self.assertEqual(GroupNote.objects.get(meeting=meeting).participant_count, len(present))
            charges = Charge.objects.filter(
                source="group_attendance", source_id__in=[a.pk for a in attendance]
            )
            self.assertEqual(sorted(c.source_id for c in charges), sorted(a.pk for a in present))
            for charge in charges:
                self.assertEqual((charge.code, charge.participant_count), ("90853", len(present)))
                self.assertEqual(charge.amount, Decimal("65.00"))

    def test_each_group_member_has_a_group_appointment_per_meeting(self):
        for booking in MeetingBooking.objects.select_related("meeting", "appointment", "enrolment"):
            appointment, meeting = booking.appointment, booking.meeting
            self.assertEqual(appointment.kind, "group")
            self.assertEqual(appointment.patient_id, booking.enrolment.patient_id)
            self.assertEqual((appointment.start, appointment.end), (meeting.start, meeting.end))
            self.assertEqual(meeting.room_block.resource_id, meeting.cohort.room_id)
