"""Vital signs, TMS Procedures, dose MedicationAdministrations, CarePlans, Coverage, appointment
Encounters and the audit trail: what each carries, its searches and paging, the clinic wall,
the roles, and no psychotherapy note anywhere."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from trellis.audit.models import Action, AuditEvent
from trellis.billing.services import session_codes
from trellis.fhir.tests.helpers_clinical import ClinicalFhirTestCase
from trellis.testing import actor_for
from trellis.therapy.services import write_psychotherapy_note
from trellis.treatments.models import EsketamineRecord, InfusionRecord, TmsRecord

LOINC = "http://loinc.org"


def ids(body: dict) -> list[str]:
    return [e["resource"]["id"] for e in body.get("entry", [])]


class VitalSignTests(ClinicalFhirTestCase):
    def test_a_set_of_vitals_is_one_observation_per_sign_on_its_us_core_profile(self):
        pk = self.vitals.pk
        bp = self.fhir_json(f"Observation/{pk}-bp")
        self.assertEqual(bp["code"]["coding"], [{"system": LOINC, "code": "85354-9"}])
        self.assertEqual(bp["category"][0]["coding"][0]["code"], "vital-signs")
        self.assertEqual(
            [
                (
                    c["code"]["coding"][0]["code"],
                    c["valueQuantity"]["value"],
                    c["valueQuantity"]["code"],
                )
                for c in bp["component"]
            ],
            [("8480-6", 128, "mm[Hg]"), ("8462-4", 82, "mm[Hg]")],
        )
        self.assertEqual(bp["encounter"], {"reference": f"Encounter/{self.infusion.pk}"})
        self.assertEqual(bp["subject"], {"reference": f"Patient/{self.patient.pk}"})
        self.assertEqual(bp["note"], [{"text": "pre-dose"}])
        rate = self.fhir_json(f"Observation/{pk}-heart-rate")
        self.assertEqual(rate["code"]["coding"][0]["code"], "8867-4")
        self.assertEqual(
            (rate["valueQuantity"]["value"], rate["valueQuantity"]["code"]), (74, "/min")
        )
        oximetry = self.fhir_json(f"Observation/{pk}-spo2")
        self.assertEqual([c["code"] for c in oximetry["code"]["coding"]], ["59408-5", "2708-6"])
        self.assertEqual(oximetry["valueQuantity"]["code"], "%")
        breathing = self.fhir_json(f"Observation/{pk}-resp-rate")
        self.assertEqual(
            (breathing["code"]["coding"][0]["code"], breathing["valueQuantity"]["value"]),
            ("9279-1", 14),
        )
        # Not recorded at 40 minutes: no such Observation.
        for suffix in ("spo2", "resp-rate", "temperature"):
            self.assertEqual(
                self.fhir(f"Observation/{self.vitals_40.pk}-{suffix}").status_code, 404
            )

    def test_search_by_category_code_patient_and_date(self):
        body = self.fhir_json("Observation", category="vital-signs", patient=str(self.patient.pk))
        first, later = self.vitals.pk, self.vitals_40.pk
        self.assertEqual(
            ids(body),
            [
                f"{first}-bp",
                f"{first}-heart-rate",
                f"{first}-spo2",
                f"{first}-resp-rate",
                f"{later}-bp",
                f"{later}-heart-rate",
            ],
        )
        self.assertEqual(
            ids(self.fhir_json("Observation", code=f"{LOINC}|85354-9")),
            [f"{first}-bp", f"{later}-bp"],
        )
        self.assertEqual(ids(self.fhir_json("Observation", code="2708-6")), [f"{first}-spo2"])
        self.assertEqual(
            ids(self.fhir_json("Observation", code="8867-4,9279-1", category="vital-signs")),
            [f"{first}-heart-rate", f"{first}-resp-rate", f"{later}-heart-rate"],
        )
        day = self.infusion.planned_date
        self.assertEqual(
            self.fhir_json("Observation", category="vital-signs", date=day.isoformat())["total"],
            6,
        )
        self.assertEqual(
            self.fhir_json("Observation", category="vital-signs", date=f"gt{day}")["total"], 0
        )
        # Vital signs are no survey, and questionnaires no vital signs.
        self.assertEqual(
            self.fhir_json("Observation", category="survey", code="8867-4")["total"], 0
        )
        self.assertEqual(
            self.fhir_json("Observation", category="vital-signs", code="44261-6")["total"], 0
        )

    def test_paging_walks_questionnaires_then_vital_signs_once(self):
        seen, url = [], "/fhir/r4/Observation?_count=7"
        while url:
            body = self.client.get(url, HTTP_AUTHORIZATION=f"Bearer {self.token}").json()
            self.assertEqual(body["total"], 26)  # 20 from two questionnaires, 6 vital signs
            seen += ids(body)
            nxt = [link["url"] for link in body["link"] if link["relation"] == "next"]
            url = nxt[0].removeprefix("http://testserver") if nxt else None
        self.assertEqual(len(seen), 26)
        self.assertEqual(len(set(seen)), 26)
        self.assertEqual(seen[0], f"{self.phq9.pk}-panel")
        self.assertEqual(seen[20:22], [f"{self.vitals.pk}-bp", f"{self.vitals.pk}-heart-rate"])

    def test_another_clinics_vitals_are_404_and_never_found(self):
        self.assertEqual(self.fhir(f"Observation/{self.vitals_b.pk}-heart-rate").status_code, 404)
        found = ids(self.fhir_json("Observation", category="vital-signs", _count="200"))
        self.assertFalse([i for i in found if i.startswith(str(self.vitals_b.pk))])
        token_b = self.api_token("prescriber_b")
        response = self.fhir(f"Observation/{self.vitals_b.pk}-heart-rate", token=token_b)
        self.assertEqual(response.status_code, 200)

    def test_front_desk_may_not_read_vital_signs(self):
        response = self.fhir(f"Observation/{self.vitals.pk}-bp", token=self.api_token("frontdesk"))
        self.assertEqual(response.status_code, 403)
        self.assertEqual(response.json()["issue"][0]["code"], "forbidden")


class ProcedureTests(ClinicalFhirTestCase):
    def test_tms_sessions_carry_their_cpt_code_and_parameters(self):
        first = self.fhir_json(f"Procedure/{self.tms_first.pk}")
        cpt = "http://www.ama-assn.org/go/cpt"
        self.assertEqual(
            (first["code"]["coding"][0]["system"], first["code"]["coding"][0]["code"]),
            (cpt, "90867"),
        )
        self.assertEqual(first["status"], "completed")
        self.assertEqual(first["encounter"], {"reference": f"Encounter/{self.tms_first.pk}"})
        self.assertEqual(first["basedOn"], [{"reference": f"CarePlan/{self.tms_course.pk}"}])
        self.assertEqual(first["performedPeriod"]["start"][:10], str(self.tms_first.planned_date))
        self.assertEqual(first["performer"], [{"actor": {"display": self.tms.get_full_name()}}])
        note = first["note"][0]["text"]
        for words in (
            "coil figure-8",
            "resting motor threshold 55% of output",
            "intensity 120% MT (66% of output)",
            "10 Hz",
            "pulses 3000 delivered of 3000 planned",
        ):
            self.assertIn(words, note)
        self.assertEqual(
            first["usedCode"], [{"text": "NeuroStar Advanced Therapy"}, {"text": "Coil: figure-8"}]
        )
        second = self.fhir_json(f"Procedure/{self.tms_second.pk}")
        self.assertEqual(second["code"]["coding"][0]["code"], "90869")  # threshold re-measured
        self.assertIn("57% of output", second["note"][0]["text"])
        third = self.fhir_json(f"Procedure/{self.tms_third.pk}")
        self.assertEqual(
            (third["code"]["coding"][0]["code"], third["status"]), ("90868", "in-progress")
        )

    def test_the_code_is_the_one_the_session_is_billed_with(self):
        for session in (self.tms_first, self.tms_second, self.tms_third):
            with self.subTest(number=session.number):
                body = self.fhir_json(f"Procedure/{session.pk}")
                session.refresh_from_db()
                self.assertEqual(body["code"]["coding"][0]["code"], session_codes(session)[0].code)

    def test_sessions_not_begun_and_other_treatments_are_no_procedure(self):
        for session in (self.tms_planned, self.infusion, self.spray):
            with self.subTest(session=session.number):
                self.assertEqual(self.fhir(f"Procedure/{session.pk}").status_code, 404)

    def test_search_by_patient_date_and_last_updated(self):
        everything = [str(s.pk) for s in (self.tms_first, self.tms_second, self.tms_third)]
        self.assertEqual(ids(self.fhir_json("Procedure", patient=str(self.patient.pk))), everything)
        self.assertEqual(
            self.fhir_json("Procedure", patient=str(self.other_patient.pk))["total"], 0
        )
        day = self.tms_second.planned_date.isoformat()
        self.assertEqual(ids(self.fhir_json("Procedure", date=day)), [str(self.tms_second.pk)])
        self.assertEqual(ids(self.fhir_json("Procedure", date=f"ge{day}")), everything[1:])
        signed = self.tms_first.signed_at
        self.assertEqual(
            ids(self.fhir_json("Procedure", _lastUpdated=f"le{signed.isoformat()}")),
            [str(self.tms_first.pk)],
        )
        page = self.fhir_json("Procedure", _count="2")
        self.assertEqual(ids(page), everything[:2])
        self.assertIn(
            "_offset=2", next(lk["url"] for lk in page["link"] if lk["relation"] == "next")
        )
        self.assertEqual(self.fhir("Procedure", code="90867").status_code, 400)

    def test_another_clinics_procedure_is_404_and_never_found(self):
        self.assertEqual(self.fhir(f"Procedure/{self.session_b.pk}").status_code, 404)
        self.assertNotIn(str(self.session_b.pk), ids(self.fhir_json("Procedure")))
        token_b = self.api_token("prescriber_b")
        self.assertEqual(
            self.fhir(f"Procedure/{self.session_b.pk}", token=token_b).status_code, 200
        )


class MedicationAdministrationTests(ClinicalFhirTestCase):
    def test_an_infusion_is_its_dose_route_rate_and_encounter(self):
        dose = self.fhir_json(f"MedicationAdministration/{self.infusion.pk}")
        self.assertEqual(dose["status"], "completed")
        self.assertEqual(
            dose["medicationCodeableConcept"]["coding"][0],
            {
                "system": "urn:trellis:medication",
                "code": "ketamine-iv",
                "display": "Ketamine hydrochloride, intravenous infusion",
            },
        )
        self.assertEqual(dose["context"], {"reference": f"Encounter/{self.infusion.pk}"})
        self.assertEqual(dose["subject"], {"reference": f"Patient/{self.patient.pk}"})
        dosage = dose["dosage"]
        self.assertEqual((dosage["dose"]["value"], dosage["dose"]["code"]), (35.0, "mg"))
        self.assertEqual(dosage["route"], {"text": "Intravenous"})
        self.assertEqual(
            (dosage["rateQuantity"]["value"], dosage["rateQuantity"]["code"]), (150.0, "mL/h")
        )
        self.assertEqual(dose["note"], [{"text": "0.50 mg/kg over 40 minutes"}])
        self.assertEqual(dose["performer"], [{"actor": {"display": self.nurse.get_full_name()}}])
        self.assertIn("effectivePeriod", dose)

    def test_esketamine_carries_its_lot_on_a_contained_medication(self):
        dose = self.fhir_json(f"MedicationAdministration/{self.spray.pk}")
        self.assertEqual(dose["medicationReference"]["reference"], "#medication")
        medication = dose["contained"][0]
        self.assertEqual(medication["batch"], {"lotNumber": "LOT-56A1"})
        self.assertEqual(medication["code"]["coding"][0]["code"], "esketamine-nasal")
        self.assertEqual(dose["dosage"]["route"], {"text": "Nasal"})
        self.assertEqual(dose["dosage"]["dose"]["value"], 56.0)
        self.assertEqual(dose["note"], [{"text": "2 device(s) of 28 mg"}])

    def test_search_and_what_is_no_dose(self):
        self.assertEqual(
            sorted(ids(self.fhir_json("MedicationAdministration"))),
            sorted([str(self.infusion.pk), str(self.spray.pk)]),
        )
        self.assertEqual(
            ids(self.fhir_json("MedicationAdministration", patient=str(self.other_patient.pk))),
            [str(self.spray.pk)],
        )
        day = self.infusion.planned_date
        self.assertEqual(
            self.fhir_json("MedicationAdministration", **{"effective-time": f"gt{day}"})["total"], 0
        )
        self.assertEqual(
            self.fhir_json("MedicationAdministration", **{"effective-time": str(day)})["total"], 2
        )
        later = self.iv_course.sessions.get(number=2)
        for pk in (later.pk, self.tms_first.pk, self.session_b.pk):
            self.assertEqual(self.fhir(f"MedicationAdministration/{pk}").status_code, 404)


class CarePlanTests(ClinicalFhirTestCase):
    def test_a_course_is_a_care_plan_with_its_sessions_as_activities(self):
        plan = self.fhir_json(f"CarePlan/{self.tms_course.pk}")
        self.assertEqual((plan["status"], plan["intent"]), ("active", "plan"))
        self.assertEqual(plan["category"][0]["coding"][0]["code"], "assess-plan")
        self.assertEqual(plan["period"], {"start": self.tms_course.start_date.isoformat()})
        self.assertEqual(plan["title"], "TMS 10 Hz, left DLPFC")
        self.assertIn("2 given", plan["text"]["div"])
        self.assertEqual(plan["partOf"], [{"reference": f"CarePlan/{self.plan.pk}"}])
        activities = plan["activity"]
        self.assertEqual(len(activities), self.tms_course.sessions.count())
        first = activities[0]
        self.assertEqual(first["detail"]["status"], "completed")
        self.assertEqual(
            first["outcomeReference"],
            [
                {"reference": f"Encounter/{self.tms_first.pk}"},
                {"reference": f"Procedure/{self.tms_first.pk}"},
            ],
        )
        self.assertEqual(activities[2]["detail"]["status"], "in-progress")
        self.assertEqual(activities[3]["detail"]["status"], "not-started")
        self.assertNotIn("outcomeReference", activities[3])
        infusion = self.fhir_json(f"CarePlan/{self.iv_course.pk}")["activity"][0]
        self.assertEqual(
            infusion["outcomeReference"][1],
            {"reference": f"MedicationAdministration/{self.infusion.pk}"},
        )

    def test_a_combined_plan_holds_its_two_courses(self):
        plan = self.fhir_json(f"CarePlan/{self.plan.pk}")
        self.assertEqual(
            plan["supportingInfo"],
            [
                {"reference": f"CarePlan/{self.iv_course.pk}"},
                {"reference": f"CarePlan/{self.tms_course.pk}"},
            ],
        )
        self.assertEqual((plan["status"], plan["intent"]), ("active", "plan"))
        self.assertIn("TMS on separate days", plan["description"])

    def test_search_by_patient_category_and_date(self):
        mine = ids(self.fhir_json("CarePlan", patient=str(self.patient.pk), category="assess-plan"))
        self.assertEqual(
            sorted(mine),
            sorted(str(pk) for pk in (self.iv_course.pk, self.tms_course.pk, self.plan.pk)),
        )
        self.assertEqual(
            ids(self.fhir_json("CarePlan", patient=str(self.other_patient.pk))),
            [str(self.esketamine_course.pk)],
        )
        self.assertEqual(self.fhir_json("CarePlan", category="careteam")["total"], 0)
        start = self.tms_course.start_date
        self.assertEqual(self.fhir_json("CarePlan", date=str(start))["total"], 4)
        self.assertEqual(self.fhir_json("CarePlan", date=f"gt{start}")["total"], 0)
        paged = self.fhir_json("CarePlan", _count="3")
        self.assertEqual((paged["total"], len(paged["entry"])), (4, 3))
        rest = self.fhir_json("CarePlan", _count="3", _offset="3")
        self.assertEqual(len(set(ids(paged)) | set(ids(rest))), 4)

    def test_another_clinics_course_is_404_and_front_desk_may_read_plans(self):
        self.assertEqual(self.fhir(f"CarePlan/{self.course_b.pk}").status_code, 404)
        self.assertNotIn(str(self.course_b.pk), ids(self.fhir_json("CarePlan")))
        front = self.api_token("frontdesk")
        self.assertEqual(self.fhir(f"CarePlan/{self.plan.pk}", token=front).status_code, 200)


class CoverageTests(ClinicalFhirTestCase):
    def test_insurance_as_us_core_coverage(self):
        body = self.fhir_json(f"Coverage/{self.coverage.pk}")
        self.assertEqual(body["identifier"][0]["value"], "XJ-1234567")
        self.assertEqual(body["identifier"][0]["type"]["coding"][0]["code"], "MB")
        self.assertEqual(body["subscriberId"], "XJ-1234567")
        self.assertEqual(body["beneficiary"], {"reference": f"Patient/{self.patient.pk}"})
        self.assertEqual(body["relationship"]["coding"][0]["code"], "self")
        self.assertEqual(
            body["payor"],
            [
                {
                    "display": "Acme Health",
                    "identifier": {"system": "urn:trellis:payer-id", "value": "ACME1"},
                }
            ],
        )
        self.assertEqual(body["period"], {"start": self.coverage.effective_from.isoformat()})
        self.assertEqual(
            {c["type"]["coding"][0]["code"]: c["value"] for c in body["class"]},
            {"group": "G-88", "plan": "ppo"},
        )
        self.assertEqual(body["order"], 1)

    def test_roles_the_wall_and_search(self):
        self.assertEqual(self.fhir(f"Coverage/{self.coverage_b.pk}").status_code, 404)
        self.assertEqual(ids(self.fhir_json("Coverage")), [str(self.coverage.pk)])
        self.assertEqual(self.fhir_json("Coverage", patient=str(self.other_patient.pk))["total"], 0)
        front = self.api_token("frontdesk")
        self.assertEqual(self.fhir(f"Coverage/{self.coverage.pk}", token=front).status_code, 200)
        nurse = self.api_token("nurse")
        self.assertEqual(self.fhir(f"Coverage/{self.coverage.pk}", token=nurse).status_code, 403)
        self.assertEqual(self.fhir("Coverage", token=nurse).status_code, 403)


class AppointmentEncounterTests(ClinicalFhirTestCase):
    def test_an_appointment_that_is_no_session_is_an_encounter_with_its_status(self):
        body = self.fhir_json(f"Encounter/{self.therapy.pk}")
        self.assertEqual(body["status"], "cancelled")  # a no-show: R4 has no such status
        self.assertEqual(body["type"][0]["coding"][0]["code"], "therapy")
        self.assertEqual(body["class"]["code"], "AMB")
        self.assertEqual(
            body["participant"], [{"individual": {"display": self.therapist.get_full_name()}}]
        )
        self.assertEqual(body["period"]["start"][:10], self.therapy.start.date().isoformat())
        # A session's own appointment is that session's Encounter, not a second one.
        self.assertEqual(self.fhir(f"Encounter/{self.infusion_booking.pk}").status_code, 404)

    def test_search_gives_sessions_and_appointments_by_day(self):
        body = self.fhir_json("Encounter", patient=str(self.patient.pk), _count="200")
        sessions = self.iv_course.sessions.count() + self.tms_course.sessions.count()
        self.assertEqual(body["total"], sessions + 1)
        found = ids(body)
        self.assertIn(str(self.therapy.pk), found)
        self.assertNotIn(str(self.infusion_booking.pk), found)
        day = self.therapy.day.isoformat()
        on_day = ids(self.fhir_json("Encounter", date=day, _count="200"))
        self.assertIn(str(self.therapy.pk), on_day)
        statuses = {e["resource"]["id"]: e["resource"]["status"] for e in body["entry"]}
        self.assertEqual(statuses[str(self.infusion.pk)], "finished")
        self.assertEqual(statuses[str(self.tms_third.pk)], "in-progress")

    def test_another_clinics_appointment_is_404_and_never_found(self):
        self.assertEqual(self.fhir(f"Encounter/{self.appointment_b.pk}").status_code, 404)
        self.assertNotIn(str(self.appointment_b.pk), ids(self.fhir_json("Encounter", _count="200")))
        token_b = self.api_token("prescriber_b")
        self.assertEqual(
            self.fhir(f"Encounter/{self.appointment_b.pk}", token=token_b).status_code, 200
        )


class AuditEventTests(ClinicalFhirTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.admin_token = self.api_token("admin")

    def test_administrators_read_their_clinics_trail(self):
        self.fhir_json(f"Patient/{self.patient.pk}")  # the prescriber reads a patient
        read = AuditEvent.objects.filter(action=Action.READ).order_by("-seq").first()
        response = self.fhir(f"AuditEvent/{read.seq}", token=self.admin_token)
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        self.assertEqual((body["action"], body["outcome"]), ("R", "0"))
        self.assertEqual(body["type"]["code"], "read")
        self.assertEqual(body["agent"][0]["who"], {"display": "prescriber"})
        self.assertTrue(body["agent"][0]["requestor"])
        self.assertIn({"what": {"reference": f"Patient/{self.patient.pk}"}}, body["entity"])
        self.assertNotIn("detail", str(body["entity"]))
        # The administrator's read is on the trail too.
        last = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual(
            (last.action, last.object_type, last.object_id, last.username),
            (Action.READ, "audit.auditevent", str(read.seq), "admin"),
        )

    def test_other_roles_are_403_operation_outcome(self):
        event = AuditEvent.objects.filter(clinic=self.clinic_a).order_by("-seq").first()
        for username in ("prescriber", "nurse", "frontdesk", "therapist", "tms"):
            token = self.api_token(username)
            for path in (f"AuditEvent/{event.seq}", "AuditEvent"):
                with self.subTest(username=username, path=path):
                    response = self.fhir(path, token=token)
                    self.assertEqual(response.status_code, 403)
                    body = response.json()
                    self.assertEqual(
                        (body["resourceType"], body["issue"][0]["code"]),
                        ("OperationOutcome", "forbidden"),
                    )

    def test_another_clinics_events_are_404_and_never_found(self):
        event_b = AuditEvent.objects.filter(clinic=self.clinic_b).order_by("-seq").first()
        self.assertEqual(
            self.fhir(f"AuditEvent/{event_b.seq}", token=self.admin_token).status_code, 404
        )
        self.assertEqual(
            self.fhir("AuditEvent/not-a-number", token=self.admin_token).status_code, 404
        )
        url, seen = "/fhir/r4/AuditEvent?_count=200", []
        while url:
            body = self.client.get(url, HTTP_AUTHORIZATION=f"Bearer {self.admin_token}").json()
            seen += ids(body)
            nxt = [lk["url"] for lk in body["link"] if lk["relation"] == "next"]
            url = nxt[0].removeprefix("http://testserver") if nxt else None
        own = set(AuditEvent.objects.filter(clinic=self.clinic_a).values_list("seq", flat=True))
        self.assertNotIn(str(event_b.seq), seen)
        self.assertTrue({int(i) for i in seen} <= own)

    def test_search_by_patient_and_date(self):
        body = self.fhir_json(f"Patient/{self.other_patient.pk}")  # one read of Grace
        self.assertEqual(body["id"], str(self.other_patient.pk))
        found = self.client.get(
            f"/fhir/r4/AuditEvent?patient={self.other_patient.pk}&_count=200",
            HTTP_AUTHORIZATION=f"Bearer {self.admin_token}",
        ).json()
        expected = AuditEvent.objects.filter(patient=self.other_patient).count()
        self.assertEqual(found["total"], expected)
        self.assertTrue(
            all(
                {"what": {"reference": f"Patient/{self.other_patient.pk}"}}
                in e["resource"]["entity"]
                for e in found["entry"]
            )
        )
        year = AuditEvent.objects.order_by("seq").first().occurred_at.year
        response = self.fhir("AuditEvent", token=self.admin_token, date=str(year - 1))
        self.assertEqual(response.json()["total"], 0)


class QueryCountTests(ClinicalFhirTestCase):
    def test_a_longer_page_takes_no_more_queries(self):
        admin = self.api_token("admin")
        for kind, token, params, sizes in (
            ("Observation", self.token, "category=vital-signs", (2, 5)),
            ("Procedure", self.token, "", (1, 3)),
            ("MedicationAdministration", self.token, "", (1, 2)),
            ("CarePlan", self.token, "", (2, 4)),  # both a combined plan and courses
            # (sessions only: the appointments' part costs one query more, once)
            ("Encounter", self.token, f"patient={self.other_patient.pk}", (2, 5)),
            ("AuditEvent", admin, "", (2, 5)),
        ):
            self.client.get(f"/fhir/r4/{kind}", HTTP_AUTHORIZATION=f"Bearer {token}")
            counts = []
            for size in sizes:
                url = f"/fhir/r4/{kind}?_count={size}&{params}"
                with CaptureQueriesContext(connection) as queries:
                    body = self.client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}").json()
                self.assertEqual(len(body["entry"]), size, kind)
                counts.append(len(queries))
            with self.subTest(kind=kind):
                self.assertEqual(counts[0], counts[1])


class PsychotherapyNoteTests(ClinicalFhirTestCase):
    def test_no_new_type_returns_a_psychotherapy_notes_text(self):
        secret = "Session explored the patient's grief over their brother zyxwv"
        write_psychotherapy_note(actor_for(self.therapist, self.clinic_a), self.patient, secret)
        # The retired free-text therapy notes on the treatment records are not carried either.
        TmsRecord.objects.filter(session=self.tms_first).update(therapy_note=secret, note=secret)
        InfusionRecord.objects.filter(session=self.infusion).update(therapy_note=secret)
        EsketamineRecord.objects.filter(session=self.spray).update(therapy_note=secret)
        admin = self.api_token("admin")
        bodies = []
        for kind, token in (
            ("Observation", self.token),
            ("Procedure", self.token),
            ("MedicationAdministration", self.token),
            ("CarePlan", self.token),
            ("Coverage", self.token),
            ("Encounter", self.token),
            ("AuditEvent", admin),
        ):
            url = f"/fhir/r4/{kind}?_count=200"
            while url:
                response = self.client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
                self.assertEqual(response.status_code, 200, (kind, response.content))
                bodies.append(response.content.decode())
                body = response.json()
                for entry in body.get("entry", []):
                    resource = entry["resource"]
                    path = f"{resource['resourceType']}/{resource['id']}"
                    bodies.append(self.fhir(path, token=token).content.decode())
                nxt = [lk["url"] for lk in body["link"] if lk["relation"] == "next"]
                url = nxt[0].removeprefix("http://testserver") if nxt else None
        self.assertGreater(len(bodies), 100)
        self.assertFalse([b for b in bodies if "zyxwv" in b or "grief" in b])
        # The note's writing is on the trail, by type and id only, never by its words.
        self.assertTrue([b for b in bodies if "psychotherapynote" in b])
