"""The clinic's NPI and tax id and its clinicians' NPIs: set by the administrator, each NPI
Luhn-checked [R125]."""

from trellis.accounts.models import Membership
from trellis.billing.tests.helpers import InsuranceTestCase


class IdentityTests(InsuranceTestCase):
    def test_the_administrator_sets_the_clinics_npi_and_ein(self):
        self.sign_in(self.admin)
        response = self.client.post(
            "/billing/identity/", {"form": "clinic", "npi": "1234567890", "tax_id": "12-3456789"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("check digit", " ".join(response.context["form"].errors["npi"]))
        self.clinic_a.refresh_from_db()
        self.assertEqual(self.clinic_a.npi, "")
        response = self.client.post(
            "/billing/identity/", {"form": "clinic", "npi": "1234567893", "tax_id": "123456789"}
        )
        self.assertRedirects(response, "/billing/identity/")
        self.clinic_a.refresh_from_db()
        self.assertEqual((self.clinic_a.npi, self.clinic_a.tax_id), ("1234567893", "12-3456789"))

    def test_a_clinicians_npi(self):
        member = Membership.objects.get(user=self.prescriber, clinic=self.clinic_a)
        self.sign_in(self.admin)
        bad = self.client.post(
            "/billing/identity/", {"form": "staff", "membership": member.pk, "npi": "1245319598"}
        )
        self.assertContains(bad, "NPI: is not a valid NPI")
        self.client.post(
            "/billing/identity/", {"form": "staff", "membership": member.pk, "npi": "1245319599"}
        )
        member.refresh_from_db()
        self.assertEqual(member.npi, "1245319599")

    def test_no_one_else_may(self):
        self.sign_in(self.front_desk)
        self.assertEqual(self.client.get("/billing/identity/").status_code, 403)
