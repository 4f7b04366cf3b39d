"""Psychotherapy charges at a progress note's signing; payments and their application; the
balance, statement and superbill (PDF text); the daily takings and aged receivables (with CSV);
the API; the problem list; staff and clinic NPIs."""

import csv
import io
import re
import uuid
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied

from trellis.accounts import staff
from trellis.accounts.models import Clinic, User
from trellis.audit.models import Action, AuditEvent
from trellis.billing import coding, selectors, services
from trellis.billing.models import Allocation, Charge, Diagnosis, Fee, Payment
from trellis.billing.tests.test_charges import CLINIC_NPI, PRESCRIBER_NPI, ChargeTestCase, codes
from trellis.lib.errors import Conflict, InputError
from trellis.testing import actor_for
from trellis.therapy import services as therapy_services
from trellis.therapy.tests.base import TherapyTestCase
from trellis.treatments import sessions


class ProgressNoteChargeTests(TherapyTestCase):
    def setUp(self):
        super().setUp()
        self.prescriber_actor = actor_for(self.prescriber, self.clinic_a)

    def sign(self, actor, minutes, **values):
        note = self.note(minutes=minutes, actor=actor, **values)
        therapy_services.sign_progress_note(actor, note)
        return list(Charge.objects.filter(source_id=note.pk).order_by("line")), note

    def test_who_gives_it_and_how_long_choose_the_codes(self):
        cases = [
            (self.therapist_actor, 15, []),
            (self.therapist_actor, 40, [("90834", 1)]),
            (self.therapist_actor, 53, [("90837", 1)]),
            (self.prescriber_actor, 16, [("99213", 1), ("90833", 1)]),
            # One office visit per session: the session's second note adds only its add-on.
            (self.prescriber_actor, 38, [("90836", 1)]),
        ]
        for actor, minutes, expected in cases:
            with self.subTest(role=actor.role, minutes=minutes):
                rows, note = self.sign(actor, minutes)
                self.assertEqual(codes(rows), expected)
                for row in rows:
                    self.assertEqual(
                        (row.session_id, row.rendering_provider_id),
                        (self.session.pk, note.author_id),
                    )

    def test_a_signed_note_is_charged_once(self):
        _rows, note = self.sign(self.therapist_actor, 45)
        with self.assertRaises(Conflict):
            therapy_services.sign_progress_note(self.therapist_actor, note)
        services.capture_progress_note(self.therapist_actor, note, prescriber=False)
        self.assertEqual(Charge.objects.filter(source_id=note.pk).count(), 1)

    def test_with_the_sessions_visit_already_billed_only_the_add_on(self):
        Clinic.objects.filter(pk=self.clinic_a.pk).update(settings={"billing_default_payer": 2})
        from trellis.treatments.models import Session, SessionStatus

        Session.objects.filter(pk=self.session.pk).update(
            status=SessionStatus.SIGNED, signed_by=self.prescriber, signed_at=self.at(11)
        )
        record = self.session.esketamine
        record.dose_mg = 56
        record.save()
        services.capture_session(self.prescriber_actor, Session.objects.get(pk=self.session.pk))
        rows, _ = self.sign(self.prescriber_actor, 40)
        self.assertEqual(codes(rows), [("90836", 1)])


class PaymentTests(ChargeTestCase):
    def setUp(self):
        super().setUp()
        self.begin()
        sessions.sign_session(self.prescriber_actor, self.document_infusion())
        # 96365 $450 + J3490 $25 = $475 on the session's day.

    def test_cash_is_applied_oldest_first_and_the_rest_is_a_credit(self):
        payment = services.record_payment(self.desk, self.patient, method="cash", amount="500")
        applied = {a.charge.code: a.amount for a in payment.allocations.all()}
        self.assertEqual(applied, {"96365": Decimal("450.00"), "J3490": Decimal("25.00")})
        found = selectors.account(self.patient)
        self.assertEqual(
            (found.charged, found.paid, found.balance, found.unapplied),
            (Decimal("475.00"), Decimal("500.00"), Decimal("-25.00"), Decimal("25.00")),
        )

    def test_a_payment_applied_to_chosen_charges(self):
        drug = Charge.objects.get(code="J3490")
        payment = services.record_payment(
            self.desk,
            self.patient,
            method="card",
            amount="30",
            reference="AUTH 88213",
            apply_to=[(str(drug.pk), "25")],
        )
        self.assertEqual(
            [(a.charge_id, a.amount) for a in payment.allocations.all()],
            [(drug.pk, Decimal("25.00"))],
        )
        self.assertEqual(selectors.account(self.patient).balance, Decimal("445.00"))

    def test_bad_payments_are_named_and_write_nothing(self):
        drug = Charge.objects.get(code="J3490")
        cases = [
            ({"method": "cash", "amount": "0"}, "amount"),
            ({"method": "cash", "amount": "-5"}, "amount"),
            ({"method": "cash", "amount": "1.001"}, "amount"),
            ({"method": "bitcoin", "amount": "5"}, "method"),
            ({"method": "card", "amount": "5"}, "reference"),
            ({"method": "insurer", "amount": "5", "reference": "ERA-1"}, "payer_name"),
            (
                {
                    "method": "cash",
                    "amount": "5",
                    "received_on": self.clinic_a.today() + timedelta(days=1),
                },
                "received_on",
            ),
            ({"method": "cash", "amount": "50", "apply_to": [(str(drug.pk), "26")]}, "apply_to[0]"),
            ({"method": "cash", "amount": "50", "apply_to": [("nonsense", "1")]}, "apply_to[0]"),
            ({"method": "cash", "amount": "10", "apply_to": [(str(drug.pk), "25")]}, "apply_to"),
        ]
        for kwargs, field in cases:
            with self.subTest(kwargs=kwargs), self.assertRaises(InputError) as caught:
                services.record_payment(self.desk, self.patient, **kwargs)
            self.assertEqual(caught.exception.field, field)
        self.assertFalse(Payment.objects.exists())
        self.assertFalse(Allocation.objects.exists())

    def test_a_therapist_does_not_take_payments(self):
        with self.assertRaises(PermissionDenied):
            services.record_payment(
                actor_for(self.therapist, self.clinic_a), self.patient, method="cash", amount="5"
            )

    def test_takings_and_ageing_are_audited_queries(self):
        services.record_payment(self.desk, self.patient, method="cash", amount="100")
        services.record_payment(
            self.desk,
            self.patient,
            method="insurer",
            amount="200",
            reference="ERA 5521",
            payer_name="Aetna",
        )
        admin = actor_for(self.admin, self.clinic_a)
        report = selectors.takings(admin, self.clinic_a.today())
        self.assertEqual(report.total, Decimal("300.00"))
        self.assertEqual(
            [label for label, _, _ in report.by_method], ["Cash", "Insurer remittance"]
        )
        as_of = self.day + timedelta(days=45)
        rows, totals = selectors.aged_receivables(admin, as_of)
        self.assertEqual(rows[0].buckets["31–60"], Decimal("175.00"))
        self.assertEqual(totals["total"], Decimal("175.00"))
        self.assertEqual(
            AuditEvent.objects.filter(
                action=Action.QUERY, object_type__startswith="billing."
            ).count(),
            2,
        )
        with self.assertRaises(PermissionDenied):
            selectors.takings(self.desk, self.clinic_a.today())


class PagesAndDocumentsTests(ChargeTestCase):
    def setUp(self):
        super().setUp()
        services.add_diagnosis(self.prescriber_actor, self.patient, "F33.1")
        self.begin()
        sessions.sign_session(self.prescriber_actor, self.document_infusion())
        services.record_payment(
            self.desk, self.patient, method="card", amount="100", reference="=HYPERLINK(1)"
        )

    def test_the_superbill_pdf_carries_every_element(self):
        from pypdf import PdfReader

        self.sign_in(self.front_desk)
        response = self.client.get(f"/billing/patients/{self.patient.id}/superbill/?format=pdf")
        self.assertEqual(response["Content-Type"], "application/pdf")
        text = " ".join(
            page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages
        )
        text = " ".join(text.split())
        for element in [
            "Ada Lovelace",
            "May 17, 1980",
            self.patient.mrn,  # patient identity
            "Alpha Clinic",
            "Prescriber",
            "MD",  # provider and credentials
            "12-3456789",
            CLINIC_NPI,
            PRESCRIBER_NPI,  # TIN, billing and rendering NPI
            self.day.strftime("%m/%d/%Y"),
            "11 Office",  # date and place of service
            "F33.1",
            "96365",
            "J3490",  # ICD-10-CM and CPT/HCPCS
            "450.00",
            "25.00",  # fees
            "Total charged",
            "$475.00",
            "Total paid",
            "$100.00",
            "Balance due",
            "$375.00",
        ]:
            self.assertIn(element, text)
        self.assertTrue(
            AuditEvent.objects.filter(action=Action.PRINT, patient=self.patient).exists()
        )

    def test_the_account_statement_and_reports_render(self):
        self.sign_in(self.front_desk)
        page = self.client.get(f"/billing/patients/{self.patient.id}/")
        self.assertContains(page, "96365")
        self.assertContains(page, "Record a payment")
        self.assertContains(
            self.client.get(f"/billing/patients/{self.patient.id}/statement/"), "$375.00"
        )
        self.assertEqual(self.client.get("/billing/reports/takings/").status_code, 403)
        self.sign_in(self.admin)
        csv_text = self.client.get("/billing/reports/takings/?format=csv").content.decode()
        self.assertIn("'=HYPERLINK(1)", csv_text)
        as_of = (self.day + timedelta(days=40)).isoformat()
        aged = list(
            csv.reader(
                io.StringIO(
                    self.client.get(
                        f"/billing/reports/aged/?as_of={as_of}&format=csv"
                    ).content.decode()
                )
            )
        )
        self.assertEqual(
            aged[0][2:], ["days_0–30", "days_31–60", "days_61–90", "days_90+", "total"]
        )
        self.assertEqual(aged[1][2:], ["0.00", "375.00", "0.00", "0.00", "375.00"])
        self.assertContains(self.client.get(f"/billing/reports/aged/?as_of={as_of}"), "375.00")

    def test_a_payment_and_a_correction_from_the_page(self):
        self.sign_in(self.front_desk)
        response = self.client.post(
            f"/billing/patients/{self.patient.id}/payments/new/",
            {"method": "insurer", "amount": "50", "reference": "ERA-9"},
        )
        self.assertContains(response, "name the insurer", status_code=400)
        infusion = Charge.objects.get(code="96365")  # $100 of the card payment is on it
        self.client.post(f"/billing/charges/{infusion.pk}/correct/", {"reason": "Wrong code"})
        self.assertFalse(Charge.objects.filter(credits=infusion).exists())
        drug = Charge.objects.get(code="J3490")
        response = self.client.post(
            f"/billing/charges/{drug.pk}/correct/", {"reason": "Two vials", "units": "2"}
        )
        self.assertRedirects(response, f"/billing/patients/{self.patient.id}/#charges")
        self.assertEqual(Charge.objects.get(credits=drug).amount, Decimal("-25.00"))
        self.assertEqual(selectors.account(self.patient).balance, Decimal("400.00"))

    def test_another_clinic_sees_nothing(self):
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(f"/billing/patients/{self.patient.id}/").status_code, 404)


class ApiTests(ChargeTestCase):
    def setUp(self):
        super().setUp()
        self.begin()
        sessions.sign_session(self.prescriber_actor, self.document_infusion())

    def call(self, method, path, username, body=None):
        from trellis.accounts.services import issue_token

        user = User.objects.get(username=username)
        _, token = issue_token(user, self.clinic_a)
        return getattr(self.client, method)(
            path, data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )

    def test_charges_and_payments(self):
        charges = self.call("get", f"/api/v1/patients/{self.patient.id}/charges", "nurse").json()
        self.assertEqual([c["code"] for c in charges["charges"]], ["96365", "J3490"])
        # No vial was drawn in these tests: the drug line says its NDC is missing, and why.
        drug = charges["charges"][1]
        self.assertEqual((drug["ndc"], drug["ndc_quantity_mg"]), (None, None))
        self.assertIn("no container", drug["ndc_missing"])
        self.assertIsNone(charges["charges"][0]["ndc_missing"])
        self.assertEqual(charges["balance"], "475.00")
        by_session = self.call("get", f"/api/v1/sessions/{self.session.id}/charges", "frontdesk")
        self.assertEqual(len(by_session.json()), 2)
        path = f"/api/v1/patients/{self.patient.id}/payments"
        self.assertEqual(
            self.call("post", path, "nurse", {"method": "cash", "amount": 5}).status_code, 403
        )
        bad = self.call("post", path, "frontdesk", {"method": "card", "amount": 5})
        self.assertEqual((bad.status_code, bad.json()["field"]), (422, "reference"))
        made = self.call("post", path, "frontdesk", {"method": "cash", "amount": "475.00"})
        self.assertEqual(made.status_code, 201, made.content)
        self.assertEqual(len(made.json()["allocations"]), 2)
        listed = self.call("get", path, "admin").json()
        self.assertEqual([p["amount"] for p in listed], ["475.00"])
        self.assertEqual(
            self.call("get", f"/api/v1/patients/{self.patient_b.id}/payments", "admin").status_code,
            404,
        )


class ProblemListAndProviderTests(ChargeTestCase):
    def test_a_prescriber_adds_and_resolves_diagnoses(self):
        row = services.add_diagnosis(self.prescriber_actor, self.patient, "f331")
        self.assertEqual((row.code, row.label), ("F33.1", "Depression, recurrent, moderate"))
        with self.assertRaises(InputError):
            services.add_diagnosis(self.prescriber_actor, self.patient, "F33.1")
        with self.assertRaises(PermissionDenied):
            services.add_diagnosis(self.nurse_actor, self.patient, "F41.1")
        services.resolve_diagnosis(self.prescriber_actor, row)
        self.assertEqual(services.active_codes(self.patient), [])
        self.assertEqual(Diagnosis.objects.count(), 1)
        self.sign_in(self.prescriber)
        page = self.client.get(f"/patients/{self.patient.id}/")
        self.assertContains(page, "Problem list")
        self.client.post(f"/billing/patients/{self.patient.id}/diagnoses/new/", {"code": "F32.2"})
        self.assertEqual(services.active_codes(self.patient), ["F32.2"])

    def test_npis_are_checked_where_they_are_set(self):
        admin = actor_for(self.admin, self.clinic_a)
        with self.assertRaises(InputError) as caught:
            staff.set_provider(admin, self.nurse, "1234567890", "RN")
        self.assertEqual(caught.exception.field, "npi")
        staff.set_provider(admin, self.nurse, "1234567893", "RN")
        self.nurse.refresh_from_db()
        self.assertEqual((self.nurse.npi, self.nurse.credentials), ("1234567893", "RN"))
        self.sign_in(self.admin)
        response = self.client.post(
            f"/accounts/staff/member/{self.nurse.username}/provider/",
            {"npi": "12", "credentials": ""},
        )
        self.assertContains(response, "10 digits", status_code=400)
        self.assertEqual(Fee.objects.count(), 4)


class PdfRowsTests(ChargeTestCase):
    """A table row of a superbill or statement is never split across two pages."""

    def setUp(self):
        super().setUp()
        services.add_diagnosis(self.prescriber_actor, self.patient, "F33.1")
        for number in range(40):
            services.capture_group_attendance(
                self.prescriber_actor,
                attendance_id=uuid.uuid4(),
                patient=self.patient,
                service_date=self.day - timedelta(days=number),
                provider=self.prescriber,
                line=coding.group_codes(attendees=8)[0],
                participant_count=8,
            )

    def test_every_row_ends_on_the_page_it_starts(self):
        from pypdf import PdfReader

        self.sign_in(self.front_desk)
        for kind in ("superbill", "statement"):
            response = self.client.get(f"/billing/patients/{self.patient.id}/{kind}/?format=pdf")
            pages = PdfReader(io.BytesIO(response.content)).pages
            self.assertGreater(len(pages), 1)
            rows = 0
            for page in pages:
                text = page.extract_text()
                # A row's cells wrap onto a second line ("11 / Office", "… one / attendee"): a
                # row split at the page's end leaves its second lines to the next page.
                dates = len(re.findall(r"\d\d/\d\d/\d{4}", text))
                rows += dates
                self.assertEqual(
                    (text.count("Office"), text.count("attendee")), (dates, dates), kind
                )
            self.assertEqual(rows, 40, kind)
