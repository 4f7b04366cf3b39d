"""What the JSON API does with input it cannot use: a 422 naming the field, never a 500, and
every error JSON (DESIGN.md §3, §5)."""

import json
import logging
import uuid
from unittest import mock

from django.test import override_settings

from trellis.patients.models import Patient, Screening
from trellis.patients.tests.test_api import NEW_PATIENT, ApiTestCase

SOME_ID = "00000000-0000-4000-8000-000000000000"
VALID_INFUSION = {
    "weight_kg": 80,
    "dose_mg_per_kg": 0.5,
    "minutes": 40,
    "vial_mg_per_ml": 50,
    "diluent_ml": 100,
}
VALID_HEAD = {"tragus_tragus_cm": 36, "nasion_inion_cm": 38, "circumference_cm": 60}
TRIAL = {"drug": "sertraline", "weeks": 8, "adequate_dose": True, "outcome": "response"}


class ApiInputTestCase(ApiTestCase):
    def setUp(self) -> None:
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {self.token('prescriber')}"}

    def post_raw(self, path: str, raw: str | bytes):
        return self.client.post(path, data=raw, content_type="application/json", **self.auth)

    def post(self, path: str, body):
        return self.post_raw(path, json.dumps(body))

    def assert_field_error(self, response, field: str, words: str = "") -> dict:
        self.assertEqual(response.status_code, 422, response.content)
        self.assertEqual(response["Content-Type"], "application/json; charset=utf-8")
        body = response.json()
        self.assertEqual(body["field"], field, body)
        self.assertTrue(body["detail"].startswith(f"{field}: "), body)
        self.assertIn(words, body["detail"])
        return body


class ControlCharacterTests(ApiInputTestCase):
    """A NUL cannot be stored in PostgreSQL (it was a 500 there); every kind of text field
    refuses it, and the other control characters, with a 422 naming the field."""

    def test_a_nul_in_any_kind_of_text_field_is_a_422_naming_it(self):
        patients = "/api/v1/patients"
        screenings = f"/api/v1/patients/{self.patient.id}/screenings"
        courses = f"/api/v1/patients/{self.patient.id}/courses"
        course = {"protocol": "tms-10hz", "start_date": "2026-03-09"}
        cases = [
            ("a name", patients, {**NEW_PATIENT, "given_name": "Ma\x00ry"}, "given_name"),
            ("one line", patients, {**NEW_PATIENT, "phone": "555\x000100"}, "phone"),
            ("several lines", patients, {**NEW_PATIENT, "address": "1 Main St\x00"}, "address"),
            (
                "a contact's name",
                patients,
                {**NEW_PATIENT, "emergency_contact_name": "\x00"},
                "emergency_contact_name",
            ),
            (
                "text inside a list",
                screenings,
                {"trials": [TRIAL, {**TRIAL, "drug": "venla\x00faxine"}]},
                "trials[1].drug",
            ),
            (
                "an answer",
                screenings,
                {"answers": {"psychosis": "none\x00"}},
                "answers.psychosis",
            ),
            ("a code", courses, {**course, "protocol": "tms-10hz\x00"}, "protocol"),
            ("a reason", courses, {**course, "override_reason": "x\x00"}, "override_reason"),
            ("a payer", courses, {**course, "payer": "\x00"}, "payer"),
            (
                "a required note",
                f"/api/v1/alerts/{SOME_ID}/acknowledge",
                {"note": "called\x00"},
                "note",
            ),
            ("a stop reason", f"/api/v1/courses/{SOME_ID}/stop", {"reason": "\x00"}, "reason"),
        ]
        for kind, path, body, field in cases:
            with self.subTest(kind):
                self.assert_field_error(self.post(path, body), field, "control characters")
        self.assertEqual(Patient.objects.filter(given_name__startswith="Ma").count(), 0)
        self.assertFalse(Screening.objects.exists())

    def test_a_nul_in_a_search_is_a_422_naming_the_parameter(self):
        response = self.client.get("/api/v1/patients", {"q": "Love\x00lace"}, **self.auth)
        self.assert_field_error(response, "q", "U+0000")

    def test_tab_and_line_breaks_are_text_only_where_text_has_lines(self):
        address = {**NEW_PATIENT, "address": "1 Main St\r\n\tApt 2"}
        self.assertEqual(self.post("/api/v1/patients", address).status_code, 201)
        for character in ("\t", "\n", "\r", "\x1b", "\x7f", "\x85"):
            with self.subTest(repr(character)):
                body = {**NEW_PATIENT, "family_name": f"Shel{character}ley"}
                self.assert_field_error(self.post("/api/v1/patients", body), "family_name")
        body = {**NEW_PATIENT, "address": "1 Main St\x07"}
        self.assert_field_error(self.post("/api/v1/patients", body), "address", "U+0007")

    def test_names_refuse_text_direction_and_invisible_characters(self):
        for character in ("\u202e", "\u202a", "\u2066", "\u2069", "\u200b", "\u200d", "\ufeff"):
            with self.subTest(f"U+{ord(character):04X}"):
                body = {**NEW_PATIENT, "family_name": f"Smi{character}th"}
                self.assert_field_error(
                    self.post("/api/v1/patients", body), "family_name", "invisible"
                )
        # An address is not a name: a right-to-left street name may need its marks.
        body = {**NEW_PATIENT, "address": "\u2067شارع\u2069 5"}
        self.assertEqual(self.post("/api/v1/patients", body).status_code, 201)

    def test_an_unpaired_surrogate_is_refused(self):
        raw = json.dumps({**NEW_PATIENT, "given_name": "Mary"}).replace("Mary", "Ma\\ud800ry")
        response = self.post_raw("/api/v1/patients", raw)
        self.assert_field_error(response, "given_name", "unicode")

    def test_a_blank_name_is_refused_and_a_padded_one_trimmed(self):
        body = {**NEW_PATIENT, "given_name": "   "}
        self.assert_field_error(self.post("/api/v1/patients", body), "given_name", "blank")
        body = {**NEW_PATIENT, "given_name": "  Mary "}
        self.assertEqual(self.post("/api/v1/patients", body).json()["given_name"], "Mary")

    def test_every_text_and_list_has_a_maximum(self):
        cases = [
            ("/api/v1/patients", {**NEW_PATIENT, "address": "x" * 1001}, "address"),
            ("/api/v1/patients", {**NEW_PATIENT, "given_name": "x" * 101}, "given_name"),
            (
                f"/api/v1/patients/{self.patient.id}/screenings",
                {"trials": [TRIAL] * 51},
                "trials",
            ),
            (f"/api/v1/alerts/{SOME_ID}/acknowledge", {"note": "x" * 5001}, "note"),
            (
                f"/api/v1/patients/{self.patient.id}/measures",
                {"instrument": "phq9", "answers": [0] * 10000},
                "answers",
            ),
            (
                f"/api/v1/alerts/{SOME_ID}/acknowledge",
                {"note": "called", "actions": ["safety_plan"] * 21},
                "actions",
            ),
        ]
        for path, body, field in cases:
            with self.subTest(field):
                self.assert_field_error(self.post(path, body), field, "at most")


class BodyShapeTests(ApiInputTestCase):
    def test_a_body_that_is_not_a_json_object_is_a_422(self):
        path = f"/api/v1/patients/{self.patient.id}/screenings"
        for raw, kind in (("[]", "an array"), ('"yes"', "a string"), ("3", "a number")):
            with self.subTest(raw):
                body = self.assert_field_error(self.post_raw(path, raw), "body", kind)
                self.assertEqual(body["detail"], f"body: must be a JSON object, not {kind}")
        response = self.post_raw(path, "null")
        self.assert_field_error(response, "body", "must be a JSON object")
        self.assertFalse(Screening.objects.exists())

    def test_malformed_json_and_nan_are_a_400_in_json(self):
        path = f"/api/v1/patients/{self.patient.id}/screenings"
        for raw in ("{", '{"answers": NaN}', '{"trials": [Infinity]}', b"\xff\xfe"):
            with self.subTest(raw):
                response = self.post_raw(path, raw)
                self.assertEqual(response.status_code, 400)
                self.assertIn("Cannot parse request body", response.json()["detail"])

    @override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
    def test_an_oversized_body_is_a_413_in_json(self):
        body = {**NEW_PATIENT, "address": "x" * 990}
        response = self.post("/api/v1/patients", body)
        self.assertEqual(response.status_code, 413)
        self.assertEqual(response.json(), {"detail": "The request body is too large."})
        self.assertFalse(Patient.objects.filter(family_name="Shelley").exists())

    def test_a_schema_error_names_the_field_and_lists_every_problem(self):
        body = {"sex": "female", "given_name": "Mary", "birth_date": 0}
        response = self.post("/api/v1/patients", body)
        problem = self.assert_field_error(response, "family_name", "is required")
        self.assertIn(
            {"field": "birth_date", "message": "must be a date written YYYY-MM-DD"},
            problem["errors"],
        )

    def test_json_spellings_that_are_not_the_type_are_refused(self):
        cases = [
            (f"/api/v1/screenings/{SOME_ID}/sign", {"acknowledge_cautions": "yes"}),
            (f"/api/v1/screenings/{SOME_ID}/sign", {"acknowledge_cautions": 1}),
            ("/api/v1/patients", {**NEW_PATIENT, "weight_kg": "61.5"}),
            ("/api/v1/patients", {**NEW_PATIENT, "weight_kg": True}),
            ("/api/v1/patients", {**NEW_PATIENT, "birth_date": 86400}),
        ]
        for path, body in cases:
            with self.subTest(body):
                self.assertEqual(self.post(path, body).status_code, 422)

    def test_a_whole_number_written_with_a_decimal_point_is_that_number(self):
        answers = {"bp_systolic": 120.0, "bp_diastolic": 80.0}
        response = self.post(f"/api/v1/patients/{self.patient.id}/screenings", {"answers": answers})
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["answers"], {"bp_systolic": 120, "bp_diastolic": 80})


class DateInputTests(ApiInputTestCase):
    """Every date and time the API takes is read one way (``trellis.lib.schema.Date`` and
    ``DateTime``): a bad one is a 422 naming the field, with the same words everywhere."""

    def date_inputs(self):
        patient = self.patient.id
        return [
            ("/api/v1/patients", NEW_PATIENT, "birth_date", "2026-03-09"),
            (
                f"/api/v1/patients/{patient}/measures",
                {"instrument": "phq9", "answers": [0] * 9},
                "observed_at",
                "2026-03-09T10:00",
            ),
            (
                f"/api/v1/patients/{patient}/courses",
                {"protocol": "tms-10hz"},
                "start_date",
                "2026-03-09",
            ),
            (f"/api/v1/courses/{SOME_ID}/replan", {}, "from_date", "2026-03-09"),
        ]

    def test_a_bad_date_anywhere_is_a_422_naming_the_field(self):
        for path, body, field, good in self.date_inputs():
            time = good[10:]
            for value, words in [
                ("09/03/2026", "must be a date"),
                (20260309, "must be a date"),
                ("2026-03-0\x00", "must be a date"),
                (None if time else "", "must be a date"),
                ("2026-02-30" + time, "2026-02-30 is not a calendar date"),
                ("2026-13-01" + time, "2026-13-01 is not a calendar date"),
            ]:
                if value is None:
                    continue  # observed_at may be left out (null means now)
                with self.subTest(field=field, value=value):
                    response = self.post(path, {**body, field: value})
                    self.assert_field_error(response, field, words)

    def test_every_date_a_request_takes_is_documented_as_a_date(self):
        schemas = self.client.get("/api/v1/openapi.json").json()["components"]["schemas"]
        found = []
        for name, schema in schemas.items():
            if not name.endswith("In"):
                continue
            for field, prop in schema.get("properties", {}).items():
                if not field.endswith(("_date", "_at", "_on")):
                    continue
                found.append(field)
                options = [o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"]
                with self.subTest(f"{name}.{field}"):
                    self.assertEqual(len(options), 1)
                    self.assertIn(options[0].get("format"), ("date", "date-time"))
                    self.assertNotIn("maxLength", options[0])  # a date, not text read later
        self.assertLessEqual({"birth_date", "observed_at", "start_date", "from_date"}, set(found))


class ServerErrorTests(ApiInputTestCase):
    def test_an_unexpected_failure_is_a_500_in_json_and_logged(self):
        with (
            mock.patch(
                "trellis.treatments.services.protocol_library", side_effect=RuntimeError("boom")
            ),
            self.assertLogs("django.request", logging.ERROR) as logged,
        ):
            response = self.client.get("/api/v1/protocols", **self.auth)
        self.assertEqual(response.status_code, 500)
        self.assertEqual(response["Content-Type"], "application/json; charset=utf-8")
        self.assertEqual(
            response.json(), {"detail": "Something went wrong on our side; it has been logged."}
        )
        self.assertIn("RuntimeError: boom", "\n".join(logged.output))


class CalculatorInputTests(ApiInputTestCase):
    def test_absurd_infusion_inputs_are_a_422_naming_the_field(self):
        cases = [
            ('"minutes": 1e-308', "minutes", "must be at least 1 min"),
            ('"minutes": 1e400', "minutes", "must be a finite number"),
            ('"weight_kg": -1e400', "weight_kg", "must be a finite number"),
            ('"weight_kg": 0.0001', "weight_kg", "must be at least 2 kg"),
            ('"dose_mg_per_kg": 1e-300', "dose_mg_per_kg", "must be at least 0.01 mg/kg"),
            ('"vial_mg_per_ml": 5000', "vial_mg_per_ml", "must be at most 100 mg/mL"),
            ('"diluent_ml": -0.5', "diluent_ml", "must be 0 mL or more"),
            ('"weight_kg": true', "weight_kg", ""),
            ('"minutes": "40"', "minutes", ""),
            ('"minutes": 1, "diluent_ml": 1000', "minutes", "faster than an infusion pump runs"),
        ]
        base = json.dumps(VALID_INFUSION)[1:-1]
        for fragment, field, words in cases:
            with self.subTest(fragment):
                response = self.post_raw(
                    "/api/v1/calculators/ketamine-infusion", "{" + base + ", " + fragment + "}"
                )
                self.assert_field_error(response, field, words)

    def test_absurd_head_measurements_are_a_422_naming_the_field(self):
        cases = [
            ('"tragus_tragus_cm": 1e400', "tragus_tragus_cm", "finite"),
            ('"nasion_inion_cm": 1e-308', "nasion_inion_cm", "between 20 and 50 cm"),
            ('"circumference_cm": 600', "circumference_cm", "between 40 and 75 cm"),
        ]
        base = json.dumps(VALID_HEAD)[1:-1]
        for fragment, field, words in cases:
            with self.subTest(fragment):
                response = self.post_raw(
                    "/api/v1/calculators/beam-f3", "{" + base + ", " + fragment + "}"
                )
                self.assert_field_error(response, field, words)

    def test_the_schema_documents_the_ranges_the_calculators_enforce(self):
        schemas = self.client.get("/api/v1/openapi.json").json()["components"]["schemas"]
        minutes = schemas["InfusionIn"]["properties"]["minutes"]
        self.assertEqual((minutes["minimum"], minutes["maximum"]), (1, 600))
        tragus = schemas["BeamF3In"]["properties"]["tragus_tragus_cm"]
        self.assertEqual((tragus["minimum"], tragus["maximum"]), (20, 50))
        for edge in ({"minutes": 1, "diluent_ml": 10}, {"minutes": 600}):
            with self.subTest(edge):
                response = self.post(
                    "/api/v1/calculators/ketamine-infusion", {**VALID_INFUSION, **edge}
                )
                self.assertEqual(response.status_code, 200, response.content)


class OpenApiTests(ApiInputTestCase):
    """Every operation lists the errors it can give, each with a JSON schema."""

    def setUp(self) -> None:
        super().setUp()
        self.spec = self.client.get("/api/v1/openapi.json").json()
        self.operations = [
            (f"{method.upper()} {path}", operation)
            for path, item in self.spec["paths"].items()
            for method, operation in item.items()
        ]

    def test_every_operation_documents_its_error_responses(self):
        self.assertGreaterEqual(len(self.operations), 20)
        for name, operation in self.operations:
            with self.subTest(name):
                codes = set(operation["responses"])
                self.assertLessEqual({"401", "500"}, codes)
                parameters = operation.get("parameters", [])
                if parameters or "requestBody" in operation:
                    self.assertIn("422", codes)
                if "requestBody" in operation:
                    self.assertLessEqual({"400", "413"}, codes)
                if any(p["in"] == "path" for p in parameters):
                    self.assertIn("404", codes)
                # The web server's own refusal of an over-long address is HTML, and says so.
                self.assertIn("text/html", operation["responses"]["414"]["content"])
                for code in codes - {"200", "201", "414"}:
                    content = operation["responses"][code]["content"]["application/json"]
                    self.assertIn("$ref", content["schema"])

    def test_operations_that_change_state_document_their_conflicts(self):
        responses = {name: set(op["responses"]) for name, op in self.operations}
        for name in (
            "POST /api/v1/screenings/{screening_id}/sign",
            "POST /api/v1/alerts/{alert_id}/acknowledge",
            "POST /api/v1/patients/{patient_id}/courses",
            "POST /api/v1/courses/{course_id}/stop",
            "POST /api/v1/courses/{course_id}/replan",
        ):
            with self.subTest(name):
                self.assertLessEqual({"403", "409"}, responses[name])

    def test_enums_formats_and_text_rules_are_documented(self):
        schemas = self.spec["components"]["schemas"]
        alerts = next(op for name, op in self.operations if name == "GET /api/v1/alerts")
        status = alerts["parameters"][0]["schema"]
        self.assertEqual(status["enum"], ["open", "acknowledged", "all"])
        patient = schemas["PatientIn"]["properties"]
        self.assertEqual(patient["birth_date"]["format"], "date")
        self.assertEqual(patient["given_name"]["maxLength"], 100)
        self.assertIn("\\u202e", patient["given_name"]["pattern"])
        self.assertIn("\\u0000", patient["phone"]["pattern"])
        screening = schemas["ScreeningIn"]["properties"]
        self.assertEqual(
            screening["answers"]["properties"]["psychosis"]["enum"], ["none", "past", "current"]
        )
        self.assertEqual(screening["trials"]["maxItems"], 50)
        # Every string field of every request body has a maximum length.
        for name, schema in schemas.items():
            if not name.endswith("In"):
                continue
            for field, prop in schema.get("properties", {}).items():
                options = prop.get("anyOf", [prop])
                for option in options:
                    free = not {"enum", "format"} & set(option)
                    if option.get("type") == "string" and free:
                        with self.subTest(f"{name}.{field}"):
                            self.assertIn("maxLength", option)

    def test_an_unknown_id_is_still_a_404_in_json(self):
        response = self.client.get(f"/api/v1/patients/{uuid.uuid4()}", **self.auth)
        self.assertEqual((response.status_code, response.json()), (404, {"detail": "Not found."}))


class OutsideTheOperationsTests(ApiInputTestCase):
    def test_a_method_a_path_does_not_take_is_a_405_in_json(self):
        response = self.client.delete(f"/api/v1/patients/{SOME_ID}", **self.auth)
        self.assertEqual(response.status_code, 405)
        self.assertEqual(response["Allow"], "GET")
        self.assertEqual(response.json(), {"detail": "DELETE is not allowed here; use GET."})

    def test_a_path_that_is_not_the_apis_is_a_404_in_json(self):
        for method in ("get", "post"):
            with self.subTest(method):
                response = getattr(self.client, method)("/api/v1/no/such/thing", **self.auth)
                self.assertEqual(response.status_code, 404)
                self.assertEqual(response.json(), {"detail": "Not found."})
