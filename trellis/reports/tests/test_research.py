"""The de-identified research export (DOMAIN.md §17): a patient carrying every kind of identifier
leaves none of it in any file; opt-outs stay out; a limited data set shifts each patient's dates
by one offset; only administrators ask for it; requests and downloads are audited."""

import csv
import io
import re
from datetime import date
from unittest import mock

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test import TransactionTestCase
from django.test.utils import CaptureQueriesContext

from trellis.accounts.permissions import Role
from trellis.audit.models import Action, AuditEvent
from trellis.lib import replica
from trellis.measures import services as measures
from trellis.measures.tests.helpers import MeasuresTestCase
from trellis.patients.models import Patient
from trellis.reports import deidentify, research
from trellis.reports.models import ResearchExport
from trellis.testing import actor_for, make_clinic, make_patient, make_staff
from trellis.therapy.services import write_psychotherapy_note
from trellis.treatments.models import Course, EsketamineRecord, Session

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ResearchTestCase(MeasuresTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        today = cls.clinic_a.today()
        cls.birth = date(today.year - 92, 1, 1)  # 92 on any day of the year
        Patient.objects.filter(pk=cls.patient.pk).update(
            given_name="Zebediah",
            family_name="Quillfeather",
            birth_date=cls.birth,
            address="4417 Marigold Lane, Apt 9\nCharlestown, NH 03603",
            phone="+16035550199",
            email="zebediah.quill@example.net",
            emergency_contact_name="Hortensia Quillfeather",
            emergency_contact_phone="+16035550123",
            emergency_contact_relation="daughter",
        )
        Patient.objects.filter(pk=cls.other_patient.pk).update(
            research_opt_out=True, address="1 Main St, Boston, MA 02118"
        )
        cls.patient.refresh_from_db()
        cls.other_patient.refresh_from_db()

    def setUp(self) -> None:
        super().setUp()
        self.course = self.start_course(self.patient, "esketamine-trd")
        Course.objects.filter(pk=self.course.pk).update(
            override_reason="Override because Zebediah's sister Hortensia insisted"
        )
        first = self.course.sessions.order_by("number").first()
        EsketamineRecord.objects.update_or_create(
            session=first,
            defaults={
                "dose_mg": 56,
                "lot_numbers": "LOTQX77291",
                "note": "Tolerated well; drove by Marigold Lane",
            },
        )
        nurse = actor_for(self.nurse, self.clinic_a)
        self.phq9 = measures.record_measure(
            nurse, self.patient, "phq9", [2] * 8 + [0], course=self.course
        )
        self.gad7 = measures.record_measure(nurse, self.patient, "gad7", [1] * 7)
        write_psychotherapy_note(
            actor_for(self.therapist, self.clinic_a), self.patient, "Secret psychotherapy words"
        )
        self.opted_out_course = self.start_course(self.other_patient, "tms-10hz")
        measures.record_measure(nurse, self.other_patient, "phq9", [3] * 9)

    def ask(self, username: str = "admin", **body):
        return self.api("post", "/api/v1/research-exports", username, body)

    def files(self, export_id, username: str = "admin") -> dict[str, str]:
        research.run_pending()
        response = self.api("get", f"/api/v1/research-exports/{export_id}", username)
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        self.assertEqual(body["status"], "complete")
        found = {}
        for item in body["files"]:
            got = self.api("get", item["url"].split("testserver", 1)[1], username)
            self.assertEqual(got.status_code, 200, got.content)
            self.assertEqual(got["Content-Type"], "text/csv; charset=utf-8")
            found[item["name"]] = got.content.decode()
        return found

    def rows(self, text: str) -> list[dict]:
        return list(csv.DictReader(io.StringIO(text)))


class SafeHarborTests(ResearchTestCase):
    def test_no_identifier_of_any_kind_survives_in_any_file(self):
        response = self.ask()
        self.assertEqual(response.status_code, 202, response.content)
        body = response.json()
        self.assertEqual(body["status"], "pending")
        files = self.files(body["id"])
        self.assertEqual(sorted(files), sorted(research.FILES))
        everything = "\n".join(files.values())
        sessions = list(Session.objects.filter(patient=self.patient))
        identifiers = [
            "Zebediah",
            "Quillfeather",
            "Hortensia",
            "daughter",
            "Marigold",
            "Charlestown",
            "03603",
            "5550199",
            "5550123",
            "zebediah.quill",
            "example.net",
            self.patient.mrn,
            str(self.patient.pk),
            self.birth.isoformat(),
            str(self.birth.year),
            "LOTQX77291",
            "Tolerated",
            "insisted",
            "Secret psychotherapy",
            str(self.course.pk),
            str(self.phq9.pk),
            str(self.gad7.pk),
            *(str(s.pk) for s in sessions),
        ]
        for needle in identifiers:
            with self.subTest(needle=needle):
                self.assertNotIn(needle.lower(), everything.lower())
        self.assertIsNone(ISO_DATE.search(everything), "a full date left the clinic")

        (patient,) = self.rows(files["patients.csv"])
        self.assertEqual((patient["age_group"], patient["zip3"]), ("90+", "000"))
        self.assertEqual(patient["sex"], self.patient.sex)
        (course,) = self.rows(files["courses.csv"])
        self.assertEqual(course["patient"], patient["patient"])
        self.assertEqual(course["start_year"], str(self.course.start_date.year))
        self.assertEqual((course["modality"], course["protocol"]), ("esketamine", "esketamine-trd"))
        self.assertEqual((course["baseline_phq9"], course["response"]), ("16", "0"))
        sessions_out = self.rows(files["sessions.csv"])
        self.assertEqual(len(sessions_out), len(sessions))
        self.assertEqual(sessions_out[0]["dose_mg"], "56")
        self.assertEqual({s["course"] for s in sessions_out}, {course["course"]})
        scores = self.rows(files["scores.csv"])
        self.assertEqual(
            sorted((s["instrument"], s["total"], s["course"]) for s in scores),
            [("gad7", "7", course["course"]), ("phq9", "16", course["course"])],
        )
        dictionary = self.rows(files["data_dictionary.csv"])
        described = {(d["file"], d["column"]) for d in dictionary}
        for name in research.FILES[:-1]:
            header = next(csv.reader(io.StringIO(files[name])))
            for column in header:
                self.assertIn((name, column), described)

    def test_patients_who_opted_out_are_left_out(self):
        files = self.files(self.ask().json()["id"])
        self.assertEqual(len(self.rows(files["patients.csv"])), 1)
        self.assertEqual([c["modality"] for c in self.rows(files["courses.csv"])], ["esketamine"])
        self.assertNotIn("02118"[:3], [p["zip3"] for p in self.rows(files["patients.csv"])])
        self.assertNotIn("27", [s["total"] for s in self.rows(files["scores.csv"])])
        self.assertEqual(ResearchExport.objects.get().patients, 1)

    def test_pseudonyms_are_new_in_every_export(self):
        first = self.rows(self.files(self.ask().json()["id"])["patients.csv"])[0]["patient"]
        second = self.rows(self.files(self.ask().json()["id"])["patients.csv"])[0]["patient"]
        self.assertNotEqual(first, second)


class LimitedDataSetTests(ResearchTestCase):
    def test_a_limited_data_set_needs_its_data_use_agreement(self):
        response = self.ask(limited_data_set=True)
        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["field"], "dua_reference")
        self.assertFalse(ResearchExport.objects.exists())

    def test_each_patients_dates_move_by_one_offset(self):
        response = self.ask(limited_data_set=True, dua_reference="DUA-2026-014 (State U)")
        self.assertEqual(response.status_code, 202, response.content)
        files = self.files(response.json()["id"])
        (patient,) = self.rows(files["patients.csv"])
        self.assertEqual(patient["age"], "92")
        (course,) = self.rows(files["courses.csv"])
        offset = date.fromisoformat(course["start_date"]) - self.course.start_date
        self.assertNotEqual(offset.days, 0)
        self.assertLessEqual(abs(offset.days), deidentify.SHIFT_DAYS)
        planned = {s.number: s.planned_date for s in self.course.sessions.all()}
        for row in self.rows(files["sessions.csv"]):
            self.assertEqual(date.fromisoformat(row["date"]) - planned[int(row["number"])], offset)
        tz = self.clinic_a.tzinfo
        for row in self.rows(files["scores.csv"]):
            measure = self.phq9 if row["instrument"] == "phq9" else self.gad7
            real = measure.observed_at.astimezone(tz).date()
            self.assertEqual(date.fromisoformat(row["date"]) - real, offset)
        everything = "\n".join(files.values())
        for needle in ("Zebediah", "LOTQX77291", self.patient.mrn, self.birth.isoformat()):
            self.assertNotIn(needle, everything)


class AccessTests(ResearchTestCase):
    def test_only_clinic_administrators_ask_or_read(self):
        for username in ("prescriber", "nurse", "frontdesk", "therapist"):
            with self.subTest(username=username):
                self.assertEqual(self.ask(username).status_code, 403)
        export_id = self.ask().json()["id"]
        research.run_pending()
        response = self.api("get", f"/api/v1/research-exports/{export_id}", "prescriber")
        self.assertEqual(response.status_code, 403)
        file_path = f"/api/v1/research-exports/{export_id}/files/patients.csv"
        self.assertEqual(self.api("get", file_path, "prescriber").status_code, 403)
        self.sign_in(self.prescriber)
        self.assertEqual(self.client.get("/reports/research/").status_code, 403)

    def test_another_clinics_administrator_gets_404(self):
        make_staff("admin_b", self.clinic_b, Role.CLINIC_ADMIN)
        export_id = self.ask().json()["id"]
        research.run_pending()
        for path in (
            f"/api/v1/research-exports/{export_id}",
            f"/api/v1/research-exports/{export_id}/files/patients.csv",
        ):
            self.assertEqual(self.api("get", path, "admin_b").status_code, 404)

    def test_requests_and_downloads_are_audited(self):
        export_id = self.ask().json()["id"]
        asked = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual((asked.action, asked.object_id), (Action.EXPORT, export_id))
        self.assertEqual(asked.detail["research_export"], "safe_harbor")
        self.files(export_id)
        downloads = AuditEvent.objects.filter(
            action=Action.EXPORT, object_id=export_id, detail__has_key="file"
        )
        self.assertEqual(downloads.count(), len(research.FILES))

    def test_the_page_asks_and_lists_with_its_files(self):
        self.sign_in(self.admin)
        page = self.client.get("/reports/research/")
        self.assertContains(page, "Research export")
        refused = self.client.post("/reports/research/", {"limited_data_set": "on"})
        self.assertEqual(refused.status_code, 422)
        self.assertContains(refused, "data use agreement", status_code=422)
        self.assertRedirects(self.client.post("/reports/research/", {}), "/reports/research/")
        research.run_pending()
        export = ResearchExport.objects.get()
        page = self.client.get("/reports/research/")
        link = f"/reports/research/{export.pk}/scores.csv"
        self.assertContains(page, link)
        got = self.client.get(link)
        self.assertEqual(got.status_code, 200)
        self.assertTrue(got.content.decode().startswith("patient,course,instrument,total,year"))


class DeidentifyTests(ResearchTestCase):
    def test_zip3_and_age_groups(self):
        cases = {
            "1 Elm St, Springfield, IL 62701": "627",
            "Box 4, Hanover, NH 03755-1234": "037",
            "Charlestown, NH 03603": "000",
            "12345 Alaska Hwy, Tok, AK 99780": "997",
            "no zip here": "",
            "": "",
        }
        for address, expected in cases.items():
            self.assertEqual(deidentify.zip3(address), expected, address)
        for prefix in deidentify.RESTRICTED_ZIP3:
            self.assertEqual(deidentify.zip3(f"Town, ST {prefix}42"), "000")
        self.assertEqual(len(deidentify.RESTRICTED_ZIP3), 17)
        self.assertEqual(
            [deidentify.age_group(a) for a in (17, 30, 89, 90, 92, 104)],
            ["10-19", "30-39", "80-89", "90+", "90+", "90+"],
        )
        offsets = {deidentify.date_offset().days for _ in range(200)}
        self.assertNotIn(0, offsets)
        self.assertLessEqual(max(abs(d) for d in offsets), deidentify.SHIFT_DAYS)


class ReplicaTests(TransactionTestCase):
    """With a streaming replica, the files are read there in one snapshot and written to the
    primary. The replica here is a second connection to the test database (committed rows, as
    a replica holds them)."""

    def setUp(self) -> None:
        connections.settings[replica.REPLICA] = dict(connections[DEFAULT_DB_ALIAS].settings_dict)
        self.addCleanup(connections.settings.pop, replica.REPLICA)
        self.addCleanup(connections.__delitem__, replica.REPLICA)
        self.addCleanup(connections[replica.REPLICA].close)
        for patch in (
            mock.patch.object(replica, "configured", return_value=True),
            mock.patch.object(type(self), "databases", self.databases | {replica.REPLICA}),
        ):
            patch.start()
            self.addCleanup(patch.stop)
        clinic = make_clinic("riverside", "Riverside", "RIV")
        admin = actor_for(make_staff("admin", clinic, Role.CLINIC_ADMIN), clinic)
        make_patient(admin, "Ada", "Lovelace")
        make_patient(admin, "Grace", "Hopper")
        self.export = research.request_research_export(admin)

    def test_the_files_are_read_on_the_replica_in_one_snapshot_and_written_to_the_primary(self):
        export = ResearchExport.objects.select_related("clinic").get(pk=self.export.pk)
        with (
            CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as primary,
            CaptureQueriesContext(connections[replica.REPLICA]) as standby,
        ):
            research.build_research_export(export)
        read = [q["sql"] for q in standby.captured_queries]
        written = [q["sql"] for q in primary.captured_queries]
        patients = Patient._meta.db_table
        self.assertTrue(any(patients in sql for sql in read), read)
        self.assertFalse(any(patients in sql for sql in written), written)
        self.assertFalse(any(sql.startswith(("INSERT", "UPDATE")) for sql in read), read)
        if connection.vendor == "postgresql":  # before the first read: one snapshot for all
            isolation = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"
            first = next(n for n, sql in enumerate(read) if patients in sql)
            self.assertIn(isolation, read[:first])
        export.refresh_from_db()
        self.assertEqual((export.status, export.patients), ("complete", 2))
        self.assertEqual(export.files.count(), len(research.FILES))
