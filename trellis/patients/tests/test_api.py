import io
import json
from datetime import UTC, date, datetime
from unittest import mock

from django.core.management import call_command
from django.utils import timezone

from trellis.audit.models import Action, AuditEvent
from trellis.patients.models import BodyMeasurement, Patient, Screening
from trellis.testing import SAFE_ANSWERS, TrellisTestCase

NEW_PATIENT = {
    "given_name": "Mary",
    "family_name": "Shelley",
    "birth_date": "1990-08-30",
    "sex": "female",
    "phone": "+1 860 555 0100",
    "weight_kg": 61.5,
    "height_cm": 165,
}

TRD_TRIALS = [
    {"drug": "sertraline", "weeks": 8, "adequate_dose": True, "outcome": "inadequate_response"},
    {"drug": "venlafaxine", "weeks": 10, "adequate_dose": True, "outcome": "inadequate_response"},
]


class ApiTestCase(TrellisTestCase):
    def token(self, username: str) -> str:
        out = io.StringIO()
        call_command("issue_token", username, stdout=out)
        return out.getvalue().strip()

    def call(self, method: str, path: str, username: str = "prescriber", body=None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.token(username)}"}
        if body is None:
            return getattr(self.client, method)(path, **headers)
        return getattr(self.client, method)(
            path, data=json.dumps(body), content_type="application/json", **headers
        )


class PatientApiTests(ApiTestCase):
    def test_it_registers_a_patient_with_a_generated_mrn(self):
        response = self.call("post", "/api/v1/patients", body=NEW_PATIENT)
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(body["mrn"], "ALP-000003")
        self.assertEqual(body["weight_kg"]["value"], 61.5)
        patient = Patient.objects.get(pk=body["id"])
        self.assertEqual((patient.clinic, patient.family_name), (self.clinic_a, "Shelley"))
        self.assertEqual(
            AuditEvent.objects.filter(patient=patient, action=Action.CREATE).count(), 2
        )

    def test_a_weight_sent_at_9_pm_in_new_york_is_dated_that_day_at_the_clinic(self):
        # 21:00 on Mar 3 in New York (EST) is 02:00 on Mar 4 in UTC.
        evening = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)
        with mock.patch("django.utils.timezone.now", return_value=evening):
            response = self.call("post", "/api/v1/patients", body=NEW_PATIENT)
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["weight_kg"]["measured_on"], "2026-03-03")
        measured = BodyMeasurement.objects.get(patient_id=response.json()["id"])
        self.assertEqual(measured.measured_on, date(2026, 3, 3))
        # The clinic's timezone ends with the call.
        self.assertEqual(timezone.get_current_timezone_name(), "UTC")

    def test_it_reads_a_patient_and_audits_the_read(self):
        response = self.call("get", f"/api/v1/patients/{self.patient.id}", "nurse")
        self.assertEqual(response.json()["mrn"], self.patient.mrn)
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual(
            (event.action, event.patient, event.user), (Action.READ, self.patient, self.nurse)
        )

    def test_another_clinics_patient_is_404(self):
        response = self.call("get", f"/api/v1/patients/{self.patient.id}", "prescriber_b")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response.json(), {"detail": "Not found."})

    def test_unknown_and_malformed_ids_are_404(self):
        for patient_id in ("00000000-0000-4000-8000-000000000000", "nope"):
            with self.subTest(patient_id=patient_id):
                self.assertEqual(
                    self.call("get", f"/api/v1/patients/{patient_id}").status_code, 404
                )

    def test_a_role_without_the_right_gets_403(self):
        response = self.call("post", "/api/v1/patients", "therapist", body=NEW_PATIENT)
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Patient.objects.filter(family_name="Shelley").exists())

    def test_bad_patients_are_refused_by_field_and_nothing_is_written(self):
        cases = [
            ({"given_name": "  "}, "given_name"),
            ({"birth_date": "2999-01-01"}, "birth_date"),
            ({"birth_date": "1850-01-01"}, "birth_date"),
            ({"sex": "x"}, "sex"),
            ({"weight_kg": 5}, "weight_kg"),
            ({"email": "not-an-email"}, "email"),
        ]
        before = (Patient.objects.count(), BodyMeasurement.objects.count())
        for change, field in cases:
            with self.subTest(field=field, change=change):
                response = self.call("post", "/api/v1/patients", body={**NEW_PATIENT, **change})
                self.assertEqual(response.status_code, 422, response.content)
                self.assertIn(field, json.dumps(response.json()["detail"]))
        self.assertEqual((Patient.objects.count(), BodyMeasurement.objects.count()), before)


class ScreeningApiTests(ApiTestCase):
    def screen(self, answers=None, trials=None, username="prescriber"):
        body = {
            "answers": SAFE_ANSWERS if answers is None else answers,
            "trials": TRD_TRIALS if trials is None else trials,
        }
        return self.call("post", f"/api/v1/patients/{self.patient.id}/screenings", username, body)

    def test_a_complete_safe_screening_is_eligible_for_all_three(self):
        response = self.screen()
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertTrue(body["trd"])
        self.assertEqual(
            {m: f["status"] for m, f in body["findings"].items()},
            {"iv_ketamine": "eligible", "esketamine": "eligible", "tms": "eligible"},
        )
        self.assertFalse(body["signed"])

    def test_each_reason_carries_rule_message_and_source(self):
        body = self.screen({**SAFE_ANSWERS, "pregnant": True}).json()
        reason = body["findings"]["esketamine"]["reasons"][0]
        self.assertEqual(body["findings"]["esketamine"]["status"], "contraindicated")
        self.assertEqual(reason["rule"], "esk.pregnancy")
        self.assertIn("[R", reason["source"])
        self.assertTrue(reason["message"])

    def test_unknown_answers_need_information_never_eligibility(self):
        body = self.screen(answers={}).json()
        for modality, finding in body["findings"].items():
            with self.subTest(modality=modality):
                self.assertEqual(finding["status"], "needs_info")

    def test_bad_screenings_are_refused_by_field_and_nothing_is_written(self):
        cases = [
            ({"answers": {**SAFE_ANSWERS, "favourite_colour": "blue"}}, "answers.favourite_colour"),
            ({"answers": {**SAFE_ANSWERS, "pregnant": "no"}}, "answers.pregnant"),
            (
                {"answers": {**SAFE_ANSWERS, "bp_systolic": 400, "bp_diastolic": 10}},
                "answers.bp_systolic",
            ),
            (
                {
                    "trials": [
                        {"drug": "x", "weeks": -1, "adequate_dose": True, "outcome": "response"}
                    ]
                },
                "trials[0].weeks",
            ),
        ]
        for change, field in cases:
            with self.subTest(field=field):
                body = {"answers": SAFE_ANSWERS, "trials": TRD_TRIALS, **change}
                response = self.call(
                    "post", f"/api/v1/patients/{self.patient.id}/screenings", body=body
                )
                self.assertEqual(response.status_code, 422)
                self.assertEqual(response.json()["field"], field)
                self.assertIn(field, response.json()["detail"])
        self.assertFalse(Screening.objects.exists())

    def test_signing_needs_a_prescriber(self):
        screening_id = self.screen(username="nurse").json()["id"]
        response = self.call("post", f"/api/v1/screenings/{screening_id}/sign", "nurse", {})
        self.assertEqual(response.status_code, 403)

    def test_a_clean_screening_signs_without_acknowledgement(self):
        screening_id = self.screen().json()["id"]
        response = self.call("post", f"/api/v1/screenings/{screening_id}/sign", body={})
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.json()["signed"])

    def test_cautions_must_be_acknowledged_to_sign(self):
        screening_id = self.screen(trials=[]).json()["id"]  # not TRD → caution everywhere
        refused = self.call("post", f"/api/v1/screenings/{screening_id}/sign", body={})
        self.assertEqual(refused.status_code, 409)
        self.assertEqual(refused.json()["code"], "cautions_not_acknowledged")
        self.assertFalse(Screening.objects.get(pk=screening_id).is_signed)
        signed = self.call(
            "post", f"/api/v1/screenings/{screening_id}/sign", body={"acknowledge_cautions": True}
        )
        self.assertEqual(signed.status_code, 200)
        self.assertTrue(signed.json()["cautions_acknowledged"])

    def test_a_signed_screening_cannot_be_signed_again(self):
        screening_id = self.screen().json()["id"]
        self.call("post", f"/api/v1/screenings/{screening_id}/sign", body={})
        again = self.call("post", f"/api/v1/screenings/{screening_id}/sign", body={})
        self.assertEqual(again.status_code, 409)

    def test_another_clinic_cannot_screen_or_read(self):
        screening_id = self.screen().json()["id"]
        self.assertEqual(self.screen(username="prescriber_b").status_code, 404)
        response = self.call("get", f"/api/v1/screenings/{screening_id}", "prescriber_b")
        self.assertEqual(response.status_code, 404)

    def test_the_clinic_thresholds_are_used_and_stored(self):
        self.clinic_a.settings = {"trd_min_failed_trials": 3}
        self.clinic_a.save(update_fields=["settings"])
        body = self.screen().json()
        self.assertFalse(body["trd"])
        self.assertEqual(Screening.objects.get(pk=body["id"]).thresholds["min_failed_trials"], 3)
