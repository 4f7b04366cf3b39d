"""Receiving, administering, wasting, witnessing and counting: the invariants in code and in
the database (DESIGN.md §3; DOMAIN.md §5, §15)."""

import uuid
from datetime import timedelta
from io import StringIO
from unittest import mock

from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.http import Http404
from django.utils import timezone

from trellis.accounts.models import Membership
from trellis.accounts.permissions import Role
from trellis.audit.models import AuditEvent
from trellis.controlled import records, services
from trellis.controlled.models import Container, EntryKind, LedgerEntry, Receipt
from trellis.controlled.tests.helpers import SUPPLIER, receive, vial
from trellis.lib.errors import Conflict, InputError
from trellis.messaging import jobs
from trellis.safety.models import AlertKind, SafetyAlert
from trellis.testing import TrellisTestCase, actor_for, make_staff


def _db_id(row):
    """A UUID key as the database stores it (SQLite: 32 hex digits)."""
    return row.pk.hex if connection.vendor == "sqlite" else row.pk


def _tamper(entry, **changes) -> None:
    """Change a row around the triggers, as someone with the database's keys could."""
    table = LedgerEntry._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER controlled_ledger_no_update")
        else:
            cursor.execute("SET LOCAL session_replication_role = replica")
        sets = ", ".join(f"{column} = %s" for column in changes)
        cursor.execute(
            f"UPDATE {table} SET {sets} WHERE id = %s", [*changes.values(), _db_id(entry)]
        )


class LedgerTestCase(TrellisTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.nurse_actor = actor_for(cls.nurse, cls.clinic_a)
        cls.prescriber_actor = actor_for(cls.prescriber, cls.clinic_a)


class ReceiveTests(LedgerTestCase):
    def test_a_receipt_brings_in_one_container_each_with_its_receipt_entry(self) -> None:
        receipt = receive(self.nurse_actor, containers=3, mg=500)
        containers = list(Container.objects.filter(receipt=receipt).order_by("number"))
        self.assertEqual([c.number for c in containers], [1, 2, 3])
        self.assertEqual({c.balance_ug for c in containers}, {500_000})
        entries = LedgerEntry.objects.filter(container__receipt=receipt)
        self.assertEqual([e.kind for e in entries], ["receipt"] * 3)
        self.assertEqual([e.seq for e in entries], [1, 2, 3])
        self.assertEqual(receipt.supplier_dea, "AB1234563")
        self.assertTrue(
            AuditEvent.objects.filter(object_type="controlled.receipt", object_id=str(receipt.pk))
        )
        self.assertTrue(services.verify_chain(self.clinic_a).ok)

    def test_a_supplier_dea_number_with_a_wrong_check_digit_is_refused(self) -> None:
        supplier = services.Supplier(SUPPLIER.name, SUPPLIER.address, "AB1234564")
        with self.assertRaises(InputError) as caught:
            receive(self.nurse_actor, supplier=supplier)
        self.assertEqual(caught.exception.field, "supplier_dea")
        self.assertFalse(Receipt.objects.exists())

    def test_a_spravato_device_holds_28_mg(self) -> None:
        with self.assertRaises(InputError) as caught:
            receive(self.nurse_actor, substance="esketamine", mg=56)
        self.assertEqual(caught.exception.field, "amount_per_container_mg")
        receipt = receive(
            self.nurse_actor, substance="esketamine", mg=28, containers=3, patient=self.patient
        )
        self.assertEqual(receipt.form, "nasal_device")
        self.assertEqual({c.patient_id for c in receipt.items.all()}, {self.patient.pk})

    def test_stock_already_expired_is_refused(self) -> None:
        with self.assertRaises(InputError) as caught:
            receive(self.nurse_actor, expires_in_days=0)
        self.assertEqual(caught.exception.field, "expires_on")

    def test_roles_without_the_ledger_may_not_receive(self) -> None:
        for user in (self.admin, self.front_desk, self.therapist, self.tms):
            with self.subTest(user.username), self.assertRaises(PermissionDenied):
                receive(actor_for(user, self.clinic_a))


class AdministerTests(LedgerTestCase):
    def test_a_dose_comes_off_the_balance_and_onto_the_ledger(self) -> None:
        container = vial(self.nurse_actor)
        entry = services.administer(self.nurse_actor, container, self.patient, "37.5")
        container.refresh_from_db()
        self.assertEqual(container.balance_ug, 462_500)
        self.assertEqual(
            (entry.kind, entry.amount_ug, entry.balance_after_ug),
            ("administration", -37_500, 462_500),
        )
        self.assertEqual(entry.patient, self.patient)
        self.assertEqual(services.verify_container(container), [])

    def test_a_dose_larger_than_what_remains_is_a_conflict_naming_what_remains(self) -> None:
        container = vial(self.nurse_actor, mg=100)
        services.administer(self.nurse_actor, container, self.patient, 60)
        with self.assertRaises(Conflict) as caught:
            services.administer(self.nurse_actor, container, self.patient, 41)
        self.assertEqual(caught.exception.code, "insufficient_stock")
        self.assertIn("40 mg remains", caught.exception.message)
        container.refresh_from_db()
        self.assertEqual(container.balance_ug, 40_000)
        self.assertEqual(LedgerEntry.objects.filter(kind="administration").count(), 1)
        services.administer(self.nurse_actor, container, self.patient, 40)  # exactly to zero
        container.refresh_from_db()
        self.assertEqual(container.balance_ug, 0)

    def test_nothing_is_given_from_an_expired_container(self) -> None:
        container = vial(self.nurse_actor)
        Container.objects.filter(pk=container.pk).update(
            expires_on=self.clinic_a.today() - timedelta(days=1)
        )
        with self.assertRaises(Conflict) as caught:
            services.administer(self.nurse_actor, container, self.patient, 10)
        self.assertEqual(caught.exception.code, "container_expired")

    def test_a_container_is_usable_on_its_expiry_day(self) -> None:
        container = vial(self.nurse_actor)
        Container.objects.filter(pk=container.pk).update(expires_on=self.clinic_a.today())
        services.administer(self.nurse_actor, container, self.patient, 10)

    def test_nothing_is_given_from_a_quarantined_container(self) -> None:
        container = vial(self.nurse_actor)
        Container.objects.filter(pk=container.pk).update(
            quarantined=True, quarantine_reason="cracked vial"
        )
        with self.assertRaises(Conflict) as caught:
            services.administer(self.nurse_actor, container, self.patient, 10)
        self.assertEqual(caught.exception.code, "container_quarantined")
        self.assertIn("cracked vial", caught.exception.message)
        container.refresh_from_db()
        self.assertEqual(container.balance_ug, 500_000)

    def test_a_named_patient_device_is_given_only_to_its_patient(self) -> None:
        device = receive(
            self.nurse_actor, substance="esketamine", mg=28, patient=self.patient
        ).created_items[0]
        with self.assertRaises(InputError) as caught:
            services.administer(self.nurse_actor, device, self.other_patient, 28)
        self.assertEqual(caught.exception.field, "container")
        services.administer(self.nurse_actor, device, self.patient, 28)

    def test_another_clinics_container_does_not_exist_for_you(self) -> None:
        container = vial(actor_for(self.prescriber_b, self.clinic_b))
        with self.assertRaises(Http404):
            services.administer(self.nurse_actor, container, self.patient, 10)

    def test_another_clinics_patient_is_refused(self) -> None:
        container = vial(self.nurse_actor)
        with self.assertRaises(InputError) as caught:
            services.administer(self.nurse_actor, container, self.patient_b, 10)
        self.assertEqual(caught.exception.field, "patient")


class WasteTests(LedgerTestCase):
    def test_waste_names_a_witness_who_confirms_it_themselves(self) -> None:
        container = vial(self.nurse_actor)
        waste = services.record_waste(
            self.nurse_actor, container, 12.5, "drawn into sharps-safe disposal", self.prescriber
        )
        container.refresh_from_db()
        self.assertEqual(container.balance_ug, 487_500)
        self.assertIsNone(services.witnessed_at(waste))
        confirmation = services.witness_waste(self.prescriber_actor, waste)
        self.assertEqual(confirmation.refers_to, waste)
        self.assertEqual(confirmation.kind, EntryKind.WITNESS)
        self.assertEqual(services.witnessed_at(waste), confirmation.created_at)
        with self.assertRaises(Conflict):
            services.witness_waste(self.prescriber_actor, waste)

    def test_the_caller_cannot_witness_their_own_waste(self) -> None:
        container = vial(self.nurse_actor)
        with self.assertRaises(InputError) as caught:
            services.record_waste(self.nurse_actor, container, 5, "sharps", self.nurse)
        self.assertEqual(caught.exception.field, "witness")
        self.assertIn("other than you", caught.exception.message)

    def test_a_witness_is_required(self) -> None:
        container = vial(self.nurse_actor)
        with self.assertRaises(InputError) as caught:
            services.record_waste(self.nurse_actor, container, 5, "sharps", None)
        self.assertEqual(caught.exception.field, "witness")

    def test_a_clinic_may_switch_the_witness_off_and_the_entry_says_so(self) -> None:
        self.clinic_a.settings = {"controlled_waste_witness_required": 0}
        self.clinic_a.save()
        actor = actor_for(self.nurse, self.clinic_a)
        container = vial(actor)
        waste = services.record_waste(actor, container, 5, "sharps", None, note="end of day")
        self.assertIsNone(waste.witness_id)
        self.assertEqual(
            waste.note, "No witness: this clinic does not require one for waste. end of day"
        )
        self.assertTrue(services.verify_chain(self.clinic_a).ok)
        # Nothing waits for a witness, so no alert is ever raised for it.
        later = waste.created_at + timedelta(days=2)
        self.assertEqual(services.alert_unwitnessed_waste(now=later), 0)
        span = records.date_range(None, None, self.clinic_a.today())
        (row,) = records.administration_log(actor, span)
        self.assertEqual((row.witness, row.detail), ("none (not required by the clinic)", "sharps"))
        # A witness named anyway is held to the same rules.
        with self.assertRaises(InputError) as caught:
            services.record_waste(actor, container, 5, "sharps", self.nurse)
        self.assertEqual(caught.exception.field, "witness")

    def test_the_witness_setting_can_only_be_on_or_off(self) -> None:
        from trellis.accounts import clinic_settings

        self.assertEqual(
            clinic_settings.DEFINITIONS["controlled_waste_witness_required"].default, 1
        )
        with self.assertRaises(InputError):
            clinic_settings.validate({"controlled_waste_witness_required": 2})

    def test_the_witness_must_be_licensed_active_staff_at_this_clinic(self) -> None:
        container = vial(self.nurse_actor)
        inactive = make_staff("nurse2", self.clinic_a, Role.NURSE)
        Membership.objects.filter(user=inactive).update(is_active=False)
        for witness in (
            self.front_desk,
            self.therapist,
            self.tms,
            self.admin,
            self.prescriber_b,
            inactive,
        ):
            with self.subTest(witness.username), self.assertRaises(InputError) as caught:
                services.record_waste(self.nurse_actor, container, 5, "sharps", witness)
            self.assertEqual(caught.exception.field, "witness")
        container.refresh_from_db()
        self.assertEqual(container.balance_ug, 500_000)
        self.assertFalse(LedgerEntry.objects.filter(kind="waste").exists())

    def test_only_the_named_witness_may_confirm(self) -> None:
        container = vial(self.nurse_actor)
        waste = services.record_waste(self.nurse_actor, container, 5, "sharps", self.prescriber)
        other_nurse = make_staff("nurse3", self.clinic_a, Role.NURSE)
        for user in (self.nurse, other_nurse, self.admin):
            with self.subTest(user.username), self.assertRaises(PermissionDenied):
                services.witness_waste(actor_for(user, self.clinic_a), waste)
        self.assertIsNone(services.witnessed_at(waste))

    def test_waste_may_empty_an_expired_container(self) -> None:
        container = vial(self.nurse_actor, mg=20)
        Container.objects.filter(pk=container.pk).update(
            expires_on=self.clinic_a.today() - timedelta(days=3)
        )
        services.record_waste(
            self.nurse_actor, container, 20, "reverse distributor", self.prescriber
        )
        with self.assertRaises(Conflict):
            services.record_waste(self.nurse_actor, container, 1, "sharps", self.prescriber)

    def test_unwitnessed_waste_raises_one_alert_after_the_clinics_time(self) -> None:
        container = vial(self.nurse_actor)
        waste = services.record_waste(self.nurse_actor, container, 5, "sharps", self.prescriber)
        self.assertEqual(
            services.alert_unwitnessed_waste(now=waste.created_at + timedelta(minutes=59)), 0
        )
        later = waste.created_at + timedelta(minutes=61)
        self.assertEqual(services.alert_unwitnessed_waste(now=later), 1)
        self.assertEqual(services.alert_unwitnessed_waste(now=later), 0)
        alert = SafetyAlert.objects.get(kind=AlertKind.CONTROLLED_WASTE_UNWITNESSED)
        self.assertIsNone(alert.patient)
        self.assertEqual(alert.source_id, str(waste.pk))
        self.assertIn("Prescriber", alert.summary)

    def test_the_outbox_worker_runs_the_check_on_every_pass(self) -> None:
        container = vial(self.nurse_actor)
        waste = services.record_waste(self.nurse_actor, container, 5, "sharps", self.prescriber)
        counts = jobs.run_clinic_jobs(waste.created_at + timedelta(hours=2))
        self.assertEqual(counts.count("unwitnessed_waste"), 1)
        self.assertIn("raised 1 unwitnessed-waste alert", str(counts))

    def test_witnessed_waste_raises_no_alert(self) -> None:
        container = vial(self.nurse_actor)
        waste = services.record_waste(self.nurse_actor, container, 5, "sharps", self.prescriber)
        services.witness_waste(self.prescriber_actor, waste)
        self.assertEqual(
            services.alert_unwitnessed_waste(now=waste.created_at + timedelta(hours=5)), 0
        )


class CountTests(LedgerTestCase):
    def test_a_count_that_agrees_raises_nothing(self) -> None:
        container = vial(self.nurse_actor)
        services.administer(self.nurse_actor, container, self.patient, 50)
        result = services.record_count(self.nurse_actor, container, 450)
        self.assertEqual(
            (result.expected_ug, result.counted_ug, result.discrepancy_ug), (450_000, 450_000, 0)
        )
        self.assertIsNone(result.alert)
        self.assertFalse(SafetyAlert.objects.exists())

    def test_a_discrepancy_raises_an_alert_in_the_same_transaction(self) -> None:
        container = vial(self.nurse_actor)
        result = services.record_count(self.nurse_actor, container, "497.5")
        self.assertEqual(result.discrepancy_ug, -2_500)
        alert = SafetyAlert.objects.get()
        self.assertEqual(alert.kind, AlertKind.CONTROLLED_DISCREPANCY)
        self.assertEqual(alert.clinic, self.clinic_a)
        self.assertEqual(alert.source_id, str(result.entry.pk))
        self.assertIn("−2.5 mg", alert.summary)
        container.refresh_from_db()
        self.assertEqual(container.balance_ug, 500_000)  # a count never moves the balance

    def test_when_the_alert_cannot_be_written_the_count_is_not_either(self) -> None:
        container = vial(self.nurse_actor)
        before = LedgerEntry.objects.count()
        failing = mock.patch.object(services, "raise_alert", side_effect=InputError("kind", "x"))
        with self.assertRaises(InputError), failing:
            services.record_count(self.nurse_actor, container, 1)
        self.assertEqual(LedgerEntry.objects.count(), before)


class AppendOnlyTests(LedgerTestCase):
    def test_the_database_refuses_to_change_or_delete_an_entry(self) -> None:
        container = vial(self.nurse_actor)
        entry = LedgerEntry.objects.get(container=container)
        table = LedgerEntry._meta.db_table
        for statement in (
            f"UPDATE {table} SET amount_ug = 1 WHERE id = %s",
            f"DELETE FROM {table} WHERE id = %s",
        ):
            refused = self.assertRaises(DatabaseError)
            atomic = transaction.atomic()
            with self.subTest(statement.split()[0]), refused, atomic, connection.cursor() as cursor:
                cursor.execute(statement, [_db_id(entry)])
        self.assertEqual(LedgerEntry.objects.get(pk=entry.pk).amount_ug, 500_000)

    def test_the_orm_refuses_too(self) -> None:
        container = vial(self.nurse_actor)
        entry = LedgerEntry.objects.get(container=container)
        with self.assertRaises(TypeError):
            entry.save()
        with self.assertRaises(TypeError):
            entry.delete()
        with self.assertRaises(TypeError):
            LedgerEntry.objects.filter(pk=entry.pk).update(note="x")

    def test_the_database_refuses_a_negative_balance(self) -> None:
        container = vial(self.nurse_actor, mg=10)
        with self.assertRaises(DatabaseError), transaction.atomic():
            Container.objects.filter(pk=container.pk).update(balance_ug=-1)


def _insert_raw(source: LedgerEntry, kind: str, created_at) -> None:
    """Copy an entry as a new row of ``kind`` in plain SQL, past every check in the code."""
    table = LedgerEntry._meta.db_table
    kept = ", ".join(
        f.column
        for f in LedgerEntry._meta.concrete_fields
        if f.column not in ("id", "seq", "kind", "created_at")
    )
    new_id = uuid.uuid4()
    seq = LedgerEntry.objects.filter(clinic=source.clinic_id).count() + 1
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, seq, kind, created_at, {kept}) "
            f"SELECT %s, %s, %s, %s, {kept} FROM {table} WHERE id = %s",
            [
                new_id.hex if connection.vendor == "sqlite" else new_id,
                seq,
                kind,
                connection.ops.adapt_datetimefield_value(created_at),
                _db_id(source),
            ],
        )


class UsableContainerTriggerTests(LedgerTestCase):
    """Nothing is given from a quarantined or expired container, even written around the code."""

    def setUp(self) -> None:
        self.container = vial(self.nurse_actor)
        self.dose = services.administer(self.nurse_actor, self.container, self.patient, 5)

    def assert_refused(self, kind: str = "administration", created_at=None) -> None:
        with self.assertRaises(DatabaseError), transaction.atomic():
            _insert_raw(self.dose, kind, created_at or timezone.now())

    def test_an_administration_from_a_quarantined_container_is_refused(self) -> None:
        Container.objects.filter(pk=self.container.pk).update(quarantined=True)
        self.assert_refused()
        # A count or waste of it is still written.
        _insert_raw(self.dose, "count", timezone.now())

    def test_an_administration_past_the_expiry_date_is_refused(self) -> None:
        today = self.clinic_a.today()
        Container.objects.filter(pk=self.container.pk).update(expires_on=today - timedelta(days=3))
        self.assert_refused()
        _insert_raw(self.dose, "waste", timezone.now())

    def test_an_administration_on_the_expiry_day_is_written(self) -> None:
        Container.objects.filter(pk=self.container.pk).update(expires_on=self.clinic_a.today())
        _insert_raw(self.dose, "administration", timezone.now())
        self.assertEqual(
            LedgerEntry.objects.filter(container=self.container, kind="administration").count(), 2
        )


class ChainTests(LedgerTestCase):
    def test_an_intact_chain_verifies(self) -> None:
        container = vial(self.nurse_actor)
        services.administer(self.nurse_actor, container, self.patient, 25)
        services.record_count(self.nurse_actor, container, 475)
        result = services.verify_chain(self.clinic_a)
        self.assertTrue(result.ok)
        self.assertEqual(result.count, 3)

    def test_a_changed_amount_is_detected_and_named(self) -> None:
        container = vial(self.nurse_actor)
        dose = services.administer(self.nurse_actor, container, self.patient, 25)
        services.administer(self.nurse_actor, container, self.patient, 25)
        _tamper(dose, amount_ug=-5_000)
        result = services.verify_chain(self.clinic_a)
        self.assertFalse(result.ok)
        self.assertEqual(result.first_break.seq, dose.seq)
        self.assertIn("changed", result.first_break.problem)
        self.assertTrue(services.verify_container(container))

    def test_each_clinic_has_its_own_chain(self) -> None:
        vial(self.nurse_actor)
        vial(actor_for(self.prescriber_b, self.clinic_b))
        self.assertEqual(
            list(LedgerEntry.objects.order_by("clinic__slug").values_list("seq", flat=True)), [1, 1]
        )
        self.assertTrue(services.verify_chain(self.clinic_b).ok)


class AdjustmentTests(LedgerTestCase):
    def test_a_prescriber_explains_a_discrepancy_with_an_adjustment_that_refers_to_the_count(
        self,
    ) -> None:
        container = vial(self.nurse_actor)
        count = services.record_count(self.nurse_actor, container, 497.5).entry
        entry = services.record_adjustment(
            self.prescriber_actor, container, "-2.5", "Vial overfill drawn short", corrects=count
        )
        self.assertEqual((entry.amount_ug, entry.balance_after_ug), (-2_500, 497_500))
        self.assertEqual(entry.refers_to, count)
        self.assertEqual(services.verify_container(container), [])
        totals = services.balance.totals(
            LedgerEntry.objects.filter(container=container).values_list("kind", "amount_ug")
        )
        self.assertEqual((totals.adjusted, totals.remaining), (2_500, 497_500))
        services.record_adjustment(self.prescriber_actor, container, 1, "Found on recount")
        container.refresh_from_db()
        self.assertEqual(container.balance_ug, 498_500)

    def test_only_a_prescriber_adjusts_and_never_below_zero(self) -> None:
        container = vial(self.nurse_actor, mg=10)
        with self.assertRaises(PermissionDenied):
            services.record_adjustment(self.nurse_actor, container, -1, "loss")
        with self.assertRaises(InputError) as caught:
            services.record_adjustment(self.prescriber_actor, container, -11, "loss")
        self.assertEqual(caught.exception.field, "change_mg")
        self.assertIn("10 mg remains", caught.exception.message)
        with self.assertRaises(InputError) as caught:
            services.record_adjustment(self.prescriber_actor, container, -1, "  ")
        self.assertEqual(caught.exception.field, "reason")


class QuarantineTests(LedgerTestCase):
    def test_a_quarantined_container_is_set_aside_and_audited(self) -> None:
        container = vial(self.nurse_actor)
        with self.assertRaises(PermissionDenied):
            services.quarantine(self.nurse_actor, container, "Seal broken on arrival")
        services.quarantine(self.prescriber_actor, container, "Seal broken on arrival")
        with self.assertRaises(Conflict) as caught:
            services.administer(self.nurse_actor, container, self.patient, 5)
        self.assertIn("Seal broken", caught.exception.message)
        self.assertTrue(
            AuditEvent.objects.filter(
                object_type="controlled.container", object_id=str(container.pk), action="update"
            )
        )


class VerifyCommandTests(LedgerTestCase):
    def test_it_says_ok_for_an_intact_ledger_and_names_a_broken_one(self) -> None:
        container = vial(self.nurse_actor)
        dose = services.administer(self.nurse_actor, container, self.patient, 5)
        out = StringIO()
        call_command("controlled_verify", stdout=out)
        self.assertIn("OK: 2 ledger entries and 1 containers verified", out.getvalue())
        _tamper(dose, amount_ug=-1_000)
        with self.assertRaises(CommandError) as caught:
            call_command("controlled_verify", stdout=StringIO())
        self.assertIn(f"chain broken at event {dose.seq}", str(caught.exception))
        self.assertIn("entries add up to", str(caught.exception))
