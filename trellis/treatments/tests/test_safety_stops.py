"""Safety limits that stop, not advise: the pre-dose hold for IV ketamine and esketamine, one
ketamine-family dose a day, TMS intensity limits, and a prescriber's audited override. Also the
session page's one banner, computed boxes after a refused save, and the checklist after vitals."""

import re
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest

from trellis.audit.models import Action, AuditEvent
from trellis.testing import actor_for
from trellis.treatments import documentation as doc
from trellis.treatments import services, sessions
from trellis.treatments.models import SafetyOverride, Session
from trellis.treatments.tests.helpers import SERTRALINE
from trellis.treatments.tests.test_courses_api import CourseApiTestCase
from trellis.treatments.tests.test_sessions import ESKETAMINE_NOTE, INFUSION, SessionTestCase

# --- The rules as plain functions ---------------------------------------------------------------

LIMITS = doc.PredoseLimits()  # 160/100, SpO₂ 94 (clinic settings' defaults)


@pytest.mark.parametrize(
    ("bp", "spo2", "rules"),
    [
        (None, None, []),
        ((159, 99), 94, []),  # just under the hold, at the floor
        ((160, 80), 98, ["predose_bp_hold"]),  # systolic at the hold level
        ((130, 100), 98, ["predose_bp_hold"]),  # diastolic at the hold level
        ((170, 105), 98, ["predose_bp_hold"]),
        ((120, 80), 93, ["predose_spo2_floor"]),  # below the floor
        ((170, 105), 90, ["predose_bp_hold", "predose_spo2_floor"]),
    ],
)
def test_the_pre_dose_hold(bp, spo2, rules):
    problems = doc.predose_problems("first_device_at", bp, spo2, LIMITS)
    assert [p.rule for p in problems] == rules
    assert all(p.overridable and p.field == "first_device_at" for p in problems)


def test_the_hold_level_is_the_clinics():
    assert doc.predose_problems("x", (165, 95), None, doc.PredoseLimits(170, 110, 94)) == []


@pytest.mark.parametrize(
    ("pct_mt", "output", "rules"),
    [
        (120, 60, []),
        (None, None, []),
        (121, 61, ["tms_max_pct_mt"]),
        (110, 101, ["tms_device_output"]),
        (130, 104, ["tms_max_pct_mt", "tms_device_output"]),
    ],
)
def test_tms_intensity_limits(pct_mt, output, rules):
    problems = doc.tms_intensity_problems(pct_mt, output, 120)
    assert [p.rule for p in problems] == rules
    # Past 100 % of the device no one may override.
    assert [p.overridable for p in problems] == [r == "tms_max_pct_mt" for r in rules]


def test_a_second_dose_the_same_day_names_the_first():
    assert doc.same_day_dose_problem("infusion_started_at", []) == []
    (problem,) = doc.same_day_dose_problem("infusion_started_at", ["esketamine at 09:00"])
    assert "esketamine at 09:00" in problem.message and problem.overridable


def test_esketamine_side_effects_leave_out_what_the_rems_questions_ask():
    for effect in ("sedation", "dissociation", "respiratory depression"):
        assert effect in doc.KETAMINE_SIDE_EFFECTS
        assert effect not in doc.ESKETAMINE_SIDE_EFFECTS


def test_every_cadss6_item_has_a_subject():
    assert set(doc.CADSS6_SUBJECTS) == set(doc.CADSS6_ITEMS)


# --- Through the pages --------------------------------------------------------------------------


def banners(response) -> int:
    return len(re.findall(r'class="safety-banner"', response.content.decode()))


class InfusionStopTests(SessionTestCase):
    protocol = "ketamine-iv-induction"

    def note(self, **extra):
        return {**INFUSION, "infusion_started_at": "09:05", **extra}

    def save(self, **extra):
        return self.client.post(f"/sessions/{self.session.id}/save/", self.note(**extra))

    def test_a_nurse_cannot_start_an_infusion_at_170_over_105(self):
        self.begin()
        self.sign_in(self.nurse)
        self.vitals("08:55", "pre-dose", bp_systolic=170, bp_diastolic=105, spo2=98)
        page = self.client.get(f"/sessions/{self.session.id}/")
        self.assertContains(page, "Dosing cannot start at a pre-dose blood pressure of 170/105")

        response = self.save()
        self.assertContains(response, "Refused: the note was not saved", status_code=422)
        self.assertEqual(banners(response), 1)
        self.assertContains(
            response, "at or above the clinic&#x27;s hold level of 160/100", None, 422
        )
        self.assertContains(response, "Only a prescriber may override this stop", status_code=422)
        self.assertNotContains(response, 'name="override_reason"', status_code=422)
        self.assertIsNone(Session.objects.get(pk=self.session.pk).infusion.infusion_started_at)

        # A reason from a nurse changes nothing.
        response = self.save(override_reason="BP always runs high")
        self.assertContains(response, "Only a prescriber may override", status_code=422)
        self.assertFalse(SafetyOverride.objects.exists())

    def test_a_prescriber_overrides_the_hold_with_a_reason_that_is_kept_and_audited(self):
        self.begin()
        self.sign_in(self.prescriber)
        self.vitals("08:55", "pre-dose", bp_systolic=170, bp_diastolic=105)
        response = self.save()
        self.assertContains(response, 'name="override_reason"', status_code=422)
        self.assertContains(response, "Override and save", status_code=422)

        reason = "Anxious at arrival; 165/100 on repeat; agreed with patient"
        response = self.save(override_reason=reason)
        self.assertRedirects(response, f"/sessions/{self.session.id}/")
        override = SafetyOverride.objects.get()
        self.assertEqual(
            (override.rule, override.reason, override.prescriber, override.session_id),
            ("predose_bp_hold", reason, self.prescriber, self.session.id),
        )
        event = AuditEvent.objects.get(action=Action.CREATE, object_id=str(override.id))
        self.assertEqual(event.detail["reason"], reason)
        self.assertIsNotNone(Session.objects.get(pk=self.session.pk).infusion.infusion_started_at)
        self.assertContains(self.client.get(f"/sessions/{self.session.id}/"), reason)

        # The nurse saves the rest of the note without being stopped again.
        self.sign_in(self.nurse)
        self.assertRedirects(self.save(infusion_ended_at="09:45"), f"/sessions/{self.session.id}/")

    def test_a_repeat_reading_below_the_hold_lets_dosing_start(self):
        self.begin()
        self.sign_in(self.nurse)
        self.vitals("08:50", "pre-dose", bp_systolic=170, bp_diastolic=105)
        self.vitals("09:00", "", bp_systolic=150, bp_diastolic=92)
        self.assertRedirects(self.save(), f"/sessions/{self.session.id}/")

    def test_a_reading_after_the_start_is_not_the_pre_dose_one(self):
        self.begin()
        self.sign_in(self.nurse)
        self.vitals("08:55", "pre-dose", bp_systolic=130, bp_diastolic=80)
        self.vitals("09:40", "during", bp_systolic=172, bp_diastolic=104)
        self.assertRedirects(self.save(), f"/sessions/{self.session.id}/")

    def test_spo2_below_the_floor_stops_dosing(self):
        self.begin()
        self.sign_in(self.nurse)
        self.vitals("08:55", "pre-dose", bp_systolic=128, bp_diastolic=80, spo2=92)
        response = self.save()
        self.assertContains(response, "pre-dose SpO₂ of 92 %", status_code=422)

    def test_the_hold_follows_the_clinics_setting(self):
        self.clinic_a.settings = {"predose_bp_systolic_hold": 175, "predose_bp_diastolic_hold": 110}
        self.clinic_a.save()
        self.begin()
        self.sign_in(self.nurse)
        self.vitals("08:55", "pre-dose", bp_systolic=170, bp_diastolic=105)
        self.assertRedirects(self.save(), f"/sessions/{self.session.id}/")

    def test_one_banner_lists_every_problem_by_field(self):
        self.begin()
        self.sign_in(self.nurse)
        self.vitals("08:55", "pre-dose", bp_systolic=170, bp_diastolic=105)
        response = self.save(
            dose_mg_per_kg="1.0", minutes="abc", discharged_at="08:00", infusion_ended_at="09:45"
        )
        self.assertEqual(response.status_code, 422)
        self.assertEqual(banners(response), 1)
        banner = response.content.decode().split('class="safety-banner"')[1].split("</section>")[0]
        # A field that could not be read, and what the rest of the note breaks.
        self.assertIn("<strong>Over (minutes)</strong>", banner)
        self.assertIn("<strong>Infusion started</strong>", banner)
        self.assertIn("hold level of 160/100", banner)
        self.assertIn("<strong>Discharged</strong>", banner)
        self.assertIn("is before infusion ended at", banner)

    def test_computed_boxes_follow_the_refused_values_not_the_saved_ones(self):
        self.begin()
        self.sign_in(self.nurse)
        self.assertRedirects(
            self.client.post(f"/sessions/{self.session.id}/save/", INFUSION),
            f"/sessions/{self.session.id}/",
        )
        self.assertContains(self.client.get(f"/sessions/{self.session.id}/"), "151.2 mL/h")

        # 1.0 mg/kg is past the clinic limit: refused, and the boxes show 80 mg, not 40 mg.
        response = self.client.post(
            f"/sessions/{self.session.id}/save/", {**INFUSION, "dose_mg_per_kg": "1.0"}
        )
        self.assertContains(response, "above the clinic limit", status_code=422)
        self.assertContains(response, "<dd>80.00 mg</dd>", status_code=422)
        self.assertNotContains(response, "40.00 mg", status_code=422)
        self.assertNotContains(response, "151.2 mL/h", status_code=422)

        # A value that cannot be read: the boxes are blank.
        response = self.client.post(
            f"/sessions/{self.session.id}/save/", {**INFUSION, "vial_mg_per_ml": "x"}
        )
        self.assertEqual(response.status_code, 422)
        self.assertNotContains(response, "mL/h</dd>", status_code=422)
        self.assertEqual(
            Session.objects.get(pk=self.session.pk).infusion.rate_ml_per_h, Decimal("151.2")
        )

    def test_a_second_ketamine_dose_the_same_day_is_refused_unless_a_prescriber_overrides(self):
        self.begin()
        self.sign_in(self.nurse)
        self.assertRedirects(self.save(), f"/sessions/{self.session.id}/")

        second = self.course.sessions.get(number=2)
        sessions.begin_session(  # ahead of its day, so a prescriber begins it with a reason
            actor_for(self.prescriber, self.clinic_a),
            second,
            reason="Second dose the same day, to test the stop",
            now=datetime.combine(self.day, time(15), self.tz),
        )
        url = f"/sessions/{second.id}/save/"
        response = self.client.post(url, {**INFUSION, "infusion_started_at": "15:10"})
        self.assertContains(response, "already given to this patient today", status_code=422)
        self.assertContains(response, "IV ketamine at 09:05, session 1", status_code=422)

        self.sign_in(self.prescriber)
        response = self.client.post(
            url,
            {**INFUSION, "infusion_started_at": "15:10", "override_reason": "Morning dose lost"},
        )
        self.assertRedirects(response, f"/sessions/{second.id}/")
        self.assertEqual(SafetyOverride.objects.get().rule, "same_day_ketamine_dose")

    def test_an_esketamine_dose_the_same_day_counts_too(self):
        self.begin()
        self.sign_in(self.nurse)
        self.assertRedirects(self.save(), f"/sessions/{self.session.id}/")
        prescriber = actor_for(self.prescriber, self.clinic_a)
        course = services.start_course(
            prescriber, self.patient, "esketamine-trd", self.day, with_antidepressant=SERTRALINE
        )
        session = course.sessions.get(number=1)
        Session.objects.filter(pk=session.pk).update(planned_date=self.day)
        session.planned_date = self.day
        sessions.begin_session(
            self.nurse_actor, session, now=datetime.combine(self.day, time(14), self.tz)
        )
        response = self.client.post(
            f"/sessions/{session.id}/save/", {**ESKETAMINE_NOTE, "first_device_at": "14:05"}
        )
        self.assertContains(response, "IV ketamine at 09:05", status_code=422)


class EsketamineStopTests(SessionTestCase):
    def test_esketamine_dosing_is_held_at_the_same_level(self):
        self.begin()
        self.sign_in(self.nurse)
        self.vitals("08:55", "pre-dose", bp_systolic=162, bp_diastolic=96)
        response = self.client.post(f"/sessions/{self.session.id}/save/", ESKETAMINE_NOTE)
        self.assertContains(response, "<strong>First device</strong>", status_code=422)
        self.assertContains(response, "pre-dose blood pressure of 162/96", status_code=422)
        self.assertIsNone(Session.objects.get(pk=self.session.pk).esketamine.first_device_at)

    def test_dissociation_is_asked_once(self):
        self.begin()
        self.sign_in(self.nurse)
        page = self.client.get(f"/sessions/{self.session.id}/").content.decode()
        self.assertEqual(page.count('name="dissociation"'), 2)  # the Yes / No pair
        self.assertNotIn('name="side_effects" value="dissociation"', page)
        self.assertNotIn('name="side_effects" value="sedation"', page)
        self.assertIn('name="side_effects" value="dizziness"', page)

    def test_the_checklist_updates_when_vitals_are_added(self):
        self.begin()
        self.sign_in(self.nurse)
        self.assertContains(self.client.get(f"/sessions/{self.session.id}/"), "BP before dosing")
        response = self.client.post(
            f"/sessions/{self.session.id}/vitals/",
            {"taken_at": "08:55", "label": "pre-dose", "bp_systolic": 128, "bp_diastolic": 80},
            headers={"HX-Request": "true"},
        )
        body = response.content.decode()
        self.assertIn('id="vitals"', body)
        self.assertIn('<div id="checklist" hx-swap-oob="true">', body)
        checklist = body.split('id="checklist"')[1]
        self.assertIn("BP at 40 minutes", checklist)
        self.assertNotIn("BP before dosing", checklist)
        self.assertIn('<div id="session-warnings" hx-swap-oob="true">', body)

    def test_a_high_reading_added_by_htmx_warns_at_once(self):
        self.begin()
        self.sign_in(self.nurse)
        response = self.client.post(
            f"/sessions/{self.session.id}/vitals/",
            {"taken_at": "08:55", "label": "pre-dose", "bp_systolic": 170, "bp_diastolic": 105},
            headers={"HX-Request": "true"},
        )
        warnings = response.content.decode().split('id="session-warnings"')[1]
        self.assertIn("Dosing cannot start at a pre-dose blood pressure of 170/105", warnings)


class CadssTests(SessionTestCase):
    protocol = "ketamine-iv-induction"

    def test_cadss_items_show_their_subject_not_a_bare_number(self):
        self.begin()
        self.sign_in(self.nurse)
        page = self.client.get(f"/sessions/{self.session.id}/")
        self.assertContains(page, "1. Time seemed to slow down")
        self.assertContains(page, "22. Seemed detached from what was going on")
        self.assertNotContains(page, "CADSS item 1<")


class TmsStopTests(SessionTestCase):
    protocol = "tms-10hz"

    def threshold(self, percent, days_ago=0):
        return sessions.record_motor_threshold(
            self.nurse_actor,
            self.patient,
            measured_on=self.day - timedelta(days=days_ago),
            percent_output=percent,
            method="emg",
        )

    def save(self, threshold, pct_mt, **extra):
        data = {"motor_threshold": str(threshold.id), "intensity_pct_mt": str(pct_mt), **extra}
        return self.client.post(f"/sessions/{self.session.id}/save/", data)

    def test_above_the_clinics_maximum_is_refused_unless_a_prescriber_overrides(self):
        self.begin()
        threshold = self.threshold(50)
        self.sign_in(self.tms)
        response = self.save(threshold, 130)
        self.assertContains(response, "above the clinic&#x27;s maximum of 120 % MT", None, 422)
        self.assertContains(response, "Only a prescriber may override", status_code=422)
        # Computed from what was entered (130 % × 50), not from the note as saved.
        self.assertContains(response, "Output: <strong>65 %</strong>", status_code=422)

        self.sign_in(self.prescriber)
        response = self.save(threshold, 130, override_reason="Protocol change agreed")
        self.assertRedirects(response, f"/sessions/{self.session.id}/")
        self.assertEqual(Session.objects.get(pk=self.session.pk).tms.intensity_pct_output, 65)

    def test_above_the_devices_full_output_is_refused_even_for_a_prescriber(self):
        self.begin()
        threshold = self.threshold(88)
        self.sign_in(self.prescriber)
        response = self.save(threshold, 120, override_reason="Trying")
        self.assertContains(response, "gives 106 % of the device&#x27;s output", status_code=422)
        self.assertNotContains(response, "Override and save", status_code=422)
        self.assertIsNone(Session.objects.get(pk=self.session.pk).tms.motor_threshold_id)

    def test_an_old_motor_threshold_warns(self):
        threshold = self.threshold(50, days_ago=10)
        self.begin()
        self.sign_in(self.tms)
        self.assertRedirects(self.save(threshold, 120), f"/sessions/{self.session.id}/")
        page = self.client.get(f"/sessions/{self.session.id}/")
        self.assertContains(page, "is more than 7 days old: re-measure it")


class ActiveCourseWarningTests(SessionTestCase):
    protocol = "tms-10hz"

    def test_a_second_active_course_of_another_modality_warns_with_what_is_active(self):
        prescriber = actor_for(self.prescriber, self.clinic_a)
        self.sign_in(self.prescriber)
        page = self.client.get(f"/patients/{self.patient.id}/courses/new/")
        self.assertContains(page, "Already active for Ada")
        self.assertContains(page, "TMS 10 Hz, left DLPFC")

        course = services.start_course(
            prescriber, self.patient, "esketamine-trd", self.day, with_antidepressant=SERTRALINE
        )
        self.assertEqual(len(course.warnings), 1)
        self.assertIn("already has an active TMS course", course.warnings[0])
        event = AuditEvent.objects.get(action=Action.CREATE, object_id=str(course.id))
        self.assertEqual(event.detail["warnings"], course.warnings)

        # The same modality again is not this warning's business.
        again = services.start_course(prescriber, self.patient, "tms-itbs", self.day)
        self.assertEqual(len(again.warnings), 1)  # only the esketamine course
        self.assertIn("active Esketamine (Spravato) course", again.warnings[0])

    def test_the_new_course_page_passes_the_warning_on(self):
        self.sign_in(self.prescriber)
        response = self.client.post(
            f"/patients/{self.patient.id}/courses/new/",
            {
                "protocol": "ketamine-iv-induction",
                "start_date": (self.clinic_a.today() + timedelta(days=1)).isoformat(),
                "override_reason": "",
                "payer": "",
                "authorization_ref": "",
                "authorized_units": "",
            },
            follow=True,
        )
        self.assertContains(response, "already has an active TMS course")


class ActiveCourseWarningApiTests(CourseApiTestCase):
    def test_the_api_carries_the_warning_in_a_list(self):
        self.sign_screening_for(self.patient)
        first = self.start("prescriber", protocol="tms-10hz")
        self.assertEqual(first.status_code, 201)
        self.assertEqual(first.json()["warnings"], [])
        second = self.start("prescriber", protocol="esketamine-trd")
        self.assertEqual(second.status_code, 201)
        (warning,) = second.json()["warnings"]
        self.assertIn("already has an active TMS course (TMS 10 Hz, left DLPFC", warning)
