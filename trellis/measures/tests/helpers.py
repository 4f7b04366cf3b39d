"""Building blocks for the measures tests: a course with its schedule, answers that add up."""

import io
import json
from datetime import date, timedelta

from django.core.management import call_command
from django.utils import timezone

from trellis.measures import services
from trellis.patients.models import Patient
from trellis.patients.services import create_screening, sign_screening
from trellis.patients.tests.test_api import SAFE_ANSWERS, TRD_TRIALS
from trellis.testing import TrellisTestCase, actor_for
from trellis.treatments.services import start_course
from trellis.treatments.tests.helpers import antidepressant

# Nine PHQ-9 answers: item 9 last. Totals 11 (moderate) with item 9 at 0 / 1.
PHQ9_CLEAN = [2, 2, 1, 1, 1, 2, 1, 1, 0]
PHQ9_ITEM9 = [2, 2, 1, 1, 1, 2, 1, 0, 1]
GAD7_MILD = [1, 1, 1, 1, 1, 1, 0]


def next_monday(clinic) -> date:
    """A Monday one to two weeks ahead: courses start in the future, as they would."""
    today = timezone.localdate(timezone=clinic.tzinfo)
    return today + timedelta(days=7 + (7 - today.weekday()) % 7 or 7)


def answers_totalling(count: int, total: int, item9: int = 0) -> list[int]:
    """``count`` answers of 0-3 adding up to ``total``; for PHQ-9 the last one is ``item9``."""
    answers = [0] * count
    remaining = total - item9
    for i in range(count - 1 if count == 9 else count):
        answers[i] = min(3, remaining)
        remaining -= answers[i]
    if count == 9:
        answers[8] = item9
    assert remaining == 0, "total out of reach"
    return answers


class MeasuresTestCase(TrellisTestCase):
    """The personas, with e-mail addresses (escalations are e-mailed) and a contactable patient."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        for user in (cls.admin, cls.prescriber, cls.nurse, cls.prescriber_b):
            user.email = f"{user.username}@example.org"
            user.save(update_fields=["email"])
        cls.patient.phone = "+1 555 010 4477"
        cls.patient.email = "ada@example.com"
        cls.patient.save(update_fields=["phone", "email"])
        # Every patient has agreed to texts: a test of a text without agreement says so.
        Patient.objects.update(sms_consent_at=timezone.now())
        for patient in (cls.patient, cls.other_patient, cls.patient_b):
            patient.refresh_from_db()
        cls.prescriber_actor = actor_for(cls.prescriber, cls.clinic_a)
        cls.nurse_actor = actor_for(cls.nurse, cls.clinic_a)

    def start_course(
        self, patient=None, protocol: str = "ketamine-iv-induction", start: date | None = None
    ):
        """A signed screening, a course and its questionnaire schedule."""
        patient = patient or self.patient
        actor = actor_for(self.prescriber, self.clinic_a)
        screening = create_screening(actor, patient, SAFE_ANSWERS, TRD_TRIALS)
        sign_screening(actor, screening)
        course = start_course(
            actor,
            patient,
            protocol,
            start or next_monday(self.clinic_a),
            with_antidepressant=antidepressant(protocol),
        )
        services.schedule_course(course)
        return course

    def api_token(self, username: str) -> str:
        out = io.StringIO()
        call_command("issue_token", username, stdout=out)
        return out.getvalue().strip()

    def api(self, method: str, path: str, username: str = "prescriber", body=None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.api_token(username)}"}
        if body is None:
            return getattr(self.client, method)(path, **headers)
        return getattr(self.client, method)(
            path, data=json.dumps(body), content_type="application/json", **headers
        )


def form_data(answers: list[int], difficulty: int | None = None, **extra) -> dict:
    data = {f"item_{i}": str(value) for i, value in enumerate(answers, start=1)}
    if difficulty is not None:
        data["difficulty"] = str(difficulty)
    data.update(extra)
    return data
