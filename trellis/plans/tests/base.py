"""Clinic A's chairs and TMS device, a patient with a signed screening, and helpers to start
courses, give sessions and record PHQ-9s through the services."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from trellis.measures import services as measures
from trellis.measures.tests.helpers import answers_totalling
from trellis.patients.models import Patient
from trellis.patients.services import create_screening, sign_screening
from trellis.scheduling.tests.base import SchedulingTestCase
from trellis.testing import SAFE_ANSWERS, actor_for
from trellis.treatments import services as courses
from trellis.treatments.models import Session, SessionStatus
from trellis.treatments.tests.helpers import antidepressant


class PlansTestCase(SchedulingTestCase):
    def setUp(self):
        super().setUp()
        self.prescribing = actor_for(self.prescriber, self.clinic_a)
        self.nursing = actor_for(self.nurse, self.clinic_a)

    def set_clinic(self, **settings):
        self.clinic_a.settings = settings
        self.clinic_a.save()
        self.prescribing = actor_for(self.prescriber, self.clinic_a)
        self.nursing = actor_for(self.nurse, self.clinic_a)
        self.patient = Patient.objects.select_related("clinic").get(pk=self.patient.pk)

    def screen(self, patient=None):
        patient = patient or self.patient
        screening = create_screening(self.prescribing, patient, SAFE_ANSWERS, [])
        sign_screening(self.prescribing, screening, acknowledge_cautions=True)

    def start(self, protocol, start=None, patient=None):
        patient = patient or self.patient
        self.screen(patient)
        return courses.start_course(
            self.nursing,
            patient,
            protocol,
            start or self.monday,
            with_antidepressant=antidepressant(protocol),
        )

    def give(self, course, count):
        """Mark the course's first ``count`` sessions given (signed) on their planned days."""
        numbers = list(course.sessions.order_by("number").values_list("number", flat=True))[:count]
        Session.objects.filter(course=course, number__in=numbers).update(
            status=SessionStatus.SIGNED, signed_at=timezone.now()
        )

    def phq9(self, total, when, course=None, patient=None):
        return measures.record_measure(
            self.nursing,
            patient or self.patient,
            "phq9",
            answers_totalling(9, total),
            observed_at=when,
            course=course,
        )

    def days_ago(self, days, hour=10):
        day = self.clinic_a.today() - timedelta(days=days)
        return datetime.combine(day, time(hour), self.clinic_a.tzinfo)
