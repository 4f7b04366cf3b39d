"""Shared set-up for the insurance tests: payers, a screened patient with a course."""

from datetime import date, timedelta
from decimal import Decimal

from trellis.billing import insurance_services
from trellis.billing.models import Fee
from trellis.measures.services import record_measure
from trellis.patients.services import create_screening, sign_screening
from trellis.patients.tests.test_api import ApiTestCase
from trellis.testing import SAFE_ANSWERS, actor_for
from trellis.treatments import services as treatments
from trellis.treatments.models import Session, SessionStatus
from trellis.treatments.tests.helpers import antidepressant

FAILED_TWO = [
    {"drug": "sertraline", "weeks": 8, "adequate_dose": True, "outcome": "inadequate_response"},
    {"drug": "bupropion", "weeks": 7, "adequate_dose": True, "outcome": "inadequate_response"},
]

FEES = {
    "96365": "450.00",
    "96366": "100.00",
    "J3490": "25.00",
    "90867": "500.00",
    "90868": "300.00",
    "99213": "120.00",
    "J0013": "10.50",
}


def phq9_answers(total: int) -> list[int]:
    """Nine answers adding up to ``total`` (item 9 left at 0)."""
    answers = [0] * 9
    for index in range(8):
        answers[index] = min(3, total - sum(answers))
    return answers


class InsuranceTestCase(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.admin_actor = actor_for(cls.admin, cls.clinic_a)
        cls.front_actor = actor_for(cls.front_desk, cls.clinic_a)
        cls.prescriber_actor = actor_for(cls.prescriber, cls.clinic_a)
        cls.acme = insurance_services.save_payer(
            cls.admin_actor, name="Acme Health", type="commercial"
        )
        cls.medicare = insurance_services.save_payer(
            cls.admin_actor, name="Medicare Part B", type="medicare", payer_id="MCR01"
        )
        cls.advantage = insurance_services.save_payer(
            cls.admin_actor, name="Sunrise Advantage", type="medicare_advantage"
        )
        for code, amount in FEES.items():
            Fee.objects.create(
                clinic=cls.clinic_a, code=code, amount=Decimal(amount), updated_by=cls.admin
            )

    def screen(self, patient=None, trials=FAILED_TWO):
        screening = create_screening(
            self.prescriber_actor, patient or self.patient, SAFE_ANSWERS, trials
        )
        return sign_screening(self.prescriber_actor, screening, acknowledge_cautions=True)

    def start(self, protocol="tms-10hz", patient=None, start_date=None, **extra):
        patient = patient or self.patient
        self.screen(patient)
        today = self.clinic_a.today()
        start = start_date or today + timedelta(days=7 - today.weekday())
        extra.setdefault("with_antidepressant", antidepressant(protocol))
        return treatments.start_course(
            actor_for(self.nurse, self.clinic_a), patient, protocol, start, **extra
        )

    def phq9(self, total: int, patient=None):
        return record_measure(
            actor_for(self.nurse, self.clinic_a),
            patient or self.patient,
            "phq9",
            phq9_answers(total),
        )

    def cover(self, payer=None, patient=None, **extra):
        values = {
            "payer": (payer or self.acme).pk,
            "member_id": "XZ123456",
            "effective_from": date(2026, 1, 1),
            **extra,
        }
        return insurance_services.add_coverage(self.front_actor, patient or self.patient, **values)

    def sign(self, course, *numbers, on=None):
        """Mark sessions signed, on their planned day or ``on``."""
        rows = Session.objects.filter(course=course, number__in=numbers)
        if on is not None:
            rows.update(planned_date=on)
        rows.update(status=SessionStatus.SIGNED, signed_at="2026-01-01T12:00Z")
