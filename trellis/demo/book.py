"""The demo clinics' appointment book: chairs, rooms and TMS devices open on weekdays, and this
week's planned sessions booked on them, through the same services front desk uses."""

from datetime import date, datetime, time, timedelta

from trellis.accounts.access import Actor
from trellis.accounts.models import Clinic
from trellis.lib.errors import Conflict, InputError
from trellis.scheduling import services
from trellis.scheduling.kinds import ResourceKind
from trellis.scheduling.models import Appointment, OpeningHours, Resource
from trellis.treatments.models import Course, CourseStatus

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


def book_week(clinic: Clinic, actor: Actor, today: date) -> int:
    """Book the active courses' planned sessions from today to a week ahead, once per clinic (a
    clinic with any appointment is left alone). A session with no free time is left planned."""
    if Appointment.objects.filter(clinic=clinic).exists():
        return 0
    until = today + timedelta(days=7)
    booked = 0
    courses = Course.objects.filter(clinic=clinic, status=CourseStatus.ACTIVE).select_related(
        "clinic", "patient", "protocol"
    )
    for index, course in enumerate(courses.order_by("created_at")):
        # Spread the courses over the day, so the calendar shows a morning and an afternoon.
        first = datetime.combine(today, time(8 + 2 * (index % 5)), clinic.tzinfo)
        proposals = [
            p
            for p in services.propose_course_slots(course, first_start=first)
            if p.start is not None and today <= p.session.planned_date < until
        ]
        try:
            booked += len(services.book_course(actor, course, proposals))
        except (Conflict, InputError):
            continue
    return booked
