"""Payers and a patient's coverage: the front desk's pages, the API, and the payer setting the
coding rules read. Through HTTP and the services."""

from datetime import date

from trellis.audit.models import Action, AuditEvent
from trellis.billing import coding, insurance_selectors, insurance_services
from trellis.billing.models_insurance import Coverage, EsketamineCoding
from trellis.billing.tests.helpers import InsuranceTestCase
from trellis.lib.errors import InputError


class CoveragePageTests(InsuranceTestCase):
    def form(self, **changes):
        data = {
            "payer": str(self.acme.pk),
            "rank": "primary",
            "member_id": "XZ123456",
            "group_number": "G-77",
            "plan_type": "ppo",
            "relationship": "self",
            "subscriber_name": "",
            "subscriber_birth_date": "",
            "copay": "30",
            "coinsurance_pct": "20",
            "effective_from": "2026-01-01",
            "effective_to": "",
        }
        data.update(changes)
        return data

    def test_the_front_desk_adds_coverage_and_it_shows_on_the_patients_page(self):
        self.sign_in(self.front_desk)
        url = f"/billing/patients/{self.patient.id}/coverage/new/"
        self.assertEqual(self.client.get(url).status_code, 200)
        response = self.client.post(url, self.form())
        self.assertRedirects(
            response, f"/patients/{self.patient.id}/#insurance", fetch_redirect_response=False
        )
        coverage = Coverage.objects.get(patient=self.patient)
        self.assertEqual(
            (coverage.payer, coverage.member_id, str(coverage.copay), coverage.coinsurance_pct),
            (self.acme, "XZ123456", "30.00", 20),
        )
        self.assertTrue(
            AuditEvent.objects.filter(action=Action.CREATE, object_id=str(coverage.id)).exists()
        )
        page = self.client.get(f"/patients/{self.patient.id}/")
        self.assertContains(page, "Acme Health")
        self.assertContains(page, "XZ123456")
        self.assertContains(page, "$30.00 copay · 20% coinsurance")

    def test_errors_are_named_by_field_and_nothing_is_saved(self):
        self.sign_in(self.front_desk)
        url = f"/billing/patients/{self.patient.id}/coverage/new/"
        cases = [
            ({"member_id": ""}, "member_id", "required"),
            ({"effective_to": "2025-12-31"}, "effective_to", "on or after effective_from"),
            ({"relationship": "spouse"}, "subscriber_name", "not the subscriber"),
            ({"coinsurance_pct": "120"}, "coinsurance_pct", "100"),
            ({"subscriber_birth_date": "2999-01-01"}, "subscriber_birth_date", "future"),
        ]
        for changes, field, words in cases:
            with self.subTest(field=field):
                response = self.client.post(url, self.form(**changes))
                self.assertEqual(response.status_code, 200)
                self.assertIn(field, response.context["form"].errors)
                self.assertIn(words, " ".join(response.context["form"].errors[field]))
        self.assertFalse(Coverage.objects.exists())

    def test_two_primary_coverages_may_not_overlap(self):
        self.cover()
        with self.assertRaises(InputError) as caught:
            self.cover(self.medicare, effective_from=date(2026, 6, 1))
        self.assertEqual(caught.exception.field, "effective_from")
        # A secondary alongside is fine, and a primary after the first ends.
        self.cover(self.medicare, rank="secondary")
        first = Coverage.objects.get(rank="primary")
        insurance_services.end_coverage(self.front_actor, first, on=date(2026, 5, 31))
        self.cover(self.advantage, effective_from=date(2026, 6, 1))
        self.assertEqual(Coverage.objects.filter(rank="primary").count(), 2)

    def test_ending_a_coverage_from_its_page(self):
        coverage = self.cover()
        self.sign_in(self.front_desk)
        self.assertContains(self.client.get(f"/billing/coverage/{coverage.id}/"), "End coverage")
        response = self.client.post(
            f"/billing/coverage/{coverage.id}/end/",
            {"effective_to": "2026-02-28", "reason": "Changed jobs"},
        )
        self.assertEqual(response.status_code, 302)
        coverage.refresh_from_db()
        self.assertEqual(
            (coverage.effective_to, coverage.ended_reason), (date(2026, 2, 28), "Changed jobs")
        )
        bad = self.client.post(
            f"/billing/coverage/{coverage.id}/end/", {"effective_to": "2025-01-01"}
        )
        self.assertEqual(bad.status_code, 302)
        coverage.refresh_from_db()
        self.assertEqual(coverage.effective_to, date(2026, 2, 28))

    def test_roles_and_clinics(self):
        url = f"/billing/patients/{self.patient.id}/coverage/new/"
        self.sign_in(self.therapist)
        self.assertEqual(self.client.get(url).status_code, 403)
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(url).status_code, 404)
        self.sign_in(self.admin)
        self.assertEqual(self.client.get(url).status_code, 200)

    def test_a_therapist_does_not_see_the_insurance_card(self):
        self.cover()
        self.sign_in(self.therapist)
        self.assertNotContains(self.client.get(f"/patients/{self.patient.id}/"), "XZ123456")


class PayerTests(InsuranceTestCase):
    def test_medicare_defaults_to_the_g_codes_and_others_to_j0013(self):
        self.assertEqual(self.medicare.esketamine_coding, EsketamineCoding.G_CODES)
        self.assertEqual(self.acme.esketamine_coding, EsketamineCoding.J_CODE)
        self.assertEqual(self.advantage.esketamine_coding, EsketamineCoding.J_CODE)

    def test_the_payers_setting_decides_the_esketamine_codes_for_the_patient(self):
        today = self.clinic_a.today()
        self.assertEqual(
            insurance_selectors.coding_payer_type(self.patient, today), coding.PayerType.SELF_PAY
        )
        self.cover(self.advantage)
        self.assertEqual(
            insurance_selectors.coding_payer_type(self.patient, today), coding.PayerType.COMMERCIAL
        )
        # An Advantage plan that follows Medicare's codes: a payer setting.
        insurance_services.save_payer(
            self.admin_actor,
            self.advantage,
            name="Sunrise Advantage",
            type="medicare_advantage",
            esketamine_coding="g_codes",
        )
        payer_type = insurance_selectors.coding_payer_type(self.patient, today)
        self.assertEqual(payer_type, coding.PayerType.MEDICARE)
        lines = coding.charge_codes("esketamine", payer_type=payer_type, dose_mg=84)
        self.assertEqual([(line.code, line.units) for line in lines], [("G2083", 1)])

    def test_only_the_administrator_sets_up_payers_and_names_are_unique(self):
        self.sign_in(self.front_desk)
        self.assertEqual(self.client.get("/billing/payers/new/").status_code, 403)
        self.assertEqual(self.client.get("/billing/payers/").status_code, 200)
        self.sign_in(self.admin)
        response = self.client.post(
            "/billing/payers/new/", {"name": "acme health", "type": "commercial"}
        )
        self.assertIn("already has a payer", " ".join(response.context["form"].errors["name"]))
        response = self.client.post(
            "/billing/payers/new/",
            {"name": "Statewide Medicaid", "type": "medicaid", "requires_auth_tms": "on"},
        )
        self.assertRedirects(response, "/billing/payers/", fetch_redirect_response=False)


class CoverageApiTests(InsuranceTestCase):
    def body(self, **changes):
        return {
            "payer": str(self.acme.pk),
            "member_id": "XZ123456",
            "effective_from": "2026-01-01",
            "copay": 25,
            **changes,
        }

    def test_create_and_read_coverage(self):
        url = f"/api/v1/patients/{self.patient.id}/coverage"
        response = self.call("post", url, "frontdesk", self.body())
        self.assertEqual(response.status_code, 201, response.content)
        data = response.json()
        self.assertEqual(
            (data["member_id"], data["copay"], data["rank"]), ("XZ123456", "25.00", "primary")
        )
        self.assertEqual(data["payer"]["coding_payer_type"], "commercial")
        listed = self.call("get", url, "prescriber").json()
        self.assertEqual([c["id"] for c in listed], [data["id"]])

    def test_bad_input_is_a_422_naming_the_field(self):
        url = f"/api/v1/patients/{self.patient.id}/coverage"
        cases = [
            ({"payer": "00000000-0000-0000-0000-000000000000"}, "payer"),
            ({"member_id": ""}, "member_id"),
            ({"effective_to": "2025-01-01"}, "effective_to"),
            ({"coinsurance_pct": 101}, "coinsurance_pct"),
            ({"rank": "tertiary"}, "rank"),
        ]
        for changes, field in cases:
            with self.subTest(field=field):
                response = self.call("post", url, "frontdesk", self.body(**changes))
                self.assertEqual(response.status_code, 422, response.content)
                self.assertIn(field, response.json()["detail"])
        self.assertFalse(Coverage.objects.exists())

    def test_roles_and_other_clinics(self):
        url = f"/api/v1/patients/{self.patient.id}/coverage"
        self.assertEqual(self.call("post", url, "nurse", self.body()).status_code, 403)
        self.assertEqual(self.call("get", url, "therapist").status_code, 403)
        other = f"/api/v1/patients/{self.patient_b.id}/coverage"
        self.assertEqual(self.call("get", other, "frontdesk").status_code, 404)

    def test_payers_over_the_api(self):
        response = self.call(
            "post", "/api/v1/payers", "admin", {"name": "Blue Plan", "type": "exchange"}
        )
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["esketamine_coding"], "j_code")
        self.assertEqual(
            self.call(
                "post", "/api/v1/payers", "frontdesk", {"name": "X", "type": "commercial"}
            ).status_code,
            403,
        )
        names = [p["name"] for p in self.call("get", "/api/v1/payers", "frontdesk").json()]
        self.assertEqual(
            names, ["Acme Health", "Blue Plan", "Medicare Part B", "Sunrise Advantage"]
        )
