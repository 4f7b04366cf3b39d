"""32 clients book the same chair at the same time: exactly one wins, the others hear why.

On PostgreSQL the losers pass the service's own check together and are stopped by the exclusion
constraint, which the service turns into ``SlotTaken``; on SQLite, IMMEDIATE transactions take
turns and the later ones see the winner. Threads need a database they can share: PostgreSQL, or
SQLite in a file (``TRELLIS_TEST_SQLITE_FILE=/tmp/…sqlite3``, see conftest.py); the suite's
in-memory SQLite database cannot take concurrent writers, so there the test is skipped.
"""

import threading
import unittest
from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test import TransactionTestCase

from trellis.accounts.permissions import Role
from trellis.patients.models import Patient
from trellis.scheduling import services
from trellis.scheduling.models import Appointment
from trellis.scheduling.tests.base import add_resource
from trellis.testing import actor_for, make_clinic, make_staff

CLIENTS = 32


@pytest.mark.concurrency
class SimultaneousBookingTests(TransactionTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            raise unittest.SkipTest("threads need PostgreSQL or a SQLite file")
        super().setUpClass()

    def setUp(self) -> None:
        self.clinic = make_clinic("alpha", "Alpha Clinic", "ALP")
        self.desk = make_staff("frontdesk", self.clinic, Role.FRONT_DESK)
        self.chair = add_resource(self.clinic, "Chair 1", "chair")
        self.patients = [
            Patient.objects.create(
                clinic=self.clinic,
                mrn=f"ALP-{n:06d}",
                given_name=f"Patient {n}",
                family_name="Race",
                birth_date=date(1980, 1, 1),
                sex="female",
            )
            for n in range(CLIENTS)
        ]
        day = self.clinic.today() + timedelta(days=7)
        self.start = datetime.combine(day, time(10), self.clinic.tzinfo)

    def test_thirty_two_clients_booking_one_chair_at_once_give_one_booking(self):
        barrier = threading.Barrier(CLIENTS)
        outcomes: list[str] = []
        lock = threading.Lock()

        def book(patient: Patient) -> None:
            try:
                actor = actor_for(self.desk, self.clinic)
                barrier.wait(timeout=30)
                try:
                    services.book_appointment(
                        actor,
                        patient=patient,
                        kind="iv_ketamine",
                        start=self.start,
                        resource=self.chair,
                    )
                    outcome = "booked"
                except services.SlotTaken as error:
                    outcome = (
                        "taken" if "Chair 1 is booked then" in error.message else error.message
                    )
                except Exception as error:
                    outcome = repr(error)
                with lock:
                    outcomes.append(outcome)
            finally:
                connection.close()

        threads = [threading.Thread(target=book, args=(p,)) for p in self.patients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertEqual(sorted(outcomes), ["booked"] + ["taken"] * (CLIENTS - 1))
        self.assertEqual(Appointment.objects.filter(resource=self.chair).count(), 1)
