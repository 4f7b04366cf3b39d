"""Good Faith Estimates: POST /api/v1/patients/{id}/estimates (DESIGN.md §5.1), the page, the
deadline in the clinic's business days, and the PDF the patient receives — every element
45 CFR 149.610 requires present in its text [R121, R122]."""

import io
from datetime import date, timedelta

from pypdf import PdfReader

from trellis.billing import insurance_services
from trellis.billing.models import Fee
from trellis.billing.models_insurance import GoodFaithEstimate
from trellis.billing.tests.helpers import InsuranceTestCase
from trellis.testing import actor_for
from trellis.treatments.models import ClosureDay

URL = "/api/v1/patients/{}/estimates"


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


class EstimateApiTests(InsuranceTestCase):
    def post(self, body, username="frontdesk", patient=None):
        return self.call("post", URL.format((patient or self.patient).id), username, body)

    def test_an_iv_series_is_estimated_from_the_protocol_and_the_fee_schedule(self):
        response = self.post({"protocol": "ketamine-iv-induction", "self_pay": True})
        self.assertEqual(response.status_code, 201, response.content)
        data = response.json()
        self.assertEqual(
            [(x["code"], x["units"], x["unit_price"], x["amount"]) for x in data["lines"]],
            [("96365", 6, "450.00", "2700.00"), ("J3490", 6, "25.00", "150.00")],
        )
        self.assertEqual((data["total"], data["dispute_threshold"]), ("2850.00", "3250.00"))
        today = self.clinic_a.today()
        self.assertEqual(data["expires_on"], (today + timedelta(days=365)).isoformat())
        self.assertEqual(data["keep_until"][:4], str(today.year + 6))
        self.assertTrue(data["due_on"])  # asked for: within 3 business days
        self.assertTrue(data["number"].startswith(f"GFE-{today.year}-"))

    def test_a_missing_fee_is_a_409_naming_the_code(self):
        Fee.objects.filter(code="J3490").delete()
        response = self.post({"protocol": "ketamine-iv-induction", "self_pay": True})
        self.assertEqual(response.status_code, 409)
        self.assertIn("J3490", response.json()["detail"])
        self.assertFalse(GoodFaithEstimate.objects.exists())

    def test_bad_input_is_a_422_naming_the_field(self):
        cases = [
            ({"protocol": "ketamine-iv-induction", "self_pay": False}, "self_pay"),
            ({"protocol": "no-such-protocol", "self_pay": True}, "protocol"),
            ({"protocol": "ketamine-oral-supervised", "self_pay": True}, "protocol"),
            (
                {"protocol": "tms-10hz", "self_pay": True, "basis": "scheduled"},
                "service_date",
            ),
            (
                {"protocol": "tms-10hz", "self_pay": True, "diagnosis_codes": ["33.1"]},
                "diagnosis_codes[0]",
            ),
        ]
        for body, field in cases:
            with self.subTest(field=field):
                response = self.post(body)
                self.assertEqual(response.status_code, 422, response.content)
                self.assertIn(field, response.content.decode())
        self.assertFalse(GoodFaithEstimate.objects.exists())

    def test_roles_and_clinics(self):
        body = {"protocol": "tms-10hz", "self_pay": True}
        self.assertEqual(self.post(body, "nurse").status_code, 403)
        self.assertEqual(self.post(body, "frontdesk", self.patient_b).status_code, 404)
        self.assertEqual(self.post(body, "admin").status_code, 201)

    def test_the_deadline_skips_the_clinics_closure_days(self):
        today = self.clinic_a.today()
        monday = today + timedelta(days=7 - today.weekday())
        requested = monday - timedelta(days=7)  # last Monday or earlier: not in the future
        ClosureDay.objects.create(clinic=self.clinic_a, date=requested + timedelta(days=1))
        gfe = insurance_services.issue_estimate(
            self.front_actor,
            self.patient,
            protocol="tms-10hz",
            basis="scheduled",
            requested_on=requested,
            service_date=requested + timedelta(days=21),  # ≥ 10 business days: within 3
        )
        holidays = insurance_services.closed_days(
            self.clinic_a, requested, requested + timedelta(days=10)
        )
        expected = requested
        counted = 0
        while counted < 3:
            expected += timedelta(days=1)
            if expected.weekday() < 5 and not holidays(expected):
                counted += 1
        self.assertEqual(gfe.due_on, expected)
        self.assertGreaterEqual((gfe.due_on - requested).days, 4)  # the closure day is skipped


class EstimatePdfTests(InsuranceTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.clinic_a.address = "12 Lakeshore Drive\nBuffalo, NY 14202"
        cls.clinic_a.billing_npi = "1234567893"
        cls.clinic_a.tax_id = "12-3456789"
        cls.clinic_a.save()

    def test_every_required_element_is_in_the_pdf(self):
        gfe = insurance_services.issue_estimate(
            actor_for(self.front_desk, self.clinic_a),
            self.patient,
            protocol="ketamine-iv-induction",
            basis="scheduled",
            requested_on=date(2026, 3, 2),
            service_date=date(2026, 3, 16),
            diagnosis_codes=["F33.1"],
        )
        text = pdf_text(bytes(gfe.pdf))
        issued = gfe.issued_at.astimezone(self.clinic_a.tzinfo).date()
        required = {
            "title": "Good Faith Estimate",
            "patient name": "Ada Lovelace",
            "date of birth": "May 17, 1980",
            "primary service": "IV ketamine induction series",
            "date of service": "Mar 16, 2026",
            "service code 96365": "96365",
            "service code J3490": "J3490",
            "diagnosis code": "F33.1",
            "expected charge of a line": "$2,700.00",
            "total": "$2,850.00",
            "provider name": "Alpha Clinic",
            "provider NPI": "1234567893",
            "provider TIN": "12-3456789",
            "provider location": "12 Lakeshore Drive",
            "items scheduled separately": "Maintenance infusions after this series",
            "other services may be needed": "does not include any unknown or unexpected costs",
            "estimate only": "not a contract",
            "right to dispute": "right to dispute the bill",
            "dispute threshold": "$400 or more above this estimate",
            "threshold for this estimate": "$3,250.00",
            "issue date": f"{issued:%b} {issued.day}, {issued.year}",
            "expiry": f"{gfe.expires_on:%b} {gfe.expires_on.day}, {gfe.expires_on.year}",
            "estimate number": gfe.number,
        }
        missing = [name for name, words in required.items() if words not in text]
        self.assertEqual(missing, [], text)

    def test_the_page_issues_it_and_shows_the_pdf(self):
        self.sign_in(self.front_desk)
        url = f"/billing/patients/{self.patient.id}/estimates/new/"
        self.assertEqual(self.client.get(url).status_code, 200)
        response = self.client.post(
            url,
            {
                "protocol": "esketamine-trd",
                "basis": "requested",
                "requested_on": self.clinic_a.today().isoformat(),
                "service_date": "",
                "diagnosis_codes": "F33.2",
            },
        )
        gfe = GoodFaithEstimate.objects.get()
        self.assertRedirects(response, f"/billing/estimates/{gfe.id}/")
        self.assertEqual(
            [(line["code"], line["units"]) for line in gfe.lines], [("99213", 12), ("J0013", 672)]
        )
        page = self.client.get(f"/billing/estimates/{gfe.id}/")
        self.assertContains(page, "Issued on time")
        self.assertContains(page, "often quoted, not confirmed")
        pdf = self.client.get(f"/billing/estimates/{gfe.id}/pdf/")
        self.assertEqual(pdf["Content-Type"], "application/pdf")
        self.assertIn("F33.2", pdf_text(pdf.content))
        self.sign_in(self.nurse)
        self.assertEqual(self.client.get(f"/billing/estimates/{gfe.id}/pdf/").status_code, 403)
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(f"/billing/estimates/{gfe.id}/pdf/").status_code, 404)

    def test_a_missing_fee_is_shown_above_the_form(self):
        Fee.objects.filter(code="90868").delete()
        self.sign_in(self.front_desk)
        response = self.client.post(
            f"/billing/patients/{self.patient.id}/estimates/new/",
            {"protocol": "tms-10hz", "basis": "requested", "requested_on": self.clinic_a.today()},
        )
        self.assertContains(response, "no fee for 90868")
