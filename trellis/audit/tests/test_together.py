"""A page's read events appended together (``audit.services.together``): one transaction at
the end of the block, chained in the order they were recorded, nothing if the block fails, and
events inside a transaction still part of it. Outside a test's wrapping transaction, so the
block behaves as it does under a real request."""

from django.db import connection, transaction
from django.test import TransactionTestCase
from django.test.utils import CaptureQueriesContext

from trellis.accounts.permissions import Role
from trellis.audit import chain
from trellis.audit.models import Action, AuditEvent
from trellis.audit.services import record_for, together
from trellis.testing import actor_for, make_clinic, make_staff


def _chain_ok() -> bool:
    rows = AuditEvent.objects.order_by("seq").values(*chain.FIELDS, "prev_hash", "hash")
    events = [
        {**row, "clinic_id": str(row["clinic_id"]) if row["clinic_id"] else None,
         "patient_id": str(row["patient_id"]) if row["patient_id"] else None}
        for row in rows
    ]  # fmt: skip
    return chain.verify(events).ok


class TogetherTests(TransactionTestCase):
    def setUp(self):
        clinic = make_clinic("alpha", "Alpha Clinic", "ALP")
        self.actor = actor_for(make_staff("nurse", clinic, Role.NURSE), clinic)
        self.before = AuditEvent.objects.count()

    def read(self, name: str) -> None:
        record_for(self.actor, Action.QUERY, object_type="desk.list", detail={"list": name})

    def lists(self) -> list[str]:
        events = AuditEvent.objects.order_by("seq")[self.before :]
        return [event.detail["list"] for event in events]

    def test_the_reads_are_appended_when_the_block_ends_in_one_transaction(self):
        with CaptureQueriesContext(connection) as queries, together():
            for name in ("to-sign", "alerts", "screenings"):
                self.read(name)
            self.assertEqual(AuditEvent.objects.count(), self.before)  # held until the end
        self.assertEqual(self.lists(), ["to-sign", "alerts", "screenings"])
        table = AuditEvent._meta.db_table
        inserts = [q for q in queries if q["sql"].startswith(f'INSERT INTO "{table}"')]
        self.assertEqual(len(inserts), 1)  # one statement, so one transaction
        self.assertTrue(_chain_ok())

    def test_without_the_block_each_read_is_its_own_append(self):
        self.read("to-sign")
        self.assertEqual(self.lists(), ["to-sign"])

    def test_a_failing_block_appends_nothing(self):
        with self.assertRaises(ZeroDivisionError), together():
            self.read("to-sign")
            1 / 0  # noqa: B018 -- the page fails before it is shown
        self.assertEqual(self.lists(), [])

    def test_a_nested_block_is_appended_by_the_outer_one(self):
        with together():
            self.read("outer")
            with together():
                self.read("inner")
            self.assertEqual(self.lists(), [])
        self.assertEqual(self.lists(), ["outer", "inner"])
        self.assertTrue(_chain_ok())

    def test_an_event_inside_a_transaction_is_part_of_that_transaction(self):
        with together():
            with self.assertRaises(RuntimeError), transaction.atomic():
                self.read("written")
                self.assertEqual(self.lists(), ["written"])  # in the transaction, at once
                raise RuntimeError("the write is rolled back, and its event with it")
            self.read("after")
        self.assertEqual(self.lists(), ["after"])
        self.assertTrue(_chain_ok())
