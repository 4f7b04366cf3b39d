"""Roles as documented (docs/permissions.md): therapists write notes but never document the
treatment; the front desk never sees why a contraindication was overridden."""

from datetime import timedelta

from trellis.patients.services import create_screening, sign_screening
from trellis.patients.tests.test_api import SAFE_ANSWERS, ApiTestCase
from trellis.testing import actor_for
from trellis.treatments import services
from trellis.treatments.models import InfusionRecord, Session, SessionStatus
from trellis.treatments.tests.test_courses import TMS_CONTRAINDICATED, next_monday
from trellis.treatments.tests.test_sessions import SessionTestCase


class TherapistOnIvKetamineTests(SessionTestCase):
    protocol = "ketamine-iv-induction"

    def test_a_therapist_cannot_begin_a_session(self):
        self.sign_in(self.therapist)
        response = self.client.post(f"/sessions/{self.session.id}/begin/")
        self.assertEqual(response.status_code, 403)
        self.session.refresh_from_db()
        self.assertEqual(self.session.status, SessionStatus.PLANNED)
        page = self.client.get(f"/sessions/{self.session.id}/")
        self.assertNotContains(page, "Begin session")
        self.assertNotContains(page, f"/sessions/{self.session.id}/begin/")

    def test_a_therapist_cannot_change_the_dose_or_the_weight(self):
        self.begin()
        self.sign_in(self.therapist)
        response = self.client.post(
            f"/sessions/{self.session.id}/save/",
            {"weight_kg": "95", "dose_mg_per_kg": "0.7", "minutes": "40"},
        )
        self.assertEqual(response.status_code, 403)
        record = Session.objects.get(pk=self.session.pk).infusion
        self.assertEqual(record.weight_kg, 80)
        self.assertEqual(str(record.dose_mg_per_kg), "0.50")

    def test_a_therapist_cannot_record_vitals_or_weights(self):
        self.begin()
        self.sign_in(self.therapist)
        response = self.vitals("09:10", "during", bp_systolic=130, bp_diastolic=80)
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self.session.vitals.exists())
        response = self.client.post(
            f"/patients/{self.patient.id}/measurements/new/",
            {"measured_on": self.day.isoformat(), "weight_kg": "95"},
        )
        self.assertEqual(response.status_code, 403)

    def test_the_therapist_sees_no_treatment_controls_and_writes_a_progress_note(self):
        self.begin()
        self.sign_in(self.therapist)
        page = self.client.get(f"/sessions/{self.session.id}/")
        self.assertNotContains(page, "Save note")
        self.assertNotContains(page, "Add vitals")
        self.assertNotContains(page, "Sign session")
        # The free-text therapist's note is retired: new words go into a progress note.
        self.assertNotContains(page, "Save therapist's note")
        self.assertContains(page, "Write progress note")
        response = self.client.post(
            f"/sessions/{self.session.id}/therapy-note/", {"therapy_note": "Free text"}
        )
        self.assertEqual(response.status_code, 404)
        self.assertEqual(Session.objects.get(pk=self.session.pk).infusion.therapy_note, "")

    def test_an_earlier_therapists_note_stays_read_only_beside_the_treatment_note(self):
        self.begin()
        InfusionRecord.objects.filter(session=self.session).update(
            therapy_note="Integration discussed."
        )
        self.sign_in(self.nurse)
        self.client.post(
            f"/sessions/{self.session.id}/save/", {"dose_mg_per_kg": "0.5", "note": "Calm."}
        )
        record = Session.objects.get(pk=self.session.pk).infusion
        self.assertEqual((record.note, record.therapy_note), ("Calm.", "Integration discussed."))
        for user in (self.nurse, self.therapist):
            self.sign_in(user)
            page = self.client.get(f"/sessions/{self.session.id}/")
            self.assertContains(page, "Integration discussed.")
            self.assertContains(page, "written before progress notes; read only")
            self.assertNotContains(page, 'name="therapy_note"')

    def test_a_therapist_adds_an_addendum_to_a_signed_session(self):
        self.begin()
        Session.objects.filter(pk=self.session.pk).update(
            signed_at=self.session.started_at + timedelta(hours=2),
            signed_by=self.nurse,
            status=SessionStatus.SIGNED,
        )
        self.sign_in(self.therapist)
        self.assertContains(self.client.get(f"/sessions/{self.session.id}/"), "Add addendum")
        self.client.post(
            f"/sessions/{self.session.id}/addenda/",
            {"reason": "Therapy note missing", "text": "Processed the experience together."},
        )
        self.assertEqual(self.session.addenda.get().author, self.therapist)
        response = self.client.post(
            f"/sessions/{self.session.id}/therapy-note/", {"therapy_note": "Too late"}
        )
        self.assertEqual(response.status_code, 404)


class TherapistOnTmsTests(SessionTestCase):
    protocol = "tms-10hz"

    def test_a_therapist_cannot_set_tms_parameters_or_the_motor_threshold(self):
        self.begin()
        self.sign_in(self.therapist)
        response = self.client.post(
            f"/sessions/{self.session.id}/save/",
            {"intensity_pct_mt": "130", "pulses_planned": "3000"},
        )
        self.assertEqual(response.status_code, 403)
        response = self.client.post(
            f"/sessions/{self.session.id}/motor-threshold/",
            {"measured_on": self.day.isoformat(), "percent_output": "50", "method": "emg"},
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self.patient.motor_thresholds.exists())
        self.assertEqual(Session.objects.get(pk=self.session.pk).tms.intensity_pct_mt, 120)
        page = self.client.get(f"/sessions/{self.session.id}/")
        self.assertNotContains(page, "Record a motor threshold")
        self.assertContains(page, "Write progress note")


class TherapistApiTests(ApiTestCase):
    def test_a_therapist_token_cannot_register_a_weight_or_start_a_course(self):
        body = {
            "given_name": "Mary",
            "family_name": "Shelley",
            "birth_date": "1990-08-30",
            "sex": "female",
            "weight_kg": 61.5,
        }
        self.assertEqual(self.call("post", "/api/v1/patients", "therapist", body).status_code, 403)
        prescriber = actor_for(self.prescriber, self.clinic_a)
        screening = create_screening(prescriber, self.patient, SAFE_ANSWERS, [])
        sign_screening(prescriber, screening, acknowledge_cautions=True)
        response = self.call(
            "post",
            f"/api/v1/patients/{self.patient.id}/courses",
            "therapist",
            {"protocol": "tms-10hz", "start_date": next_monday(self.clinic_a).isoformat()},
        )
        self.assertEqual(response.status_code, 403)


REASON = "Clip is titanium, cleared by neurosurgery"


class OverrideReasonTests(ApiTestCase):
    def setUp(self):
        prescriber = actor_for(self.prescriber, self.clinic_a)
        screening = create_screening(prescriber, self.patient, TMS_CONTRAINDICATED, [])
        sign_screening(prescriber, screening, acknowledge_cautions=True)
        self.course = services.start_course(
            prescriber,
            self.patient,
            "tms-10hz",
            next_monday(self.clinic_a),
            override_reason=REASON,
        )

    def test_the_front_desk_page_shows_the_calendar_but_not_the_override(self):
        self.sign_in(self.front_desk)
        page = self.client.get(f"/courses/{self.course.id}/")
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "Calendar")
        self.assertNotContains(page, REASON)
        self.assertNotContains(page, "overridden")
        self.sign_in(self.prescriber)
        self.assertContains(self.client.get(f"/courses/{self.course.id}/"), REASON)

    def test_the_front_desk_api_response_carries_no_override_reason(self):
        body = self.call("get", f"/api/v1/courses/{self.course.id}", "frontdesk").json()
        self.assertIsNone(body["override_reason"])
        self.assertNotIn(REASON, str(body))
        body = self.call("get", f"/api/v1/courses/{self.course.id}", "nurse").json()
        self.assertEqual(body["override_reason"], REASON)
