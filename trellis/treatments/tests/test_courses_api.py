"""The treatments API (DESIGN.md §5): protocols, courses and the two calculators."""

from datetime import date, timedelta

from trellis.audit.models import Action, AuditEvent
from trellis.patients.services import create_screening, sign_screening
from trellis.patients.tests.test_api import SAFE_ANSWERS, ApiTestCase
from trellis.testing import actor_for
from trellis.treatments import services
from trellis.treatments.models import Course, Protocol, Session, SessionStatus
from trellis.treatments.tests.test_courses import TMS_CONTRAINDICATED, is_open, next_monday


class CourseApiTestCase(ApiTestCase):
    def sign_screening_for(self, patient, answers=SAFE_ANSWERS):
        prescriber = actor_for(self.prescriber, self.clinic_a)
        screening = create_screening(prescriber, patient, answers, [])
        return sign_screening(prescriber, screening, acknowledge_cautions=True)

    def start(self, username="nurse", patient=None, **body):
        patient = patient or self.patient
        body = {"protocol": "tms-10hz", "start_date": self.monday.isoformat(), **body}
        if body["protocol"].startswith("esketamine") and "esketamine_monotherapy" not in body:
            body.setdefault("concomitant_antidepressant", "Sertraline")
            body.setdefault("concomitant_dose", "100 mg daily")
            body.setdefault("concomitant_started_on", "2025-06-02")
        return self.call("post", f"/api/v1/patients/{patient.id}/courses", username, body)

    def setUp(self):
        self.monday = next_monday(self.clinic_a)


class ProtocolApiTests(CourseApiTestCase):
    def test_it_lists_the_builtin_library_and_the_clinics_own(self):
        Protocol.objects.create(
            clinic=self.clinic_a,
            code="tms-itbs-alpha",
            modality="tms",
            name="Alpha iTBS",
            schedule="tms-itbs",
            sessions=36,
            source="Alpha Clinic policy 2026",
        )
        body = self.call("get", "/api/v1/protocols", "frontdesk").json()
        codes = [p["code"] for p in body]
        for code in (
            "ketamine-iv-induction",
            "esketamine-trd",
            "tms-10hz",
            "tms-itbs",
            "tms-accelerated-itbs",
            "tms-itbs-alpha",
        ):
            self.assertIn(code, codes)
        tms = next(p for p in body if p["code"] == "tms-10hz")
        self.assertLessEqual({"code", "modality", "name", "sessions", "source"}, set(tms))
        self.assertEqual(
            (tms["modality"], tms["sessions"], tms["source"]),
            (
                "tms",
                36,
                "O'Reardon 2007 [R31]; Brain Ultimate TMS protocols [R32]; "
                "THREE-D, Blumberger 2018 [R35]; BCBSM rTMS criteria 2016 [R37]",
            ),
        )
        other = self.call("get", "/api/v1/protocols", "prescriber_b").json()
        self.assertNotIn("tms-itbs-alpha", [p["code"] for p in other])

    def test_a_token_is_required(self):
        self.assertEqual(self.client.get("/api/v1/protocols").status_code, 401)


class StartCourseApiTests(CourseApiTestCase):
    def test_it_starts_a_course_with_the_shape_of_design_section_5(self):
        self.sign_screening_for(self.patient)
        response = self.start(protocol="ketamine-iv-induction", authorized_units=6)
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertLessEqual({"id", "modality", "protocol", "sessions"}, set(body))
        self.assertEqual(
            (body["modality"], body["protocol"]), ("iv_ketamine", "ketamine-iv-induction")
        )
        self.assertEqual([s["number"] for s in body["sessions"]], [1, 2, 3, 4, 5, 6])
        self.assertLessEqual({"id", "number", "planned_date"}, set(body["sessions"][0]))
        self.assertEqual(body["sessions"][0]["planned_date"], self.monday.isoformat())
        course = Course.objects.get(pk=body["id"])
        self.assertEqual((course.patient, course.authorized_units), (self.patient, 6))
        self.assertEqual(
            sorted(str(s.id) for s in course.sessions.all()),
            sorted(s["id"] for s in body["sessions"]),
        )

    def test_it_plans_around_weekends_and_closure_days(self):
        self.sign_screening_for(self.patient)
        closed = {self.monday + timedelta(days=d) for d in (0, 1, 8)}
        for day in closed:
            services.add_closure(actor_for(self.admin, self.clinic_a), day, "Closed")
        body = self.start().json()
        days = [s["planned_date"] for s in body["sessions"]]
        self.assertEqual(len(days), 36)
        self.assertEqual(days[0], (self.monday + timedelta(days=2)).isoformat())
        self.assertTrue(all(is_open(date.fromisoformat(d), closed) for d in days), days)

    def test_it_is_refused_without_a_signed_screening(self):
        response = self.start()
        self.assertEqual(response.status_code, 409)
        self.assertEqual(response.json()["code"], "no_signed_screening")
        self.assertFalse(Course.objects.exists())

    def test_a_contraindication_needs_a_prescribers_override(self):
        self.sign_screening_for(self.patient, TMS_CONTRAINDICATED)
        response = self.start("prescriber")
        self.assertEqual(response.status_code, 409)
        self.assertEqual(response.json()["code"], "contraindicated")

        response = self.start("nurse", override_reason="Cleared by neurosurgery")
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Course.objects.exists())

        response = self.start("prescriber", override_reason="Cleared by neurosurgery")
        self.assertEqual(response.status_code, 201, response.content)
        course = Course.objects.get()
        self.assertEqual(
            (course.override_reason, course.override_by),
            ("Cleared by neurosurgery", self.prescriber),
        )
        event = AuditEvent.objects.get(action=Action.CREATE, object_id=str(course.id))
        self.assertEqual(event.detail["override_reason"], "Cleared by neurosurgery")

        # Another modality is not contraindicated: no override needed.
        self.assertEqual(self.start(protocol="esketamine-trd").status_code, 201)

    def test_bad_input_is_refused_naming_the_field(self):
        self.sign_screening_for(self.patient)
        for changes, field in [
            ({"protocol": "tms-99hz"}, "protocol"),
            ({"start_date": "09/03/2026"}, "start_date"),
            ({"start_date": "2026-02-30"}, "start_date"),
            ({"start_date": 20260309}, "start_date"),
            ({"override_reason": "not contraindicated"}, "override_reason"),
        ]:
            with self.subTest(changes=changes):
                response = self.start(**changes)
                self.assertEqual(response.status_code, 422, response.content)
                body = response.json()
                named = body.get("field") or str(body["detail"])
                self.assertIn(field, named)
        self.assertEqual(self.start(authorized_units=0).status_code, 422)
        self.assertFalse(Course.objects.exists())

    def test_start_dates_more_than_a_year_away_are_refused_by_name(self):
        self.sign_screening_for(self.patient)
        for value in ("2001-01-01", "9999-12-20"):
            with self.subTest(start_date=value):
                response = self.start(start_date=value)
                self.assertEqual(response.status_code, 422, response.content)
                self.assertEqual(response.json()["field"], "start_date")
        self.assertFalse(Course.objects.exists())

    def test_other_clinics_get_404_and_roles_without_the_right_403(self):
        self.sign_screening_for(self.patient)
        self.assertEqual(self.start("prescriber_b").status_code, 404)
        self.assertEqual(
            self.call(
                "post",
                f"/api/v1/patients/{self.patient_b.id}/courses",
                "prescriber",
                {"protocol": "tms-10hz", "start_date": self.monday.isoformat()},
            ).status_code,
            404,
        )
        for username in ("frontdesk", "therapist", "admin"):
            with self.subTest(username=username):
                self.assertEqual(self.start(username).status_code, 403)
        self.assertFalse(Course.objects.exists())


class CourseApiTests(CourseApiTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        prescriber = actor_for(cls.prescriber, cls.clinic_a)
        screening = create_screening(prescriber, cls.patient, SAFE_ANSWERS, [])
        sign_screening(prescriber, screening, acknowledge_cautions=True)

    def test_it_reads_a_course_with_its_sessions_audited(self):
        course_id = self.start(protocol="esketamine-trd").json()["id"]
        Session.objects.filter(course_id=course_id, number=1).update(status=SessionStatus.SIGNED)
        response = self.call("get", f"/api/v1/courses/{course_id}", "frontdesk")
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(
            (body["id"], body["protocol"], body["modality"]),
            (course_id, "esketamine-trd", "esketamine"),
        )
        self.assertEqual(len(body["sessions"]), 12)
        self.assertEqual(body["delivered"], 1)
        self.assertEqual(body["sessions"][0]["status"], "signed")
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual(
            (event.action, event.object_id, event.patient), (Action.READ, course_id, self.patient)
        )

    def test_other_clinics_get_404_and_roles_without_the_right_403(self):
        course_id = self.start().json()["id"]
        self.assertEqual(
            self.call("get", f"/api/v1/courses/{course_id}", "prescriber_b").status_code, 404
        )
        self.assertEqual(self.call("get", f"/api/v1/courses/{course_id}", "admin").status_code, 403)
        self.assertEqual(self.call("get", "/api/v1/courses/nonsense", "nurse").status_code, 404)

    def test_it_replans_and_stops_a_course(self):
        body = self.start(protocol="ketamine-iv-induction").json()
        course_id = body["id"]
        Session.objects.filter(course_id=course_id, number__in=[1, 2]).update(
            status=SessionStatus.SIGNED
        )
        new_start = next_monday(self.clinic_a, 3)
        response = self.call(
            "post",
            f"/api/v1/courses/{course_id}/replan",
            "tms",
            {"from_date": new_start.isoformat()},
        )
        self.assertEqual(response.status_code, 200, response.content)
        after = {s["number"]: s["planned_date"] for s in response.json()["sessions"]}
        before = {s["number"]: s["planned_date"] for s in body["sessions"]}
        self.assertEqual([after[1], after[2]], [before[1], before[2]])
        self.assertEqual(after[3], new_start.isoformat())

        for far in ("2020-01-01", "9999-12-20"):
            response = self.call(
                "post", f"/api/v1/courses/{course_id}/replan", "nurse", {"from_date": far}
            )
            self.assertEqual((response.status_code, response.json()["field"]), (422, "from_date"))

        response = self.call("post", f"/api/v1/courses/{course_id}/stop", "nurse", {"reason": ""})
        self.assertEqual((response.status_code, response.json()["field"]), (422, "reason"))
        response = self.call(
            "post", f"/api/v1/courses/{course_id}/stop", "nurse", {"reason": "Patient moved"}
        )
        self.assertEqual(response.json()["status"], "stopped")
        self.assertEqual(
            [s["status"] for s in response.json()["sessions"]],
            ["signed"] * 2 + ["cancelled"] * 4,
        )
        response = self.call(
            "post", f"/api/v1/courses/{course_id}/stop", "nurse", {"reason": "Again"}
        )
        self.assertEqual(
            (response.status_code, response.json()["code"]), (409, "course_not_active")
        )
        response = self.call(
            "post",
            f"/api/v1/courses/{course_id}/replan",
            "prescriber_b",
            {"from_date": new_start.isoformat()},
        )
        self.assertEqual(response.status_code, 404)


class CalculatorApiTests(ApiTestCase):
    INFUSION = {
        "weight_kg": 80,
        "dose_mg_per_kg": 0.5,
        "minutes": 40,
        "vial_mg_per_ml": 50,
        "diluent_ml": 100,
    }

    def test_the_infusion_calculator_reproduces_the_worked_examples(self):
        # DOMAIN.md §1.1: 80 kg × 0.5 = 40 mg; 0.8 mL of 50 mg/mL into 100 mL = 100.8 mL
        # (0.397 mg/mL); 40 min → 151.2 mL/h. At 1 mg/mL: 40 mL over 40 min = 60 mL/h.
        for body, expected in [
            (
                self.INFUSION,
                {
                    "dose_mg": 40,
                    "drug_ml": 0.8,
                    "total_ml": 100.8,
                    "bag_mg_per_ml": 0.397,
                    "rate_ml_per_h": 151.2,
                },
            ),
            (
                {**self.INFUSION, "vial_mg_per_ml": 1, "diluent_ml": 0},
                {
                    "dose_mg": 40,
                    "drug_ml": 40,
                    "total_ml": 40,
                    "bag_mg_per_ml": 1,
                    "rate_ml_per_h": 60,
                },
            ),
        ]:
            with self.subTest(body=body):
                response = self.call("post", "/api/v1/calculators/ketamine-infusion", "nurse", body)
                self.assertEqual(response.status_code, 200, response.content)
                result = response.json()
                self.assertEqual({k: result[k] for k in expected}, expected)
                self.assertIsInstance(result["warnings"], list)

    def test_off_protocol_values_come_back_with_warnings(self):
        body = {**self.INFUSION, "dose_mg_per_kg": 1.0}
        result = self.call("post", "/api/v1/calculators/ketamine-infusion", "nurse", body).json()
        self.assertEqual(result["dose_mg"], 80)
        self.assertTrue(any("0.75 mg/kg" in w for w in result["warnings"]))

    def test_the_infusion_calculator_refuses_bad_input_by_name(self):
        for field, value in [
            ("weight_kg", 0),
            ("minutes", -40),
            ("vial_mg_per_ml", 5000),
            ("dose_mg_per_kg", 50),
            ("diluent_ml", -1),
            ("weight_kg", True),
            ("minutes", "40"),
            ("diluent_ml", None),
        ]:
            with self.subTest(field=field, value=value):
                response = self.call(
                    "post",
                    "/api/v1/calculators/ketamine-infusion",
                    "nurse",
                    {**self.INFUSION, field: value},
                )
                self.assertEqual(response.status_code, 422, response.content)
                body = response.json()
                self.assertIn(field, body.get("field") or str(body["detail"]))
        missing = {k: v for k, v in self.INFUSION.items() if k != "minutes"}
        response = self.call("post", "/api/v1/calculators/ketamine-infusion", "nurse", missing)
        self.assertEqual(response.status_code, 422)
        self.assertIn("minutes", str(response.json()["detail"]))

    def test_beam_f3_reproduces_the_worked_example(self):
        body = {"tragus_tragus_cm": 36, "nasion_inion_cm": 38, "circumference_cm": 60}
        response = self.call("post", "/api/v1/calculators/beam-f3", "tms", body)
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json(), {"x_cm": 6.95, "y_cm": 9.79})

    def test_beam_f3_refuses_bad_input_by_name(self):
        good = {"tragus_tragus_cm": 36, "nasion_inion_cm": 38, "circumference_cm": 60}
        for field, value in [
            ("tragus_tragus_cm", 0),
            ("nasion_inion_cm", -38),
            ("circumference_cm", 600),
            ("circumference_cm", False),
        ]:
            with self.subTest(field=field, value=value):
                response = self.call(
                    "post", "/api/v1/calculators/beam-f3", "tms", {**good, field: value}
                )
                self.assertEqual(response.status_code, 422, response.content)
                body = response.json()
                self.assertIn(field, body.get("field") or str(body["detail"]))

    def test_calculators_need_a_token_but_no_patient_right(self):
        self.assertEqual(
            self.client.post(
                "/api/v1/calculators/beam-f3", data="{}", content_type="application/json"
            ).status_code,
            401,
        )
        response = self.call(
            "post",
            "/api/v1/calculators/beam-f3",
            "frontdesk",
            {"tragus_tragus_cm": 36, "nasion_inion_cm": 38, "circumference_cm": 60},
        )
        self.assertEqual(response.status_code, 200)


class ConcomitantAntidepressantApiTests(CourseApiTestCase):
    """Esketamine records its oral antidepressant or monotherapy at the start [R95, R25, R23]."""

    def setUp(self):
        super().setUp()
        self.sign_screening_for(self.patient)

    def test_an_esketamine_course_without_either_is_refused_naming_the_field(self):
        response = self.start(protocol="esketamine-trd", esketamine_monotherapy=False)
        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["field"], "concomitant_antidepressant")
        self.assertIn("monotherapy", response.json()["detail"])
        self.assertFalse(Course.objects.exists())

    def test_monotherapy_is_recorded(self):
        response = self.start(protocol="esketamine-trd", esketamine_monotherapy=True)
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(
            response.json()["concomitant_antidepressant"], "Monotherapy (no oral antidepressant)"
        )
        self.assertTrue(Course.objects.get().esketamine_monotherapy)

    def test_the_antidepressant_is_recorded_and_read_back(self):
        response = self.start(protocol="esketamine-trd")
        self.assertEqual(response.status_code, 201, response.content)
        course = Course.objects.get()
        self.assertEqual(
            (course.concomitant_antidepressant, course.concomitant_dose),
            ("Sertraline", "100 mg daily"),
        )
        read = self.call("get", f"/api/v1/courses/{course.id}", "nurse").json()
        self.assertEqual(
            read["concomitant_antidepressant"], "Sertraline 100 mg daily, since 2 Jun 2025"
        )

    def test_a_tms_course_takes_none(self):
        response = self.start(concomitant_antidepressant="Sertraline")
        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["field"], "concomitant_antidepressant")
