"""A clinic's records in FHIR: a patient with contact details, a PHQ-9 with item 9 (and its
alert), a GAD-7, a course with its sessions; and the offline validator."""

import re
from datetime import timedelta
from functools import cache
from pathlib import Path

from django.utils import timezone
from pyfhircheck import Validator
from pyfhircheck.config import ValidatorConfig

from trellis.fhir import resources
from trellis.measures import services as measures
from trellis.measures.instruments import INSTRUMENTS
from trellis.measures.tests.helpers import GAD7_MILD, PHQ9_ITEM9, MeasuresTestCase
from trellis.testing import actor_for

DATA = Path(__file__).parent / "data"


# pyfhircheck 0.2.0 builds backbone elements from the fhir.resources models but drops their
# ``text`` (it takes it for DomainResource.text, the narrative), so it calls
# QuestionnaireResponse.item.text and Questionnaire.item.text unknown. Both are R4 elements
# (0..1 string), and the fhir.resources R4B models that built the resource accept them. Only
# this issue, on exactly these paths, is set aside.
#
# It also loads US Core Blood Pressure without the pattern on its diastolic slice's code
# (8462-4; the systolic slice keeps 8480-6), so that slice matches both components and is called
# over its maximum of one. The suite checks the two components' codes itself
# (test_clinical.VitalSignTests); only that issue, on that slice, is set aside.
FALSE_POSITIVES = re.compile(
    r"^element\.unknown (QuestionnaireResponse|Questionnaire)(\.item\[\d+\])+\.text$"
    r"|^profile\.slice\.cardinality\.max Observation\.component:diastolic$"
)


def _questionnaire(canonical: str) -> dict | None:
    """The server's own Questionnaire for a response's ``questionnaire`` canonical."""
    for code, instrument in INSTRUMENTS.items():
        if canonical == resources.QUESTIONNAIRE_URL.format(code=code):
            return resources.questionnaire(instrument)
    return None


@cache
def validator() -> Validator:
    """pyfhircheck against the R4 core structure (from the fhir.resources models it carries)
    and the US Core profiles vendored in ``data/`` (their differentials over the core); a
    QuestionnaireResponse is checked against the Questionnaire it names."""
    return Validator(
        ValidatorConfig.load_dict(
            {
                "fhirVersion": "4.0.1",
                "localPackagePaths": [str(DATA)],
                "terminology": {"mode": "off"},
            }
        ),
        external_reference_resolver=_questionnaire,
    )


def validation_errors(resource: dict) -> list[str]:
    report = validator().validate_resource(resource)
    return [
        f"{issue.code} {issue.path}: {issue.message}"
        for issue in report.issues
        if issue.severity.value in ("error", "fatal")
        and not FALSE_POSITIVES.match(f"{issue.code} {issue.path}")
    ]


class FhirTestCase(MeasuresTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.patient.address = "12 Elm Street\nSpringfield, IL 62701"
        cls.patient.save(update_fields=["address"])
        nurse = actor_for(cls.nurse, cls.clinic_a)
        now = timezone.now()
        cls.phq9 = measures.record_measure(
            nurse,
            cls.patient,
            "phq9",
            PHQ9_ITEM9,
            difficulty=1,
            observed_at=now - timedelta(days=3),
        )
        cls.gad7 = measures.record_measure(
            nurse, cls.patient, "gad7", GAD7_MILD, observed_at=now - timedelta(days=2)
        )
        cls.other_phq9 = measures.record_measure(
            actor_for(cls.prescriber_b, cls.clinic_b),
            cls.patient_b,
            "phq9",
            [0] * 9,
            observed_at=now - timedelta(days=1),
        )

    def setUp(self) -> None:
        super().setUp()
        self.token = self.api_token("prescriber")

    def fhir(self, path: str, token: str | None = None, **params):
        token = self.token if token is None else token
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        return self.client.get(f"/fhir/r4/{path}", params, **headers)

    def fhir_json(self, path: str, **params) -> dict:
        response = self.fhir(path, **params)
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response["Content-Type"], "application/fhir+json; charset=utf-8")
        return response.json()
