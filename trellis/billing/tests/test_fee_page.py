"""The fee schedule page: every code with its fee; the administrator sets one through the
same service as PUT /api/v1/fees/{code}, and a refusal names the field and the rule."""

from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from trellis.audit.models import Action, AuditEvent
from trellis.billing import services
from trellis.billing.models import Charge, Fee
from trellis.billing.tests.test_charges import ChargeTestCase
from trellis.treatments import sessions


class FeePageTests(ChargeTestCase):
    url = "/billing/fees/"

    def test_every_code_is_listed_with_its_fee_or_none(self):
        self.sign_in(self.admin)
        page = self.client.get(self.url)
        self.assertEqual(page.status_code, 200)
        html = page.content.decode()
        self.assertIn("$450.00", html)  # 96365
        for code in ("96365", "J3490", "90853", "G2082"):
            self.assertIn(f'id="fee-{code}"', html)
        self.assertIn('<label for="amount-90853">Fee for 90853 (US$)</label>', html)
        self.assertIn("No fee set", html)

    def test_the_administrator_sets_a_fee_and_it_is_audited(self):
        self.sign_in(self.admin)
        response = self.client.post(f"{self.url}90853/", {"amount": "85.5"})
        self.assertRedirects(response, f"{self.url}#fee-90853")
        self.assertEqual(
            Fee.objects.get(clinic=self.clinic_a, code="90853").amount, Decimal("85.50")
        )
        response = self.client.post(f"{self.url}96365/", {"amount": "475"})
        self.assertEqual(Fee.objects.get(clinic=self.clinic_a, code="96365").amount, 475)
        self.assertTrue(
            AuditEvent.objects.filter(action=Action.UPDATE, object_type="billing.fee").exists()
        )
        self.assertIn("$475.00", self.client.get(self.url).content.decode())

    def test_a_refused_amount_names_the_field_and_the_rule_and_changes_nothing(self):
        self.sign_in(self.admin)
        for amount, rule in [
            ("12.345", "must have at most two decimal places (cents)"),
            ("-1", "must be 0 or more US dollars"),
            ("ten", "must be a number of US dollars"),
            ("", "This field is required."),
        ]:
            response = self.client.post(f"{self.url}96365/", {"amount": amount})
            self.assertEqual(response.status_code, 400, amount)
            html = response.content.decode()
            self.assertIn(f"Fee: {rule}", html)
            self.assertIn('aria-describedby="amount-96365-error"', html)
        self.assertEqual(Fee.objects.get(clinic=self.clinic_a, code="96365").amount, 450)

    def test_an_unknown_code_is_404(self):
        self.sign_in(self.admin)
        self.assertEqual(self.client.post(f"{self.url}99999/", {"amount": "1"}).status_code, 404)

    def test_the_front_desk_reads_but_does_not_change_and_a_nurse_sees_nothing(self):
        self.sign_in(self.front_desk)
        html = self.client.get(self.url).content.decode()
        self.assertIn("$450.00", html)
        self.assertNotIn('name="amount"', html)
        self.assertEqual(self.client.post(f"{self.url}96365/", {"amount": "1"}).status_code, 403)
        self.assertEqual(Fee.objects.get(clinic=self.clinic_a, code="96365").amount, 450)
        self.sign_in(self.nurse)
        self.assertEqual(self.client.get(self.url).status_code, 403)

    def test_another_clinics_fees_are_not_shown(self):
        Fee.objects.create(
            clinic=self.clinic_b, code="90853", amount=Decimal("999"), updated_by=self.admin
        )
        self.sign_in(self.admin)
        self.assertNotIn("$999.00", self.client.get(self.url).content.decode())
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(self.url).status_code, 403)

    def test_lines_charged_without_a_fee_are_counted_until_corrected(self):
        Fee.objects.filter(code="J3490").delete()
        self.begin()
        sessions.sign_session(self.prescriber_actor, self.document_infusion())
        self.sign_in(self.admin)
        self.assertIn("1 line at $0.00", self.client.get(self.url).content.decode())
        account = self.client.get(f"/billing/patients/{self.patient.id}/").content.decode()
        self.assertIn('href="/billing/fees/#fee-J3490"', account)
        self.client.post(f"{self.url}J3490/", {"amount": "25"})
        line = Charge.objects.get(code="J3490")
        services.correct_charge(self.desk, line, reason="Fee set")
        self.assertEqual(
            Charge.objects.get(
                code="J3490", credits__isnull=True, line=1, source="correction"
            ).amount,
            25,
        )
        self.assertNotIn("at $0.00", self.client.get(self.url).content.decode())

    def test_the_page_costs_the_same_queries_whatever_the_fees(self):
        self.sign_in(self.admin)
        self.client.get(self.url)
        with CaptureQueriesContext(connection) as few:
            self.client.get(self.url)
        for code in ("90853", "90832", "90834", "G2082"):
            Fee.objects.create(
                clinic=self.clinic_a, code=code, amount=Decimal("1"), updated_by=self.admin
            )
        with self.assertNumQueries(len(few)):
            self.client.get(self.url)
