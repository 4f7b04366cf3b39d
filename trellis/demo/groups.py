"""Group therapy in the demo: an 8-week integration program with an upcoming cohort (listed on
the public page, six members), and a 3-week preparation group that met in the past weeks, with
its attendance taken and its notes signed. Once per clinic; a clinic without a therapist, an
administrator or a free room gets none."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from trellis.accounts.access import Actor
from trellis.accounts.models import Clinic, Membership
from trellis.accounts.permissions import Role
from trellis.groups import services
from trellis.groups.models import GroupProgram
from trellis.lib.errors import Conflict, InputError
from trellis.patients.models import Patient
from trellis.scheduling.kinds import ResourceKind
from trellis.scheduling.models import Resource

ROOM = "Room B"
STATUSES = ["present", "present", "late", "present", "absent", "present", "left_early", "present"]
TOPICS = [
    ("Setting an intention", "Psychoeducation on set and setting; intention-writing exercise"),
    ("What to expect on the day", "Guided breathing; questions and answers on dosing sessions"),
    ("Staying safe afterwards", "Aftercare planning in pairs; grounding practice"),
]


def _actor(clinic: Clinic, role: str) -> Actor | None:
    member = (
        Membership.objects.filter(clinic=clinic, role=role, is_active=True)
        .select_related("user", "clinic")
        .first()
    )
    return Actor(member.user, member, "demo-loader") if member else None


def _weekday(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def add_groups(clinic: Clinic, today: date | None = None) -> int:
    """The clinic's demo groups; the number of cohorts added."""
    if GroupProgram.objects.filter(clinic=clinic).exists():
        return 0
    admin, therapist = _actor(clinic, Role.CLINIC_ADMIN), _actor(clinic, Role.THERAPIST)
    desk = _actor(clinic, Role.FRONT_DESK) or admin
    room = Resource.objects.filter(clinic=clinic, name=ROOM, kind=ResourceKind.ROOM).first()
    patients = list(Patient.objects.filter(clinic=clinic).order_by("mrn"))
    if admin is None or therapist is None or room is None or len(patients) < 14:
        return 0
    today = today or clinic.today()
    integration = services.create_program(
        admin,
        name="Integration group, 8 weeks",
        sessions=8,
        minutes=90,
        description=(
            "A weekly group for people in or after a course of ketamine, esketamine or TMS: "
            "making sense of what came up, and carrying it into daily life."
        ),
        eligibility_notes="In or after a course here; PHQ-9 item 9 of 0 at the last visit.",
    )
    preparation = services.create_program(
        admin,
        name="Preparation group, 3 weeks",
        sessions=3,
        minutes=60,
        description="Before a first dosing session: intentions, what to expect, aftercare.",
        eligibility_notes="Screened and starting a course within a month.",
    )
    added = 0
    # The upcoming cohort: a Tuesday two to three weeks from now, at 16:00.
    start = _weekday(today + timedelta(days=14), 1)
    try:
        upcoming = services.create_cohort(
            admin,
            integration,
            start_date=start,
            start_time=time(16),
            room=room,
            facilitators=[therapist.user],
            capacity=10,
            late_join_until=2,
        )
    except (Conflict, InputError):
        upcoming = None
    if upcoming is not None:
        added += 1
        for patient in patients[:6]:
            services.enrol(desk, upcoming, patient)
    # The past cohort: three Tuesdays ending last week, at 10:00, eight members.
    first = _weekday(today - timedelta(weeks=4), 1)
    began = datetime.combine(first - timedelta(days=7), time(9), clinic.tzinfo)
    try:
        past = services.create_cohort(
            admin,
            preparation,
            start_date=first,
            start_time=time(10),
            room=room,
            facilitators=[therapist.user],
            capacity=8,
            late_join_until=1,
            now=began,
        )
    except (Conflict, InputError):
        return added
    added += 1
    members = patients[6:14]
    for patient in members:
        services.enrol(desk, past, patient, now=began)
    enrolments = {e.patient_id: str(e.pk) for e in past.enrolments.all()}
    for meeting, (topic, interventions) in zip(
        past.meetings.order_by("number"), TOPICS, strict=True
    ):
        if meeting.day >= today:
            break
        after = meeting.end + timedelta(minutes=10)
        shift = meeting.number - 1
        statuses = {
            enrolments[p.pk]: STATUSES[(i + shift) % len(STATUSES)]
            for i, p in enumerate(members)
            if p.pk in enrolments
        }
        try:
            rows = services.take_attendance(therapist, meeting, statuses, now=after)
        except (Conflict, InputError):
            continue
        sections = {
            str(a.pk): {
                "participation": "Took part in the exercise and shared with the group.",
                "response": "Engaged; said the session helped them feel prepared.",
                "risk_level": "none",
            }
            for a in rows
            if a.attended
        }
        note = services.save_note(
            therapist, meeting, topic=topic, interventions=interventions, sections=sections
        )
        services.sign_note(therapist, note, now=after)
    return added
