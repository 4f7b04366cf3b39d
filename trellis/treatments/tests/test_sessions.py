"""Session documentation through the pages: esketamine with its REMS form, IV ketamine dosing,
vitals and alerts, TMS, signing and addenda."""

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from trellis.audit.models import Action, AuditEvent
from trellis.patients import services as patient_services
from trellis.patients.tests.test_api import SAFE_ANSWERS, TRD_TRIALS
from trellis.testing import TrellisTestCase, actor_for
from trellis.treatments import services, sessions
from trellis.treatments.models import RemsForm, RemsStatus, Session, SessionStatus
from trellis.treatments.tests.helpers import antidepressant


class SessionTestCase(TrellisTestCase):
    protocol = "esketamine-trd"

    def setUp(self):
        prescriber = actor_for(self.prescriber, self.clinic_a)
        screening = patient_services.create_screening(
            prescriber, self.patient, SAFE_ANSWERS, TRD_TRIALS
        )
        patient_services.sign_screening(prescriber, screening)
        patient_services.record_measurement(
            prescriber, self.patient, measured_on=self.clinic_a.today(), weight_kg=80
        )
        self.tz = self.clinic_a.tzinfo
        self.day = timezone.localdate(timezone=self.tz) - timedelta(days=1)
        self.course = services.start_course(
            prescriber,
            self.patient,
            self.protocol,
            self.day,
            with_antidepressant=antidepressant(self.protocol),
        )
        self.session = self.course.sessions.order_by("number").first()
        # Yesterday may be a weekend, which the calendar skips: the session was yesterday.
        Session.objects.filter(pk=self.session.pk).update(planned_date=self.day)
        self.session.planned_date = self.day
        self.nurse_actor = actor_for(self.nurse, self.clinic_a)

    def begin(self, hour=8, minute=55):
        sessions.begin_session(
            self.nurse_actor,
            self.session,
            now=datetime.combine(self.day, time(hour, minute), self.tz),
        )
        self.session.refresh_from_db()

    def vitals(self, clock: str, label: str = "", **values):
        data = {"taken_at": clock, "label": label, **values}
        return self.client.post(f"/sessions/{self.session.id}/vitals/", data)


ESKETAMINE_NOTE = {
    "dose_mg": "56",
    "lot_numbers": "LOT123, LOT124",
    "first_device_at": "09:00",
    "first_treatment": "yes",
    "vitals_acceptable_pre": "yes",
    "co_medications": ["benzodiazepines"],
    "sedation": "no",
    "dissociation": "yes",
    "dissociation_resolved_at": "10:05",
    "respiratory_depression": "no",
    "ready_to_leave_at": "10:20",
    "monitoring_ended_at": "10:30",
    "vitals_acceptable_end": "yes",
    "side_effects": ["dizziness"],
}


class EsketamineSessionTests(SessionTestCase):
    def test_a_full_esketamine_session_needs_120_minutes_and_files_the_rems_form(self):
        self.sign_in(self.nurse)
        self.session.planned_date = timezone.localdate(timezone=self.tz)  # begun today
        self.session.save(update_fields=["planned_date"])
        self.assertRedirects(
            self.client.post(f"/sessions/{self.session.id}/begin/"), f"/sessions/{self.session.id}/"
        )
        self.session.refresh_from_db()
        self.assertEqual(self.session.status, SessionStatus.IN_PROGRESS)
        self.session.started_at = datetime.combine(self.day, time(8, 55), self.tz)
        self.session.planned_date = self.day
        self.session.save(update_fields=["started_at", "planned_date"])

        response = self.client.post(f"/sessions/{self.session.id}/save/", ESKETAMINE_NOTE)
        self.assertRedirects(response, f"/sessions/{self.session.id}/")
        self.vitals("08:55", "pre-dose", bp_systolic=128, bp_diastolic=82, heart_rate=76, spo2=98)
        self.vitals("09:40", "40 min", bp_systolic=146, bp_diastolic=88, heart_rate=80, spo2=97)
        self.vitals("10:25", "pre-discharge", bp_systolic=130, bp_diastolic=80, spo2=98)

        # 90 minutes of monitoring: the prescriber cannot sign.
        self.sign_in(self.prescriber)
        page = self.client.post(f"/sessions/{self.session.id}/sign/", follow=True)
        self.assertContains(page, "monitoring of at least 120 minutes (recorded 90)")
        self.session.refresh_from_db()
        self.assertFalse(self.session.is_signed)
        self.assertFalse(RemsForm.objects.exists())

        # At 120 minutes it signs, and the REMS form is due seven days after the session.
        self.client.post(
            f"/sessions/{self.session.id}/save/",
            {**ESKETAMINE_NOTE, "monitoring_ended_at": "11:00"},
        )
        response = self.client.post(f"/sessions/{self.session.id}/sign/")
        self.assertRedirects(response, f"/sessions/{self.session.id}/")
        self.session.refresh_from_db()
        self.assertTrue(self.session.is_signed)
        self.assertEqual(self.session.status, SessionStatus.SIGNED)
        form = RemsForm.objects.get(session=self.session)
        self.assertEqual(form.due_date, self.day + timedelta(days=7))
        self.assertEqual(form.status, RemsStatus.DRAFT)
        self.assertEqual(form.fields["total_monitoring_minutes"], 120)
        self.assertEqual(form.fields["bp_40_min"], "146/88")
        self.assertEqual(form.fields["dose"], "56 mg")
        self.assertEqual(form.fields["co_medications"], ["benzodiazepines"])
        self.assertContains(self.client.get("/rems/"), self.patient.full_name)

    def test_the_rems_form_is_signed_submitted_and_printed(self):
        self.begin()
        self.session.esketamine.__class__.objects.filter(pk=self.session.pk).update(
            dose_mg=56,
            lot_numbers="L1",
            first_device_at=datetime.combine(self.day, time(9), self.tz),
            first_treatment=True,
            vitals_acceptable_pre=True,
            sedation=False,
            dissociation=False,
            respiratory_depression=False,
            ready_to_leave_at=datetime.combine(self.day, time(10, 30), self.tz),
            monitoring_ended_at=datetime.combine(self.day, time(11), self.tz),
            vitals_acceptable_end=True,
        )
        self.session = Session.objects.get(pk=self.session.pk)
        for clock, label in (
            ("08:56", "pre-dose"),
            ("09:40", "40 min"),
            ("10:50", "pre-discharge"),
        ):
            sessions.record_vitals(
                self.nurse_actor,
                self.session,
                {"bp_systolic": 125, "bp_diastolic": 80},
                taken_at=datetime.combine(self.day, time.fromisoformat(clock), self.tz),
                label=label,
            )
        sessions.sign_session(actor_for(self.prescriber, self.clinic_a), self.session)
        form = RemsForm.objects.get()
        self.sign_in(self.prescriber)
        self.client.post(f"/rems/{form.id}/sign/")
        self.client.post(f"/rems/{form.id}/submit/", {"method": "online", "reference": "PMF-778"})
        form.refresh_from_db()
        self.assertEqual(
            (form.status, form.submission_reference), (RemsStatus.SUBMITTED, "PMF-778")
        )
        self.assertContains(self.client.get(f"/rems/{form.id}/print/"), "Patient Monitoring Form")
        self.assertTrue(
            AuditEvent.objects.filter(action=Action.PRINT, object_id=str(form.id)).exists()
        )

    def test_84_mg_needs_a_56_mg_start(self):
        self.begin()
        self.sign_in(self.nurse)
        response = self.client.post(
            f"/sessions/{self.session.id}/save/", {**ESKETAMINE_NOTE, "dose_mg": "84"}
        )
        self.assertEqual(response.status_code, 422)
        self.assertIn("84 mg only after", str(response.context["form"].errors["dose_mg"]))

    def test_a_high_pre_dose_pressure_warns(self):
        self.begin()
        sessions.record_vitals(
            self.nurse_actor,
            self.session,
            {"bp_systolic": 150, "bp_diastolic": 92},
            taken_at=datetime.combine(self.day, time(8, 58), self.tz),
            label="pre-dose",
        )
        self.sign_in(self.nurse)
        self.assertContains(
            self.client.get(f"/sessions/{self.session.id}/"), "the label advises weighing a delay"
        )


INFUSION = {
    "weight_kg": "80",
    "weight_measured_on": "",
    "dose_mg_per_kg": "0.5",
    "minutes": "40",
    "vial_mg_per_ml": "50",
    "diluent_ml": "100",
}


class InfusionSessionTests(SessionTestCase):
    protocol = "ketamine-iv-induction"

    def test_it_computes_the_pump_rate_from_the_worked_example(self):
        self.begin()
        self.sign_in(self.nurse)
        self.client.post(f"/sessions/{self.session.id}/save/", INFUSION)
        record = Session.objects.get(pk=self.session.pk).infusion
        self.assertEqual(
            (
                record.dose_mg,
                record.drug_ml,
                record.total_ml,
                record.bag_mg_per_ml,
                record.rate_ml_per_h,
            ),
            (
                Decimal("40.00"),
                Decimal("0.80"),
                Decimal("100.80"),
                Decimal("0.397"),
                Decimal("151.2"),
            ),
        )
        self.assertContains(self.client.get(f"/sessions/{self.session.id}/"), "151.2 mL/h")

    def test_the_weight_defaults_to_the_latest_measurement_with_its_date(self):
        self.begin()
        record = self.session.infusion
        self.assertEqual(
            (record.weight_kg, record.weight_measured_on), (Decimal("80.0"), self.clinic_a.today())
        )

    def test_a_dose_over_the_clinic_limit_is_a_hard_stop_for_a_nurse(self):
        self.begin()
        self.sign_in(self.nurse)
        response = self.client.post(
            f"/sessions/{self.session.id}/save/", {**INFUSION, "dose_mg_per_kg": "1.0"}
        )
        self.assertEqual(response.status_code, 422)
        self.assertContains(response, "above the clinic limit", status_code=422)
        response = self.client.post(
            f"/sessions/{self.session.id}/save/",
            {**INFUSION, "dose_mg_per_kg": "1.0", "override_reason": "nurse tries"},
        )
        self.assertContains(response, "Only a prescriber may override", status_code=422)
        self.assertIsNone(Session.objects.get(pk=self.session.pk).infusion.dose_mg)

    def test_a_prescriber_overrides_the_dose_limit_with_a_reason(self):
        self.begin()
        self.sign_in(self.prescriber)
        self.client.post(
            f"/sessions/{self.session.id}/save/",
            {
                **INFUSION,
                "dose_mg_per_kg": "1.0",
                "override_reason": "Partial response at 0.75; plan agreed",
            },
        )
        record = Session.objects.get(pk=self.session.pk).infusion
        self.assertEqual(
            (record.dose_mg, record.dose_override_by), (Decimal("80.00"), self.prescriber)
        )
        event = (
            AuditEvent.objects.filter(action=Action.UPDATE, object_id=str(self.session.id))
            .order_by("-seq")
            .first()
        )
        self.assertEqual(
            event.detail["dose_override_reason"], "Partial response at 0.75; plan agreed"
        )

    def test_bad_calculator_input_is_named(self):
        self.begin()
        self.sign_in(self.nurse)
        response = self.client.post(
            f"/sessions/{self.session.id}/save/", {**INFUSION, "weight_kg": "0"}
        )
        self.assertEqual(response.status_code, 422)
        self.assertIn("weight_kg", response.context["form"].errors)

    def test_a_vital_past_the_alert_level_raises_a_safety_alert_in_the_same_request(self):
        from trellis.safety.models import SafetyAlert

        self.begin()
        self.sign_in(self.nurse)
        response = self.vitals("09:10", "during", bp_systolic=184, bp_diastolic=104, heart_rate=96)
        self.assertRedirects(response, f"/sessions/{self.session.id}/")
        alert = SafetyAlert.objects.get(patient=self.patient)
        self.assertEqual(alert.kind, "vital_sign")
        page = self.client.get(f"/sessions/{self.session.id}/")
        self.assertContains(page, "vital-alert")

    def test_a_flag_below_the_alert_level_raises_no_alert(self):
        from trellis.safety.models import SafetyAlert

        self.begin()
        self.sign_in(self.nurse)
        self.vitals("09:10", "during", bp_systolic=165, bp_diastolic=95)
        self.assertFalse(SafetyAlert.objects.exists())

    def test_an_implausible_reading_is_refused_by_field(self):
        self.begin()
        self.sign_in(self.nurse)
        response = self.vitals("09:10", "", bp_systolic=400, bp_diastolic=10)
        self.assertEqual(response.status_code, 422)
        self.assertIn("bp_systolic", response.context["vitals_form"].errors)
        self.assertFalse(self.session.vitals.exists())

    def test_signing_lists_what_is_missing_then_signs_and_freezes_the_note(self):
        self.begin()
        self.sign_in(self.nurse)
        page = self.client.post(f"/sessions/{self.session.id}/sign/", follow=True)
        self.assertContains(page, "Cannot sign yet")
        self.assertContains(page, "discharge criterion: escort present")
        complete = {
            **INFUSION,
            "infusion_started_at": "09:00",
            "infusion_ended_at": "09:40",
            **{f"cadss_{i}": "1" for i in range(6)},
            "moaas_lowest": "4",
            "discharge_vitals_in_range": "on",
            "discharge_moaas_5": "on",
            "escort_present": "on",
            "discharged_at": "10:30",
        }
        self.client.post(f"/sessions/{self.session.id}/save/", complete)
        self.vitals("09:10", "during", bp_systolic=135, bp_diastolic=85)
        self.client.post(f"/sessions/{self.session.id}/sign/")
        self.session.refresh_from_db()
        self.assertTrue(self.session.is_signed)
        response = self.client.post(
            f"/sessions/{self.session.id}/save/", {**complete, "minutes": "60"}
        )
        self.assertEqual(response.status_code, 422)
        self.assertEqual(Session.objects.get(pk=self.session.pk).infusion.minutes, 40)
        self.client.post(
            f"/sessions/{self.session.id}/addenda/",
            {"reason": "Wrong vial recorded", "text": "Vial was 10 mg/mL."},
        )
        addendum = self.session.addenda.get()
        self.assertEqual((addendum.author, addendum.reason), (self.nurse, "Wrong vial recorded"))

    def test_other_clinics_and_other_roles_are_kept_out(self):
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(f"/sessions/{self.session.id}/").status_code, 404)
        self.sign_in(self.front_desk)
        self.assertEqual(self.client.get(f"/sessions/{self.session.id}/").status_code, 403)
        self.sign_in(self.therapist)
        self.assertEqual(self.client.post(f"/sessions/{self.session.id}/sign/").status_code, 403)

    def test_a_rising_dose_is_flagged_for_the_prescriber(self):
        self.course.sessions.update(planned_date=self.day)  # four sessions in one day's test
        for number, dose in enumerate(("0.5", "0.6", "0.7", "0.8"), start=1):
            session = self.course.sessions.get(number=number)
            sessions.begin_session(
                self.nurse_actor, session, now=datetime.combine(self.day, time(8 + number), self.tz)
            )
            record = Session.objects.get(pk=session.pk).infusion
            record.dose_mg_per_kg = Decimal(dose)
            record.save()
            # Signed, as the next session waits for it.
            Session.objects.filter(pk=session.pk).update(
                status=SessionStatus.SIGNED, signed_at=timezone.now(), signed_by=self.prescriber
            )
        self.sign_in(self.prescriber)
        page = self.client.get(f"/sessions/{session.id}/")
        self.assertContains(page, "Rising ketamine dose")


class TmsSessionTests(SessionTestCase):
    protocol = "tms-10hz"

    def test_beam_f3_and_output_intensity_are_computed(self):
        self.begin()
        self.sign_in(self.tms)
        self.client.post(
            f"/sessions/{self.session.id}/motor-threshold/",
            {"measured_on": self.day.isoformat(), "percent_output": "50", "method": "emg"},
        )
        self.client.post(
            f"/sessions/{self.session.id}/save/",
            {
                "device": "NeuroStar",
                "coil": "figure-8",
                "motor_threshold": str(self.patient.motor_thresholds.get().id),
                "intensity_pct_mt": "120",
                "target_method": "beam_f3",
                "tragus_tragus_cm": "36",
                "nasion_inion_cm": "38",
                "circumference_cm": "60",
                "pulses_planned": "3000",
                "pulses_delivered": "3000",
                "discomfort": "3",
                "seizure": "no",
            },
        )
        record = Session.objects.get(pk=self.session.pk).tms
        self.assertEqual(record.intensity_pct_output, 60)
        self.assertEqual((record.beam_x_cm, record.beam_y_cm), (Decimal("6.95"), Decimal("9.79")))
        self.sign_in(self.tms)
        self.client.post(f"/sessions/{self.session.id}/sign/")
        self.session.refresh_from_db()
        self.assertTrue(self.session.is_signed)

    def test_a_seizure_raises_an_urgent_alert(self):
        from trellis.safety.models import SafetyAlert

        self.begin()
        sessions.save_tms(self.nurse_actor, self.session, {"seizure": True})
        alert = SafetyAlert.objects.get()
        self.assertEqual((alert.kind, alert.severity), ("seizure", "urgent"))

    def test_the_page_reminds_to_remeasure_the_motor_threshold(self):
        self.begin()
        self.sign_in(self.tms)
        self.assertContains(
            self.client.get(f"/sessions/{self.session.id}/"), "No motor threshold recorded"
        )


class CourseCompletionTests(SessionTestCase):
    protocol = "ketamine-iv-maintenance"

    def test_signing_the_last_session_completes_the_course(self):
        prescriber = actor_for(self.prescriber, self.clinic_a)
        self.course.sessions.update(planned_date=self.day)  # the whole course in one day's test
        for session in self.course.sessions.order_by("number"):
            # One infusion a week: a second ketamine dose on one day would be refused.
            day = self.day - timedelta(days=7 * (4 - session.number))
            Session.objects.filter(pk=session.pk).update(planned_date=day)
            session.planned_date = day
            sessions.begin_session(
                self.nurse_actor, session, now=datetime.combine(day, time(9), self.tz)
            )
            session = Session.objects.get(pk=session.pk)
            sessions.save_infusion(
                self.nurse_actor,
                session,
                {
                    "weight_kg": Decimal("80"),
                    "dose_mg_per_kg": Decimal("0.5"),
                    "minutes": 40,
                    "vial_mg_per_ml": Decimal("50"),
                    "diluent_ml": Decimal("100"),
                    "infusion_started_at": datetime.combine(day, time(9, 5), self.tz),
                    "infusion_ended_at": datetime.combine(day, time(9, 45), self.tz),
                    "cadss6": [0] * 6,
                    "moaas_lowest": 5,
                    "discharge_vitals_in_range": True,
                    "discharge_moaas_5": True,
                    "escort_present": True,
                    "discharged_at": datetime.combine(day, time(10, 30), self.tz),
                },
            )
            sessions.record_vitals(
                self.nurse_actor,
                session,
                {"bp_systolic": 120, "bp_diastolic": 80},
                taken_at=datetime.combine(day, time(9, 10), self.tz),
            )
            self.course.refresh_from_db()
            self.assertEqual(self.course.status, "active")
            sessions.sign_session(prescriber, session)
        self.course.refresh_from_db()
        self.assertEqual(self.course.status, "completed")
        self.assertIsNotNone(self.course.ended_at)
