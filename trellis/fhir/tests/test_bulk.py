"""Bulk Data $export [R136]: kick-off, the status URL's states (running, complete, cancelled,
expired), the manifest and its NDJSON files, _since and _type, groups, and the clinic wall."""

import gzip
import json
from datetime import timedelta
from unittest import mock

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from trellis.audit.models import Action, AuditEvent
from trellis.billing.models import Coverage
from trellis.fhir import bulk, resources
from trellis.fhir.models import ExportFile, ExportJob, ExportKind, ExportStatus
from trellis.fhir.tests.helpers import FhirTestCase, validation_errors
from trellis.fhir.tests.helpers_clinical import ClinicalFhirTestCase, given
from trellis.measures import services as measures
from trellis.messaging.jobs import run_clinic_jobs
from trellis.testing import actor_for
from trellis.treatments.models import TmsRecord, VitalSign

ASYNC = {"HTTP_PREFER": "respond-async", "HTTP_ACCEPT": "application/fhir+json"}


class BulkTestCase(FhirTestCase):
    def kickoff(self, path: str, token: str | None = None, **params):
        token = token or self.token
        return self.client.get(
            f"/fhir/r4/{path}", params, HTTP_AUTHORIZATION=f"Bearer {token}", **ASYNC
        )

    def accepted(self, path: str, token: str | None = None, **params) -> str:
        response = self.kickoff(path, token, **params)
        self.assertEqual(response.status_code, 202, response.content)
        return response["Content-Location"]

    def poll(self, url: str, token: str | None = None, method: str = "get"):
        token = token or self.token
        return getattr(self.client, method)(url, HTTP_AUTHORIZATION=f"Bearer {token}")

    def complete(self, url: str, token: str | None = None) -> dict:
        bulk.run_pending()
        response = self.poll(url, token)
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response["Content-Type"], "application/json")
        return response.json()

    def download(self, manifest: dict, token: str | None = None) -> dict[str, list[dict]]:
        """Every file of the manifest: type → its resources, each line parsed on its own."""
        found: dict[str, list[dict]] = {}
        for output in manifest["output"]:
            response = self.poll(output["url"], token)
            self.assertEqual(response.status_code, 200, response.content)
            self.assertEqual(response["Content-Type"], "application/fhir+ndjson")
            lines = response.content.decode().splitlines()
            self.assertEqual(len(lines), output["count"])
            for line in lines:
                resource = json.loads(line)
                self.assertEqual(resource["resourceType"], output["type"])
                self.assertTrue(resource["id"])
                found.setdefault(output["type"], []).append(resource)
        return found


class ClinicalBulkTestCase(BulkTestCase, ClinicalFhirTestCase):
    """The clinic's treatment records (``helpers_clinical``) in exports."""


class StateMachineTests(BulkTestCase):
    def test_kickoff_then_in_progress_then_the_manifest_and_its_files(self):
        url = self.accepted("Patient/$export")
        self.assertIn("/fhir/r4/$export-status/", url)
        waiting = self.poll(url)
        self.assertEqual(waiting.status_code, 202)
        self.assertEqual((waiting["X-Progress"], waiting["Retry-After"]), ("0%", "5"))

        bulk.run_pending(max_chunks=1)
        running = self.poll(url)
        self.assertEqual(running.status_code, 202)
        self.assertEqual(ExportJob.objects.get().status, ExportStatus.IN_PROGRESS)
        self.assertRegex(running["X-Progress"], r"^\d+%, \w+$")

        manifest = self.complete(url)
        self.assertEqual(
            set(manifest),
            {"transactionTime", "request", "requiresAccessToken", "output", "error"},
        )
        self.assertTrue(manifest["requiresAccessToken"])
        self.assertEqual(manifest["error"], [])
        self.assertTrue(manifest["request"].endswith("/fhir/r4/Patient/$export"))
        found = self.download(manifest)
        # No course yet, so no Encounter: a type with nothing to export has no file.
        self.assertEqual(sorted(found), ["Flag", "Observation", "Patient", "QuestionnaireResponse"])
        patients = {r["id"] for r in found["Patient"]}
        self.assertEqual(patients, {str(self.patient.pk), str(self.other_patient.pk)})
        # The same resources the reads serve: 2 + 9 + 7 Observations for a PHQ-9 and a GAD-7.
        self.assertEqual(len(found["Observation"]), 11 + 9)
        self.assertEqual(
            {r["id"] for r in found["QuestionnaireResponse"]},
            {str(self.phq9.pk), str(self.gad7.pk)},
        )
        read = self.fhir_json(f"Patient/{self.patient.pk}")
        self.assertIn(read, found["Patient"])

    def test_kickoff_and_each_download_are_audited(self):
        url = self.accepted("Patient/$export", _type="Patient")
        kickoff = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual((kickoff.action, kickoff.object_type), (Action.EXPORT, "fhir.export"))
        self.assertEqual(kickoff.detail["types"], ["Patient"])
        manifest = self.complete(url)
        self.download(manifest)
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual((event.action, event.detail["resources"]), (Action.EXPORT, 2))

    def test_a_client_that_accepts_gzip_gets_the_file_compressed(self):
        manifest = self.complete(self.accepted("Patient/$export", _type="Patient"))
        response = self.client.get(
            manifest["output"][0]["url"],
            HTTP_AUTHORIZATION=f"Bearer {self.token}",
            HTTP_ACCEPT_ENCODING="gzip, deflate",
        )
        self.assertEqual(response["Content-Encoding"], "gzip")
        lines = gzip.decompress(response.content).decode().splitlines()
        self.assertEqual(len(lines), 2)
        self.assertEqual({json.loads(line)["resourceType"] for line in lines}, {"Patient"})

    def test_a_chunk_at_a_time_each_a_file(self):
        with mock.patch.object(bulk, "CHUNK", 1):
            manifest = self.complete(self.accepted("Patient/$export", _type="Patient"))
        self.assertEqual([o["count"] for o in manifest["output"]], [1, 1])
        ids = {r["id"] for r in self.download(manifest)["Patient"]}
        self.assertEqual(ids, {str(self.patient.pk), str(self.other_patient.pk)})

    def test_delete_cancels_and_the_status_url_is_then_404(self):
        url = self.accepted("Patient/$export")
        bulk.run_pending(max_chunks=1)
        self.assertEqual(self.poll(url, method="delete").status_code, 202)
        self.assertEqual(self.poll(url).status_code, 404)
        self.assertEqual(self.poll(url, method="delete").status_code, 404)
        bulk.run_pending()
        job = ExportJob.objects.get()
        self.assertEqual(job.status, ExportStatus.CANCELLED)
        self.assertFalse(ExportFile.objects.exists())

    def test_expired_files_are_deleted_and_the_status_is_410(self):
        self.clinic_a.settings = {"bulk_export_hours": 2}
        self.clinic_a.save(update_fields=["settings"])
        url = self.accepted("Patient/$export", _type="Patient")
        manifest = self.complete(url)
        job = ExportJob.objects.get()
        self.assertAlmostEqual(
            job.expires_at - job.completed_at, timedelta(hours=2), delta=timedelta(seconds=1)
        )
        self.assertEqual(bulk.expire_exports(timezone.now()), 0)
        self.assertEqual(bulk.expire_exports(job.expires_at + timedelta(seconds=1)), 1)
        self.assertEqual(self.poll(url).status_code, 410)
        self.assertEqual(self.poll(manifest["output"][0]["url"]).status_code, 404)
        self.assertFalse(ExportFile.objects.exists())

    def test_past_its_time_a_file_is_gone_even_before_the_cleanup(self):
        url = self.accepted("Patient/$export", _type="Patient")
        manifest = self.complete(url)
        ExportJob.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        self.assertEqual(self.poll(url).status_code, 410)
        self.assertEqual(self.poll(manifest["output"][0]["url"]).status_code, 404)

    def test_the_worker_builds_exports_on_its_pass(self):
        url = self.accepted("Patient/$export", _type="Patient")
        counts = run_clinic_jobs()
        self.assertEqual(counts.count("fhir_export"), 1)
        self.assertEqual(self.poll(url).status_code, 200)


class ParameterTests(BulkTestCase):
    def test_type_limits_the_files_and_an_unknown_type_is_400(self):
        manifest = self.complete(self.accepted("Patient/$export", _type="Patient,Flag"))
        self.assertEqual({o["type"] for o in manifest["output"]}, {"Patient", "Flag"})
        for bad in ("Bogus", "Patient,AuditEvent", "Questionnaire"):
            with self.subTest(bad=bad):
                response = self.kickoff("Patient/$export", _type=bad)
                self.assertEqual(response.status_code, 400)
                body = response.json()
                self.assertEqual(body["resourceType"], "OperationOutcome")
                self.assertIn("_type", body["issue"][0]["diagnostics"])

    def test_since_exports_only_what_changed_after_it(self):
        since = timezone.now()
        later = measures.record_measure(
            actor_for(self.nurse, self.clinic_a), self.other_patient, "gad7", [1] * 7
        )
        manifest = self.complete(
            self.accepted(
                "Patient/$export",
                _since=since.isoformat(),
                _type="Patient,QuestionnaireResponse",
            )
        )
        found = self.download(manifest)
        self.assertEqual([r["id"] for r in found["QuestionnaireResponse"]], [str(later.pk)])
        self.assertNotIn("Patient", found)

    def test_bad_parameters_are_400_naming_them(self):
        cases = [
            ({"_outputFormat": "text/csv"}, "_outputFormat"),
            ({"_since": "yesterday"}, "_since"),
            ({"_since": "2026-01-01T00:00:00"}, "_since"),
            ({"_typeFilter": "Patient?gender=female"}, "_typeFilter"),
        ]
        for params, name in cases:
            with self.subTest(params=params):
                response = self.kickoff("Patient/$export", **params)
                self.assertEqual(response.status_code, 400)
                self.assertTrue(response.json()["issue"][0]["diagnostics"].startswith(name))
        ok = self.kickoff("Patient/$export", _outputFormat="application/fhir+ndjson")
        self.assertEqual(ok.status_code, 202)

    def test_respond_async_is_required(self):
        response = self.client.get(
            "/fhir/r4/Patient/$export", HTTP_AUTHORIZATION=f"Bearer {self.token}"
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("Prefer", response.json()["issue"][0]["diagnostics"])


class GroupTests(BulkTestCase):
    def test_an_empty_group_completes_with_no_output(self):
        body = self.fhir_json("Group/active-tms")
        self.assertEqual((body["resourceType"], body["quantity"]), ("Group", 0))
        self.assertNotIn("member", body)
        manifest = self.complete(self.accepted("Group/active-tms/$export"))
        self.assertEqual((manifest["output"], manifest["error"]), ([], []))

    def test_a_group_exports_its_members_only(self):
        course = self.start_course(self.patient)
        body = self.fhir_json("Group/active-iv-ketamine")
        self.assertEqual(body["member"], [{"entity": {"reference": f"Patient/{self.patient.pk}"}}])
        found = self.download(self.complete(self.accepted("Group/active-iv-ketamine/$export")))
        self.assertEqual([r["id"] for r in found["Patient"]], [str(self.patient.pk)])
        self.assertEqual(
            {r["id"] for r in found["Encounter"]}, {str(s.pk) for s in course.sessions.all()}
        )
        self.assertTrue(
            all(
                r["subject"]["reference"] == f"Patient/{self.patient.pk}"
                for kind in ("Observation", "Encounter")
                for r in found[kind]
            )
        )

    def test_an_unknown_group_is_404(self):
        self.assertEqual(self.kickoff("Group/nope/$export").status_code, 404)
        self.assertEqual(self.fhir("Group/nope").status_code, 404)


class WallTests(BulkTestCase):
    def test_another_clinics_token_cannot_poll_or_download(self):
        url = self.accepted("Patient/$export", _type="Patient")
        manifest = self.complete(url)
        file_url = manifest["output"][0]["url"]
        for token in (self.api_token("prescriber_b"), self.api_token("nurse")):
            with self.subTest(token=token[:8]):
                self.assertEqual(self.poll(url, token).status_code, 404)
                self.assertEqual(self.poll(file_url, token).status_code, 404)
                self.assertEqual(self.poll(url, token, method="delete").status_code, 404)
        for target in (url, file_url):
            self.assertEqual(self.client.get(target).status_code, 401)
        self.assertEqual(self.poll(url).status_code, 200)

    def test_another_clinics_records_never_enter_an_export(self):
        found = self.download(self.complete(self.accepted("Patient/$export")))
        text = json.dumps(found)
        self.assertNotIn(str(self.patient_b.pk), text)
        self.assertNotIn(str(self.other_phq9.pk), text)

    def test_a_role_exports_only_what_it_may_read(self):
        token = self.api_token("frontdesk")
        self.assertEqual(
            self.kickoff("Patient/$export", token, _type="Observation").status_code, 403
        )
        found = self.download(self.complete(self.accepted("Patient/$export", token), token), token)
        self.assertEqual(sorted(found), ["Patient"])

    def test_system_level_is_for_clinic_administrators(self):
        self.assertEqual(self.kickoff("$export").status_code, 403)
        admin = self.api_token("admin")
        found = self.download(self.complete(self.accepted("$export", admin), admin), admin)
        self.assertEqual(sorted(found), ["Flag", "Observation", "Patient", "QuestionnaireResponse"])


class CapabilityTests(BulkTestCase):
    def test_the_capability_statement_names_the_export_operations(self):
        body = self.client.get("/fhir/r4/metadata").json()
        self.assertIn(
            "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data", body["instantiates"]
        )
        self.assertEqual(
            [op["name"] for op in body["rest"][0]["operation"]],
            ["export", "patient-export", "group-export"],
        )


class UncheckedTests(ClinicalBulkTestCase):
    def test_every_type_built_unchecked_is_what_the_models_produce(self):
        for kind, parts in bulk.EXPORTABLE.items():
            for part, exportable in enumerate(parts):
                rows = list(exportable.rows(self.clinic_a))
                self.assertTrue(rows, (kind, part))
                for row in rows:
                    checked = list(exportable.build(row))
                    with resources.unchecked():
                        fast = list(exportable.build(row))
                    with self.subTest(kind=kind, part=part, row=row.pk):
                        self.assertEqual(json.loads(json.dumps(fast)), checked)
        self.assertTrue(resources._CHECKED.get())

    def test_observations_built_together_are_each_as_read_alone(self):
        """An export builds a measure's or a set of vitals' Observations in one go, sharing
        their common parts; each equals the resource a read of its id returns."""
        exported = [
            resource
            for exportable in bulk.EXPORTABLE["Observation"]
            for row in exportable.rows(self.clinic_a)
            for resource in exportable.build(row)
        ]
        ids = {r["id"] for r in exported}
        self.assertTrue(any(i.endswith("-item9") for i in ids))
        self.assertTrue(any(i.endswith("-bp") for i in ids))
        for resource in exported:
            with self.subTest(id=resource["id"]):
                self.assertEqual(self.fhir_json(f"Observation/{resource['id']}"), resource)


class ClinicalTypeTests(ClinicalBulkTestCase):
    """Vital signs, Procedure, MedicationAdministration, CarePlan, Coverage and appointment
    Encounters: the resources the reads serve, in files of their own type, each valid."""

    def test_each_type_exports_its_resources_valid_and_as_read(self):
        expected = {
            "Procedure": {str(s.pk) for s in (self.tms_first, self.tms_second, self.tms_third)},
            "MedicationAdministration": {str(self.infusion.pk), str(self.spray.pk)},
            "CarePlan": {
                str(self.iv_course.pk),
                str(self.tms_course.pk),
                str(self.esketamine_course.pk),
                str(self.plan.pk),
            },
            "Coverage": {str(self.coverage.pk)},
        }
        vitals = {f"{self.vitals.pk}-{s}" for s in ("bp", "heart-rate", "spo2", "resp-rate")} | {
            f"{self.vitals_40.pk}-{s}" for s in ("bp", "heart-rate")
        }
        for kind in (
            "Observation",
            "Procedure",
            "MedicationAdministration",
            "CarePlan",
            "Coverage",
            "Encounter",
        ):
            with self.subTest(kind=kind):
                manifest = self.complete(self.accepted("Patient/$export", _type=kind))
                self.assertEqual({o["type"] for o in manifest["output"]}, {kind})
                for output in manifest["output"]:
                    first = json.loads(self.poll(output["url"]).content.decode().splitlines()[0])
                    self.assertEqual(first["resourceType"], kind)
                    self.assertEqual(validation_errors(first), [], (kind, first["id"]))
                found = self.download(manifest)[kind]
                ids = [r["id"] for r in found]
                self.assertEqual(len(ids), len(set(ids)))
                if kind in expected:
                    self.assertEqual(set(ids), expected[kind])
                elif kind == "Observation":
                    # The questionnaires' 11 + 9, then the vital signs in a file of their own.
                    self.assertEqual(set(ids[20:]), vitals)
                    self.assertEqual(len(manifest["output"]), 2)
                else:
                    self.assertIn(str(self.therapy.pk), ids)
                    self.assertNotIn(str(self.infusion_booking.pk), ids)
                    self.assertTrue({str(s.pk) for s in self.iv_course.sessions.all()} <= set(ids))
        procedure = self.fhir_json(f"Procedure/{self.tms_second.pk}")
        manifest = self.complete(self.accepted("Patient/$export", _type="Procedure"))
        self.assertIn(procedure, self.download(manifest)["Procedure"])
        plan = self.fhir_json(f"CarePlan/{self.iv_course.pk}")
        manifest = self.complete(self.accepted("Patient/$export", _type="CarePlan"))
        self.assertIn(plan, self.download(manifest)["CarePlan"])

    def test_since_leaves_out_older_rows_of_a_new_type(self):
        since = timezone.now()
        later = Coverage.objects.create(
            clinic=self.clinic_a,
            patient=self.other_patient,
            payer=self.payer,
            member_id="NEW-2",
            effective_from=self.coverage.effective_from,
            created_by=self.front_desk,
        )
        vital = VitalSign.objects.create(
            clinic=self.clinic_a,
            patient=self.other_patient,
            session=self.spray,
            taken_at=self.spray.started_at,
            heart_rate=80,
            recorded_by=self.nurse,
        )
        manifest = self.complete(
            self.accepted("Patient/$export", _since=since.isoformat(), _type="Coverage,Observation")
        )
        found = self.download(manifest)
        self.assertEqual([r["id"] for r in found["Coverage"]], [str(later.pk)])
        self.assertEqual([r["id"] for r in found["Observation"]], [f"{vital.pk}-heart-rate"])
        for resource in found["Coverage"] + found["Observation"]:
            self.assertGreaterEqual(resource["meta"]["lastUpdated"], resources.instant(since))

    def test_a_group_exports_only_its_patients_resources_of_the_new_types(self):
        kinds = "Observation,Procedure,MedicationAdministration,CarePlan,Coverage,Encounter"
        found = self.download(
            self.complete(self.accepted("Group/active-esketamine/$export", _type=kinds))
        )
        self.assertEqual([r["id"] for r in found["MedicationAdministration"]], [str(self.spray.pk)])
        self.assertEqual([r["id"] for r in found["CarePlan"]], [str(self.esketamine_course.pk)])
        self.assertNotIn("Procedure", found)
        self.assertNotIn("Coverage", found)
        mine = f"Patient/{self.other_patient.pk}"
        for kind, rows in found.items():
            for resource in rows:
                reference = resource.get("subject") or resource.get("beneficiary")
                self.assertEqual(reference["reference"], mine, (kind, resource["id"]))

        found = self.download(self.complete(self.accepted("Group/active-tms/$export", _type=kinds)))
        self.assertEqual(len(found["Procedure"]), 3)
        self.assertEqual([r["id"] for r in found["Coverage"]], [str(self.coverage.pk)])
        self.assertIn(str(self.therapy.pk), {r["id"] for r in found["Encounter"]})
        self.assertNotIn(str(self.spray.pk), json.dumps(found))

    def test_another_clinics_rows_never_appear(self):
        admin = self.api_token("admin")
        for path, token in (("$export", admin), ("Patient/$export", None)):
            with self.subTest(path=path):
                found = self.download(self.complete(self.accepted(path, token), token), token)
                self.assertTrue(
                    {"Procedure", "MedicationAdministration", "CarePlan", "Coverage"} <= set(found)
                )
                text = json.dumps(found)
                for row in (
                    self.patient_b,
                    self.course_b,
                    self.session_b,
                    self.vitals_b,
                    self.coverage_b,
                    self.appointment_b,
                ):
                    self.assertNotIn(str(row.pk), text)
                self.assertNotIn("AuditEvent", found)

    def test_a_role_without_coverage_reads_gets_no_coverage(self):
        token = self.api_token("nurse")
        self.assertEqual(self.kickoff("Patient/$export", token, _type="Coverage").status_code, 403)
        found = self.download(self.complete(self.accepted("Patient/$export", token), token), token)
        self.assertNotIn("Coverage", found)
        self.assertIn("Procedure", found)
        token = self.api_token("frontdesk")
        found = self.download(self.complete(self.accepted("Patient/$export", token), token), token)
        self.assertEqual(sorted(found), ["CarePlan", "Coverage", "Patient"])


class ChunkQueryTests(ClinicalBulkTestCase):
    """A chunk costs the same number of queries whatever the number of rows it holds."""

    def queries_of_first_chunk(self, kind: str, size: int) -> tuple[int, int]:
        job = bulk.request_export(
            actor_for(self.prescriber, self.clinic_a),
            ExportKind.PATIENT,
            request_url="test",
            types=[kind],
        )
        bulk._begin(job)
        with mock.patch.object(bulk, "CHUNK", size), CaptureQueriesContext(connection) as ctx:
            bulk._chunk(job)
        written = ExportFile.objects.get(job=job)
        return len(ctx.captured_queries), written.count

    def test_procedures_one_and_ten_rows_a_chunk_cost_the_same_queries(self):
        for session in self.tms_course.sessions.filter(number__in=range(5, 12)):
            given(session, self.tms)
            TmsRecord.objects.create(session=session, intensity_pct_mt=120, coil="H1")
        one, made = self.queries_of_first_chunk("Procedure", 1)
        self.assertEqual(made, 1)
        ten, made = self.queries_of_first_chunk("Procedure", 10)
        self.assertEqual(made, 10)
        self.assertEqual(one, ten)

    def test_encounters_one_and_ten_rows_a_chunk_cost_the_same_queries(self):
        self.assertGreaterEqual(self.tms_course.sessions.count(), 10)
        one, made = self.queries_of_first_chunk("Encounter", 1)
        self.assertEqual(made, 1)
        ten, made = self.queries_of_first_chunk("Encounter", 10)
        self.assertEqual(made, 10)
        self.assertEqual(one, ten)

    def test_care_plans_one_and_three_rows_a_chunk_cost_the_same_queries(self):
        one, made = self.queries_of_first_chunk("CarePlan", 1)
        self.assertEqual(made, 1)
        three, made = self.queries_of_first_chunk("CarePlan", 3)
        self.assertEqual(made, 3)
        self.assertEqual(one, three)
