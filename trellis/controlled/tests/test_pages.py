"""Receiving from an invoice on its page: Spravato kits become numbered devices [R130]; a bad
DEA number is refused on its field and nothing is saved."""

from trellis.controlled.models import Container, Receipt
from trellis.testing import TrellisTestCase

INVOICE = {
    "substance": "esketamine",
    "form": "",
    "ndc": "50458-028-03",
    "lot": "SPV77",
    "expires_on": "2030-01-31",
    "containers": "6",
    "amount_per_container_mg": "28",
    "supplier_name": "Henry Schein Medical",
    "supplier_address": "135 Duryea Road\nMelville, NY 11747",
    "supplier_dea": "AB1234563",
    "invoice_number": "HS-1",
    "invoice_date": "",
    "received_on": "",
}


class ReceivePageTests(TrellisTestCase):
    def post(self, **changes):
        today = self.clinic_a.today().isoformat()
        data = {**INVOICE, "invoice_date": today, "received_on": today, **changes}
        return self.client.post("/controlled/receive/", data)

    def test_two_84_mg_kits_come_in_as_six_devices_numbered_by_kit(self):
        self.sign_in(self.nurse)
        self.assertRedirects(self.post(), "/controlled/")
        devices = Container.objects.filter(lot="SPV77").order_by("number")
        self.assertEqual(
            [(d.number, d.kit) for d in devices], [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2), (6, 2)]
        )
        self.assertEqual({d.form for d in devices}, {"nasal_device"})
        page = self.client.get("/controlled/")
        self.assertContains(page, "6 devices")
        self.assertContains(page, "from 2 kits")

    def test_a_dea_number_failing_its_check_digit_is_refused_on_its_field(self):
        self.sign_in(self.nurse)
        page = self.post(supplier_dea="AB1234567")
        self.assertEqual(page.status_code, 200)
        self.assertIn("check digit", " ".join(page.context["form"].errors["supplier_dea"]))
        self.assertFalse(Receipt.objects.exists())

    def test_a_clinic_administrator_does_not_receive_stock(self):
        self.sign_in(self.admin)
        self.assertEqual(self.client.get("/controlled/receive/").status_code, 403)
