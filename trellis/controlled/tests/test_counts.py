"""Shift counts and inventories, their discrepancy alerts, and reports of theft or significant
loss with their Form 106 deadlines (DOMAIN.md §5, §15 [R67, R70, R63])."""

from datetime import timedelta

from django.core.exceptions import PermissionDenied

from trellis.controlled import counting, form106, services
from trellis.controlled.counting import Counted
from trellis.controlled.inventory_rules import add_months
from trellis.controlled.models import EntryKind, InventoryKind, LedgerEntry, LossReport
from trellis.controlled.tests.helpers import receive
from trellis.lib.errors import Conflict, InputError
from trellis.safety.models import AlertKind, SafetyAlert
from trellis.testing import TrellisTestCase, actor_for


class CountTestCase(TrellisTestCase):
    def setUp(self):
        self.nurse_actor = actor_for(self.nurse, self.clinic_a)
        self.prescriber_actor = actor_for(self.prescriber, self.clinic_a)
        self.full, self.opened = receive(self.nurse_actor, containers=2, mg=500).created_items
        services.administer(self.nurse_actor, self.opened, self.patient, 120)
        self.opened.refresh_from_db()


class ShiftCountTests(CountTestCase):
    def test_a_count_that_differs_raises_a_discrepancy_alert_and_a_match_does_not(self):
        inventory = counting.take_inventory(
            self.nurse_actor,
            InventoryKind.SHIFT,
            [Counted(self.full, "500"), Counted(self.opened, "370")],
        )
        alerts = SafetyAlert.objects.filter(kind=AlertKind.CONTROLLED_DISCREPANCY)
        self.assertEqual(alerts.count(), 1)
        self.assertIn("counted 370 mg, the ledger expects 380 mg (−10 mg)", alerts.get().summary)
        lines = {line.container_id: line for line in inventory.lines.all()}
        self.assertEqual(lines[self.opened.pk].discrepancy_ug, -10_000)
        self.assertTrue(lines[self.opened.pk].opened)
        self.assertFalse(lines[self.full.pk].opened)
        # Each counted container is a count entry on the ledger; no balance moves.
        self.assertEqual(LedgerEntry.objects.filter(kind=EntryKind.COUNT).count(), 2)
        self.opened.refresh_from_db()
        self.assertEqual(self.opened.balance_ug, 380_000)
        self.assertFalse(services.verify_chain(self.clinic_a).first_break)

    def test_a_shift_count_is_exact(self):
        with self.assertRaises(InputError) as refused:
            counting.take_inventory(
                self.nurse_actor, InventoryKind.SHIFT, [Counted(self.opened, "380", True)]
            )
        self.assertIn("a shift or daily count is exact", refused.exception.message)

    def test_the_count_page_saves_and_reports_the_difference(self):
        self.sign_in(self.nurse)
        page = self.client.get("/controlled/count/")
        self.assertContains(page, "380 mg")
        response = self.client.post(
            "/controlled/count/",
            {"kind": "shift", "time_of_day": "close", f"counted-{self.opened.id}": "379.5"},
            follow=True,
        )
        self.assertContains(response, "1 container differs from the ledger")
        self.assertEqual(
            SafetyAlert.objects.filter(kind=AlertKind.CONTROLLED_DISCREPANCY).count(), 1
        )

    def test_two_differences_read_in_the_plural(self):
        self.sign_in(self.nurse)
        response = self.client.post(
            "/controlled/count/",
            {
                "kind": "shift",
                "time_of_day": "close",
                f"counted-{self.opened.id}": "379.5",
                f"counted-{self.full.id}": "499",
            },
            follow=True,
        )
        self.assertContains(response, "2 containers differ from the ledger")

    def test_the_count_page_says_how_often_this_clinic_takes_an_inventory(self):
        self.sign_in(self.nurse)
        self.assertContains(self.client.get("/controlled/count/"), "at least every two years")
        self.clinic_a.settings = {"controlled_inventory_months": 12}
        self.clinic_a.save()
        page = self.client.get("/controlled/count/")
        self.assertContains(page, "at least every year")
        self.assertNotContains(page, "two years")

    def test_a_count_typed_wrong_is_refused_naming_the_container_and_saves_nothing(self):
        self.sign_in(self.nurse)
        page = self.client.post(
            "/controlled/count/",
            {"kind": "shift", f"counted-{self.opened.id}": "about 380"},
        )
        self.assertContains(page, "Nothing was saved.")
        self.assertContains(page, "must be a number of mg")
        self.assertFalse(LedgerEntry.objects.filter(kind=EntryKind.COUNT).exists())


class InventoryTests(CountTestCase):
    def test_an_inventory_counts_every_container_on_hand(self):
        with self.assertRaises(InputError) as refused:
            counting.take_inventory(
                self.nurse_actor, InventoryKind.INITIAL, [Counted(self.full, "500")]
            )
        self.assertIn("every container on hand; 1 not counted", refused.exception.message)

    def test_an_opened_container_may_be_estimated_and_an_estimate_raises_no_alert(self):
        inventory = counting.take_inventory(
            self.nurse_actor,
            InventoryKind.INITIAL,
            [Counted(self.full, "500"), Counted(self.opened, "375", estimated=True)],
        )
        self.assertFalse(SafetyAlert.objects.exists())
        line = inventory.lines.get(container=self.opened)
        self.assertTrue(line.estimated)
        self.assertEqual(counting.inventory_due(self.clinic_a), add_months(inventory.taken_on, 24))

    def test_an_unopened_container_is_never_estimated(self):
        with self.assertRaises(InputError) as refused:
            counting.take_inventory(
                self.nurse_actor,
                InventoryKind.BIENNIAL,
                [Counted(self.full, "500", estimated=True), Counted(self.opened, "380")],
            )
        self.assertIn("only an opened container may be estimated", refused.exception.message)

    def test_a_clinic_that_counts_exactly_refuses_estimates(self):
        self.clinic_a.settings = {"controlled_exact_counts": 1, "controlled_inventory_months": 12}
        self.clinic_a.save()
        self.nurse_actor = actor_for(self.nurse, self.clinic_a)
        with self.assertRaises(InputError) as refused:
            counting.take_inventory(
                self.nurse_actor,
                InventoryKind.BIENNIAL,
                [Counted(self.full, "500"), Counted(self.opened, "375", estimated=True)],
            )
        self.assertIn("this clinic counts exactly", refused.exception.message)
        inventory = counting.take_inventory(
            self.nurse_actor,
            InventoryKind.BIENNIAL,
            [Counted(self.full, "500"), Counted(self.opened, "380")],
        )
        # Every year where the state says so (Iowa) [R63].
        self.assertEqual(counting.inventory_due(self.clinic_a), add_months(inventory.taken_on, 12))


class LossReportTests(TrellisTestCase):
    def setUp(self):
        self.nurse_actor = actor_for(self.nurse, self.clinic_a)
        self.admin_actor = actor_for(self.admin, self.clinic_a)
        self.vial = receive(self.nurse_actor, mg=500).created_items[0]
        self.today = self.clinic_a.today()

    def report(self, discovered_on=None, **kwargs):
        return counting.report_loss(
            self.admin_actor,
            kind="significant_loss",
            discovered_on=discovered_on or self.today,
            registrant_dea="AB1234563",
            description="Vial missing at the evening count.",
            amount_mg=500,
            container=self.vial,
            **kwargs,
        )

    def test_a_report_keeps_its_deadlines_and_the_facts_form_106_asks_for(self):
        report = self.report()
        self.assertEqual(report.notice_due, form106.notice_due(self.today))
        self.assertEqual(report.form_due, self.today + timedelta(days=45))
        facts = dict(counting.form106_facts(report))
        self.assertEqual(facts["Registrant's DEA number"], "AB1234563")
        self.assertEqual(facts["NDC"], "0409-2053-10")
        self.assertEqual(facts["Quantity lost"], "500 mg")
        self.assertEqual(facts["Lot and container"], "lot K2291 #1")

    def test_the_clinics_dea_number_must_pass_its_check_digit(self):
        with self.assertRaises(InputError) as refused:
            counting.report_loss(
                self.admin_actor,
                kind="theft",
                discovered_on=self.today,
                registrant_dea="AB1234567",
                description="x",
                amount_mg=1,
            )
        self.assertEqual(refused.exception.field, "registrant_dea")

    def test_a_nurse_does_not_report_to_the_dea(self):
        with self.assertRaises(PermissionDenied):
            counting.report_loss(
                self.nurse_actor,
                kind="theft",
                discovered_on=self.today,
                registrant_dea="AB1234563",
                description="x",
                amount_mg=1,
            )

    def test_administrators_see_an_open_report_until_both_steps_are_done(self):
        report = self.report(discovered_on=self.today - timedelta(days=10))
        self.sign_in(self.admin)
        page = self.client.get("/controlled/")
        self.assertContains(page, "Significant loss discovered")
        self.assertContains(page, "<strong>overdue</strong>", html=False)
        self.assertContains(self.client.get("/controlled/reconciliation/"), "Open the report")

        self.client.post(
            f"/controlled/losses/{report.id}/",
            {"step": "notice", "sent_on": (self.today - timedelta(days=9)).isoformat()},
        )
        page = self.client.get("/controlled/")
        self.assertContains(page, "written notice sent")
        self.assertContains(page, "DEA Form 106 due by")
        self.client.post(
            f"/controlled/losses/{report.id}/",
            {"step": "form", "filed_on": self.today.isoformat(), "reference": "DEA106-5521"},
        )
        report.refresh_from_db()
        self.assertTrue(report.is_done)
        self.assertNotContains(self.client.get("/controlled/"), "Open the report")
        self.assertEqual(counting.open_loss_reports(self.clinic_a), [])
        with self.assertRaises(Conflict):
            counting.record_form_filed(self.admin_actor, report, self.today, "again")

    def test_the_report_page_refuses_a_dea_number_that_fails_its_check(self):
        self.sign_in(self.prescriber)
        page = self.client.post(
            "/controlled/losses/",
            {
                "kind": "theft",
                "discovered_on": self.today.isoformat(),
                "amount_mg": "28",
                "registrant_dea": "AB1234567",
                "description": "Device missing from the safe.",
            },
        )
        self.assertContains(page, "check digit")
        self.assertFalse(LossReport.objects.exists())

    def test_a_nurse_gets_no_loss_pages(self):
        self.sign_in(self.nurse)
        self.assertEqual(self.client.get("/controlled/losses/").status_code, 403)


class ControlCharacterTests(CountTestCase):
    def test_a_control_character_in_a_note_is_refused_naming_the_field(self):
        with self.assertRaises(InputError) as refused:
            counting.take_inventory(
                self.nurse_actor,
                InventoryKind.SHIFT,
                [Counted(self.full, "500")],
                note="Evening\x00 count",
            )
        self.assertEqual(refused.exception.field, "note")
        self.assertIn("must not contain control characters", refused.exception.message)
        self.assertFalse(LedgerEntry.objects.filter(kind=EntryKind.COUNT).exists())
