"""A begun esketamine session at clinic A and a therapy appointment, for the therapy tests."""

from datetime import datetime, time, timedelta

from trellis.scheduling.models import Appointment
from trellis.testing import actor_for
from trellis.therapy import services
from trellis.treatments.tests.test_sessions import SessionTestCase


class TherapyTestCase(SessionTestCase):
    def setUp(self):
        super().setUp()
        self.begin()
        self.therapist_actor = actor_for(self.therapist, self.clinic_a)

    def at(self, hour: int, minute: int = 0, day=None) -> datetime:
        return datetime.combine(day or self.day, time(hour, minute), self.tz)

    def note(self, minutes: int = 45, actor=None, **values):
        fields = {
            "modality": "kap",
            "phase": "dosing",
            "started_at": self.at(9),
            "ended_at": self.at(9) + timedelta(minutes=minutes),
            "focus": "Intention setting",
            "interventions": "Grounding, breath work",
            "response": "Settled, engaged",
            "plan": "Integration on Thursday",
            "risk_level": "none",
            **values,
        }
        return services.create_progress_note(
            actor or self.therapist_actor, session=self.session, **fields
        )

    def appointment(self, kind: str = "therapy", status: str = "completed") -> Appointment:
        return Appointment.objects.create(
            clinic=self.clinic_a,
            patient=self.patient,
            kind=kind,
            start=self.at(14),
            end=self.at(14, 50),
            day=self.day,
            staff=self.therapist,
            status=status,
            created_by=self.front_desk,
        )
