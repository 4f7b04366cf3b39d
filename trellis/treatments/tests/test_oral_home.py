"""At-home oral ketamine through the pages, the services and the API: a prescription only where
the clinic prescribes for home, each resting on a PDMP check and a drug screen within the
clinic's interval; fills kept to the refills and the six months; early supply flagged; bladder
symptoms raising an alert; the escalating-dose watch over oral doses (DOMAIN.md §9)."""

from datetime import datetime, time, timedelta
from decimal import Decimal

from trellis.audit.models import Action, AuditEvent
from trellis.lib.errors import Conflict
from trellis.patients.tests.test_api import ApiTestCase
from trellis.safety.models import AlertKind, SafetyAlert
from trellis.testing import actor_for
from trellis.treatments import prescriptions, sessions
from trellis.treatments.models import (
    BladderCheck,
    InfusionRecord,
    OralDoseRecord,
    OralPrescription,
    PdmpCheck,
    PrescriptionFill,
    Session,
)
from trellis.treatments.tests.test_sessions import SessionTestCase

RX = {
    "product": "Ketamine HCl sublingual troche",
    "pharmacy": "Lakeside Compounding (503A)",
    "form": "troche",
    "route": "sublingual",
    "strength_mg": "100",
    "units_per_dose": "1",
    "quantity": "8",
    "days_supply": "28",
    "refills": "1",
    "directions": "Dissolve one troche under the tongue twice a week, with the monitor present.",
    "basis": "in_person",
    "peer_monitor_name": "Sam Lee",
    "peer_monitor_relationship": "partner",
}
NO_SYMPTOMS = {
    "frequency": "no",
    "urgency": "no",
    "nocturia": "no",
    "dysuria": "no",
    "haematuria": "no",
    "bladder_pain": "no",
}


def enable(clinic, **settings):
    clinic.settings = {**clinic.settings, "oral_home_prescribing": 1, **settings}
    clinic.save(update_fields=["settings"])


class OralHomeTestCase(SessionTestCase):
    protocol = "ketamine-sublingual-kap"

    def setUp(self):
        super().setUp()
        self.prescriber_actor = actor_for(self.prescriber, self.clinic_a)
        self.today = self.clinic_a.today()

    def enable(self, **settings):
        enable(self.clinic_a, **settings)
        self.patient.clinic.refresh_from_db()

    def checks(self, days_ago=0):
        day = self.today - timedelta(days=days_ago)
        prescriptions.record_pdmp_check(
            self.prescriber_actor, self.patient, checked_on=day, result="no_concerns"
        )
        prescriptions.record_urine_drug_screen(
            self.prescriber_actor, self.patient, collected_on=day, result="expected"
        )

    def issue(self, **changes):
        values = {**RX, **changes}
        values["strength_mg"] = Decimal(values["strength_mg"])
        for name in ("units_per_dose", "quantity", "days_supply", "refills"):
            values[name] = int(values[name])
        return prescriptions.issue_prescription(self.prescriber_actor, self.patient, **values)

    def url(self, tail=""):
        return f"/patients/{self.patient.id}/prescriptions/{tail}"


class PrescriptionPageTests(OralHomeTestCase):
    def test_a_clinic_that_does_not_prescribe_for_home_refuses_the_prescription(self):
        self.checks()
        self.sign_in(self.prescriber)
        page = self.client.get(self.url())
        self.assertContains(page, "does not prescribe oral ketamine for use at home")
        self.assertNotContains(page, "New prescription")
        response = self.client.post(self.url("new/"), RX)
        self.assertContains(response, "does not prescribe oral ketamine", status_code=409)
        self.assertFalse(OralPrescription.objects.exists())

    def test_it_is_refused_until_a_pdmp_check_and_a_drug_screen_are_recorded(self):
        enable(self.clinic_a)
        self.sign_in(self.prescriber)
        response = self.client.post(self.url("new/"), RX)
        self.assertContains(response, "no PDMP check is recorded", status_code=409)
        self.assertContains(response, "no urine drug screen is recorded", status_code=409)

        today = self.today.isoformat()
        response = self.client.post(
            f"/patients/{self.patient.id}/pdmp-checks/",
            {"checked_on": today, "result": "no_concerns"},
        )
        self.assertRedirects(response, self.url())
        response = self.client.post(
            f"/patients/{self.patient.id}/urine-drug-screens/",
            {"collected_on": today, "result": "expected"},
        )
        self.assertRedirects(response, self.url())
        response = self.client.post(self.url("new/"), RX)
        self.assertRedirects(response, self.url())

        rx = OralPrescription.objects.get()
        self.assertEqual((rx.quantity, rx.days_supply, rx.refills, rx.dose_mg), (8, 28, 1, 100))
        self.assertEqual(rx.pdmp_check, PdmpCheck.objects.get())
        self.assertEqual(rx.prescriber, self.prescriber)
        self.assertEqual(rx.void_on.month, (self.today.month + 5) % 12 + 1)
        self.assertTrue(
            AuditEvent.objects.filter(
                action=Action.CREATE, object_type="treatments.oralprescription"
            ).exists()
        )
        page = self.client.get(self.url())
        self.assertContains(page, "Ketamine HCl sublingual troche")
        self.assertContains(page, "Monitor: Sam Lee (partner)")

    def test_a_pdmp_check_older_than_the_clinics_interval_does_not_count(self):
        self.enable(oral_home_pdmp_days=7)
        self.checks(days_ago=8)
        with self.assertRaises(Conflict) as raised:
            self.issue()
        self.assertIn("the last PDMP check was 8 days ago", raised.exception.message)
        self.checks(days_ago=7)
        self.assertEqual(self.issue().quantity, 8)

    def test_the_latest_signed_screening_must_allow_oral_ketamine(self):
        from trellis.patients import services as patient_services
        from trellis.patients.tests.test_api import SAFE_ANSWERS, TRD_TRIALS

        self.enable()
        self.checks()
        screening = patient_services.create_screening(
            self.prescriber_actor, self.patient, {**SAFE_ANSWERS, "pregnant": True}, TRD_TRIALS
        )
        patient_services.sign_screening(self.prescriber_actor, screening, acknowledge_cautions=True)
        with self.assertRaises(Conflict) as raised:
            self.issue()
        self.assertIn(
            "screening: the latest signed screening contraindicates", str(raised.exception)
        )
        self.assertFalse(OralPrescription.objects.exists())

    def test_a_clinic_that_needs_no_drug_screen(self):
        self.enable(oral_home_uds_days=0)
        prescriptions.record_pdmp_check(
            self.prescriber_actor, self.patient, checked_on=self.today, result="no_concerns"
        )
        self.assertIsNone(self.issue().urine_drug_screen)

    def test_each_broken_rule_is_named_on_its_field(self):
        enable(self.clinic_a)
        self.checks()
        self.sign_in(self.prescriber)
        response = self.client.post(
            self.url("new/"), {**RX, "quantity": "13", "days_supply": "31", "refills": "6"}
        )
        self.assertEqual(response.status_code, 422)
        form = response.context["form"]
        self.assertIn("above the clinic&#x27;s maximum of 12", str(form["quantity"].errors))
        self.assertIn("maximum of 30 days", str(form["days_supply"].errors))
        self.assertIn("at most 5", str(form["refills"].errors))
        response = self.client.post(self.url("new/"), {**RX, "peer_monitor_name": ""})
        self.assertIn("peer_monitor_name", response.context["form"].errors)
        self.assertFalse(OralPrescription.objects.exists())

    def test_only_a_prescriber_prescribes_and_another_clinic_sees_nothing(self):
        enable(self.clinic_a)
        self.checks()
        self.sign_in(self.nurse)
        self.assertEqual(self.client.get(self.url()).status_code, 200)
        self.assertEqual(self.client.get(self.url("new/")).status_code, 403)
        self.assertEqual(self.client.post(self.url("new/"), RX).status_code, 403)
        response = self.client.post(
            f"/patients/{self.patient.id}/pdmp-checks/",
            {"checked_on": self.today.isoformat(), "result": "no_concerns"},
        )
        self.assertEqual(response.status_code, 403)
        self.sign_in(self.front_desk)
        self.assertEqual(self.client.get(self.url()).status_code, 403)
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(self.url()).status_code, 404)
        self.assertEqual(self.client.post(self.url("new/"), RX).status_code, 404)
        self.assertFalse(OralPrescription.objects.exists())

    def test_a_second_prescription_before_the_supply_runs_out_needs_a_reason_and_is_flagged(self):
        self.enable()
        self.checks()
        first = self.issue()
        self.sign_in(self.prescriber)
        response = self.client.post(self.url("new/"), RX)
        self.assertEqual(response.status_code, 422)
        self.assertIn("28 days early", str(response.context["form"]["early_reason"].errors))
        response = self.client.post(self.url("new/"), {**RX, "early_reason": "Troches lost"})
        self.assertRedirects(response, self.url())
        second = OralPrescription.objects.exclude(pk=first.pk).get()
        self.assertEqual((second.early_days, second.early_reason), (28, "Troches lost"))
        self.assertContains(self.client.get(self.url()), "Early by 28 days")

    def test_an_unexpected_drug_screen_needs_its_findings_and_is_shown_before_prescribing(self):
        enable(self.clinic_a)
        self.sign_in(self.prescriber)
        response = self.client.post(
            f"/patients/{self.patient.id}/urine-drug-screens/",
            {"collected_on": self.today.isoformat(), "result": "unexpected"},
        )
        self.assertEqual(response.status_code, 422)
        self.assertIn("substances", response.context["uds_form"].errors)
        self.client.post(
            f"/patients/{self.patient.id}/urine-drug-screens/",
            {
                "collected_on": self.today.isoformat(),
                "result": "unexpected",
                "substances": "benzodiazepine",
            },
        )
        self.assertContains(self.client.get(self.url("new/")), "was unexpected (benzodiazepine)")


class FillTests(OralHomeTestCase):
    def test_fills_keep_to_the_refills_and_an_early_one_is_flagged(self):
        self.enable()
        self.checks()
        rx = self.issue(refills=1)
        start = self.today - timedelta(days=40)
        OralPrescription.objects.filter(pk=rx.pk).update(issued_on=start)
        rx.refresh_from_db()
        first = prescriptions.record_fill(self.prescriber_actor, rx, filled_on=start)
        self.assertIsNone(first.early_days)
        self.sign_in(self.prescriber)
        response = self.client.post(
            f"/prescriptions/{rx.id}/fills/",
            {"filled_on": (start + timedelta(days=20)).isoformat()},
        )
        self.assertRedirects(response, self.url())
        self.assertEqual(PrescriptionFill.objects.order_by("filled_on").last().early_days, 8)
        response = self.client.post(
            f"/prescriptions/{rx.id}/fills/", {"filled_on": self.today.isoformat()}
        )
        self.assertEqual(response.status_code, 422)
        self.assertContains(response, "allows 1 refill; all are used", status_code=422)
        self.assertEqual(PrescriptionFill.objects.count(), 2)

    def test_no_fill_once_the_prescription_is_void(self):
        self.enable()
        self.checks()
        rx = self.issue(refills=5)
        OralPrescription.objects.filter(pk=rx.pk).update(issued_on=self.today - timedelta(days=200))
        rx.refresh_from_db()
        with self.assertRaises(prescriptions.PrescriptionRefused) as raised:
            prescriptions.record_fill(self.prescriber_actor, rx, filled_on=self.today)
        self.assertIn("void from", str(raised.exception))


class BladderTests(OralHomeTestCase):
    def test_a_yes_raises_an_alert_for_the_prescriber_and_no_raises_none(self):
        self.sign_in(self.nurse)
        response = self.client.post(f"/patients/{self.patient.id}/bladder-checks/", NO_SYMPTOMS)
        self.assertRedirects(response, self.url())
        self.assertFalse(SafetyAlert.objects.exists())
        response = self.client.post(
            f"/patients/{self.patient.id}/bladder-checks/",
            {**NO_SYMPTOMS, "nocturia": "yes", "haematuria": "yes"},
        )
        self.assertRedirects(response, self.url())
        alert = SafetyAlert.objects.get()
        self.assertEqual((alert.kind, alert.severity), (AlertKind.URINARY_SYMPTOMS, "high"))
        self.assertIn("blood in the urine", alert.summary)
        check = BladderCheck.objects.get(alert=alert)
        self.assertTrue(check.haematuria and check.nocturia and not check.urgency)
        alert_page = self.client.get(f"/alerts/{alert.id}/")
        self.assertContains(alert_page, "Bladder and urinary symptoms asked on")

    def test_every_symptom_must_be_answered(self):
        self.sign_in(self.nurse)
        answers = {k: v for k, v in NO_SYMPTOMS.items() if k != "dysuria"}
        response = self.client.post(f"/patients/{self.patient.id}/bladder-checks/", answers)
        self.assertEqual(response.status_code, 422)
        self.assertIn("dysuria", response.context["bladder_form"].errors)
        self.assertFalse(BladderCheck.objects.exists())

    def test_the_oral_session_page_asks_them_when_due(self):
        self.begin()
        self.sign_in(self.nurse)
        page = self.client.get(f"/sessions/{self.session.id}/")
        self.assertContains(page, "Bladder and urinary symptoms")
        self.assertContains(page, "Due: ask today")
        response = self.client.post(
            f"/sessions/{self.session.id}/bladder-check/", {**NO_SYMPTOMS, "urgency": "yes"}
        )
        self.assertRedirects(
            response, f"/sessions/{self.session.id}/#bladder", fetch_redirect_response=False
        )
        check = BladderCheck.objects.get()
        self.assertEqual((check.session, check.urgency), (self.session, True))
        self.assertEqual(SafetyAlert.objects.get().severity, "elevated")
        page = self.client.get(f"/sessions/{self.session.id}/")
        self.assertNotContains(page, "Due: ask today")


class OralEscalationTests(OralHomeTestCase):
    def given(self, session, day, dose):
        Session.objects.filter(pk=session.pk).update(
            status="signed", started_at=datetime.combine(day, time(9), self.tz)
        )
        session.refresh_from_db()
        OralDoseRecord.objects.update_or_create(session=session, defaults={"dose_mg": dose})

    def test_supervised_and_prescribed_doses_are_watched_together(self):
        self.enable()
        start = self.today - timedelta(days=30)
        numbered = list(self.course.sessions.order_by("number")[:3])
        for offset, (session, dose) in enumerate(zip(numbered, (100, 125, 150), strict=True)):
            self.given(session, start + timedelta(days=7 * offset), Decimal(dose))
        self.assertFalse(prescriptions.oral_dose_escalation(self.patient).escalating)
        self.checks()
        self.issue(strength_mg="175")
        escalation = prescriptions.oral_dose_escalation(self.patient)
        self.assertTrue(escalation.escalating)
        self.assertIn("100 to 125 to 150 to 175 mg", escalation.reasons[0])
        self.assertIn("75 % above the first, 100 mg", escalation.reasons[1])
        self.sign_in(self.prescriber)
        self.assertContains(self.client.get(self.url()), "Rising oral ketamine dose")
        self.begin_later = self.course.sessions.get(number=4)
        page = self.client.get(f"/sessions/{numbered[0].id}/")
        self.assertContains(page, "Rising ketamine dose")


class IvMaintenanceEscalationTests(SessionTestCase):
    protocol = "ketamine-iv-induction"

    def test_maintenance_infusions_count_with_the_induction(self):
        prescriber = actor_for(self.prescriber, self.clinic_a)
        from trellis.treatments import services

        maintenance = services.start_course(
            prescriber, self.patient, "ketamine-iv-maintenance", self.day
        )
        start = self.clinic_a.today() - timedelta(days=60)
        rows = [
            (self.course.sessions.get(number=1), 0, "0.5"),
            (self.course.sessions.get(number=2), 2, "0.55"),
            (maintenance.sessions.order_by("number")[0], 30, "0.6"),
            (maintenance.sessions.order_by("number")[1], 37, "0.65"),
        ]
        for session, offset, dose in rows:
            Session.objects.filter(pk=session.pk).update(
                status="signed",
                started_at=datetime.combine(start + timedelta(days=offset), time(9), self.tz),
            )
            InfusionRecord.objects.update_or_create(
                session=session, defaults={"dose_mg_per_kg": Decimal(dose)}
            )
        history = sessions.dose_history(self.patient)
        self.assertEqual({s.course_id for _, _, s in history}, {self.course.pk, maintenance.pk})
        escalation = sessions.dose_escalation(self.patient)
        self.assertTrue(escalation.escalating)
        self.assertIn("0.5 to 0.55 to 0.6 to 0.65 mg/kg", escalation.reasons[0])


class OralApiTests(ApiTestCase):
    def setUp(self):
        from trellis.patients import services as patient_services
        from trellis.patients.tests.test_api import SAFE_ANSWERS, TRD_TRIALS
        from trellis.treatments import services

        prescriber = actor_for(self.prescriber, self.clinic_a)
        screening = patient_services.create_screening(
            prescriber, self.patient, SAFE_ANSWERS, TRD_TRIALS
        )
        patient_services.sign_screening(prescriber, screening)
        self.today = self.clinic_a.today()
        course = services.start_course(
            prescriber, self.patient, "ketamine-sublingual-kap", self.today
        )
        self.session = course.sessions.order_by("number").first()
        Session.objects.filter(pk=self.session.pk).update(planned_date=self.today)
        self.session.refresh_from_db()

    def begin(self):
        sessions.begin_session(actor_for(self.nurse, self.clinic_a), self.session)

    def test_a_sessions_oral_dose_is_read_and_recorded(self):
        path = f"/api/v1/sessions/{self.session.id}/oral"
        response = self.call("get", path, "nurse")
        self.assertEqual((response.status_code, response.json()["code"]), (409, "not_begun"))
        self.begin()
        body = self.call("get", path, "nurse").json()
        self.assertEqual(
            (body["route"], body["form"], body["dose_mg"]), ("sublingual", "troche", 100)
        )
        self.assertIn("time given", body["missing_for_signing"])
        given = datetime.combine(self.today, time(9, 5), self.clinic_a.tzinfo).isoformat()
        response = self.call(
            "put",
            path,
            "nurse",
            {"dose_mg": 150, "given_at": given, "moaas_lowest": 4, "side_effects": ["nausea"]},
        )
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        self.assertEqual((body["dose_mg"], body["moaas_lowest"]), (150, 4))
        self.assertNotIn("time given", body["missing_for_signing"])
        record = OralDoseRecord.objects.get(session=self.session)
        self.assertEqual((record.dose_mg, record.side_effects), (Decimal("150"), ["nausea"]))

    def test_a_dose_above_the_limit_is_a_safety_stop_a_prescriber_overrides(self):
        self.begin()
        path = f"/api/v1/sessions/{self.session.id}/oral"
        response = self.call("put", path, "nurse", {"dose_mg": 250})
        self.assertEqual((response.status_code, response.json()["code"]), (409, "safety_stop"))
        self.assertIn("dose_mg", response.json()["detail"])
        response = self.call(
            "put", path, "prescriber", {"dose_mg": 250, "override_reason": "Titrated, tolerated"}
        )
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["dose_override_reason"], "Titrated, tolerated")

    def test_bad_input_names_the_field(self):
        self.begin()
        path = f"/api/v1/sessions/{self.session.id}/oral"
        for body, field in (
            ({"route": "rectal"}, "route"),
            ({"cadss6": [1, 2]}, "cadss6"),
            ({"moaas_lowest": 7}, "moaas_lowest"),
            ({"given_at": "09:05"}, "given_at"),
            ({"escort_present": "yes"}, "escort_present"),
            ({"given_at": "2020-01-06T09:05:00-05:00"}, "given_at"),
        ):
            with self.subTest(field):
                response = self.call("put", path, "nurse", body)
                self.assertEqual(response.status_code, 422)
                self.assertEqual(response.json()["field"], field)

    def test_roles_and_clinics(self):
        self.begin()
        path = f"/api/v1/sessions/{self.session.id}/oral"
        self.assertEqual(self.call("get", path, "frontdesk").status_code, 403)
        self.assertEqual(self.call("put", path, "therapist", {"dose_mg": 100}).status_code, 403)
        self.assertEqual(self.call("get", path, "prescriber_b").status_code, 404)
        path = f"/api/v1/patients/{self.patient.id}/prescriptions"
        self.assertEqual(self.call("get", path, "prescriber_b").status_code, 404)
        body = {**RX, "strength_mg": 100, "quantity": 8, "units_per_dose": 1}
        body.update(days_supply=28, refills=0)
        self.assertEqual(self.call("post", path, "nurse", body).status_code, 403)

    def test_prescriptions_are_issued_after_the_checks_and_listed(self):
        enable(self.clinic_a)
        path = f"/api/v1/patients/{self.patient.id}/prescriptions"
        body = {**{k: v for k, v in RX.items()}, "strength_mg": 100, "quantity": 8}
        body.update(units_per_dose=1, days_supply=28, refills=1)
        response = self.call("post", path, "prescriber", body)
        self.assertEqual((response.status_code, response.json()["code"]), (409, "checks_missing"))
        today = self.today.isoformat()
        response = self.call(
            "post",
            f"/api/v1/patients/{self.patient.id}/pdmp-checks",
            "prescriber",
            {"checked_on": today, "result": "no_concerns"},
        )
        self.assertEqual(response.status_code, 201, response.content)
        response = self.call(
            "post",
            f"/api/v1/patients/{self.patient.id}/urine-drug-screens",
            "prescriber",
            {"collected_on": today, "result": "expected"},
        )
        self.assertEqual(response.status_code, 201, response.content)
        response = self.call("post", path, "prescriber", {**body, "refills": 6})
        self.assertEqual((response.status_code, response.json()["field"]), (422, "refills"))
        response = self.call("post", path, "prescriber", body)
        self.assertEqual(response.status_code, 201, response.content)
        created = response.json()
        self.assertEqual((created["quantity"], created["refills"]), (8, 1))
        listed = self.call("get", path, "nurse").json()
        self.assertEqual([p["id"] for p in listed], [created["id"]])
        self.assertIsNone(listed[0]["cancelled_at"])

        cancel = f"/api/v1/prescriptions/{created['id']}/cancel"
        response = self.call("post", cancel, "nurse", {"reason": "Stopped"})
        self.assertEqual(response.status_code, 403)
        response = self.call("post", cancel, "prescriber", {"reason": ""})
        self.assertEqual((response.status_code, response.json()["field"]), (422, "reason"))
        response = self.call("post", cancel, "prescriber", {"reason": "Stopped: bladder pain"})
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["cancel_reason"], "Stopped: bladder pain")
        self.assertIsNotNone(response.json()["cancelled_at"])
        response = self.call("post", cancel, "prescriber", {"reason": "Again"})
        answer = (response.status_code, response.json()["code"])
        self.assertEqual(answer, (409, "already_cancelled"))

    def test_bladder_symptoms_through_the_api(self):
        body = dict.fromkeys(NO_SYMPTOMS, False)
        path = f"/api/v1/patients/{self.patient.id}/bladder-checks"
        response = self.call("post", path, "nurse", {**body, "bladder_pain": True})
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["symptoms"], ["bladder_pain"])
        self.assertEqual(
            SafetyAlert.objects.get().pk.hex, response.json()["alert"].replace("-", "")
        )
        del body["nocturia"]
        response = self.call("post", path, "nurse", body)
        self.assertEqual((response.status_code, response.json()["field"]), (422, "nocturia"))
