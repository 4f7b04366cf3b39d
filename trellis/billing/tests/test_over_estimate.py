"""A bill at least $400 over its Good Faith Estimate is flagged to the administrator [R122]:
the arithmetic at its boundary, what is counted against an estimate, and where it shows."""

import uuid
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from trellis.billing import estimate, insurance_selectors, insurance_services
from trellis.billing.models import Charge, ChargeSource
from trellis.billing.tests.helpers import InsuranceTestCase
from trellis.testing import actor_for, make_patient
from trellis.treatments.models import Session


class CompareTests(InsuranceTestCase):
    def test_at_least_400_over_may_be_disputed(self):
        cases = [
            # estimated, billed, over, disputable
            ("2850.00", "2850.00", "0.00", False),
            ("2850.00", "1200.00", "0.00", False),
            ("2850.00", "3249.99", "399.99", False),
            ("2850.00", "3250.00", "400.00", True),
            ("2850.00", "3250.01", "400.01", True),
            ("0.00", "400.00", "400.00", True),
            ("100", "499.99", "399.99", False),
        ]
        for estimated, billed, over, disputable in cases:
            with self.subTest(billed=billed):
                found = estimate.compare(Decimal(estimated), Decimal(billed))
                self.assertEqual(found.over, Decimal(over))
                self.assertIs(found.disputable, disputable)
        self.assertEqual(estimate.DISPUTE_THRESHOLD, Decimal("400.00"))


class OverEstimateTests(InsuranceTestCase):
    def setUp(self):
        super().setUp()
        self.course = self.start("ketamine-iv-induction")
        self.gfe = insurance_services.issue_estimate(
            self.front_actor, self.patient, protocol="ketamine-iv-induction", course=self.course
        )
        self.today = self.clinic_a.today()
        self.sessions = list(Session.objects.filter(course=self.course).order_by("number"))

    def charge(self, session, code, amount, *, day=None, patient=None, credits=None):
        return Charge.objects.create(
            clinic=self.clinic_a,
            patient=patient or self.patient,
            source=ChargeSource.CORRECTION if credits else ChargeSource.SESSION,
            source_id=uuid.uuid4(),
            line=1,
            session=session,
            service_date=day or self.today,
            place_of_service="11",
            code=code,
            units=1,
            unit_fee=abs(Decimal(amount)),
            amount=Decimal(amount),
            credits=credits,
            rendering_provider=self.prescriber,
            created_by=self.prescriber,
        )

    def bill_as_estimated(self):
        for session in self.sessions[:6]:
            self.charge(session, "96365", "450.00")
            self.charge(session, "J3490", "25.00")

    def test_billed_as_estimated_is_not_flagged_and_400_over_is(self):
        self.assertEqual(self.gfe.total, Decimal("2850.00"))
        self.bill_as_estimated()
        found = insurance_selectors.billed_against(self.gfe)
        self.assertEqual(found.comparison.billed, Decimal("2850.00"))
        self.assertFalse(found.flagged)
        extra = self.charge(self.sessions[5], "96365", "399.99")
        self.assertFalse(insurance_selectors.billed_against(self.gfe).flagged)
        self.charge(self.sessions[5], "J3490", "0.01")
        found = insurance_selectors.billed_against(self.gfe)
        self.assertEqual(found.comparison.over, Decimal("400.00"))
        self.assertTrue(found.flagged)
        # A credit brings the bill back under.
        self.charge(self.sessions[5], "96365", "-399.99", credits=extra)
        self.assertFalse(insurance_selectors.billed_against(self.gfe).flagged)

    def test_items_the_estimate_did_not_list_count_and_can_push_the_bill_over(self):
        # Infusions that ran longer than planned bill +96366, which the estimate did not list:
        # 149.620 compares the total billed with the total expected [R122].
        self.bill_as_estimated()
        self.assertNotIn("96366", [line["code"] for line in self.gfe.lines])
        for session in self.sessions[:3]:
            self.charge(session, "96366", "133.33")
        found = insurance_selectors.billed_against(self.gfe)
        self.assertEqual(found.comparison.over, Decimal("399.99"))
        self.assertFalse(found.flagged)
        self.charge(self.sessions[3], "96366", "0.01")
        found = insurance_selectors.billed_against(self.gfe)
        self.assertEqual(found.comparison.billed, Decimal("3250.00"))
        self.assertTrue(found.flagged)
        self.assertEqual(found.unestimated, ("96366",))
        self.sign_in(self.admin)
        page = self.client.get(f"/billing/estimates/{self.gfe.pk}/").content.decode()
        self.assertIn("Billed but not on the estimate", page)
        self.assertIn(
            self.gfe.number, self.client.get("/billing/reports/over-estimate/").content.decode()
        )

    def test_only_what_the_estimate_covered_is_counted(self):
        self.bill_as_estimated()
        other_course = self.start("tms-10hz")
        other = Session.objects.filter(course=other_course).first()
        self.charge(other, "96365", "500.00")  # another course
        self.charge(None, "96365", "500.00")  # no session
        self.charge(self.sessions[0], "96365", "500.00", day=self.today - timedelta(days=1))
        self.charge(self.sessions[0], "96365", "500.00", day=self.gfe.expires_on + timedelta(1))
        self.charge(self.sessions[0], "96365", "500.00", patient=self.patient_b)
        self.assertEqual(
            insurance_selectors.billed_against(self.gfe).comparison.billed, Decimal("2850.00")
        )

    def test_a_newer_estimate_ends_the_older_ones_period(self):
        newer = insurance_services.issue_estimate(
            self.front_actor, self.patient, protocol="ketamine-iv-induction", course=self.course
        )
        GoodFaithEstimate = type(newer)
        GoodFaithEstimate.objects.filter(pk=newer.pk).update(
            issued_at=newer.issued_at + timedelta(days=3)
        )
        self.charge(self.sessions[0], "96365", "3300.00", day=self.today + timedelta(days=5))
        older = insurance_selectors.billed_against(self.gfe)
        self.assertEqual(older.until, self.today + timedelta(days=2))
        self.assertEqual(older.comparison.billed, Decimal("0.00"))
        newer.refresh_from_db()
        self.assertTrue(insurance_selectors.billed_against(newer).flagged)

    def test_flagged_on_the_estimate_the_administrators_home_and_the_report(self):
        self.bill_as_estimated()
        self.charge(self.sessions[0], "96365", "450.00")
        self.sign_in(self.admin)
        page = self.client.get(f"/billing/estimates/{self.gfe.pk}/").content.decode()
        self.assertIn("Billed $450.00 over the estimate", page)
        home = self.client.get("/").content.decode()
        self.assertIn("Bills over their Good Faith Estimate", home)
        self.assertIn(self.gfe.number, home)
        report = self.client.get("/billing/reports/over-estimate/")
        self.assertEqual(report.status_code, 200)
        self.assertIn(self.gfe.number, report.content.decode())
        self.sign_in(self.front_desk)
        self.assertNotIn(
            "Bills over their Good Faith Estimate", self.client.get("/").content.decode()
        )
        self.assertEqual(self.client.get("/billing/reports/over-estimate/").status_code, 403)

    def test_not_flagged_when_under(self):
        self.bill_as_estimated()
        self.sign_in(self.admin)
        page = self.client.get(f"/billing/estimates/{self.gfe.pk}/").content.decode()
        self.assertIn("Billed against this estimate", page)
        self.assertNotIn("over the estimate:", page)
        report = self.client.get("/billing/reports/over-estimate/").content.decode()
        self.assertNotIn(self.gfe.number, report)

    def test_the_list_costs_the_same_with_one_or_many_estimates(self):
        admin = actor_for(self.admin, self.clinic_a)
        self.bill_as_estimated()
        self.charge(self.sessions[0], "96365", "450.00")

        def cost():
            with CaptureQueriesContext(connection) as queries:
                found = insurance_selectors.estimates_over(admin)
            return len(queries), len(found.object_list)

        one = cost()
        other = self.start(
            "ketamine-iv-induction", patient=make_patient(self.front_actor, "Grace", "Hopper")
        )
        gfe = insurance_services.issue_estimate(
            self.front_actor, other.patient, protocol="ketamine-iv-induction", course=other
        )
        for session in Session.objects.filter(course=other)[:2]:
            self.charge(session, "96365", "3300.00", patient=other.patient)
        many = cost()
        self.assertEqual((one[1], many[1]), (1, 2))
        self.assertEqual(one[0], many[0])
        self.assertEqual(insurance_selectors.estimates_over(admin).object_list[0].estimate, gfe)
