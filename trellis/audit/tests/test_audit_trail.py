import csv
import io
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from trellis.audit.models import Action, AuditEvent
from trellis.audit.services import record
from trellis.testing import AUDIT_LOCK_QUERIES, TrellisTestCase, actor_for

TABLE = AuditEvent._meta.db_table


@contextmanager
def guard_lifted():
    """What an attacker with database access would do first: switch the trigger off."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks pending
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER audit_event_append_only")
        try:
            yield cursor
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER audit_event_append_only")


def verify() -> str:
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


class ChainTests(TrellisTestCase):
    def setUp(self):
        actor = actor_for(self.nurse, self.clinic_a)
        for _ in range(3):
            record(
                Action.READ,
                user=self.nurse,
                clinic=self.clinic_a,
                patient=self.patient,
                obj=self.patient,
                source_address=actor.source_address,
            )
        self.events = list(AuditEvent.objects.order_by("seq"))

    def test_an_intact_chain_verifies(self):
        self.assertRegex(verify(), rf"^OK: {len(self.events)} audit events verified")

    def test_each_event_links_to_the_one_before(self):
        for previous, event in zip(self.events, self.events[1:], strict=False):
            self.assertEqual(event.prev_hash, previous.hash)
            self.assertEqual(event.seq, previous.seq + 1)

    def test_a_changed_event_is_named(self):
        target = self.events[-2]
        with guard_lifted() as cursor:
            cursor.execute(
                f"UPDATE {TABLE} SET username = %s WHERE id = %s", ["someone", target.pk]
            )
        with self.assertRaisesRegex(CommandError, rf"BROKEN at event {target.seq}: its contents"):
            verify()

    def test_a_changed_time_is_named(self):
        target = self.events[1]
        with guard_lifted() as cursor:
            cursor.execute(
                f"UPDATE {TABLE} SET occurred_at = %s WHERE id = %s",
                [target.occurred_at - timedelta(hours=1), target.pk],
            )
        with self.assertRaisesRegex(CommandError, rf"BROKEN at event {target.seq}"):
            verify()

    def test_a_deleted_event_is_named(self):
        target = self.events[-2]
        with guard_lifted() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [target.pk])
        with self.assertRaisesRegex(
            CommandError,
            rf"BROKEN at event {target.seq + 1}: event\(s\) {target.seq} before it are missing",
        ):
            verify()

    def test_a_deleted_and_renumbered_event_is_still_found(self):
        """Closing the gap in the numbering leaves the broken hash link."""
        target, following = self.events[-2], self.events[-1]
        with guard_lifted() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [target.pk])
            cursor.execute(f"UPDATE {TABLE} SET seq = %s WHERE id = %s", [target.seq, following.pk])
        with self.assertRaisesRegex(CommandError, rf"BROKEN at event {target.seq}"):
            verify()

    def test_reordered_events_are_found(self):
        first, second = self.events[-3], self.events[-2]
        with guard_lifted() as cursor:
            cursor.execute(f"UPDATE {TABLE} SET seq = -1 WHERE id = %s", [first.pk])
            cursor.execute(f"UPDATE {TABLE} SET seq = %s WHERE id = %s", [first.seq, second.pk])
            cursor.execute(f"UPDATE {TABLE} SET seq = %s WHERE id = %s", [second.seq, first.pk])
        with self.assertRaisesRegex(CommandError, rf"BROKEN at event {first.seq}"):
            verify()

    def test_the_application_refuses_to_change_or_delete_events(self):
        event = self.events[0]
        event.username = "someone"
        with self.assertRaises(TypeError):
            event.save()
        with self.assertRaises(TypeError):
            event.delete()
        with self.assertRaises(TypeError):
            AuditEvent.objects.filter(pk=event.pk).update(username="x")
        with self.assertRaises(TypeError):
            AuditEvent.objects.all().delete()

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
    def test_postgresql_refuses_update_and_delete(self):
        for sql in (f"UPDATE {TABLE} SET username = 'x'", f"DELETE FROM {TABLE}"):
            with (
                self.subTest(sql=sql),
                self.assertRaisesRegex(DatabaseError, "append-only"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(sql)


class ReportTests(TrellisTestCase):
    def setUp(self):
        self.sign_in(self.nurse)
        self.client.get(f"/patients/{self.patient.id}/")
        self.client.get(f"/patients/{self.other_patient.id}/")
        self.sign_in(self.prescriber_b)
        self.client.get(f"/patients/{self.patient_b.id}/")
        self.sign_in(self.admin)

    def test_only_the_clinic_administrator_reads_the_report(self):
        for user in (self.prescriber, self.nurse, self.front_desk, self.prescriber_b):
            with self.subTest(user=user.username):
                self.sign_in(user)
                self.assertEqual(self.client.get("/audit/").status_code, 403)
                self.assertEqual(self.client.get("/audit/export.csv").status_code, 403)

    def test_it_filters_by_patient_user_action_and_date(self):
        today = timezone.localdate(timezone=self.clinic_a.tzinfo).isoformat()
        response = self.client.get(
            "/audit/",
            {
                "patient": self.patient.mrn,
                "user": self.nurse.pk,
                "action": "read",
                "date_from": today,
                "date_to": today,
            },
        )
        events = list(response.context["page"])
        self.assertEqual(len(events), 1)
        self.assertEqual(
            (events[0].patient, events[0].user, events[0].action),
            (self.patient, self.nurse, Action.READ),
        )

    def test_it_shows_only_its_own_clinics_events(self):
        response = self.client.get("/audit/")
        self.assertTrue(response.context["page"].object_list)
        self.assertTrue(all(e.clinic_id == self.clinic_a.pk for e in response.context["page"]))
        self.assertNotContains(response, "Turing")

    def test_an_unknown_mrn_says_so(self):
        response = self.client.get("/audit/", {"patient": "NOPE-1"})
        self.assertContains(response, "No patient with that MRN here.", status_code=400)
        self.assertEqual(list(response.context["page"]), [])

    def test_an_end_before_the_start_says_so(self):
        response = self.client.get("/audit/", {"date_from": "2026-05-02", "date_to": "2026-05-01"})
        self.assertContains(response, "The end date is before the start date.", status_code=400)

    def test_it_exports_csv_and_audits_the_export(self):
        response = self.client.get("/audit/export.csv", {"patient": self.patient.mrn})
        self.assertEqual(response["Content-Type"], "text/csv; charset=utf-8")
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
        self.assertEqual(rows[0][:4], ["seq", "time", "user", "action"])
        self.assertEqual({row[4] for row in rows[1:]}, {self.patient.mrn})
        self.assertIn(["nurse", "read"], [row[2:4] for row in rows[1:]])
        export = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual((export.action, export.user), (Action.EXPORT, self.admin))
        self.assertEqual(export.detail["filters"], {"patient": str(self.patient)})

    def test_reading_the_report_is_itself_audited(self):
        self.client.get("/audit/")
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual((event.action, event.object_type), (Action.QUERY, "audit.auditevent"))

    def test_the_report_page_takes_a_fixed_number_of_queries(self):
        self.client.get("/audit/")
        # 12: with the open-alert count in the administrator's top bar.
        with self.assertNumQueries(12 + AUDIT_LOCK_QUERIES):
            self.client.get("/audit/")
