"""A clinic's treatment records for the FHIR tests: an IV ketamine course with a signed infusion
and its vital signs, a TMS course (three sessions begun) in a combined plan with it, an
esketamine dose with its lot, insurance, a therapy appointment; and another clinic's."""

from datetime import datetime, time, timedelta
from decimal import Decimal

from trellis.billing.models import Coverage, Payer
from trellis.fhir.tests.helpers import FhirTestCase
from trellis.measures.tests.helpers import next_monday
from trellis.patients.services import create_screening, sign_screening
from trellis.patients.tests.test_api import SAFE_ANSWERS, TRD_TRIALS
from trellis.plans.models import TreatmentPlan
from trellis.scheduling.models import Appointment
from trellis.testing import actor_for
from trellis.treatments.models import (
    EsketamineRecord,
    InfusionRecord,
    MotorThreshold,
    TmsRecord,
    VitalSign,
)
from trellis.treatments.services import start_course
from trellis.treatments.tests.helpers import antidepressant


def course_for(actor, patient, protocol: str, start):
    screening = create_screening(actor, patient, SAFE_ANSWERS, TRD_TRIALS)
    sign_screening(actor, screening)
    return start_course(
        actor, patient, protocol, start, with_antidepressant=antidepressant(protocol)
    )


def given(session, user, *, status: str = "signed", minutes: int = 40):
    """The session as begun at 10:00 on its day (and signed, unless ``status`` says)."""
    tz = session.clinic.tzinfo
    session.started_at = datetime.combine(session.planned_date, time(10), tz)
    session.status = status
    session.documented_by = user
    if status == "signed":
        session.ended_at = session.started_at + timedelta(minutes=minutes)
        session.signed_at = session.ended_at + timedelta(minutes=5)
        session.signed_by = user
    session.save()
    return session


class ClinicalFhirTestCase(FhirTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        actor = actor_for(cls.prescriber, cls.clinic_a)
        start = next_monday(cls.clinic_a)
        tz = cls.clinic_a.tzinfo

        cls.iv_course = course_for(actor, cls.patient, "ketamine-iv-induction", start)
        cls.infusion = given(cls.iv_course.sessions.get(number=1), cls.nurse)
        InfusionRecord.objects.create(
            session=cls.infusion,
            weight_kg=Decimal("70.0"),
            dose_mg_per_kg=Decimal("0.50"),
            minutes=40,
            dose_mg=Decimal("35.00"),
            rate_ml_per_h=Decimal("150.0"),
            infusion_started_at=cls.infusion.started_at,
            infusion_ended_at=cls.infusion.ended_at,
        )
        at = cls.infusion.started_at
        cls.vitals = VitalSign.objects.create(
            clinic=cls.clinic_a,
            patient=cls.patient,
            session=cls.infusion,
            taken_at=at,
            label="pre-dose",
            bp_systolic=128,
            bp_diastolic=82,
            heart_rate=74,
            spo2=98,
            respiratory_rate=14,
            recorded_by=cls.nurse,
        )
        cls.vitals_40 = VitalSign.objects.create(
            clinic=cls.clinic_a,
            patient=cls.patient,
            session=cls.infusion,
            taken_at=at + timedelta(minutes=40),
            bp_systolic=142,
            bp_diastolic=90,
            heart_rate=88,
            recorded_by=cls.nurse,
        )

        cls.tms_course = course_for(actor, cls.patient, "tms-10hz", start)
        cls.threshold = MotorThreshold.objects.create(
            clinic=cls.clinic_a,
            patient=cls.patient,
            measured_on=start,
            percent_output=55,
            method=MotorThreshold.Method.EMG,
            device="NeuroStar",
            measured_by=cls.tms,
        )
        tms_sessions = list(cls.tms_course.sessions.order_by("number")[:4])
        cls.tms_first, cls.tms_second, cls.tms_third, cls.tms_planned = tms_sessions
        for session, status in (
            (cls.tms_first, "signed"),
            (cls.tms_second, "signed"),
            (cls.tms_third, "in_progress"),
        ):
            given(session, cls.tms, status=status, minutes=38)
            TmsRecord.objects.create(
                session=session,
                device="NeuroStar Advanced Therapy",
                coil="figure-8",
                motor_threshold=cls.threshold,
                intensity_pct_mt=120,
                intensity_pct_output=66,
                target_method=TmsRecord.TargetMethod.BEAM_F3,
                pulses_planned=3000,
                pulses_delivered=3000 if status == "signed" else None,
            )
        # Re-measured on the second session's day: 90869 [R50].
        cls.threshold_again = MotorThreshold.objects.create(
            clinic=cls.clinic_a,
            patient=cls.patient,
            measured_on=cls.tms_second.planned_date,
            percent_output=57,
            method=MotorThreshold.Method.VISUAL,
            measured_by=cls.tms,
        )
        TmsRecord.objects.filter(session=cls.tms_second).update(motor_threshold=cls.threshold_again)
        cls.plan = TreatmentPlan.objects.create(
            clinic=cls.clinic_a,
            patient=cls.patient,
            tms_course=cls.tms_course,
            dose_course=cls.iv_course,
            sequencing="separate_days",
            created_by=cls.prescriber,
        )

        cls.esketamine_course = course_for(actor, cls.other_patient, "esketamine-trd", start)
        cls.spray = given(cls.esketamine_course.sessions.get(number=1), cls.nurse, minutes=120)
        EsketamineRecord.objects.create(
            session=cls.spray,
            dose_mg=56,
            lot_numbers="LOT-56A1",
            first_device_at=cls.spray.started_at,
        )

        cls.payer = Payer.objects.create(
            clinic=cls.clinic_a,
            name="Acme Health",
            payer_id="ACME1",
            type="commercial",
            esketamine_coding="j_code",
        )
        cls.coverage = Coverage.objects.create(
            clinic=cls.clinic_a,
            patient=cls.patient,
            payer=cls.payer,
            member_id="XJ-1234567",
            group_number="G-88",
            plan_type="ppo",
            effective_from=start - timedelta(days=200),
            created_by=cls.front_desk,
        )
        therapy_start = datetime.combine(start + timedelta(days=1), time(14), tz)
        cls.therapy = Appointment.objects.create(
            clinic=cls.clinic_a,
            patient=cls.patient,
            kind="therapy",
            start=therapy_start,
            end=therapy_start + timedelta(minutes=50),
            day=therapy_start.date(),
            staff=cls.therapist,
            status="no_show",
            created_by=cls.front_desk,
        )
        # The first infusion's own appointment: the session is its Encounter, not this.
        cls.infusion_booking = Appointment.objects.create(
            clinic=cls.clinic_a,
            patient=cls.patient,
            kind="iv_ketamine",
            start=cls.infusion.started_at,
            end=cls.infusion.started_at + timedelta(hours=2),
            day=cls.infusion.planned_date,
            session=cls.infusion,
            status="completed",
            created_by=cls.front_desk,
        )

        # Clinic B: a course with vital signs, insurance and an appointment of its own.
        actor_b = actor_for(cls.prescriber_b, cls.clinic_b)
        cls.course_b = course_for(actor_b, cls.patient_b, "tms-10hz", next_monday(cls.clinic_b))
        cls.session_b = given(cls.course_b.sessions.get(number=1), cls.prescriber_b)
        TmsRecord.objects.create(session=cls.session_b, intensity_pct_mt=120)
        cls.vitals_b = VitalSign.objects.create(
            clinic=cls.clinic_b,
            patient=cls.patient_b,
            session=cls.session_b,
            taken_at=cls.session_b.started_at,
            heart_rate=70,
            recorded_by=cls.prescriber_b,
        )
        payer_b = Payer.objects.create(
            clinic=cls.clinic_b, name="Beta Mutual", type="commercial", esketamine_coding="j_code"
        )
        cls.coverage_b = Coverage.objects.create(
            clinic=cls.clinic_b,
            patient=cls.patient_b,
            payer=payer_b,
            member_id="B-1",
            effective_from=start,
            created_by=cls.prescriber_b,
        )
        b_start = datetime.combine(start, time(9), cls.clinic_b.tzinfo)
        cls.appointment_b = Appointment.objects.create(
            clinic=cls.clinic_b,
            patient=cls.patient_b,
            kind="assessment",
            start=b_start,
            end=b_start + timedelta(minutes=60),
            day=start,
            status="booked",
            created_by=cls.prescriber_b,
        )
