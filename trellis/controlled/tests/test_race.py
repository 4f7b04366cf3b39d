"""32 nurses drawing from one vial at the same moment cannot overdraw it (DESIGN.md §3).

Threads need a database they can share: PostgreSQL, or SQLite in a file
(``TRELLIS_TEST_SQLITE_FILE=var/test-concurrency.sqlite3``, see conftest.py); the suite's
in-memory SQLite database skips this test.
"""

import threading
from unittest import SkipTest

import pytest
from django.db import connection
from django.test import TransactionTestCase

from trellis.accounts.permissions import Role
from trellis.controlled import services
from trellis.controlled.models import Container, LedgerEntry
from trellis.controlled.tests.helpers import vial
from trellis.lib.errors import Conflict
from trellis.testing import actor_for, make_clinic, make_patient, make_staff

THREADS = 32


@pytest.mark.concurrency
class OverdrawRaceTests(TransactionTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            raise SkipTest("threads need PostgreSQL or SQLite in a file")
        super().setUpClass()

    def _fixture_teardown(self) -> None:
        # Emptying the tables between tests deletes ledger rows, which SQLite's triggers refuse
        # (PostgreSQL empties them with TRUNCATE, which row triggers do not see).
        from importlib import import_module

        triggers = import_module("trellis.controlled.migrations.0002_append_only")
        if connection.vendor == "sqlite":
            triggers.remove(connection)
        try:
            super()._fixture_teardown()
        finally:
            if connection.vendor == "sqlite":
                triggers.install(connection)

    def test_concurrent_doses_from_one_vial_never_take_it_below_zero(self) -> None:
        clinic = make_clinic("alpha", "Alpha Clinic", "ALP")
        nurse = make_staff("nurse", clinic, Role.NURSE)
        actor = actor_for(nurse, clinic)
        patient = make_patient(actor_for(make_staff("frontdesk", clinic, Role.FRONT_DESK), clinic))
        container = vial(actor, mg=100)
        dose_mg = 7  # 100 mg holds 14 doses of 7 mg: 18 of the 32 must be refused
        start = threading.Barrier(THREADS)
        given, refused, failed = [], [], []

        def nurse_draws() -> None:
            try:
                start.wait(timeout=30)
                services.administer(actor, container, patient, dose_mg)
                given.append(1)
            except Conflict as conflict:
                refused.append(conflict.code)
            except Exception as error:  # reported by the assertion below
                failed.append(repr(error))
            finally:
                connection.close()

        threads = [threading.Thread(target=nurse_draws) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        self.assertEqual(failed, [])
        self.assertEqual(len(given), 100 // dose_mg)
        self.assertEqual(set(refused), {"insufficient_stock"})
        self.assertEqual(len(refused), THREADS - 100 // dose_mg)
        container.refresh_from_db()
        self.assertEqual(container.balance_ug, 100_000 - dose_mg * 1000 * len(given))
        self.assertGreaterEqual(container.balance_ug, 0)
        self.assertEqual(
            LedgerEntry.objects.filter(container=container, kind="administration").count(),
            len(given),
        )
        self.assertEqual(services.verify_container(container), [])
        self.assertTrue(services.verify_chain(clinic).ok)
        self.assertEqual(Container.objects.get(pk=container.pk).balance_ug, 2_000)
