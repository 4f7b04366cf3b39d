"""The current screening has one definition: the latest signed, the latest written on a tie."""

from datetime import UTC, datetime, timedelta

from trellis.patients.models import Screening, current_among
from trellis.patients.services import current_screening
from trellis.testing import TrellisTestCase

SIGNED = datetime(2026, 2, 2, 15, 0, tzinfo=UTC)
FINDINGS = {
    modality: {"status": "eligible", "reasons": []}
    for modality in ("iv_ketamine", "esketamine", "tms")
}


class CurrentScreeningTest(TrellisTestCase):
    def screening(self, *, created: datetime, signed: datetime | None) -> Screening:
        return Screening.objects.create(
            clinic=self.clinic_a,
            patient=self.patient,
            created_by=self.prescriber,
            created_at=created,
            signed_by=self.prescriber if signed else None,
            signed_at=signed,
            findings=FINDINGS,
        )

    def test_patient_page_and_course_start_agree_on_the_current_screening(self):
        # Written in this order on purpose: the later one is stored first.
        later = self.screening(created=SIGNED - timedelta(hours=1), signed=SIGNED)
        self.screening(created=SIGNED - timedelta(hours=2), signed=SIGNED)
        self.screening(created=SIGNED - timedelta(days=30), signed=SIGNED - timedelta(days=30))
        self.screening(created=SIGNED + timedelta(days=1), signed=None)  # a draft

        self.assertEqual(self.patient.screenings.current(), later)
        self.assertEqual(current_screening(self.patient), later)
        self.sign_in(self.prescriber)
        page = self.client.get(f"/patients/{self.patient.pk}/")
        self.assertEqual(page.context["current"], later)

    def test_a_whole_tie_goes_to_the_greatest_id_on_the_page_as_in_the_database(self):
        tied = [self.screening(created=SIGNED, signed=SIGNED) for _ in range(4)]
        greatest = max(tied, key=lambda s: s.pk)

        self.assertEqual(self.patient.screenings.current(), greatest)
        self.assertEqual(current_among(Screening.objects.all()), greatest)
        self.sign_in(self.prescriber)
        page = self.client.get(f"/patients/{self.patient.pk}/")
        self.assertEqual(page.context["current"], greatest)

    def test_no_signed_screening_no_current_one(self):
        self.screening(created=SIGNED, signed=None)
        self.assertIsNone(current_screening(self.patient))
