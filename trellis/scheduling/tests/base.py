"""Clinic A's resources, open every day 08:00–18:00, and a helper to book through the service."""

from datetime import date, datetime, time, timedelta

from trellis.scheduling import services
from trellis.scheduling.kinds import ResourceKind
from trellis.scheduling.models import OpeningHours, Resource
from trellis.testing import TrellisTestCase, actor_for
from trellis.treatments.services import clinic_today

EVERY_DAY = range(7)


def add_resource(clinic, name, kind, *, weekdays=EVERY_DAY, opens=time(8), closes=time(18), **kw):
    resource = Resource.objects.create(clinic=clinic, name=name, kind=kind, **kw)
    for weekday in weekdays:
        OpeningHours.objects.create(
            clinic=clinic, resource=resource, weekday=weekday, opens=opens, closes=closes
        )
    return resource


def next_monday(clinic) -> date:
    today = clinic_today(clinic)
    return today + timedelta(days=7 - today.weekday())


class SchedulingTestCase(TrellisTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.chair = add_resource(cls.clinic_a, "Chair 1", ResourceKind.CHAIR, ordering=1)
        cls.chair_2 = add_resource(cls.clinic_a, "Chair 2", ResourceKind.CHAIR, ordering=2)
        cls.room = add_resource(cls.clinic_a, "Room 1", ResourceKind.ROOM, ordering=3)
        cls.device = add_resource(
            cls.clinic_a,
            "NeuroStar",
            ResourceKind.TMS_DEVICE,
            make="Neuronetics",
            model="NeuroStar Advanced Therapy",
            coil="Figure-8",
            ordering=4,
        )
        cls.monday = next_monday(cls.clinic_a)

    def at(self, hour: int, minute: int = 0, day: date | None = None) -> datetime:
        """An aware time on ``day`` (next Monday) at clinic A."""
        return datetime.combine(day or self.monday, time(hour, minute), self.clinic_a.tzinfo)

    def actor(self, user=None):
        return actor_for(user or self.front_desk, self.clinic_a)

    def book(self, user=None, **kwargs):
        values = {"patient": self.patient, "kind": "iv_ketamine", "start": self.at(9)}
        values.update(kwargs)
        return services.book_appointment(self.actor(user), **values)
