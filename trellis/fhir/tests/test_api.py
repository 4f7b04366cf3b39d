"""The FHIR read API's contract (DESIGN.md §5.1): tokens, the clinic wall, search parameters,
paging, OperationOutcome errors, audited reads, and no psychotherapy note anywhere."""

from datetime import timedelta

from django.utils import timezone

from trellis.audit.models import Action, AuditEvent
from trellis.fhir.tests.helpers import FhirTestCase
from trellis.measures import services as measures
from trellis.measures.tests.helpers import next_monday
from trellis.patients.services import create_screening, sign_screening
from trellis.patients.tests.test_api import SAFE_ANSWERS, TRD_TRIALS
from trellis.safety.models import SafetyAlert
from trellis.testing import actor_for
from trellis.therapy.services import write_psychotherapy_note
from trellis.treatments.services import start_course

TYPES = [
    "Patient",
    "Observation",
    "QuestionnaireResponse",
    "Encounter",
    "Flag",
    "Questionnaire",
    "Procedure",
    "MedicationAdministration",
    "CarePlan",
    "Coverage",
]
# Served too, to the clinic's administrators alone (test_clinical.py walks it).
ADMIN_TYPES = ["AuditEvent"]


class CapabilityStatementTests(FhirTestCase):
    def test_metadata_needs_no_token_and_lists_what_is_served(self):
        response = self.client.get("/fhir/r4/metadata")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/fhir+json; charset=utf-8")
        body = response.json()
        self.assertEqual(
            (body["resourceType"], body["fhirVersion"]), ("CapabilityStatement", "4.0.1")
        )
        served = {r["type"]: r for r in body["rest"][0]["resource"]}
        self.assertEqual(sorted(served), sorted(TYPES + ADMIN_TYPES))
        us_core = "http://hl7.org/fhir/us/core/StructureDefinition/"
        self.assertEqual(
            served["Observation"]["supportedProfile"],
            [
                us_core + profile
                for profile in (
                    "us-core-observation-screening-assessment",
                    "us-core-blood-pressure",
                    "us-core-heart-rate",
                    "us-core-pulse-oximetry",
                    "us-core-respiratory-rate",
                )
            ],
        )
        self.assertEqual(
            {p["name"] for p in served["Observation"]["searchParam"]},
            {"patient", "code", "category", "date", "_lastUpdated", "_count"},
        )


class AccessTests(FhirTestCase):
    def test_no_token_or_a_bad_one_is_401_operation_outcome(self):
        for token in ("", "trl_not-a-token"):
            for path in (f"Patient/{self.patient.pk}", "Observation"):
                with self.subTest(token=token, path=path):
                    response = self.fhir(path, token=token)
                    self.assertEqual(response.status_code, 401)
                    self.assertEqual(response["WWW-Authenticate"], 'Bearer realm="fhir"')
                    body = response.json()
                    self.assertEqual(body["resourceType"], "OperationOutcome")
                    self.assertEqual(body["issue"][0]["code"], "login")

    def test_another_clinics_resources_are_404_and_never_found_by_search(self):
        other = self.other_phq9
        alert_b = other.patient  # another clinic's patient
        for path in (
            f"Patient/{alert_b.pk}",
            f"QuestionnaireResponse/{other.pk}",
            f"Observation/{other.pk}-total",
        ):
            with self.subTest(path=path):
                response = self.fhir(path)
                self.assertEqual(response.status_code, 404)
                self.assertEqual(response.json()["issue"][0]["code"], "not-found")
        body = self.fhir_json("Observation", patient=str(alert_b.pk))
        self.assertEqual((body["total"], body.get("entry", [])), (0, []))
        ids = {e["resource"]["id"] for e in self.fhir_json("Patient")["entry"]}
        self.assertNotIn(str(alert_b.pk), ids)
        self.assertIn(str(self.patient.pk), ids)

    def test_another_clinics_sessions_and_alerts_are_404(self):
        actor_b = actor_for(self.prescriber_b, self.clinic_b)
        screening = create_screening(actor_b, self.patient_b, SAFE_ANSWERS, TRD_TRIALS)
        sign_screening(actor_b, screening)
        course = start_course(
            actor_b, self.patient_b, "ketamine-iv-induction", next_monday(self.clinic_b)
        )
        measures.record_measure(actor_b, self.patient_b, "phq9", [0] * 8 + [2])
        alert = SafetyAlert.objects.get(patient=self.patient_b)
        for path in (f"Encounter/{course.sessions.first().pk}", f"Flag/{alert.pk}"):
            with self.subTest(path=path):
                self.assertEqual(self.fhir(path).status_code, 404)
        for kind in ("Encounter", "Flag"):
            ids = [e["resource"]["id"] for e in self.fhir_json(kind).get("entry", [])]
            self.assertNotIn(str(alert.pk), ids)
            self.assertFalse(set(ids) & {str(s.pk) for s in course.sessions.all()})
        token_b = self.api_token("prescriber_b")
        self.assertEqual(self.fhir(f"Flag/{alert.pk}", token=token_b).status_code, 200)

    def test_unknown_ids_types_and_paths_are_404_operation_outcomes(self):
        for path in (
            "Patient/nope",
            f"Observation/{self.phq9.pk}-item10",
            f"Observation/{self.gad7.pk}-item8",
            f"Observation/{self.phq9.pk}",
            "Questionnaire/bdi",
            "Appointment",
            f"DocumentReference/{self.patient.pk}",
            "Patient/a/b",
        ):
            with self.subTest(path=path):
                response = self.fhir(path)
                self.assertEqual(response.status_code, 404, response.content)
                self.assertEqual(response.json()["resourceType"], "OperationOutcome")

    def test_a_role_without_the_permission_is_403(self):
        token = self.api_token("frontdesk")
        response = self.fhir(f"Observation/{self.phq9.pk}-total", token=token)
        self.assertEqual(response.status_code, 403)
        self.assertEqual(response.json()["issue"][0]["code"], "forbidden")
        self.assertEqual(self.fhir(f"Patient/{self.patient.pk}", token=token).status_code, 200)

    def test_only_get(self):
        response = self.client.post(
            f"/fhir/r4/Patient/{self.patient.pk}", HTTP_AUTHORIZATION=f"Bearer {self.token}"
        )
        self.assertEqual((response.status_code, response["Allow"]), (405, "GET"))
        self.assertEqual(response.json()["resourceType"], "OperationOutcome")

    def test_reads_and_searches_are_audited(self):
        before = AuditEvent.objects.count()
        self.fhir_json(f"Patient/{self.patient.pk}")
        read = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual(
            (read.action, read.patient_id, read.object_id, read.username),
            (Action.READ, self.patient.pk, str(self.patient.pk), "prescriber"),
        )
        self.fhir_json(f"Observation/{self.phq9.pk}-item9")
        read = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual((read.action, read.object_id), (Action.READ, str(self.phq9.pk)))
        self.fhir_json("Observation", patient=str(self.patient.pk), code="http://loinc.org|44261-6")
        query = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual((query.action, query.object_type), (Action.QUERY, "fhir.observation"))
        self.assertEqual(
            query.detail,
            {
                "fhir_search": {
                    "patient": [str(self.patient.pk)],
                    "code": ["http://loinc.org|44261-6"],
                },
                "results": 1,
            },
        )
        self.assertEqual(AuditEvent.objects.count(), before + 3)


class PsychotherapyNoteTests(FhirTestCase):
    def test_no_path_returns_a_psychotherapy_notes_text(self):
        secret = "Session explored the patient's grief over their brother zyxwv"
        write_psychotherapy_note(actor_for(self.therapist, self.clinic_a), self.patient, secret)
        self.start_course()
        token = self.api_token("admin")
        bodies = [self.client.get("/fhir/r4/metadata").content.decode()]
        for kind in TYPES:
            listing = self.fhir_json(kind, _count="200")
            bodies.append(str(listing))
            for entry in listing.get("entry", []):
                resource = entry["resource"]
                path = f"{resource['resourceType']}/{resource['id']}"
                for who in (self.token, token):
                    bodies.append(self.fhir(path, token=who).content.decode())
        self.assertGreater(len(bodies), 30)
        self.assertFalse([b for b in bodies if "zyxwv" in b or "grief" in b])
        for kind in ("PsychotherapyNote", "DocumentReference", "Composition", "ClinicalImpression"):
            self.assertEqual(self.fhir(kind).status_code, 404)


class ObservationSearchTests(FhirTestCase):
    def ids(self, **params) -> list[str]:
        body = self.fhir_json("Observation", **params)
        self.assertEqual(body["resourceType"], "Bundle")
        self.assertEqual(body["type"], "searchset")
        return [e["resource"]["id"] for e in body.get("entry", [])]

    def test_phq9_totals_by_patient_and_loinc_code(self):
        body = self.fhir_json(
            "Observation", patient=f"Patient/{self.patient.pk}", code="http://loinc.org|44261-6"
        )
        self.assertEqual(body["total"], 1)
        total = body["entry"][0]["resource"]
        self.assertEqual(total["id"], f"{self.phq9.pk}-total")
        self.assertEqual(total["valueInteger"], self.phq9.total)
        self.assertEqual(total["code"]["coding"][0]["code"], "44261-6")
        self.assertEqual(total["category"][0]["coding"][0]["code"], "survey")
        self.assertEqual(
            total["derivedFrom"], [{"reference": f"QuestionnaireResponse/{self.phq9.pk}"}]
        )
        self.assertEqual(
            body["entry"][0]["fullUrl"], f"http://testserver/fhir/r4/Observation/{total['id']}"
        )

    def test_codes(self):
        pk, gad = self.phq9.pk, self.gad7.pk
        self.assertEqual(self.ids(code="44260-8"), [f"{pk}-item9"])
        self.assertEqual(self.ids(code="http://loinc.org|70274-6"), [f"{gad}-total"])
        self.assertEqual(
            self.ids(code="http://loinc.org|44249-1,http://loinc.org|69737-5"),
            [f"{pk}-panel", f"{gad}-panel"],
        )
        self.assertEqual(self.ids(code="urn:trellis:questionnaire-item|gad7-3"), [f"{gad}-item3"])
        self.assertEqual(self.ids(code="http://snomed.info/sct|44261-6"), [])
        self.assertEqual(self.ids(code="12345-6"), [])

    def test_the_panel_has_its_members_and_items_carry_answers(self):
        panel = self.fhir_json(f"Observation/{self.phq9.pk}-panel")
        self.assertEqual(len(panel["hasMember"]), 10)
        self.assertEqual(panel["hasMember"][0], {"reference": f"Observation/{self.phq9.pk}-total"})
        self.assertNotIn("valueInteger", panel)
        item9 = self.fhir_json(f"Observation/{self.phq9.pk}-item9")
        self.assertEqual(item9["valueInteger"], self.phq9.answers[8])
        self.assertEqual(item9["code"]["coding"][0]["system"], "http://loinc.org")

    def test_category(self):
        self.assertEqual(len(self.ids(category="survey")), 20)
        self.assertEqual(
            len(
                self.ids(
                    category="http://terminology.hl7.org/CodeSystem/observation-category|survey"
                )
            ),
            20,
        )
        self.assertEqual(self.ids(category="vital-signs"), [])

    def test_date_prefixes(self):
        tz = self.clinic_a.tzinfo
        phq_day = self.phq9.observed_at.astimezone(tz).date()
        gad_day = self.gad7.observed_at.astimezone(tz).date()
        total = "44261-6,70274-6"
        pk, gad = self.phq9.pk, self.gad7.pk
        self.assertEqual(self.ids(code=total, date=phq_day.isoformat()), [f"{pk}-total"])
        self.assertEqual(self.ids(code=total, date=f"ge{gad_day}"), [f"{gad}-total"])
        self.assertEqual(self.ids(code=total, date=f"lt{gad_day}"), [f"{pk}-total"])
        self.assertEqual(self.ids(code=total, date=f"gt{phq_day}"), [f"{gad}-total"])
        self.assertEqual(
            self.ids(code=total, date=[f"ge{phq_day}", f"le{gad_day}"]),
            [f"{pk}-total", f"{gad}-total"],
        )
        moment = self.phq9.observed_at.replace(microsecond=0).astimezone(tz).isoformat()
        self.assertEqual(self.ids(code=total, date=moment), [f"{pk}-total"])
        self.assertEqual(self.ids(code=total, date=str(phq_day.year - 1)), [])

    def test_last_updated(self):
        stamp = timezone.now()
        code = "44261-6,70274-6"
        self.assertEqual(len(self.ids(code=code, _lastUpdated=f"lt{stamp.isoformat()}")), 2)
        self.assertEqual(self.ids(code=code, _lastUpdated=f"gt{stamp.isoformat()}"), [])
        earlier = (stamp - timedelta(days=400)).year
        self.assertEqual(self.ids(code=code, _lastUpdated=str(earlier)), [])

    def test_bad_parameters_are_400_naming_the_parameter(self):
        for params, words in (
            ({"date": "2026-13-01"}, "date: '2026-13-01' is not a real date"),
            ({"date": "2026/01/01"}, "date: must be YYYY"),
            ({"date": "sa2026-01-01"}, "prefix 'sa' is not supported"),
            ({"date": "2026-01-01T10:00:00"}, "needs its offset"),
            ({"_count": "0"}, "_count: must be a whole number from 1 to 200"),
            ({"_count": "500"}, "_count"),
            ({"_offset": "-1"}, "_offset"),
            ({"code": "http://loinc.org|"}, "code: each value needs a code"),
            ({"subject": "x"}, "subject: not a search parameter of Observation"),
            ({"patient": ["a", "b"]}, "patient: give it once"),
        ):
            with self.subTest(params=params):
                response = self.fhir("Observation", **params)
                self.assertEqual(response.status_code, 400, response.content)
                issue = response.json()["issue"][0]
                self.assertEqual(issue["code"], "invalid")
                self.assertIn(words, issue["diagnostics"])
        self.assertEqual(self.fhir("Patient", _format="xml").status_code, 415)


class PagingTests(FhirTestCase):
    def test_next_links_walk_every_observation_once_in_order(self):
        seen, url, pages = [], "/fhir/r4/Observation?_count=3", 0
        while url:
            response = self.client.get(url, HTTP_AUTHORIZATION=f"Bearer {self.token}")
            body = response.json()
            self.assertEqual(body["total"], 20)
            self.assertLessEqual(len(body["entry"]), 3)
            seen += [e["resource"]["id"] for e in body["entry"]]
            nxt = [link["url"] for link in body["link"] if link["relation"] == "next"]
            url = nxt[0].removeprefix("http://testserver") if nxt else None
            pages += 1
        self.assertEqual(pages, 7)
        self.assertEqual(len(seen), 20)
        self.assertEqual(len(set(seen)), 20)
        expected = (
            [f"{self.phq9.pk}-panel", f"{self.phq9.pk}-total"]
            + [f"{self.phq9.pk}-item{n}" for n in range(1, 10)]
            + [f"{self.gad7.pk}-panel", f"{self.gad7.pk}-total"]
            + [f"{self.gad7.pk}-item{n}" for n in range(1, 8)]
        )
        self.assertEqual(seen, expected)

    def test_links_keep_the_search(self):
        body = self.fhir_json(
            "Observation", patient=str(self.patient.pk), category="survey", _count="2"
        )
        links = {link["relation"]: link["url"] for link in body["link"]}
        self.assertIn(f"patient={self.patient.pk}", links["next"])
        self.assertIn("category=survey", links["next"])
        self.assertIn("_offset=2", links["next"])
        last = self.fhir_json("Observation", patient=str(self.patient.pk), _count="5", _offset="15")
        self.assertNotIn("next", {link["relation"] for link in last["link"]})
        self.assertEqual(len(last["entry"]), 5)

    def test_patients_questionnaire_responses_and_flags_page_too(self):
        body = self.fhir_json("Patient", _count="1")
        self.assertEqual((body["total"], len(body["entry"])), (2, 1))
        self.assertIn("next", {link["relation"] for link in body["link"]})
        responses = self.fhir_json("QuestionnaireResponse", patient=str(self.patient.pk))
        self.assertEqual(
            [e["resource"]["id"] for e in responses["entry"]],
            [str(self.phq9.pk), str(self.gad7.pk)],
        )
        flags = self.fhir_json("Flag", patient=str(self.patient.pk))
        self.assertEqual(flags["total"], 1)  # PHQ-9 item 9 answered above 0
        flag = flags["entry"][0]["resource"]
        self.assertEqual(
            (flag["status"], flag["category"][0]["coding"][0]["code"]), ("active", "safety")
        )


class EncounterTests(FhirTestCase):
    def test_sessions_are_encounters_searchable_by_patient_and_day(self):
        course = self.start_course()
        sessions = list(course.sessions.order_by("number"))
        body = self.fhir_json("Encounter", patient=str(self.patient.pk), _count="100")
        self.assertEqual(body["total"], len(sessions))
        first = body["entry"][0]["resource"]
        self.assertEqual(first["id"], str(sessions[0].pk))
        self.assertEqual((first["status"], first["class"]["code"]), ("planned", "AMB"))
        self.assertEqual(first["period"], {"start": sessions[0].planned_date.isoformat()})
        day = sessions[1].planned_date.isoformat()
        same_day = [s for s in sessions if s.planned_date == sessions[1].planned_date]
        self.assertEqual(self.fhir_json("Encounter", date=day)["total"], len(same_day))
        self.assertEqual(
            self.fhir_json("Encounter", date=f"ge{day}")["total"],
            len([s for s in sessions if s.planned_date >= sessions[1].planned_date]),
        )
        self.assertEqual(
            self.fhir_json("Encounter", patient=str(self.other_patient.pk))["total"], 0
        )


class PatientTests(FhirTestCase):
    def test_us_core_patient(self):
        body = self.fhir_json(f"Patient/{self.patient.pk}")
        self.assertEqual(body["identifier"][0]["value"], self.patient.mrn)
        self.assertEqual(body["name"][0]["family"], self.patient.family_name)
        self.assertEqual(body["birthDate"], self.patient.birth_date.isoformat())
        self.assertEqual(body["gender"], self.patient.sex)
        self.assertEqual({t["system"] for t in body["telecom"]}, {"phone", "email"})

    def test_search_by_identifier_and_id(self):
        found = self.fhir_json("Patient", identifier=self.other_patient.mrn)
        self.assertEqual(
            [e["resource"]["id"] for e in found["entry"]], [str(self.other_patient.pk)]
        )
        found = self.fhir_json("Patient", _id=str(self.patient.pk))
        self.assertEqual(found["total"], 1)
        self.assertEqual(self.fhir_json("Patient", identifier=self.patient_b.mrn)["total"], 0)

    def test_search_by_name_birthdate_and_gender(self):
        def ids(**params):
            return [
                e["resource"]["id"] for e in self.fhir_json("Patient", **params).get("entry", [])
            ]

        grace = str(self.other_patient.pk)
        self.assertEqual(ids(name="hop"), [grace])
        self.assertEqual(ids(name="Grace Hopper"), [grace])
        self.assertEqual(ids(birthdate="1956-12-09"), [grace])
        self.assertEqual(ids(birthdate="1956"), [grace])
        self.assertEqual(ids(birthdate="gt1956-12-09", name="hopper"), [])
        self.assertEqual(ids(gender=self.other_patient.sex, name="grace"), [grace])
        self.assertEqual(ids(name="Turing"), [])  # another clinic's
        self.assertEqual(self.fhir("Patient", birthdate="1956-02-30").status_code, 400)
