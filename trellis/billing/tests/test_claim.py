"""The CMS-1500: how charges are laid out on forms (item 21's letters, 24E's pointers, six
lines a form), and the PDF's boxes read back from its text [R124]."""

import io
import uuid
from datetime import date, timedelta
from decimal import Decimal

from django.test import SimpleTestCase
from pypdf import PdfReader

from trellis.audit.models import Action, AuditEvent
from trellis.billing import claim, coding, insurance_services, services
from trellis.billing.models import Charge
from trellis.billing.models_insurance import PriorAuthorization
from trellis.billing.tests.test_charges import CLINIC_NPI, PRESCRIBER_NPI, ChargeTestCase
from trellis.testing import actor_for
from trellis.treatments import sessions


def item(day=1, code="96365", dx=("F33.1",), amount="450.00"):
    return claim.Item(
        service_date=date(2026, 3, day),
        place_of_service="11",
        code=code,
        modifiers=(),
        units=1,
        amount=Decimal(amount),
        diagnosis_codes=tuple(dx),
        rendering_npi=PRESCRIBER_NPI,
    )


class LayoutTests(SimpleTestCase):
    def test_pointers_are_each_lines_own_diagnoses_by_their_letters(self):
        [form] = claim.forms(
            [
                item(1, dx=("F33.1", "F41.1")),
                item(2, dx=("F41.1",)),
                item(3, dx=("F32.2", "F33.1", "F41.1", "F43.10", "F42.2")),
                item(4, dx=()),
            ]
        )
        self.assertEqual(
            form.lettered, [("A", "F33.1"), ("B", "F41.1"), ("C", "F32.2"), ("D", "F43.10")]
        )
        self.assertEqual([line.pointers for line in form.lines], ["AB", "B", "CABD", ""])

    def test_six_lines_a_form_and_totals_per_form(self):
        cases = [(1, [1]), (6, [6]), (7, [6, 1]), (13, [6, 6, 1])]
        for count, sizes in cases:
            with self.subTest(count=count):
                found = claim.forms([item(1 + n % 28) for n in range(count)])
                self.assertEqual([len(f.lines) for f in found], sizes)
                self.assertEqual(found[0].total, Decimal("450.00") * sizes[0])

    def test_more_than_twelve_diagnoses_continue_on_another_form(self):
        codes = [f"F4{n}.1" for n in range(8)] + [f"F3{n}.1" for n in range(8)]
        found = claim.forms(
            [
                item(1, dx=codes[0:4]),
                item(2, dx=codes[4:8]),
                item(3, dx=codes[8:12]),
                item(4, dx=codes[12:16]),
            ]
        )
        self.assertEqual([len(f.diagnoses) for f in found], [12, 4])
        self.assertEqual(found[1].lines[0].pointers, "ABCD")

    def test_item_1_by_payer_type(self):
        for payer_type, box in [
            ("medicare", "Medicare"),
            ("medicaid", "Medicaid"),
            ("chip", "Medicaid"),
            ("tricare", "TRICARE"),
            ("commercial", "Group health plan"),
            ("workers_comp", "Other"),
        ]:
            self.assertEqual(claim.insurance_type(payer_type), box)


def pdf_text(content: bytes) -> str:
    pages = PdfReader(io.BytesIO(content)).pages
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in pages)
    return text.upper()  # the boxes' labels are set in capitals, as on the form


class ClaimPdfTests(ChargeTestCase):
    def setUp(self):
        super().setUp()
        services.add_diagnosis(self.prescriber_actor, self.patient, "F33.1")
        services.add_diagnosis(self.prescriber_actor, self.patient, "F41.1")
        admin = actor_for(self.admin, self.clinic_a)
        self.payer = insurance_services.save_payer(
            admin, name="Acme Health", type="commercial", payer_id="ACME1"
        )
        self.coverage = insurance_services.add_coverage(
            self.desk,
            self.patient,
            payer=self.payer.pk,
            member_id="XZ123456",
            group_number="GRP-77",
            effective_from=date(2026, 1, 1),
        )
        auth = insurance_services.request_authorisation(
            self.prescriber_actor, self.course, coverage=self.coverage
        )
        insurance_services.record_decision(
            self.prescriber_actor,
            auth,
            approved=True,
            number="PA-55501",
            approved_units=6,
            approved_from=self.day - timedelta(days=1),
            approved_to=self.day + timedelta(days=60),
        )
        self.begin()
        sessions.sign_session(self.prescriber_actor, self.document_infusion())
        self.url = f"/billing/patients/{self.patient.id}/claim/"

    def test_the_pdf_carries_the_boxes(self):
        self.sign_in(self.front_desk)
        response = self.client.get(f"{self.url}?coverage={self.coverage.pk}&format=pdf")
        self.assertEqual(response["Content-Type"], "application/pdf")
        text = pdf_text(response.content)
        day = self.day.strftime("%m %d %y")
        for element in [
            "HEALTH INSURANCE CLAIM FORM",
            "1a. INSURED'S I.D. NUMBER XZ123456",
            "LOVELACE, ADA",  # item 2
            "ICD Ind. 0",  # item 21
            "A. F33.1",
            "B. F41.1",
            "23. PRIOR AUTHORIZATION NUMBER PA-55501",
            f"{day} {day} 11 96365 AB 450.00 1 NPI {PRESCRIBER_NPI}",  # 24A–J
            f"{day} {day} 11 J3490 AB 25.00 1 NPI {PRESCRIBER_NPI}",
            "25. FEDERAL TAX I.D. NUMBER · EIN 12-3456789",
            "28. TOTAL CHARGE $ 475.00",
            "GRP-77",
            f"32a. NPI {CLINIC_NPI}",
            f"33a. NPI {CLINIC_NPI}",
        ]:
            self.assertIn(element.upper(), text)
        self.assertNotIn("ACME1 12-3456789", text)
        self.assertTrue(
            AuditEvent.objects.filter(action=Action.PRINT, patient=self.patient).exists()
        )

    def test_no_authorisation_outside_its_dates_and_credited_lines_left_out(self):
        infusion = Charge.objects.get(patient=self.patient, code="96365")
        services.correct_charge(self.desk, infusion, reason="Wrong code", code="96374")
        PriorAuthorization.objects.update(approved_from=self.day + timedelta(days=1))
        self.sign_in(self.admin)
        page = self.client.get(self.url).content.decode()
        self.assertIn("No approved authorisation covers these dates", page)
        text = pdf_text(self.client.get(f"{self.url}?format=pdf").content)
        self.assertIn("96374", text)
        self.assertNotIn("96365", text)
        self.assertIn("23. PRIOR AUTHORIZATION NUMBER —", text)

    def test_who_may_print_it(self):
        self.sign_in(self.nurse)
        self.assertEqual(self.client.get(self.url).status_code, 403)
        self.sign_in(self.front_desk)
        page = self.client.get(self.url)
        self.assertEqual(page.status_code, 200)
        self.assertIn("PA-55501", page.content.decode())


class DrugLineTests(ChargeTestCase):
    """A J3490 line's shaded line carries N4, the 11-digit NDC, ME and the mg drawn [R124]."""

    def setUp(self):
        super().setUp()
        admin = actor_for(self.admin, self.clinic_a)
        payer = insurance_services.save_payer(admin, name="Acme Health", type="commercial")
        self.coverage = insurance_services.add_coverage(
            self.desk,
            self.patient,
            payer=payer.pk,
            member_id="XZ1",
            effective_from=date(2026, 1, 1),
        )
        self.begin()
        self.session = self.document_infusion()  # 40 mg
        self.url = f"/billing/patients/{self.patient.id}/claim/?coverage={self.coverage.pk}"

    def test_the_drawn_vials_ndc_is_on_the_claim_and_the_superbill(self):
        from trellis.controlled import session_stock
        from trellis.controlled.tests.helpers import vial

        session_stock.choose(self.nurse_actor, self.session, vial(self.nurse_actor))
        sessions.sign_session(self.prescriber_actor, self.session)
        self.sign_in(self.front_desk)
        text = pdf_text(self.client.get(f"{self.url}&format=pdf").content)
        day = self.day.strftime("%m %d %y")
        # The shaded line sits right above the J3490 service line.
        self.assertIn(f"N400409205310 ME40 {day} {day} 11 J3490", text)
        self.assertEqual(text.count("N400409205310"), 1)
        superbill = self.client.get(f"/billing/patients/{self.patient.id}/superbill/?format=pdf")
        self.assertIn("NDC 00409205310 · 40 MG (N400409205310 ME40)", pdf_text(superbill.content))

    def test_without_a_drawn_vial_no_n4_line_and_the_page_says_so(self):
        sessions.sign_session(self.prescriber_actor, self.session)
        self.sign_in(self.front_desk)
        text = pdf_text(self.client.get(f"{self.url}&format=pdf").content)
        self.assertIn("J3490", text)
        self.assertNotRegex(text, r"N4\d{11}")
        page = self.client.get(self.url).content.decode()
        self.assertIn("has no NDC (item 24&#x27;s shaded line)", page)


class GroupLineTests(ChargeTestCase):
    """A group psychotherapy line (90853) shows the participants present [R103]."""

    def setUp(self):
        super().setUp()
        admin = actor_for(self.admin, self.clinic_a)
        payer = insurance_services.save_payer(admin, name="Acme Health", type="commercial")
        self.coverage = insurance_services.add_coverage(
            self.desk,
            self.patient,
            payer=payer.pk,
            member_id="XZ1",
            effective_from=date(2026, 1, 1),
        )
        services.set_fee(admin, "90853", "85")
        services.capture_group_attendance(
            self.prescriber_actor,
            attendance_id=uuid.uuid4(),
            patient=self.patient,
            service_date=self.day,
            provider=self.prescriber,
            line=coding.group_codes(attendees=5)[0],
            participant_count=5,
        )

    def test_the_claim_and_the_superbill_print_the_participant_count(self):
        self.sign_in(self.front_desk)
        url = f"/billing/patients/{self.patient.id}/claim/?coverage={self.coverage.pk}"
        text = pdf_text(self.client.get(f"{url}&format=pdf").content)
        day = self.day.strftime("%m %d %y")
        # On the shaded line right above the 90853 service line.
        self.assertIn(f"GROUP OF 5 PARTICIPANTS {day} {day} 11 90853", text)
        self.assertIn("GROUP OF 5 PARTICIPANTS", self.client.get(url).content.decode())
        superbill = self.client.get(f"/billing/patients/{self.patient.id}/superbill/?format=pdf")
        self.assertIn("90853", pdf_text(superbill.content))
        self.assertIn("GROUP OF 5 PARTICIPANTS", pdf_text(superbill.content))

    def test_one_participant_is_said_in_the_singular(self):
        self.assertEqual(claim.group_text(1), "GROUP OF 1 PARTICIPANT")
        self.assertEqual(claim.group_text(12), "GROUP OF 12 PARTICIPANTS")
