"""The synthetic network: deterministic, refuses a database with real clinics and to run twice,
and what it writes is data the rest of Trellis accepts."""

import hashlib
import multiprocessing
import os
import re
import uuid
from datetime import UTC, datetime
from io import StringIO
from unittest import mock

from django.core.checks import run_checks
from django.core.management import CommandError, call_command, load_command_class
from django.core.management.base import OutputWrapper
from django.db import connection, transaction
from django.db.models import Count, Q
from django.test import TestCase

from bench.harness import AREAS, areas_line
from bench.synthetic import bulk, synth
from bench.synthetic.bulk import IdRandom
from bench.synthetic.models import DeferredSchema
from bench.synthetic.synth import PATIENTS_PER_CHUNK, SynthError, generate
from trellis.accounts.models import Clinic, Membership, User
from trellis.accounts.permissions import Role
from trellis.measures.models import Measure, ScheduledMeasure
from trellis.patients.models import BodyMeasurement, Patient, Screening
from trellis.safety.models import SafetyAlert
from trellis.testing import TrellisTestCase, actor_for, make_clinic, make_patient, make_staff
from trellis.treatments.models import (
    Course,
    EsketamineRecord,
    InfusionRecord,
    MotorThreshold,
    RemsForm,
    Session,
    TmsRecord,
    VitalSign,
)

NOW = datetime(2026, 3, 10, 20, 15, tzinfo=UTC)
LAST_LINE = re.compile(r"^synth: wrote (\d+) rows in \d+\.\d\d s \(\d+ rows/s\)$")


class _Undo(Exception):
    pass


def _fingerprint(seed: int) -> dict:
    """Generate 2 clinics x 30 patients, describe them, and roll them back."""
    found = {}
    try:
        with transaction.atomic():
            result = generate(2, 60, seed, now=NOW)
            found["rows"] = result.rows
            found["tables"] = result.tables
            found["patients"] = list(
                Patient.objects.order_by("clinic__slug", "mrn").values_list("id", "mrn")[:5]
            )
            found["clinics"] = list(Clinic.objects.order_by("slug").values_list("id", "slug"))
            digest = hashlib.sha256()
            for model, columns in (
                (Course, ("id", "start_date", "status", "ended_at")),
                (Session, ("id", "number", "started_at")),
                (Measure, ("id", "total", "observed_at", "answers")),
                (SafetyAlert, ("id", "summary", "created_at")),
            ):
                for row in model.objects.order_by("id").values_list(*columns):
                    digest.update(repr(row).encode())
            found["digest"] = digest.hexdigest()
            raise _Undo
    except _Undo:
        pass
    return found


class SynthDeterminismTest(TestCase):
    def test_the_same_seed_gives_the_same_network(self):
        first, second = _fingerprint(5), _fingerprint(5)
        self.assertEqual(first, second)
        self.assertEqual(first["tables"]["patients.patient"], 60)
        self.assertEqual([mrn for _, mrn in first["patients"][:2]], ["S001-000001", "S001-000002"])

    def test_every_area_of_the_product_gets_rows_and_the_bench_names_them(self):
        found = _fingerprint(5)
        line = areas_line(60, {"tables": found["tables"]})
        for area, _ in AREAS:
            self.assertRegex(line, rf"{area} [\d,]+ \(\w+ [\d,]+\)")
        self.assertNotIn(" none", line)
        booked = sum(v for k, v in found["tables"].items() if k.startswith("scheduling."))
        self.assertIn(f"appointment book {booked:,} (appointment ", line)

    def test_another_seed_gives_other_people(self):
        first, other = _fingerprint(5), _fingerprint(6)
        self.assertNotEqual(first["patients"], other["patients"])
        self.assertNotEqual(first["clinics"], other["clinics"])

    def test_ids_are_ordered_version_8_uuids_from_the_patients_generator(self):
        a, b = IdRandom(9, 3, 41), IdRandom(9, 3, 41)
        ids = [a.uuid() for _ in range(300)]
        self.assertEqual(ids, [b.uuid() for _ in range(300)])
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(set(ids)), 300)
        parsed = [uuid.UUID(hex_id) for hex_id in ids]
        self.assertEqual({u.version for u in parsed}, {8})
        self.assertEqual({u.variant for u in parsed}, {uuid.RFC_4122})
        # clinic 3, patient 41, row 0, 1, …: the first 48 bits
        self.assertEqual(
            [u.int >> 80 for u in parsed[:3]], [(3 << 38 | 41 << 16) + n for n in range(3)]
        )
        # the next patient's ids all come after this one's
        self.assertGreater(IdRandom(1, 3, 42).uuid(), ids[-1])
        self.assertGreater(IdRandom(1, 4, 1).uuid(), IdRandom(1, 3, bulk.MAX_PATIENT).uuid())
        # the random part draws on the seed
        self.assertNotEqual(IdRandom(10, 3, 41).uuid()[13:], ids[0][13:])

    def test_one_patient_has_at_most_65536_ids(self):
        r = IdRandom(1, 1, 1)
        for _ in range(65536):
            r.uuid()
        with self.assertRaisesMessage(OverflowError, "more than 65536 rows"):
            r.uuid()
        with self.assertRaisesMessage(ValueError, "out of the id layout"):
            IdRandom(1, 1024, 1)

    def test_it_refuses_to_run_into_an_existing_network(self):
        generate(1, 3, 1, now=NOW)
        with self.assertRaisesMessage(SynthError, "clinic synth-001 already exists"):
            generate(1, 3, 2, now=NOW)
        self.assertEqual(Patient.objects.count(), 3)

    def test_clinics_and_patients_carry_the_synthetic_mark(self):
        generate(2, 4, 1, now=NOW)
        self.assertEqual({pk.version for pk in Clinic.objects.values_list("pk", flat=True)}, {8})
        self.assertEqual({pk.version for pk in Patient.objects.values_list("pk", flat=True)}, {8})
        self.assertTrue(bulk.is_synthetic(Clinic.objects.first().pk))
        self.assertFalse(bulk.is_synthetic(uuid.uuid4()))

    def test_the_mark_keeps_the_random_bits_and_the_rfc_variant(self):
        for bits in (0, (1 << 128) - 1, 0x0123456789ABCDEF0123456789ABCDEF):
            made = bulk.version_8(bits)
            self.assertEqual((made.version, made.variant), (8, uuid.RFC_4122))
            kept = ~(0xF000 << 64 | 0xC000 << 48) & ((1 << 128) - 1)
            self.assertEqual(made.int & kept, bits & kept)

    def test_a_failure_while_writing_stops_the_generating_process(self):
        schema = _deferrable()
        with (
            mock.patch.object(bulk.Table, "write", side_effect=RuntimeError("disk full")),
            self.assertRaisesMessage(RuntimeError, "disk full"),
        ):
            generate(1, 3 * PATIENTS_PER_CHUNK, 1, now=NOW)
        self.assertEqual(multiprocessing.active_children(), [])
        self.assertEqual(_deferrable(), schema)
        self.assertFalse(DeferredSchema.objects.exists())

    def test_a_failure_while_generating_reaches_the_caller(self):
        with (
            mock.patch.object(synth._Network, "patient", side_effect=ValueError("bad patient")),
            self.assertRaisesMessage(ValueError, "bad patient") as raised,
        ):
            generate(1, 5, 1, now=NOW)
        self.assertFalse(Patient.objects.exists())
        # where it failed in the child process travels with it
        self.assertIn("in chunks", "\n".join(getattr(raised.exception, "__notes__", [])))

    def test_a_generating_process_that_dies_is_a_clear_error(self):
        with (
            mock.patch.object(synth._Network, "patient", side_effect=lambda *a: os._exit(3)),
            self.assertRaisesMessage(SynthError, "stopped (exit code 3)"),
        ):
            generate(1, 5, 1, now=NOW)
        self.assertEqual(multiprocessing.active_children(), [])

    def test_it_drops_indexes_and_foreign_keys_for_the_load_and_puts_them_back(self):
        before = _deferrable()
        names = {name for _, name, _ in before}
        self.assertIn("measures_me_patient_84d501_idx", names)
        keys = [name for kind, name, _ in before if kind == "key"]
        self.assertEqual(bool(keys), connection.vendor == "postgresql")  # SQLite keeps its own
        # SQLite's overlap check searches the appointments on each insert; PostgreSQL's is a
        # constraint and stays.
        triggers = [name for kind, name, _ in before if kind == "trigger"]
        self.assertEqual(
            triggers,
            ["appointment_no_overlap_insert"] if connection.vendor == "sqlite" else [],
        )
        dropped_while_loading = []

        def progress(done, total, rows):
            dropped_while_loading.append(_deferrable())

        stages = []
        result = generate(1, 4, 1, now=NOW, progress=progress, stage=stages.append)
        self.assertEqual(dropped_while_loading, [[]])
        self.assertEqual(_deferrable(), before)
        self.assertEqual(
            (result.indexes, result.foreign_keys),
            (len(before) - len(keys) - len(triggers), len(keys)),
        )
        expected = f"putting back {result.indexes} indexes"
        if keys:
            expected += f" and {len(keys)} foreign keys"
        if triggers:
            expected += f" and {len(triggers)} triggers"
        self.assertEqual(stages, [expected, "computing each course's outcome facts"])
        self.assertFalse(DeferredSchema.objects.exists())
        connection.check_constraints()

    def test_the_command_prints_the_rows_written_last(self):
        out, err = StringIO(), StringIO()
        call_command(
            "synth", "--clinics", "1", "--patients", "4", "--seed", "3", "--quiet",
            stdout=out, stderr=err,
        )  # fmt: skip
        lines = out.getvalue().strip().splitlines()
        self.assertEqual(len(lines), 1)
        match = LAST_LINE.match(lines[-1])
        self.assertIsNotNone(match, lines[-1])
        self.assertEqual(err.getvalue(), "")
        with self.assertRaisesMessage(CommandError, "already exists"):
            call_command("synth", "--clinics", "1", "--patients", "4", "--seed", "3", "--quiet")

    def test_the_command_shows_progress_and_a_table_unless_quiet(self):
        out, err = StringIO(), StringIO()
        call_command(
            "synth", "--clinics", "2", "--patients", "6", "--seed", "1", stdout=out, stderr=err
        )
        self.assertIn("synth [", err.getvalue())
        self.assertIn("100%", err.getvalue())
        lines = out.getvalue().strip().splitlines()
        self.assertIn("patients.patient", out.getvalue())
        self.assertRegex(lines[-1], LAST_LINE)
        self.assertEqual(int(LAST_LINE.match(lines[-1]).group(1)), _rows_in_database())


def _deferrable() -> list[tuple[str, str, str]]:
    """(kind, name, definition) of the indexes, foreign keys and triggers synth may drop."""
    found = []
    with connection.cursor() as cursor:
        for table in synth._tables().values():
            db_table = table.model._meta.db_table
            found += [("index", *item) for item in bulk.secondary_indexes(cursor, db_table)]
            found += [("key", *item) for item in bulk.foreign_keys(cursor, db_table)]
            found += [
                ("trigger", *item)
                for item in bulk.triggers(cursor, db_table, synth.SEARCHING_TRIGGERS)
            ]
    return found


def _killed_before_putting_back() -> None:
    """A synth run that stops for good after its last write, as under SIGKILL."""
    with mock.patch.object(bulk.Deferred, "rebuild"):
        generate(1, 2, 1, now=NOW)


class DeferredSchemaRecoveryTest(TestCase):
    """A load killed between dropping and putting back indexes and foreign keys leaves a record
    that the next run, the command and the system check all act on."""

    def test_a_killed_load_is_repaired_by_the_command(self):
        before = _deferrable()
        _killed_before_putting_back()
        self.assertEqual(_deferrable(), [])
        self.assertEqual(DeferredSchema.objects.count(), len(before))
        warnings = [m for m in run_checks(databases=["default"]) if m.id == "synthetic.W001"]
        self.assertEqual(len(warnings), 1)
        self.assertIn(f"{len(before)} indexes or foreign keys dropped by an", warnings[0].msg)
        self.assertIn("synth --restore", warnings[0].hint)

        out = StringIO()
        call_command("synth", "--restore", stdout=out)
        self.assertEqual(
            out.getvalue().strip(), f"synth: put back {len(before)} indexes and foreign keys"
        )
        self.assertEqual(_deferrable(), before)
        self.assertFalse([m for m in run_checks(databases=["default"]) if m.id == "synthetic.W001"])
        out = StringIO()
        call_command("synth", "--restore", stdout=out)
        self.assertEqual(out.getvalue().strip(), "synth: no index or foreign key missing")

    def test_the_next_run_puts_back_a_killed_loads_schema_first(self):
        before = _deferrable()
        _killed_before_putting_back()
        self.assertEqual(_deferrable(), [])
        with self.assertRaisesMessage(SynthError, "already exists"):  # even a refused run
            generate(1, 2, 1, now=NOW)
        self.assertEqual(_deferrable(), before)
        self.assertFalse(DeferredSchema.objects.exists())

    def test_what_was_put_back_by_hand_meanwhile_is_not_put_back_twice(self):
        _killed_before_putting_back()
        pending = [DeferredSchema.objects.filter(kind=kind).first() for kind in ("index", "key")]
        with connection.cursor() as cursor, bulk._schema_change(cursor):
            for item in filter(None, pending):
                cursor.execute(item.sql)
        self.assertIn(pending[0].name, bulk.restore_schema())
        self.assertFalse(DeferredSchema.objects.exists())

    def test_the_command_needs_the_network_size_unless_restoring(self):
        with self.assertRaisesMessage(CommandError, "--patients, --seed required"):
            call_command("synth", "--clinics", "1")


def _rows_in_database() -> int:
    models = [Clinic, User, Membership, *(table.model for table in synth._tables().values())]
    self_check = {
        Patient, BodyMeasurement, Screening, Course, Session, MotorThreshold, VitalSign,
        InfusionRecord, EsketamineRecord, TmsRecord, RemsForm, Measure, ScheduledMeasure,
        SafetyAlert,
    }  # fmt: skip
    assert self_check <= set(models)
    return sum(model.objects.count() for model in models)


class RefusesRealDataTest(TestCase):
    """synth writes unaudited rows with the indexes dropped: never where a clinic works."""

    def assert_refused_untouched(self, message: str) -> None:
        schema, clinics, patients = _deferrable(), Clinic.objects.count(), Patient.objects.count()
        with self.assertRaisesMessage(SynthError, message):
            generate(1, 3, 1, now=NOW)
        self.assertEqual((Clinic.objects.count(), Patient.objects.count()), (clinics, patients))
        self.assertEqual(_deferrable(), schema)
        self.assertFalse(DeferredSchema.objects.exists())

    def test_a_clinic_trellis_made_is_real(self):
        clinic = make_clinic("riverside", "Riverside Clinic", "RIV")
        front = actor_for(make_staff("frontdesk", clinic, Role.FRONT_DESK), clinic)
        make_patient(front)
        self.assert_refused_untouched("this database holds 1 real clinic (Riverside Clinic)")

    def test_even_one_named_like_synths_own(self):
        make_clinic("synth-001", "Not Really Synthetic", "NRS")
        make_clinic("lakeshore", "Lakeshore", "LAK")
        self.assert_refused_untouched(
            "this database holds 2 real clinics (Lakeshore, Not Really Synthetic): synth writes "
            "unaudited test data"
        )

    def test_an_audit_trail_means_people_have_used_it(self):
        admin = User.objects.create_superuser("admin", password="an admin's password")
        self.client.force_login(admin)  # a sign-in is audited, before any clinic exists
        self.assert_refused_untouched("this database has an audit trail")

    def test_the_command_fails_with_the_reason_and_exit_code_1(self):
        make_clinic("riverside", "Riverside Clinic", "RIV")
        err = StringIO()
        command = load_command_class("bench.synthetic", "synth")
        command.stderr = OutputWrapper(err)
        argv = ["manage.py", "synth", "--clinics", "1", "--patients", "3", "--seed", "1"]
        with (
            mock.patch("django.core.management.base.connections"),  # keep the test's own
            self.assertRaises(SystemExit) as exit_,
        ):
            command.run_from_argv(argv)
        self.assertEqual(exit_.exception.code, 1)
        self.assertIn("synth: this database holds 1 real clinic (Riverside Clinic)", err.getvalue())
        self.assertFalse(Patient.objects.exists())

    def test_an_empty_database_with_an_administrator_is_accepted(self):
        User.objects.create_superuser("admin", password="an admin's password")
        self.assertEqual(generate(1, 3, 1, now=NOW).clinics, ["synth-001"])


class SynthDataTest(TrellisTestCase):
    """A small network checked against the rules the services keep."""

    @classmethod
    def setUpTestData(cls) -> None:
        # Not the personas' clinics: synth refuses a database with real ones. (The class is a
        # TrellisTestCase for its sign_in.)
        cls.result = generate(2, 80, 3, now=NOW)
        cls.clinics = list(Clinic.objects.filter(slug__startswith="synth-").order_by("slug"))

    def test_it_counts_what_it_wrote(self):
        self.assertEqual(self.result.rows, sum(self.result.tables.values()))
        self.assertEqual(self.result.tables["treatments.session"], Session.objects.count())
        self.assertGreater(self.result.rows_per_second, 0)
        self.assertEqual(self.result.clinics, ["synth-001", "synth-002"])

    def test_the_foreign_keys_hold(self):
        connection.check_constraints()

    def test_mrns_are_unique_per_clinic_and_the_counter_moved_on(self):
        for clinic in self.clinics:
            mrns = list(Patient.objects.filter(clinic=clinic).values_list("mrn", flat=True))
            self.assertEqual(len(mrns), 40)
            self.assertEqual(len(set(mrns)), 40)
            self.assertTrue(all(m.startswith(clinic.mrn_prefix + "-") for m in mrns))
            self.assertEqual(clinic.next_mrn, 41)

    def test_every_role_has_staff_who_cannot_sign_in_with_a_password(self):
        for clinic in self.clinics:
            roles = set(Membership.objects.filter(clinic=clinic).values_list("role", flat=True))
            self.assertEqual(roles, set(Role.values))
        self.assertFalse(
            any(u.has_usable_password() for u in User.objects.filter(username__startswith="synth-"))
        )

    def test_every_positive_item_9_has_its_alert(self):
        positive = Measure.objects.filter(instrument="phq9", suicide_item__gt=0)
        alerts = set(
            SafetyAlert.objects.filter(kind="suicide_item").values_list("source_id", flat=True)
        )
        self.assertGreater(positive.count(), 0)
        self.assertEqual({str(pk) for pk in positive.values_list("pk", flat=True)}, alerts)
        for alert in SafetyAlert.objects.exclude(status="open"):
            self.assertTrue(alert.note and alert.acknowledged_by_id and alert.acknowledged_at)

    def test_courses_and_sessions_agree(self):
        completed = Course.objects.filter(status="completed")
        self.assertTrue(completed.exists())
        open_sessions = Session.objects.filter(course__in=completed).exclude(status="signed")
        self.assertFalse(open_sessions.exists())
        self.assertFalse(Course.objects.filter(status="active", ended_at__isnull=False).exists())
        self.assertFalse(
            Course.objects.exclude(status="active").filter(ended_at__isnull=True).exists()
        )
        held = Session.objects.filter(status="signed")
        self.assertFalse(
            held.filter(Q(signed_at__isnull=True) | Q(started_at__isnull=True)).exists()
        )
        records = {
            "iv_ketamine": InfusionRecord,
            "esketamine": EsketamineRecord,
            "tms": TmsRecord,
        }
        for modality, model in records.items():
            self.assertEqual(
                model.objects.count(), held.filter(course__modality=modality).count(), modality
            )
        self.assertEqual(RemsForm.objects.count(), EsketamineRecord.objects.count())
        self.assertFalse(
            held.filter(course__modality="iv_ketamine")
            .annotate(n=Count("vitals"))
            .filter(n=0)
            .exists()
        )

    def test_answered_schedule_slots_point_at_their_questionnaires(self):
        linked = ScheduledMeasure.objects.filter(measure__isnull=False).select_related("measure")
        self.assertTrue(linked.exists())
        for slot in linked[:200]:
            self.assertEqual(slot.measure.course_id, slot.course_id)
            self.assertEqual(slot.measure.instrument, slot.instrument)
        self.assertEqual(linked.count(), Measure.objects.count())

    def test_rows_pass_their_models_validation(self):
        for model in (
            Patient, BodyMeasurement, Screening, Course, Session, MotorThreshold, VitalSign,
            InfusionRecord, EsketamineRecord, TmsRecord, RemsForm, Measure, ScheduledMeasure,
            SafetyAlert,
        ):  # fmt: skip
            for row in model.objects.order_by("pk")[:3]:
                row.full_clean()

    def test_the_pages_show_synthetic_records(self):
        prescriber = User.objects.get(username="synth-001-prescriber-1")
        self.sign_in(prescriber)
        clinic = self.clinics[0]
        for modality in ("iv_ketamine", "esketamine", "tms"):
            course = Course.objects.filter(
                clinic=clinic, modality=modality, status="completed"
            ).first()
            self.assertIsNotNone(course, modality)
            for url in (
                f"/patients/{course.patient_id}/",
                f"/courses/{course.pk}/",
                f"/sessions/{course.sessions.order_by('number').first().pk}/",
            ):
                self.assertEqual(self.client.get(url).status_code, 200, url)
        form = RemsForm.objects.filter(clinic=clinic).first()
        self.assertEqual(self.client.get(f"/rems/{form.pk}/").status_code, 200)
        self.assertEqual(self.client.get("/rems/").status_code, 200)
