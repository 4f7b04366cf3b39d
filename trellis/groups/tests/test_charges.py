"""Signing a group note writes one 90853 charge on each present member's own account, once,
with the participant count, the member's own diagnoses and the facilitator who signed
[R103, R104]."""

from decimal import Decimal

from trellis.accounts.models import Clinic, User
from trellis.billing import services as billing
from trellis.billing.models import Charge, ChargeSource, Fee
from trellis.groups import services
from trellis.groups.models import Attendance
from trellis.groups.tests.test_notes import SessionTestCase
from trellis.lib.errors import Conflict
from trellis.testing import actor_for

THERAPIST_NPI = "1234567893"
CLINIC_NPI = "1245319599"


class GroupChargeTests(SessionTestCase):
    def setUp(self) -> None:
        super().setUp()
        User.objects.filter(pk=self.therapist.pk).update(npi=THERAPIST_NPI, credentials="LCSW")
        self.therapist.refresh_from_db()
        Clinic.objects.filter(pk=self.clinic_a.pk).update(billing_npi=CLINIC_NPI)
        Fee.objects.create(
            clinic=self.clinic_a, code="90853", amount=Decimal("85.00"), updated_by=self.admin
        )
        prescriber = actor_for(self.prescriber, self.clinic_a)
        billing.add_diagnosis(prescriber, self.members[0], "F33.1")
        billing.add_diagnosis(prescriber, self.members[0], "F41.1")
        billing.add_diagnosis(prescriber, self.members[1], "F32.2")

    def test_signing_charges_each_member_present_once_and_the_absent_nothing(self):
        _rows, note = self.document("present", "late", "left_early", "absent")
        services.sign_note(self.actor(self.therapist), note)
        charges = Charge.objects.filter(source=ChargeSource.GROUP_ATTENDANCE)
        self.assertEqual(charges.count(), 3)
        by_patient = {c.patient_id: c for c in charges}
        self.assertEqual(set(by_patient), {p.pk for p in self.members[:3]})
        self.assertFalse(Charge.objects.filter(patient=self.members[3]).exists())
        for member in self.members[:3]:
            charge = by_patient[member.pk]
            attendance = Attendance.objects.get(meeting=self.meeting, patient=member)
            self.assertEqual(charge.source_id, attendance.pk)
            self.assertEqual((charge.code, charge.units, charge.line), ("90853", 1, 1))
            self.assertEqual(charge.participant_count, 3)
            self.assertEqual(charge.service_date, self.meeting.day)
            self.assertEqual(charge.place_of_service, "11")
            self.assertEqual((charge.unit_fee, charge.amount), (Decimal("85.00"),) * 2)
            self.assertEqual(
                (charge.rendering_provider, charge.rendering_npi, charge.billing_npi),
                (self.therapist, THERAPIST_NPI, CLINIC_NPI),
            )
        # Each member's own problem list, never another's.
        self.assertEqual(by_patient[self.members[0].pk].diagnosis_codes, ["F33.1", "F41.1"])
        self.assertEqual(by_patient[self.members[0].pk].pointers, "AB")
        self.assertEqual(by_patient[self.members[1].pk].diagnosis_codes, ["F32.2"])
        self.assertEqual(by_patient[self.members[2].pk].diagnosis_codes, [])

    def test_a_retried_signing_writes_nothing_more(self):
        _rows, note = self.document("present", "present", "absent", "absent")
        therapist = self.actor(self.therapist)
        services.sign_note(therapist, note)
        with self.assertRaises(Conflict):
            services.sign_note(therapist, note)
        # The billing step itself, run again for an attendance already charged, adds no line.
        attendance = Attendance.objects.get(meeting=self.meeting, patient=self.members[0])
        first = Charge.objects.get(source_id=attendance.pk)
        again = billing.capture_group_attendance(
            therapist,
            attendance_id=attendance.pk,
            patient=attendance.patient,
            service_date=self.meeting.day,
            provider=self.therapist,
            line=billing.coding.group_codes(attendees=2)[0],
            participant_count=2,
        )
        self.assertEqual(again, [first])
        self.assertEqual(Charge.objects.filter(source=ChargeSource.GROUP_ATTENDANCE).count(), 2)

    def test_a_signing_that_fails_writes_no_charge(self):
        _rows, note = self.document("present", "present", "present", "present")
        note.interventions = ""
        type(note).objects.filter(pk=note.pk).update(interventions="")
        with self.assertRaises(Conflict):
            services.sign_note(self.actor(self.therapist), note)
        self.assertFalse(Charge.objects.exists())

    def test_the_members_charges_page_shows_only_their_own_line(self):
        _rows, note = self.document("present", "present", "present", "absent")
        services.sign_note(self.actor(self.therapist), note)
        self.sign_in(self.front_desk)
        response = self.client.get(f"/billing/patients/{self.members[0].pk}/")
        self.assertEqual(response.status_code, 200)
        page = response.content.decode()
        self.assertEqual(page.count('<span class="mono">90853</span>'), 1)
        self.assertIn("3 participants", page)
        self.assertIn("F33.1", page)
        self.assertNotIn("F32.2", page)  # another member's diagnosis
        for other in self.members[1:]:
            self.assertNotIn(other.full_name, page)
        absent = self.client.get(f"/billing/patients/{self.members[3].pk}/").content.decode()
        self.assertNotIn("90853", absent)
