"""Every resource type the server emits validates: zero errors from the offline validator,
against the R4 core structure and the US Core profile the resource claims [R133, R134]."""

from trellis.fhir.tests.helpers import FhirTestCase, validation_errors
from trellis.fhir.tests.helpers_clinical import ClinicalFhirTestCase


class EveryResourceValidates(FhirTestCase):
    def emitted(self) -> dict[str, list[dict]]:
        """Every resource the API gives for the clinic's records, by type: reads, searches
        (with their Bundles), the CapabilityStatement and an OperationOutcome."""
        course = self.start_course()
        session = course.sessions.order_by("number").first()
        found: dict[str, list[dict]] = {}
        paths = [
            f"Patient/{self.patient.pk}",
            f"QuestionnaireResponse/{self.phq9.pk}",
            f"QuestionnaireResponse/{self.gad7.pk}",
            f"Observation/{self.phq9.pk}-panel",
            f"Observation/{self.phq9.pk}-total",
            f"Observation/{self.phq9.pk}-item9",
            f"Observation/{self.gad7.pk}-item1",
            f"Encounter/{session.pk}",
            "Questionnaire/phq9",
            "Questionnaire/gad7",
            f"Group/active-{course.modality.replace('_', '-')}",
            "Patient",
            "Observation",
            "QuestionnaireResponse",
            "Encounter",
            "Flag",
        ]
        for path in paths:
            body = self.fhir_json(path)
            found.setdefault(body["resourceType"], []).append(body)
            for entry in body.get("entry", []):
                found.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
        found["CapabilityStatement"] = [self.client.get("/fhir/r4/metadata").json()]
        found["OperationOutcome"] = [self.fhir("Patient/unknown-id").json()]
        return found

    def test_every_type_is_emitted_and_has_zero_validation_errors(self):
        found = self.emitted()
        self.assertEqual(
            set(found),
            {
                "Patient",
                "Observation",
                "QuestionnaireResponse",
                "Encounter",
                "Flag",
                "Questionnaire",
                "Group",
                "Bundle",
                "CapabilityStatement",
                "OperationOutcome",
            },
        )
        self.assertEqual(
            found["Group"][0]["member"], [{"entity": {"reference": f"Patient/{self.patient.pk}"}}]
        )
        errors = {}
        for kind, resources in found.items():
            for resource in resources:
                problems = validation_errors(resource)
                if problems:
                    errors[f"{kind}/{resource.get('id', '')}"] = problems
        self.maxDiff = None
        self.assertEqual(errors, {})
        # 2 measures: PHQ-9 11 Observations, GAD-7 9.
        self.assertEqual(len({o["id"] for o in found["Observation"]}), 20)

    def test_resources_claim_the_us_core_profiles(self):
        found = self.emitted()
        base = "http://hl7.org/fhir/us/core/StructureDefinition/"
        for kind, profile in (
            ("Patient", "us-core-patient"),
            ("Observation", "us-core-observation-screening-assessment"),
            ("QuestionnaireResponse", "us-core-questionnaireresponse"),
            ("Encounter", "us-core-encounter"),
        ):
            with self.subTest(kind=kind):
                self.assertTrue(all(r["meta"]["profile"] == [base + profile] for r in found[kind]))

    def test_the_validator_finds_errors(self):
        """The check can fail: a Patient without the name US Core requires, an Observation with
        an element R4 does not have, a wrong type."""
        patient = self.fhir_json(f"Patient/{self.patient.pk}")
        del patient["name"]
        self.assertIn("Patient.name", " ".join(validation_errors(patient)))
        observation = self.fhir_json(f"Observation/{self.phq9.pk}-total")
        observation["valueScore"] = 3
        self.assertTrue(validation_errors(observation))
        observation = self.fhir_json(f"Observation/{self.phq9.pk}-total")
        del observation["status"]
        self.assertTrue(validation_errors(observation))

    def test_only_the_known_false_positive_is_set_aside(self):
        response = self.fhir_json(f"QuestionnaireResponse/{self.phq9.pk}")
        self.assertEqual(validation_errors(response), [])
        response["item"][0]["txt"] = "misspelt"
        response["item"][1]["answer"] = [{"valueString": "2"}]
        errors = " ".join(validation_errors(response))
        self.assertIn("item[0].txt", errors)
        self.assertIn("questionnaire.answer.type", errors)


class EveryClinicalResourceValidates(ClinicalFhirTestCase):
    """Vital signs, Procedure, MedicationAdministration, CarePlan, Coverage, appointment
    Encounters and AuditEvent: zero errors against R4 and the US Core profile each claims."""

    def emitted(self) -> dict[str, list[dict]]:
        found: dict[str, list[dict]] = {}
        admin = self.api_token("admin")
        paths = [
            (f"Observation/{self.vitals.pk}-bp", None),
            (f"Observation/{self.vitals.pk}-spo2", None),
            (f"Procedure/{self.tms_first.pk}", None),
            (f"MedicationAdministration/{self.spray.pk}", None),
            (f"CarePlan/{self.plan.pk}", None),
            (f"Encounter/{self.therapy.pk}", None),
            ("Observation?category=vital-signs", None),
            ("Procedure", None),
            ("MedicationAdministration", None),
            ("CarePlan", None),
            ("Coverage", None),
            ("Encounter", None),
            ("AuditEvent?_count=20", admin),
        ]
        for path, token in paths:
            response = self.client.get(
                f"/fhir/r4/{path}", HTTP_AUTHORIZATION=f"Bearer {token or self.token}"
            )
            self.assertEqual(response.status_code, 200, (path, response.content))
            body = response.json()
            found.setdefault(body["resourceType"], []).append(body)
            for entry in body.get("entry", []):
                found.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
        return found

    def test_every_type_is_emitted_and_has_zero_validation_errors(self):
        found = self.emitted()
        self.assertEqual(
            set(found),
            {
                "Observation",
                "Procedure",
                "MedicationAdministration",
                "CarePlan",
                "Coverage",
                "Encounter",
                "AuditEvent",
                "Bundle",
            },
        )
        errors = {}
        for kind, resources in found.items():
            for resource in resources:
                problems = validation_errors(resource)
                if problems:
                    errors[f"{kind}/{resource.get('id', '')}"] = problems
        self.maxDiff = None
        self.assertEqual(errors, {})
        profiles = {p for o in found["Observation"] for p in o["meta"]["profile"]}
        base = "http://hl7.org/fhir/us/core/StructureDefinition/"
        self.assertEqual(
            profiles,
            {
                base + "us-core-blood-pressure",
                base + "us-core-heart-rate",
                base + "us-core-pulse-oximetry",
                base + "us-core-respiratory-rate",
            },
        )
        for kind, profile in (
            ("Procedure", "us-core-procedure"),
            ("CarePlan", "us-core-careplan"),
            ("Coverage", "us-core-coverage"),
            ("Encounter", "us-core-encounter"),
        ):
            with self.subTest(kind=kind):
                self.assertTrue(all(r["meta"]["profile"] == [base + profile] for r in found[kind]))
        # Both dose shapes: a lot in a contained Medication, and a coded drug without one.
        doses = found["MedicationAdministration"]
        self.assertEqual(
            {"medicationReference" in d for d in doses}, {True, False}, [d["id"] for d in doses]
        )

    def test_the_validator_holds_the_vital_sign_profiles(self):
        """The US Core profiles are applied: a blood pressure without its diastolic component,
        a heart rate in the wrong unit, an oximetry without its second code all fail."""
        bp = self.fhir_json(f"Observation/{self.vitals.pk}-bp")
        self.assertEqual(validation_errors(bp), [])
        bp["component"] = bp["component"][:1]
        self.assertTrue(validation_errors(bp))
        rate = self.fhir_json(f"Observation/{self.vitals.pk}-heart-rate")
        rate["valueQuantity"]["code"] = "beats"
        self.assertTrue(validation_errors(rate))
        oximetry = self.fhir_json(f"Observation/{self.vitals.pk}-spo2")
        oximetry["code"]["coding"] = oximetry["code"]["coding"][:1]
        self.assertTrue(validation_errors(oximetry))
        coverage = self.fhir_json(f"Coverage/{self.coverage.pk}")
        del coverage["relationship"]
        self.assertTrue(validation_errors(coverage))
