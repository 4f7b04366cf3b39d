"""remaining = received − administered − wasted − adjusted, held by the database: each
container's running totals move with its balance in one UPDATE, a CHECK refuses any row that
does not add up, and the migration fills the totals from the entries already written."""

from datetime import date, timedelta

from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import TestCase

from trellis.controlled import balance, services
from trellis.controlled.models import Container, LedgerEntry
from trellis.controlled.tests.helpers import vial
from trellis.testing import TrellisTestCase, actor_for, migration_database


class RunningTotalTests(TrellisTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.nurse_actor = actor_for(cls.nurse, cls.clinic_a)
        cls.prescriber_actor = actor_for(cls.prescriber, cls.clinic_a)

    def test_the_totals_follow_every_movement(self) -> None:
        container = vial(self.nurse_actor, mg=500)
        services.administer(self.nurse_actor, container, self.patient, 40)
        services.record_waste(self.nurse_actor, container, 10, "sharps", self.prescriber)
        services.record_adjustment(self.prescriber_actor, container, "-2.5", "spill")
        services.record_adjustment(self.prescriber_actor, container, 1, "found on recount")
        container.refresh_from_db()
        totals = balance.totals(
            LedgerEntry.objects.filter(container=container).values_list("kind", "amount_ug")
        )
        self.assertEqual(
            (
                container.received_ug,
                container.administered_ug,
                container.wasted_ug,
                container.adjusted_ug,
                container.balance_ug,
            ),
            (500_000, 40_000, 10_000, 1_500, 448_500),
        )
        self.assertEqual(
            (totals.administered, totals.wasted, totals.adjusted, totals.remaining),
            (40_000, 10_000, 1_500, 448_500),
        )
        self.assertEqual(services.verify_container(container), [])

    def test_the_database_refuses_a_container_that_does_not_add_up(self) -> None:
        container = vial(self.nurse_actor, mg=500)
        services.administer(self.nurse_actor, container, self.patient, 40)
        table = Container._meta.db_table
        key = container.pk.hex if connection.vendor == "sqlite" else container.pk
        for change in (
            "balance_ug = balance_ug - 1000",
            "balance_ug = balance_ug + 1000",
            "administered_ug = administered_ug - 1000",
            "wasted_ug = wasted_ug + 1000",
            "adjusted_ug = 5",
            "received_ug = received_ug + 1000",
        ):
            refused = self.assertRaises(DatabaseError)
            with self.subTest(change), refused, transaction.atomic(), connection.cursor() as cur:
                cur.execute(f"UPDATE {table} SET {change} WHERE id = %s", [key])
        container.refresh_from_db()
        self.assertEqual((container.balance_ug, container.administered_ug), (460_000, 40_000))
        # A balance moved with its total adds up, and is allowed.
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET balance_ug = balance_ug - 1000, "
                "wasted_ug = wasted_ug + 1000 WHERE id = %s",
                [key],
            )


BEFORE = [("controlled", "0004_quarantine_on_the_ledger")]
AFTER = [("controlled", "0006_container_balance_adds_up")]


class TotalsMigrationTests(TestCase):
    def test_the_totals_are_filled_from_the_entries(self) -> None:
        with migration_database() as database:
            executor = MigrationExecutor(database)
            executor.migrate(BEFORE)
            old = executor.loader.project_state(BEFORE).apps
            clinic = old.get_model("accounts", "Clinic").objects.create(
                slug="gamma", name="Gamma", mrn_prefix="GAM"
            )
            user = old.get_model("accounts", "User").objects.create(username="nurse")
            today = date(2026, 12, 1)
            receipt = old.get_model("controlled", "Receipt").objects.create(
                clinic=clinic,
                substance="ketamine",
                ndc="0409-2053-10",
                form="vial",
                amount_per_container_ug=500_000,
                lot="K1",
                expires_on=today + timedelta(days=365),
                containers=1,
                supplier_name="Supplier",
                supplier_address="1 Road",
                supplier_dea="AB1234563",
                invoice_number="1",
                invoice_date=today,
                received_on=today,
                received_by=user,
            )
            container = old.get_model("controlled", "Container").objects.create(
                clinic=clinic,
                receipt=receipt,
                number=1,
                substance="ketamine",
                form="vial",
                lot="K1",
                expires_on=receipt.expires_on,
                received_ug=500_000,
                balance_ug=448_500,
            )
            Entry = old.get_model("controlled", "LedgerEntry")
            moves = [
                ("receipt", 500_000),
                ("administration", -40_000),
                ("waste", -10_000),
                ("adjustment", -2_500),
                ("count", 0),
                ("adjustment", 1_000),
            ]
            running = 0
            for seq, (kind, amount) in enumerate(moves, start=1):
                running += amount
                Entry.objects.create(
                    seq=seq,
                    clinic=clinic,
                    container=container,
                    kind=kind,
                    amount_ug=amount,
                    balance_after_ug=running,
                    actor=user,
                    prev_hash="0" * 64,
                    hash=f"{seq:064d}",
                )
            executor = MigrationExecutor(database)
            executor.loader.build_graph()
            executor.migrate(AFTER)
            new = executor.loader.project_state(AFTER).apps
            row = new.get_model("controlled", "Container").objects.get()
            self.assertEqual(
                (row.administered_ug, row.wasted_ug, row.adjusted_ug, row.balance_ug),
                (40_000, 10_000, 1_500, 448_500),
            )
