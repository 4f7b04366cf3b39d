"""Oral and sublingual ketamine given in the clinic (DOMAIN.md §9): the dose limit, the sign
checklist, the stops it shares with IV ketamine, the protocols and the session page."""

from decimal import Decimal

import pytest

from trellis.lib.errors import Conflict
from trellis.patients import services as patient_services
from trellis.patients.models import Screening
from trellis.patients.tests.test_api import SAFE_ANSWERS, TRD_TRIALS
from trellis.testing import actor_for
from trellis.treatments import documentation as doc
from trellis.treatments import services, sessions
from trellis.treatments.models import OralDoseRecord, SafetyOverride, Session, SessionStatus
from trellis.treatments.tests.test_courses_api import CourseApiTestCase
from trellis.treatments.tests.test_sessions import SessionTestCase

# --- The dose limit, as a plain function ---------------------------------------------------------


@pytest.mark.parametrize(
    ("dose", "protocol_max", "clinic_max", "rule", "words"),
    [
        (None, 200, 300, None, ""),  # no dose yet
        (Decimal("100"), 200, 300, None, ""),
        (Decimal("200"), 200, 300, None, ""),  # at the protocol's maximum: within it
        (Decimal("200.5"), 200, 300, "oral_ketamine_max_mg", "the protocol's maximum of 200 mg"),
        (Decimal("300"), None, 300, None, ""),  # no protocol maximum: the clinic's limit
        (Decimal("301"), None, 300, "oral_ketamine_max_mg", "the clinic's limit of 300 mg"),
        # The lower of the two decides, whichever it is.
        (Decimal("250"), 300, 240, "oral_ketamine_max_mg", "the clinic's limit of 240 mg"),
        (Decimal("250"), 200, 240, "oral_ketamine_max_mg", "the protocol's maximum of 200 mg"),
        # Not a dose at all: refused as input, never overridable.
        (Decimal("0"), 200, 300, "input", "more than 0"),
        (Decimal("-5"), 200, 300, "input", "more than 0"),
        (Decimal("1500"), 200, 300, "input", "at most 1000 mg"),
    ],
)
def test_the_oral_dose_limit(dose, protocol_max, clinic_max, rule, words):
    problems = doc.oral_dose_problems(dose, protocol_max, clinic_max)
    assert [p.rule for p in problems] == ([rule] if rule else [])
    for problem in problems:
        assert problem.field == "dose_mg"
        assert words in problem.message
        assert problem.overridable == (rule == "oral_ketamine_max_mg")
        if problem.overridable:
            assert "[R81]" in problem.message


COMPLETE = {
    "route": "sublingual",
    "form": "troche",
    "dose_mg": Decimal("100"),
    "given_at": "set",
    "moaas_lowest": 4,
    "cadss6": [1, 0, 1, 0, 0, 1],
    "discharge_vitals_in_range": True,
    "discharge_moaas_5": True,
    "escort_present": True,
    "escort_name": "Sam Lee",
    "discharged_at": "set",
}


@pytest.mark.parametrize(
    ("changes", "vitals", "predose", "missing"),
    [
        ({}, 2, True, []),
        ({"route": ""}, 2, True, ["route"]),
        ({"form": ""}, 2, True, ["form (tablet, lozenge or troche)"]),
        ({"dose_mg": None}, 2, True, ["dose in mg"]),
        ({"given_at": None}, 2, True, ["time given"]),
        ({"moaas_lowest": None}, 2, True, ["lowest MOAA/S"]),
        ({"cadss6": [1, 0]}, 2, True, ["dissociation (CADSS-6)"]),
        ({"discharged_at": None}, 2, True, ["discharge time"]),
        ({}, 0, False, ["blood pressure before dosing", "at least one set of vital signs"]),
        ({}, 1, False, ["blood pressure before dosing"]),
        ({"escort_present": None}, 2, True, ["discharge criterion: escort present"]),
        ({"escort_present": False}, 2, True, ["discharge criterion: escort present"]),
        ({"escort_name": " "}, 2, True, ["the escort's name"]),
        ({"discharge_moaas_5": None}, 2, True, ["discharge criterion: MOAA/S 5 at discharge"]),
        # The lot is optional.
        ({"lot_number": ""}, 2, True, []),
    ],
)
def test_what_an_oral_note_needs_before_signing(changes, vitals, predose, missing):
    assert doc.oral_missing({**COMPLETE, **changes}, vitals, predose) == missing


def test_oral_side_effects_are_the_ketamine_labels_without_the_injection():
    assert "injection-site pain" not in doc.ORAL_KETAMINE_SIDE_EFFECTS
    assert set(doc.ORAL_KETAMINE_SIDE_EFFECTS) == set(doc.KETAMINE_SIDE_EFFECTS) - {
        "injection-site pain"
    }
    assert "urinary symptoms" in doc.ORAL_KETAMINE_SIDE_EFFECTS


# --- Through the session page ------------------------------------------------------------------

NOTE = {
    "route": "sublingual",
    "form": "troche",
    "dose_mg": "100",
    "given_at": "09:05",
    "lot_number": "T-2291",
    **{f"cadss_{i}": "1" for i in range(6)},
    "moaas_lowest": "4",
    "side_effects": ["dissociation", "nausea"],
    "discharge_vitals_in_range": "on",
    "discharge_moaas_5": "on",
    "escort_present": "on",
    "escort_name": "Sam Lee",
    "discharged_at": "11:00",
}


class OralSessionTests(SessionTestCase):
    protocol = "ketamine-sublingual-kap"

    def save(self, **changes):
        return self.client.post(f"/sessions/{self.session.id}/save/", {**NOTE, **changes})

    def record(self) -> OralDoseRecord:
        return OralDoseRecord.objects.get(session=self.session)

    def test_a_session_starts_from_the_protocol_and_signs_when_complete(self):
        self.begin()
        record = self.record()
        self.assertEqual(
            (record.route, record.form, record.dose_mg), ("sublingual", "troche", Decimal(100))
        )
        self.sign_in(self.nurse)
        page = self.client.get(f"/sessions/{self.session.id}/")
        for words in ("Escort&#x27;s name", "Sublingual", "Troche", "At most <strong>200 mg"):
            self.assertContains(page, words)
        self.assertContains(page, "Blood pressure before dosing")

        self.assertRedirects(self.save(), f"/sessions/{self.session.id}/")
        self.vitals("08:55", "pre-dose", bp_systolic=128, bp_diastolic=80, spo2=98)
        self.vitals("10:55", "pre-discharge", bp_systolic=124, bp_diastolic=78, spo2=98)
        record = self.record()
        self.assertEqual((record.escort_name, record.lot_number), ("Sam Lee", "T-2291"))
        self.assertEqual(record.cadss6, [1] * 6)
        self.assertEqual(sessions.missing_for_signing(self.session), [])

        self.assertRedirects(
            self.client.post(f"/sessions/{self.session.id}/sign/"), f"/sessions/{self.session.id}/"
        )
        self.assertEqual(Session.objects.get(pk=self.session.pk).status, SessionStatus.SIGNED)

    def test_it_will_not_sign_without_the_escorts_name(self):
        self.begin()
        self.sign_in(self.nurse)
        self.vitals("08:55", "pre-dose", bp_systolic=128, bp_diastolic=80, spo2=98)
        self.save(escort_name="")
        page = self.client.post(f"/sessions/{self.session.id}/sign/", follow=True)
        self.assertContains(page, "the escort&#x27;s name")
        self.assertFalse(Session.objects.get(pk=self.session.pk).is_signed)

    def test_a_dose_above_the_protocols_maximum_stops_until_a_prescriber_overrides(self):
        self.begin()
        self.sign_in(self.nurse)
        self.vitals("08:55", "pre-dose", bp_systolic=128, bp_diastolic=80, spo2=98)
        response = self.save(dose_mg="250")
        self.assertContains(response, "250 mg is above the protocol", status_code=422)
        response = self.save(dose_mg="250", override_reason="Titrated up per plan")
        self.assertContains(response, "Only a prescriber may override", status_code=422)
        self.assertEqual(self.record().dose_mg, Decimal(100))

        self.sign_in(self.prescriber)
        reason = "No response at 200 mg over three sessions; discussed with patient"
        self.assertRedirects(
            self.save(dose_mg="250", override_reason=reason), f"/sessions/{self.session.id}/"
        )
        record = self.record()
        self.assertEqual(
            (record.dose_mg, record.dose_override_reason, record.dose_override_by),
            (Decimal(250), reason, self.prescriber),
        )
        override = SafetyOverride.objects.get()
        self.assertEqual((override.rule, override.reason), ("oral_ketamine_max_mg", reason))
        self.assertContains(self.client.get(f"/sessions/{self.session.id}/"), reason)

    def test_the_clinics_lower_limit_decides(self):
        self.clinic_a.settings = {**self.clinic_a.settings, "oral_ketamine_max_mg": 150}
        self.clinic_a.save(update_fields=["settings"])
        self.begin()
        self.sign_in(self.nurse)
        response = self.save(dose_mg="175")
        self.assertContains(response, "the clinic&#x27;s limit of 150 mg", status_code=422)

    def test_the_pre_dose_hold_of_iv_ketamine_stops_an_oral_dose(self):
        self.begin()
        self.sign_in(self.nurse)
        self.vitals("08:55", "pre-dose", bp_systolic=170, bp_diastolic=105, spo2=98)
        response = self.save()
        self.assertContains(
            response, "dosing cannot start at a pre-dose blood pressure of 170/105", None, 422
        )
        self.assertIsNone(self.record().given_at)

    def test_a_second_ketamine_dose_the_same_day_is_stopped(self):
        self.begin()
        self.sign_in(self.nurse)
        self.assertRedirects(self.save(), f"/sessions/{self.session.id}/")
        second = self.course.sessions.get(number=2)
        Session.objects.filter(pk=second.pk).update(
            planned_date=self.day,
            status=SessionStatus.IN_PROGRESS,
            started_at=self.session.started_at,
        )
        second.refresh_from_db()
        sessions._create_record(second)
        response = self.client.post(f"/sessions/{second.id}/save/", {**NOTE, "given_at": "14:00"})
        self.assertContains(response, "oral ketamine at 09:05, session 1", status_code=422)


class OralScreeningTests(SessionTestCase):
    protocol = "ketamine-oral-supervised"

    def test_a_screening_signed_before_oral_ketamine_cannot_start_an_oral_course(self):
        screening = Screening.objects.get(pk=self.course.screening_id)
        findings = {k: v for k, v in screening.findings.items() if k != "oral_ketamine"}
        Screening.objects.filter(pk=screening.pk).update(findings=findings)
        prescriber = actor_for(self.prescriber, self.clinic_a)
        with self.assertRaises(Conflict) as raised:
            services.start_course(prescriber, self.patient, self.protocol, self.day)
        self.assertEqual(raised.exception.code, "screening_without_modality")
        self.sign_in(self.prescriber)
        page = self.client.get(f"/patients/{self.patient.id}/")
        self.assertContains(page, "signed before Trellis screened for it")

    def test_a_contraindication_for_iv_ketamine_contraindicates_oral_ketamine(self):
        prescriber = actor_for(self.prescriber, self.clinic_a)
        screening = patient_services.create_screening(
            prescriber, self.patient, {**SAFE_ANSWERS, "pregnant": True}, TRD_TRIALS
        )
        patient_services.sign_screening(prescriber, screening, acknowledge_cautions=True)
        with self.assertRaises(Conflict) as raised:
            services.start_course(prescriber, self.patient, self.protocol, self.day)
        self.assertEqual(raised.exception.code, "contraindicated")


class OralProtocolApiTests(CourseApiTestCase):
    def test_the_library_lists_the_oral_protocols_with_their_sources(self):
        body = self.call("get", "/api/v1/protocols", "frontdesk").json()
        oral = {p["code"]: p for p in body if p["modality"] == "oral_ketamine"}
        self.assertEqual(set(oral), {"ketamine-oral-supervised", "ketamine-sublingual-kap"})
        self.assertIn("Andrade 2019 [R81]", oral["ketamine-oral-supervised"]["source"])
        self.assertIn("[R82]", oral["ketamine-sublingual-kap"]["source"])
        self.assertEqual(oral["ketamine-sublingual-kap"]["sessions"], 6)

    def test_an_oral_course_needs_a_screening_that_decided_it(self):
        screening = self.sign_screening_for(self.patient)
        findings = {k: v for k, v in screening.findings.items() if k != "oral_ketamine"}
        Screening.objects.filter(pk=screening.pk).update(findings=findings)
        response = self.start(protocol="ketamine-oral-supervised")
        self.assertEqual(response.status_code, 409)
        self.assertIn("sign a new screening", response.json()["detail"])

        self.sign_screening_for(self.patient)
        response = self.start(protocol="ketamine-oral-supervised")
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["modality"], "oral_ketamine")
