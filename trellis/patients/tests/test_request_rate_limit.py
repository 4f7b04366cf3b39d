"""The public request form's limit holds when many posts arrive at once.

The count and the insert happen in one transaction that holds a lock (the clinic's row on
PostgreSQL, the write lock that IMMEDIATE transactions take on SQLite), so 24 simultaneous posts
from one address file at most ``REQUESTS_PER_HOUR`` requests.

Threads need a database they can share: PostgreSQL, or SQLite in a file. The suite's in-memory
SQLite database cannot take concurrent writers, so there the test is skipped; run it on a file with
``TRELLIS_TEST_SQLITE_FILE=var/test-concurrency.sqlite3`` (see conftest.py).
"""

import threading
import unittest

import pytest
from django.db import connection
from django.test import Client, TransactionTestCase

from trellis.accounts.models import Clinic
from trellis.patients import services
from trellis.patients.models import AssessmentRequest
from trellis.patients.tests.test_pathway import REQUEST

POSTS = 24


@pytest.mark.concurrency
class SimultaneousRequestTests(TransactionTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            raise unittest.SkipTest("threads need PostgreSQL or a SQLite file")
        super().setUpClass()

    def setUp(self) -> None:
        self.clinic = Clinic.objects.create(slug="alpha", name="Alpha Clinic", mrn_prefix="ALP")

    def post_all_at_once(self, addresses: list[str]) -> list[int]:
        start = threading.Barrier(len(addresses))
        statuses: list[int] = []
        lock = threading.Lock()

        def post(address: str) -> None:
            try:
                client = Client(REMOTE_ADDR=address)
                start.wait(timeout=30)
                response = client.post("/request/alpha/", REQUEST)
                with lock:
                    statuses.append(response.status_code)
            finally:
                connection.close()

        threads = [threading.Thread(target=post, args=(a,)) for a in addresses]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        return statuses

    def test_twenty_four_simultaneous_posts_file_at_most_the_limit(self):
        statuses = self.post_all_at_once(["198.51.100.7"] * POSTS)
        limit = services.REQUESTS_PER_HOUR
        self.assertEqual(sorted(statuses), [302] * limit + [429] * (POSTS - limit))
        self.assertEqual(AssessmentRequest.objects.count(), limit)

    def test_other_addresses_are_not_held_back_by_one_busy_address(self):
        addresses = ["198.51.100.7"] * (POSTS - 4) + [f"203.0.113.{i}" for i in range(4)]
        statuses = self.post_all_at_once(addresses)
        limit = services.REQUESTS_PER_HOUR
        self.assertEqual(statuses.count(302), limit + 4)
        self.assertEqual(AssessmentRequest.objects.count(), limit + 4)
