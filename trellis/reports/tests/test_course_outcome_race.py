"""Eight questionnaires of one course saved at the same moment: every save succeeds and the
course's kept facts count all eight (each writer waits for the course's row, then reads what
the others committed). Threads need PostgreSQL or a SQLite file (see scheduling's race test)."""

import threading
import unittest
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import TransactionTestCase

from trellis.accounts.permissions import Role
from trellis.reports import outcomes
from trellis.reports.models import CourseOutcome
from trellis.reports.tests.helpers import T0, make_course, phq9
from trellis.testing import (
    actor_for,
    make_clinic,
    make_patient,
    make_staff,
    restore_builtin_protocols,
)

WRITERS = 8


@pytest.mark.concurrency
class SimultaneousQuestionnairesTests(TransactionTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            raise unittest.SkipTest("threads need PostgreSQL or a SQLite file")
        super().setUpClass()

    def test_eight_questionnaires_of_one_course_at_once_are_all_counted(self):
        restore_builtin_protocols()
        clinic = make_clinic("alpha", "Alpha Clinic", "ALP")
        prescriber = make_staff("prescriber", clinic, Role.PRESCRIBER)
        course = make_course(make_patient(actor_for(prescriber, clinic)), prescriber)
        barrier = threading.Barrier(WRITERS)
        failures: list[str] = []

        def write(n: int) -> None:
            try:
                barrier.wait(timeout=30)
                with transaction.atomic():
                    phq9(course, 20 - n, T0 + timedelta(days=n))
            except Exception as error:
                failures.append(repr(error))
            finally:
                connection.close()

        threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertEqual(failures, [])
        kept = CourseOutcome.objects.get(course=course)
        self.assertEqual(kept.measured, WRITERS)
        self.assertEqual(
            outcomes.outcome_report([clinic.pk]),
            outcomes.outcome_report([clinic.pk], live=True),
        )
