"""The demo clinics' chairs, rooms and TMS devices, open on weekdays (their appointments are
booked by ``trellis.demo.appointments``)."""

from datetime import time

from trellis.accounts.models import Clinic
from trellis.scheduling.kinds import ResourceKind
from trellis.scheduling.models import OpeningHours, Resource

# (name, kind, make, model, coil)
RESOURCES = [
    ("Chair 1", ResourceKind.CHAIR, "", "", ""),
    ("Chair 2", ResourceKind.CHAIR, "", "", ""),
    ("Chair 3", ResourceKind.CHAIR, "", "", ""),
    ("Room A", ResourceKind.ROOM, "", "", ""),
    ("Room B", ResourceKind.ROOM, "", "", ""),
    ("NeuroStar", ResourceKind.TMS_DEVICE, "Neuronetics", "NeuroStar Advanced Therapy", "Figure-8"),
    ("MagVenture", ResourceKind.TMS_DEVICE, "MagVenture", "MagPro R30", "Cool-B65"),
]
WEEKDAYS = range(5)
OPENS, CLOSES = time(8), time(18)


def add_resources(clinic: Clinic) -> int:
    """The clinic's resources, each open Monday to Friday 08:00–18:00; those it has are kept."""
    added = 0
    for ordering, (name, kind, make, model, coil) in enumerate(RESOURCES, start=1):
        resource, created = Resource.objects.get_or_create(
            clinic=clinic,
            name=name,
            defaults={
                "kind": kind,
                "make": make,
                "model": model,
                "coil": coil,
                "ordering": ordering,
            },
        )
        if created:
            added += 1
            OpeningHours.objects.bulk_create(
                OpeningHours(
                    clinic=clinic, resource=resource, weekday=day, opens=OPENS, closes=CLOSES
                )
                for day in WEEKDAYS
            )
    return added
