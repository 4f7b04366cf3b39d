"""The charge-code calculator and the fee schedule over the API (DESIGN.md §5.1)."""

from decimal import Decimal

from trellis.accounts.permissions import Role
from trellis.audit.models import Action, AuditEvent
from trellis.billing import services
from trellis.billing.models import Fee
from trellis.lib.errors import InputError
from trellis.patients.tests.test_api import ApiTestCase
from trellis.testing import actor_for

CHARGE_CODES = "/api/v1/calculators/charge-codes"


class ChargeCodesApiTests(ApiTestCase):
    def codes(self, response):
        self.assertEqual(response.status_code, 200, response.content)
        return [(c["code"], c["units"]) for c in response.json()["codes"]]

    def test_each_service_is_coded(self):
        cases = [
            ({"service": "iv_ketamine", "minutes": 91}, [("96365", 1), ("96366", 1), ("J3490", 1)]),
            ({"service": "iv_ketamine", "minutes": 15}, [("96374", 1), ("J3490", 1)]),
            ({"service": "esketamine", "dose_mg": 84, "payer_type": "medicare"}, [("G2083", 1)]),
            ({"service": "esketamine", "dose_mg": 56}, [("99213", 1), ("J0013", 56)]),
            ({"service": "tms", "first_in_course": True}, [("90867", 1)]),
            (
                {"service": "tms", "first_in_course": False, "motor_threshold_redetermined": True},
                [("90869", 1)],
            ),
            ({"service": "therapy", "psychotherapy_minutes": 53}, [("99213", 1), ("90838", 1)]),
            ({"service": "group", "attendees": 3}, [("90853", 1)] * 3),
        ]
        for body, expected in cases:
            with self.subTest(body=body):
                self.assertEqual(self.codes(self.call("post", CHARGE_CODES, body=body)), expected)

    def test_a_line_carries_its_label_and_source(self):
        response = self.call("post", CHARGE_CODES, body={"service": "tms", "first_in_course": True})
        line = response.json()["codes"][0]
        self.assertEqual(line["source"], "[R50]")
        self.assertTrue(line["label"].startswith("TMS first session"))

    def test_the_payer_type_and_visit_default_to_the_clinics_settings(self):
        body = {"service": "esketamine", "dose_mg": 56}
        response = self.call("post", CHARGE_CODES, body=body)
        self.assertEqual(response.json()["payer_type"], "commercial")
        self.clinic_a.settings = {"billing_default_payer": 1}
        self.clinic_a.save()
        response = self.call("post", CHARGE_CODES, body=body)
        self.assertEqual(response.json()["payer_type"], "medicare")
        self.assertEqual(self.codes(response), [("G2082", 1)])
        self.clinic_a.settings = {"billing_default_payer": 3, "billing_visit_code": 99214}
        self.clinic_a.save()
        response = self.call("post", CHARGE_CODES, body=body)
        self.assertEqual(response.json()["payer_type"], "self_pay")
        self.assertEqual(self.codes(response), [("99214", 1), ("J0013", 56)])

    def test_missing_or_bad_inputs_are_422_naming_the_field(self):
        cases = [
            ({"service": "iv_ketamine"}, "minutes"),
            ({"service": "esketamine", "payer_type": "medicare"}, "dose_mg"),
            ({"service": "tms"}, "first_in_course"),
            ({"service": "group"}, "attendees"),
            ({"service": "therapy"}, "psychotherapy_minutes"),
            ({"service": "tms", "first_in_course": True, "minutes": 20}, "minutes"),
            ({"service": "iv_ketamine", "minutes": 40.5}, "minutes"),
            ({"service": "iv_ketamine", "minutes": "40"}, "minutes"),
            ({"service": "esketamine", "dose_mg": 85}, "dose_mg"),
            ({"service": "tms", "first_in_course": "yes"}, "first_in_course"),
            ({"service": "massage"}, "service"),
            ({"service": "tms", "first_in_course": True, "payer_type": "medicaid"}, "payer_type"),
            ({"service": "group", "attendees": 13}, "attendees"),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                response = self.call("post", CHARGE_CODES, body=body)
                self.assertEqual(response.status_code, 422, response.content)
                self.assertEqual(response.json()["field"], field)
                self.assertIn(field, response.json()["detail"])

    def test_it_needs_a_token(self):
        response = self.client.post(CHARGE_CODES, data={}, content_type="application/json")
        self.assertEqual(response.status_code, 401)


class FeeScheduleTests(ApiTestCase):
    def test_the_administrator_sets_and_changes_a_fee_audited(self):
        response = self.call("put", "/api/v1/fees/90868", "admin", {"amount": 250})
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["code"], "90868")
        self.assertEqual(response.json()["amount"], "250.00")
        response = self.call("put", "/api/v1/fees/90868", "admin", {"amount": "262.50"})
        self.assertEqual(response.json()["amount"], "262.50")
        fee = Fee.objects.get(clinic=self.clinic_a, code="90868")
        self.assertEqual((fee.amount, fee.updated_by), (Decimal("262.50"), self.admin))
        events = AuditEvent.objects.filter(object_type="billing.fee", object_id=str(fee.pk))
        self.assertEqual(
            sorted((e.action, e.detail["before"], e.detail["amount"]) for e in events),
            [(Action.CREATE, None, "250.00"), (Action.UPDATE, "250.00", "262.50")],
        )

    def test_a_fee_may_be_zero_and_has_cents(self):
        response = self.call("put", "/api/v1/fees/J3490", "admin", {"amount": 0})
        self.assertEqual(response.json()["amount"], "0.00")
        response = self.call("put", "/api/v1/fees/j0013", "admin", {"amount": 10.1})
        self.assertEqual((response.json()["code"], response.json()["amount"]), ("J0013", "10.10"))
        body = {"amount": "0" * 23}  # leading zeros are still a number
        response = self.call("put", "/api/v1/fees/J3490", "admin", body)
        self.assertEqual((response.status_code, response.json()["amount"]), (200, "0.00"))

    def test_bad_amounts_and_unknown_codes_are_422_and_change_nothing(self):
        cases = [
            ("90868", {"amount": -1}, "amount"),
            ("90868", {"amount": "-0.01"}, "amount"),
            ("90868", {"amount": 1.005}, "amount"),
            ("90868", {"amount": "ten"}, "amount"),
            ("90868", {"amount": "NaN"}, "amount"),
            ("90868", {"amount": True}, "amount"),
            ("90868", {"amount": 1e12}, "amount"),
            ("90868", {}, "amount"),
            ("90846", {"amount": 100}, "code"),
            ("ABCDE", {"amount": 100}, "code"),
        ]
        for code, body, field in cases:
            with self.subTest(code=code, body=body):
                response = self.call("put", f"/api/v1/fees/{code}", "admin", body)
                self.assertEqual(response.status_code, 422, response.content)
                self.assertEqual(response.json()["field"], field)
        self.assertFalse(Fee.objects.exists())

    def test_only_the_administrator_sets_fees(self):
        for role, user in self.staff_a.items():
            if role == Role.CLINIC_ADMIN:
                continue
            with self.subTest(role=role):
                response = self.call("put", "/api/v1/fees/90868", user.username, {"amount": 1})
                self.assertEqual(response.status_code, 403, response.content)
        self.assertFalse(Fee.objects.exists())

    def test_the_list_is_the_clinics_own_and_read_by_admin_and_front_desk(self):
        services.set_fee(actor_for(self.admin, self.clinic_a), "90868", Decimal("250"))
        services.set_fee(actor_for(self.admin, self.clinic_a), "90867", 400)
        Fee.objects.create(
            clinic=self.clinic_b, code="90853", amount=Decimal("80"), updated_by=self.admin
        )
        for username in ("admin", "frontdesk"):
            response = self.call("get", "/api/v1/fees", username)
            self.assertEqual(response.status_code, 200, response.content)
            self.assertEqual(
                [(f["code"], f["amount"]) for f in response.json()],
                [("90867", "400.00"), ("90868", "250.00")],
            )
        self.assertEqual(self.call("get", "/api/v1/fees", "nurse").status_code, 403)

    def test_the_service_refuses_what_the_api_refuses(self):
        actor = actor_for(self.admin, self.clinic_a)
        for code, amount, field in [("90868", Decimal("-1"), "amount"), ("99999", 5, "code")]:
            with self.subTest(code=code), self.assertRaises(InputError) as caught:
                services.set_fee(actor, code, amount)
            self.assertEqual(caught.exception.field, field)

    def test_the_openapi_document_states_how_amounts_are_written(self):
        document = self.client.get("/api/v1/openapi.json").json()
        put = document["paths"]["/api/v1/fees/{code}"]["put"]
        self.assertIn("decimal string with two decimal places", put["description"])
        self.assertIn("403", put["responses"])
        self.assertIn("/api/v1/calculators/charge-codes", document["paths"])
