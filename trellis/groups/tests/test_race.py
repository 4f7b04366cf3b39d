"""Two members withdraw at the same moment: exactly two patients move up from the waitlist.

Each withdrawal locks the cohort's row before it counts the places, so the two are applied
one after the other (PostgreSQL: SELECT … FOR UPDATE; SQLite: IMMEDIATE transactions). Threads
need PostgreSQL or SQLite in a file (``TRELLIS_TEST_SQLITE_FILE``, conftest.py); on the suite's
in-memory SQLite database the test is skipped, and test_enrolment covers the same rule.
"""

import threading
import unittest
from datetime import date, time, timedelta

import pytest
from django.db import connection
from django.test import TransactionTestCase

from trellis.accounts.permissions import Role
from trellis.groups import services
from trellis.groups.models import Enrolment, EnrolmentStatus
from trellis.patients.models import Patient
from trellis.scheduling.kinds import ResourceKind
from trellis.scheduling.models import Appointment
from trellis.scheduling.tests.base import add_resource
from trellis.testing import actor_for, make_clinic, make_staff

CAPACITY = 4
WAITING = 4


@pytest.mark.concurrency
class SimultaneousWithdrawalTests(TransactionTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            raise unittest.SkipTest("threads need PostgreSQL or a SQLite file")
        super().setUpClass()

    def setUp(self) -> None:
        self.clinic = make_clinic("alpha", "Alpha Clinic", "ALP")
        self.admin = make_staff("admin", self.clinic, Role.CLINIC_ADMIN)
        self.desk = make_staff("frontdesk", self.clinic, Role.FRONT_DESK)
        therapist = make_staff("therapist", self.clinic, Role.THERAPIST)
        room = add_resource(self.clinic, "Group room", ResourceKind.ROOM, closes=time(20))
        admin = actor_for(self.admin, self.clinic)
        program = services.create_program(admin, name="Integration", sessions=4, minutes=90)
        self.cohort = services.create_cohort(
            admin,
            program,
            start_date=self.clinic.today() + timedelta(days=7),
            start_time=time(17),
            room=room,
            facilitators=[therapist],
            capacity=CAPACITY,
        )
        self.people = [
            Patient.objects.create(
                clinic=self.clinic,
                mrn=f"ALP-{n:06d}",
                given_name=f"Patient {n}",
                family_name="Race",
                birth_date=date(1980, 1, 1),
                sex="female",
            )
            for n in range(CAPACITY + WAITING)
        ]
        desk = actor_for(self.desk, self.clinic)
        for person in self.people:
            services.enrol(desk, self.cohort, person)

    def test_two_withdrawals_at_once_promote_exactly_two(self):
        leaving = list(
            Enrolment.objects.filter(cohort=self.cohort, status=EnrolmentStatus.ENROLLED)[:2]
        )
        barrier = threading.Barrier(len(leaving))
        outcomes: list[str] = []
        lock = threading.Lock()

        def withdraw(enrolment: Enrolment) -> None:
            try:
                actor = actor_for(self.desk, self.clinic)
                barrier.wait(timeout=30)
                try:
                    promoted = services.withdraw(actor, enrolment, "Cannot come")
                    outcome = f"promoted {len(promoted)}"
                except Exception as error:
                    outcome = repr(error)
                with lock:
                    outcomes.append(outcome)
            finally:
                connection.close()

        threads = [threading.Thread(target=withdraw, args=(e,)) for e in leaving]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertEqual(outcomes, ["promoted 1", "promoted 1"])
        enrolled = Enrolment.objects.filter(cohort=self.cohort, status=EnrolmentStatus.ENROLLED)
        self.assertEqual(enrolled.count(), CAPACITY)
        self.assertEqual(
            {e.patient_id for e in enrolled.filter(promoted_at__isnull=False)},
            {p.pk for p in self.people[CAPACITY : CAPACITY + 2]},
        )
        self.assertEqual(
            Enrolment.objects.filter(cohort=self.cohort, status=EnrolmentStatus.WAITLISTED).count(),
            WAITING - 2,
        )
        # The promoted are booked for every session; the two who left for none.
        for person in self.people[CAPACITY : CAPACITY + 2]:
            self.assertEqual(Appointment.objects.active().filter(patient=person).count(), 4)
        for enrolment in leaving:
            self.assertFalse(
                Appointment.objects.active().filter(patient=enrolment.patient).exists()
            )
