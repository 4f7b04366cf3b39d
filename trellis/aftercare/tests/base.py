"""A patient after an IV ketamine induction, reachable by e-mail, with a signed screening."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from trellis.patients import services as patient_services
from trellis.patients.tests.test_api import SAFE_ANSWERS, TRD_TRIALS
from trellis.testing import TrellisTestCase, actor_for
from trellis.treatments import services as course_services
from trellis.treatments.models import SessionStatus


class AftercareTestCase(TrellisTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.prescriber_actor = actor_for(cls.prescriber, cls.clinic_a)
        cls.nurse_actor = actor_for(cls.nurse, cls.clinic_a)
        screening = patient_services.create_screening(
            cls.prescriber_actor, cls.patient, SAFE_ANSWERS, TRD_TRIALS
        )
        patient_services.sign_screening(cls.prescriber_actor, screening)
        cls.patient.email = "ada@example.org"
        cls.patient.save(update_fields=["email"])
        cls.tz = cls.clinic_a.tzinfo
        cls.course = course_services.start_course(
            cls.prescriber_actor,
            cls.patient,
            "ketamine-iv-induction",
            cls.clinic_a.today() - timedelta(days=14),
        )

    def signed_session(self, ended_at, number=1):
        """The course's session ``number``, marked signed and ended at ``ended_at``, and
        aftercare's signing receiver told, as ``sessions.sign_session`` tells it in its
        transaction (the session has no dosing record, so the other receivers — charges,
        stock — are not asked)."""
        from trellis.aftercare import services

        session = self.course.sessions.get(number=number)
        session.status = SessionStatus.SIGNED
        session.signed_at = ended_at
        session.ended_at = ended_at
        session.signed_by = self.nurse
        session.save(update_fields=["status", "signed_at", "ended_at", "signed_by"])
        services.plan_check_ins(self.nurse_actor, session)
        return session

    def local(self, day, hour, minute=0):
        return datetime.combine(day, time(hour, minute), self.tz)

    def now_local(self):
        return timezone.localtime(timezone.now(), self.tz)
