"""The demo's appointment book: the coming week's planned course sessions booked on the clinic's
chairs, rooms and TMS devices, and a few assessments and therapy appointments today.

Today is booked as it stood when the clinic's day began, so that a demo loaded in the evening
still has a day of arrivals; the patients whose appointment has started are checked in, as front
desk would have done. Only resources that exist are used (a clinic without any gets no
appointments). Idempotent: a session already booked is not proposed again, and a clinic with any
appointment today that is not a course session keeps the ones it has.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from trellis.accounts.access import Actor
from trellis.accounts.models import Clinic, Membership
from trellis.accounts.permissions import Role
from trellis.lib.errors import Conflict, InputError
from trellis.patients.models import Patient
from trellis.scheduling import availability, services
from trellis.scheduling.kinds import AppointmentKind, AppointmentStatus, ResourceKind
from trellis.scheduling.models import Appointment, Resource
from trellis.treatments.models import Course, CourseStatus

# Today's appointments that are not course sessions: (kind, patients' places in MRN order).
TODAY = [(AppointmentKind.ASSESSMENT, 2), (AppointmentKind.THERAPY, 2)]
# Who books: the first member of staff at the clinic in this order of roles.
BOOKERS = (Role.FRONT_DESK, Role.CLINIC_ADMIN, Role.PRESCRIBER)


def add_appointments(clinic: Clinic, today: date | None = None, now: datetime | None = None) -> int:
    """Book the demo's appointments at ``clinic`` and check in today's that have started by
    ``now`` (the clock's time when None); returns how many were added."""
    if not Resource.objects.filter(clinic=clinic, is_active=True).exists():
        return 0
    booker = _booker(clinic)
    if booker is None:
        return 0
    now = now or timezone.now()
    today = today or availability.clinic_day(clinic, now)
    day_began = datetime.combine(today, time.min, clinic.tzinfo)
    added = _course_sessions(clinic, booker, today, day_began)
    added += _today(clinic, booker, today, day_began)
    _check_in(booker, today, now)
    return added


def _booker(clinic: Clinic) -> Actor | None:
    for role in BOOKERS:
        member = (
            Membership.objects.filter(clinic=clinic, role=role, is_active=True)
            .select_related("user", "clinic")
            .order_by("user__username")
            .first()
        )
        if member is not None:
            return Actor(member.user, member, "demo-loader")
    return None


def _course_sessions(clinic: Clinic, booker: Actor, today: date, day_began: datetime) -> int:
    """Each active course's planned sessions in the seven days from today."""
    last = today + timedelta(days=6)
    added = 0
    courses = Course.objects.filter(clinic=clinic, status=CourseStatus.ACTIVE).select_related(
        "clinic", "patient", "protocol"
    )
    for index, course in enumerate(courses.order_by("start_date", "pk")):
        # Courses start at different hours, so the day shows a morning and an afternoon.
        first = datetime.combine(today, time(8 + 2 * (index % 5)), clinic.tzinfo)
        proposals = [
            p
            for p in services.propose_course_slots(course, first_start=first, now=day_began)
            if p.start is not None and today <= p.session.planned_date <= last
        ]
        if not proposals:
            continue
        try:
            added += len(services.book_course(booker, course, proposals, now=day_began))
        except (Conflict, InputError):
            continue  # no room this week for this course: it stays planned
    return added


def _today(clinic: Clinic, booker: Actor, today: date, day_began: datetime) -> int:
    already = Appointment.objects.filter(clinic=clinic, day=today, session__isnull=True)
    if already.exists():
        return 0
    rooms = list(Resource.objects.filter(clinic=clinic, kind=ResourceKind.ROOM, is_active=True))
    if not rooms:
        return 0
    therapist = (
        Membership.objects.filter(clinic=clinic, role=Role.THERAPIST, is_active=True)
        .select_related("user")
        .first()
    )
    without_course = Patient.objects.filter(clinic=clinic).exclude(
        pk__in=Course.objects.filter(clinic=clinic).values("patient")
    )
    with_course = Patient.objects.filter(
        clinic=clinic, pk__in=Course.objects.filter(clinic=clinic).values("patient")
    )
    pools = {
        AppointmentKind.ASSESSMENT: list(without_course.order_by("mrn")),
        AppointmentKind.THERAPY: list(with_course.order_by("mrn")),
    }
    added = 0
    for kind, count in TODAY:
        minutes = services.kinds.default_minutes(kind, clinic.setting)
        for patient in pools[kind][:count]:
            for room in rooms:
                starts = availability.free_starts(room, today, minutes, not_before=day_began)
                if not starts:
                    continue
                try:
                    services.book_appointment(
                        booker,
                        patient=patient,
                        kind=kind,
                        start=starts[0],
                        minutes=minutes,
                        resource=room,
                        staff=therapist.user
                        if therapist and kind == AppointmentKind.THERAPY
                        else None,
                        now=day_began,
                    )
                except (Conflict, InputError):
                    continue
                added += 1
                break
    return added


def _check_in(booker: Actor, today: date, now: datetime) -> None:
    """Today's booked appointments whose start has come, checked in at their start."""
    started = Appointment.objects.filter(
        clinic=booker.clinic, day=today, status=AppointmentStatus.BOOKED, start__lte=now
    ).exclude(kind=AppointmentKind.GROUP)
    for appointment in started.order_by("start", "pk"):
        services.set_status(
            booker, appointment, AppointmentStatus.CHECKED_IN, now=appointment.start
        )
