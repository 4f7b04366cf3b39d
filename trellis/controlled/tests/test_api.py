"""The ledger's API as DESIGN.md §5.1 states it, through HTTP with Bearer tokens."""

import json
from datetime import timedelta

from trellis.accounts.models import ApiToken
from trellis.controlled.models import Container, LedgerEntry
from trellis.controlled.tests.helpers import vial
from trellis.safety.models import SafetyAlert
from trellis.testing import AUDIT_LOCK_QUERIES, TrellisTestCase, actor_for


class ControlledApiTests(TrellisTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.tokens = {}
        for user, clinic in [
            *((u, cls.clinic_a) for u in cls.staff_a.values()),
            (cls.prescriber_b, cls.clinic_b),
        ]:
            row, token = ApiToken.new(user, clinic)
            row.save()
            cls.tokens[user.username] = token
        cls.nurse_actor = actor_for(cls.nurse, cls.clinic_a)

    def call(self, method: str, path: str, username: str = "nurse", body=None):
        return getattr(self.client, method)(
            path,
            data=json.dumps(body) if body is not None else None,
            content_type="application/json",
            headers={"Authorization": f"Bearer {self.tokens[username]}"},
        )

    def receipt_body(self, **changes) -> dict:
        today = self.clinic_a.today()
        body = {
            "substance": "ketamine",
            "ndc": "0409-2053-10",
            "lot": "K2291",
            "expires_on": str(today + timedelta(days=400)),
            "containers": 2,
            "amount_per_container_mg": 500,
            "volume_per_container_ml": 10,
            "supplier": {"name": "Midwest Medical Supply", "address": "12 Depot Rd, Columbus OH"},
            "supplier_dea": "AB1234563",
            "invoice": {"number": "INV-1", "date": str(today)},
        }
        body.update(changes)
        return body

    def test_a_receipt_answers_with_its_containers(self) -> None:
        response = self.call("post", "/api/v1/controlled/receipts", body=self.receipt_body())
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(len(body["containers"]), 2)
        self.assertEqual(
            {(c["substance"], c["lot"], c["remaining_mg"]) for c in body["containers"]},
            {("ketamine", "K2291", 500.0)},
        )

    def test_a_bad_dea_number_is_a_422_naming_the_field(self) -> None:
        response = self.call(
            "post", "/api/v1/controlled/receipts", body=self.receipt_body(supplier_dea="AB1234560")
        )
        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["field"], "supplier_dea")
        self.assertIn("check digit", response.json()["detail"])
        response = self.call(
            "post", "/api/v1/controlled/receipts", body=self.receipt_body(containers=0)
        )
        self.assertEqual((response.status_code, response.json()["field"]), (422, "containers"))
        self.assertFalse(Container.objects.exists())

    def test_an_administration_answers_with_what_remains_and_409_past_zero(self) -> None:
        container = vial(self.nurse_actor, mg=50)
        body = {"container": str(container.pk), "patient": str(self.patient.pk), "amount_mg": 35}
        response = self.call("post", "/api/v1/controlled/administrations", body=body)
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["remaining_mg"], 15.0)
        self.assertEqual(response.json()["container"], str(container.pk))
        response = self.call("post", "/api/v1/controlled/administrations", body=body)
        self.assertEqual(response.status_code, 409)
        self.assertEqual(response.json()["code"], "insufficient_stock")
        self.assertIn("15 mg remains", response.json()["detail"])

    def test_bad_amounts_are_422(self) -> None:
        container = vial(self.nurse_actor)
        for amount in (0, -1, "5", True):
            body = {"container": str(container.pk), "patient": str(self.patient.pk)}
            response = self.call(
                "post", "/api/v1/controlled/administrations", body={**body, "amount_mg": amount}
            )
            with self.subTest(amount):
                self.assertEqual(response.status_code, 422)
                self.assertEqual(response.json()["field"], "amount_mg")

    def test_another_clinics_container_and_patient_are_404(self) -> None:
        own = vial(self.nurse_actor)
        theirs = vial(actor_for(self.prescriber_b, self.clinic_b))
        for container, patient in ((theirs, self.patient), (own, self.patient_b)):
            body = {"container": str(container.pk), "patient": str(patient.pk), "amount_mg": 5}
            response = self.call("post", "/api/v1/controlled/administrations", body=body)
            self.assertEqual(response.status_code, 404)
        response = self.call(
            "post",
            "/api/v1/controlled/counts",
            "prescriber_b",
            {"container": str(own.pk), "counted_mg": 500},
        )
        self.assertEqual(response.status_code, 404)
        self.assertFalse(LedgerEntry.objects.exclude(kind="receipt").exists())

    def test_roles_without_the_ledger_get_403(self) -> None:
        container = vial(self.nurse_actor)
        for username in ("frontdesk", "therapist", "tms", "admin"):
            response = self.call(
                "post",
                "/api/v1/controlled/counts",
                username,
                {"container": str(container.pk), "counted_mg": 500},
            )
            with self.subTest(username):
                self.assertEqual(response.status_code, 403)
        self.assertEqual(
            self.call("get", "/api/v1/controlled/containers", "admin").status_code, 200
        )
        self.assertEqual(
            self.call("get", "/api/v1/controlled/containers", "frontdesk").status_code, 403
        )

    def test_waste_with_a_witness_who_confirms_with_their_own_token(self) -> None:
        container = vial(self.nurse_actor)
        body = {
            "container": str(container.pk),
            "amount_mg": 2.5,
            "method": "drug-disposal container",
            "witness": "prescriber",
        }
        response = self.call("post", "/api/v1/controlled/waste", body=body)
        self.assertEqual(response.status_code, 201, response.content)
        waste = response.json()
        self.assertEqual(
            (waste["remaining_mg"], waste["witness"], waste["witnessed"]),
            (497.5, "prescriber", False),
        )
        path = f"/api/v1/controlled/waste/{waste['id']}/witness"
        for username in ("nurse", "admin", "frontdesk"):
            with self.subTest(username):
                self.assertEqual(self.call("post", path, username, {}).status_code, 403)
        self.assertEqual(self.call("post", path, "prescriber_b", {}).status_code, 404)
        response = self.call("post", path, "prescriber", {})
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["witnessed"], True)
        self.assertEqual(self.call("post", path, "prescriber", {}).status_code, 409)

    def test_waste_without_a_witness_or_witnessed_by_the_caller_is_422(self) -> None:
        container = vial(self.nurse_actor)
        base = {"container": str(container.pk), "amount_mg": 1, "method": "sink"}
        for witness in (None, "", "nurse", "frontdesk", "prescriber_b", "nobody"):
            body = base if witness is None else {**base, "witness": witness}
            response = self.call("post", "/api/v1/controlled/waste", body=body)
            with self.subTest(witness):
                self.assertEqual(response.status_code, 422)
                self.assertEqual(response.json()["field"], "witness")
        self.assertFalse(LedgerEntry.objects.filter(kind="waste").exists())

    def test_a_count_with_a_discrepancy_raises_an_alert(self) -> None:
        container = vial(self.nurse_actor)
        response = self.call(
            "post",
            "/api/v1/controlled/counts",
            body={"container": str(container.pk), "counted_mg": 490},
        )
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(
            (body["expected_mg"], body["counted_mg"], body["discrepancy_mg"]), (500.0, 490.0, -10.0)
        )
        alert = SafetyAlert.objects.get(pk=body["alert"])
        self.assertEqual(alert.kind, "controlled_discrepancy")
        alerts = self.call("get", "/api/v1/alerts", "prescriber").json()
        self.assertEqual(
            [(a["kind"], a["patient"]) for a in alerts], [("controlled_discrepancy", None)]
        )

    def test_the_containers_list_adds_up(self) -> None:
        container = vial(self.nurse_actor)
        vial(self.nurse_actor, substance="esketamine", mg=28, ndc="50458-028-02")
        vial(actor_for(self.prescriber_b, self.clinic_b))
        self.call(
            "post",
            "/api/v1/controlled/administrations",
            body={"container": str(container.pk), "patient": str(self.patient.pk), "amount_mg": 40},
        )
        self.call(
            "post",
            "/api/v1/controlled/waste",
            body={
                "container": str(container.pk),
                "amount_mg": 2,
                "method": "sink",
                "witness": "prescriber",
            },
        )
        with self.assertNumQueries(self._list_queries()):
            response = self.call("get", "/api/v1/controlled/containers?substance=ketamine")
        self.assertEqual(response.status_code, 200)
        (row,) = response.json()
        self.assertEqual(
            (row["received_mg"], row["administered_mg"], row["wasted_mg"], row["remaining_mg"]),
            (500.0, 40.0, 2.0, 458.0),
        )
        self.assertEqual(
            row["remaining_mg"], row["received_mg"] - row["administered_mg"] - row["wasted_mg"]
        )
        everything = self.call("get", "/api/v1/controlled/containers").json()
        self.assertEqual({r["substance"] for r in everything}, {"ketamine", "esketamine"})
        bad = self.call("get", "/api/v1/controlled/containers?substance=heroin")
        self.assertEqual((bad.status_code, bad.json()["field"]), (422, "substance"))

    def _list_queries(self) -> int:
        # token, its membership, the containers with their totals; the audit event's savepoint,
        # chain tail, insert and release
        return 7 + AUDIT_LOCK_QUERIES
