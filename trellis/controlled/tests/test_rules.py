"""Deadlines of a theft or loss report [R70] and the rules for counting stock [R67, R63, R130],
against the published values."""

from datetime import date

from django.test import SimpleTestCase

from trellis.controlled import form106, inventory_rules
from trellis.controlled.form106 import Step


class Form106DeadlineTests(SimpleTestCase):
    def test_written_notice_is_due_one_business_day_after_discovery(self):
        table = [
            # discovered, notice due
            (date(2026, 3, 4), date(2026, 3, 5)),  # Wednesday → Thursday
            (date(2026, 3, 6), date(2026, 3, 9)),  # Friday → Monday
            (date(2026, 3, 7), date(2026, 3, 9)),  # Saturday → Monday
            (date(2026, 9, 4), date(2026, 9, 8)),  # Friday before Labor Day → Tuesday
            (date(2026, 12, 24), date(2026, 12, 28)),  # Thursday, Christmas Friday → Monday
            (date(2026, 11, 25), date(2026, 11, 27)),  # Wednesday, Thanksgiving → Friday
            (date(2026, 12, 31), date(2027, 1, 4)),  # New Year's Day (Fri) across the year
        ]
        for discovered, due in table:
            with self.subTest(discovered=discovered):
                self.assertEqual(form106.notice_due(discovered), due)

    def test_form_106_is_due_45_days_after_discovery(self):
        for discovered, due in (
            (date(2026, 3, 4), date(2026, 4, 18)),
            (date(2026, 12, 1), date(2027, 1, 15)),
            (date(2028, 1, 20), date(2028, 3, 5)),  # across a leap February
        ):
            with self.subTest(discovered=discovered):
                self.assertEqual(form106.form_due(discovered), due)

    def test_each_step_is_due_then_due_today_then_overdue_until_done(self):
        discovered = date(2026, 3, 6)  # a Friday: notice due Monday the 9th
        table = [
            (date(2026, 3, 6), False, False, Step.DUE, Step.DUE),
            (date(2026, 3, 9), False, False, Step.DUE_TODAY, Step.DUE),
            (date(2026, 3, 10), False, False, Step.OVERDUE, Step.DUE),
            (date(2026, 3, 10), True, False, Step.DONE, Step.DUE),
            (date(2026, 4, 20), True, False, Step.DONE, Step.DUE_TODAY),
            (date(2026, 4, 21), True, False, Step.DONE, Step.OVERDUE),
            (date(2026, 4, 21), True, True, Step.DONE, Step.DONE),
        ]
        for today, sent, filed, notice, form in table:
            with self.subTest(today=today, sent=sent, filed=filed):
                standing = form106.standing(discovered, today, notice_sent=sent, form_filed=filed)
                self.assertEqual((standing.notice, standing.form), (notice, form))
                self.assertEqual(standing.done, sent and filed)


class InventoryRuleTests(SimpleTestCase):
    def test_only_an_opened_container_may_be_estimated_unless_exact_counts_are_required(self):
        table = [
            # opened, exact required, tablets, allowed
            (True, False, 0, True),
            (False, False, 0, False),
            (True, True, 0, False),  # Iowa: exact counts [R63]
            (True, False, 1000, True),
            (True, False, 1001, False),  # more than 1,000 tablets: exact [R67]
        ]
        for opened, exact, tablets, allowed in table:
            with self.subTest(opened=opened, exact=exact, tablets=tablets):
                self.assertEqual(
                    inventory_rules.estimate_allowed(
                        opened=opened, exact_required=exact, tablet_units=tablets
                    ),
                    allowed,
                )

    def test_the_next_inventory_is_due_two_years_after_the_last_or_as_the_state_sets(self):
        self.assertIsNone(inventory_rules.next_inventory_due(None))
        self.assertEqual(inventory_rules.next_inventory_due(date(2026, 5, 1)), date(2028, 5, 1))
        self.assertEqual(inventory_rules.next_inventory_due(date(2028, 2, 29)), date(2030, 2, 28))
        self.assertEqual(
            inventory_rules.next_inventory_due(date(2026, 5, 1), months=12), date(2027, 5, 1)
        )

    def test_spravato_kits_hold_two_or_three_devices(self):
        self.assertEqual(inventory_rules.devices_per_kit("50458-028-02"), 2)
        self.assertEqual(inventory_rules.devices_per_kit("50458-028-03"), 3)
        self.assertIsNone(inventory_rules.devices_per_kit("0409-2053-10"))
        self.assertEqual([inventory_rules.kit_of(n, 3) for n in range(1, 7)], [1, 1, 1, 2, 2, 2])


class InventoryIntervalTextTests(SimpleTestCase):
    def test_the_interval_reads_as_the_clinic_sets_it(self) -> None:
        for months, text in [(24, "two years"), (12, "year"), (6, "6 months"), (1, "month")]:
            with self.subTest(months):
                self.assertEqual(inventory_rules.interval_text(months), text)
