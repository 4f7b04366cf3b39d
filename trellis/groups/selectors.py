"""Reading groups: the staff lists, a cohort's members and waitlist, a session's room, the
public listing, and a member's own record of the group.

The wall: what is read for one patient (``patient_card``, ``patient_attendance``,
``member_record``) holds the group note's shared part and that patient's own attendance and
section, and nothing that names or describes another member. Only the session's page
(``meeting_page``), for those who lead and document groups, shows the whole room.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from trellis.accounts.access import Actor, require
from trellis.accounts.models import Clinic
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.groups import rules, services
from trellis.groups.models import (
    Attendance,
    Cohort,
    Enrolment,
    EnrolmentStatus,
    GroupInterest,
    GroupNote,
    GroupNoteAddendum,
    GroupProgram,
    InterestSource,
    InterestStatus,
    Meeting,
    MemberSection,
    NoteStatus,
)
from trellis.patients.models import Patient


def _own(actor: Actor, row) -> None:
    if row is None or row.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")


def programs(actor: Actor) -> list[GroupProgram]:
    require(actor, Perm.GROUP_READ)
    return list(GroupProgram.objects.filter(clinic=actor.clinic).order_by("-is_active", "name"))


def cohorts(actor: Actor, *, past: bool = False) -> list[Cohort]:
    """The clinic's cohorts not yet over (or, ``past``, those over), soonest first, each with
    ``enrolled``, ``waiting``, ``places`` and ``last_day``."""
    require(actor, Perm.GROUP_READ)
    today = actor.clinic.today()
    rows = list(
        Cohort.objects.filter(clinic=actor.clinic)
        .select_related("program", "room")
        .prefetch_related("facilitators", Prefetch("meetings", Meeting.objects.order_by("number")))
        .order_by("start_date", "start_time")
    )
    counts = services.members_count(rows)
    shown = []
    for cohort in rows:
        meetings = list(cohort.meetings.all())
        cohort.last_day = meetings[-1].day if meetings else cohort.start_date
        cohort.enrolled, cohort.waiting = counts.get(cohort.pk, (0, 0))
        cohort.places = rules.places_left(cohort.capacity, cohort.enrolled)
        if (cohort.last_day < today) == past:
            shown.append(cohort)
    return shown[::-1] if past else shown


def cohort(actor: Actor, cohort_id) -> Cohort:
    require(actor, Perm.GROUP_READ)
    row = (
        Cohort.objects.select_related("program", "room", "cancelled_by")
        .prefetch_related("facilitators")
        .filter(pk=cohort_id, clinic=actor.clinic)
        .first()
    )
    _own(actor, row)
    return row


@dataclass
class CohortPage:
    cohort: Cohort
    members: list[Enrolment]
    waitlist: list[Enrolment]
    withdrawn: list[Enrolment]
    meetings: list[Meeting]
    joining_open: bool
    places: int
    # Unanswered requests to join this cohort (from the public page or the portal).
    requests: list[GroupInterest] = field(default_factory=list)


def cohort_page(actor: Actor, row: Cohort) -> CohortPage:
    """A cohort's members, its waitlist in order and its sessions (audited as a query: the
    page names its members)."""
    enrolments = list(row.enrolments.select_related("patient").order_by("joined_at", "pk"))
    members = [e for e in enrolments if e.status == EnrolmentStatus.ENROLLED]
    members.sort(key=lambda e: (e.patient.family_name, e.patient.given_name))
    waitlist = [e for e in enrolments if e.status == EnrolmentStatus.WAITLISTED]
    for position, enrolment in enumerate(waitlist, 1):
        enrolment.position = position
    meetings = list(
        row.meetings.order_by("number").select_related("note").prefetch_related("attendance")
    )
    for meeting in meetings:
        meeting.participants = rules.participant_count(a.status for a in meeting.attendance.all())
    record_for(
        actor,
        Action.QUERY,
        object_type="groups.enrolment",
        detail={"cohort": str(row.pk), "count": len(enrolments)},
    )
    requests: list[GroupInterest] = []
    if actor.can(Perm.GROUP_ENROL):
        requests = list(
            row.interests.filter(status=InterestStatus.NEW)
            .select_related("patient")
            .order_by("submitted_at")
        )
        if requests:
            record_for(
                actor,
                Action.QUERY,
                object_type="groups.groupinterest",
                detail={"cohort": str(row.pk), "count": len(requests)},
            )
    return CohortPage(
        cohort=row,
        members=members,
        waitlist=waitlist,
        withdrawn=[e for e in enrolments if e.status == EnrolmentStatus.WITHDRAWN],
        meetings=meetings,
        joining_open=services.joining_open(row),
        places=rules.places_left(row.capacity, len(members)),
        requests=requests,
    )


def meeting(actor: Actor, meeting_id) -> Meeting:
    require(actor, Perm.GROUP_READ)
    row = (
        Meeting.objects.select_related("cohort__program", "cohort__room", "clinic")
        .filter(pk=meeting_id, clinic=actor.clinic)
        .first()
    )
    _own(actor, row)
    return row


@dataclass
class Seat:
    """One member at a session: their enrolment, attendance and section, if any."""

    enrolment: Enrolment
    patient: Patient
    attendance: Attendance | None
    section: MemberSection | None


def meeting_page(actor: Actor, row: Meeting) -> dict:
    """The session's room for those who lead groups: each member's attendance and section,
    the shared note and its addenda (each member's part read and audited)."""
    require(actor, Perm.SESSION_READ)
    booked = services.roster(row)
    attendance = {a.patient_id: a for a in row.attendance.select_related("patient")}
    note = GroupNote.objects.filter(meeting=row).select_related("author", "signed_by").first()
    sections = {}
    addenda = []
    if note is not None:
        sections = {s.patient_id: s for s in note.sections.select_related("alert")}
        addenda = list(note.addenda.select_related("author", "section__patient"))
    seats = []
    for b in booked:
        patient = b.enrolment.patient
        seats.append(
            Seat(b.enrolment, patient, attendance.get(patient.pk), sections.get(patient.pk))
        )
    # Members whose attendance was taken but who are no longer booked (withdrawn since).
    booked_ids = {s.patient.pk for s in seats}
    for patient_id, a in attendance.items():
        if patient_id not in booked_ids:
            seats.append(Seat(a.enrolment, a.patient, a, sections.get(patient_id)))
    for seat in seats:
        record_for(actor, Action.READ, patient=seat.patient, obj=seat.attendance or seat.enrolment)
    return {
        "meeting": row,
        "cohort": row.cohort,
        "seats": seats,
        "note": note,
        "addenda": addenda,
        "participants": rules.participant_count(s.attendance.status for s in seats if s.attendance),
    }


# --- one member's record: the wall ---------------------------------------------------------------


@dataclass
class MemberRecord:
    """What one member's chart shows of one session: never another member."""

    attendance: Attendance
    meeting: Meeting
    program: str
    note: GroupNote | None  # signed or draft; its shared part only
    section: MemberSection | None
    addenda: list[GroupNoteAddendum]


def _records(
    patient: Patient, attendance: QuerySet, limit: int | None = None
) -> list[MemberRecord]:
    """The member's records of the sessions in ``attendance``, newest first (the first ``limit``
    of them), each with their own section of the note and the addenda they may read."""
    rows = (
        attendance.filter(patient=patient, clinic=patient.clinic)
        .select_related("meeting__cohort__program", "meeting__note__author")
        .order_by("-meeting__start")
    )
    rows = list(rows if limit is None else rows[:limit])
    if not rows:
        return []
    sections = {
        s.attendance_id: s
        for s in MemberSection.objects.filter(
            patient=patient, clinic=patient.clinic, attendance__in=[r.pk for r in rows]
        )
    }
    notes = [r.meeting.note for r in rows if hasattr(r.meeting, "note")]
    addenda: dict = {}
    for a in (
        GroupNoteAddendum.objects.filter(note__in=notes)
        .filter(Q(section__isnull=True) | Q(section__patient=patient))
        .select_related("author")
        if notes
        else ()
    ):
        addenda.setdefault(a.note_id, []).append(a)
    records = []
    for r in rows:
        note = getattr(r.meeting, "note", None)
        records.append(
            MemberRecord(
                attendance=r,
                meeting=r.meeting,
                program=r.meeting.cohort.program.name,
                note=note,
                section=sections.get(r.pk),
                addenda=addenda.get(note.pk, []) if note else [],
            )
        )
    return records


def patient_attendance(patient: Patient, limit: int | None = None) -> list[MemberRecord]:
    """The patient's own group sessions, newest first, the first ``limit`` of them (the caller
    loaded and audited the patient through ``patients.access``)."""
    return _records(patient, Attendance.objects.all(), limit)


def member_record(actor: Actor, attendance_id) -> MemberRecord:
    """One member's record of one session, read and audited under their name."""
    require(actor, Perm.SESSION_READ)
    row = Attendance.objects.select_related("patient").filter(pk=attendance_id).first()
    _own(actor, row)
    record = _records(row.patient, Attendance.objects.filter(pk=row.pk))[0]
    record_for(actor, Action.READ, patient=row.patient, obj=row)
    return record


# The patient page's card shows the member's newest sessions, this many.
CARD_RECORDS = 12


def patient_card(actor: Actor, patient: Patient) -> dict:
    """The patient page's card (``patients.panels``): their enrolments and waitlist places,
    and, for clinicians, their own attendance and section of each session."""
    enrolments = list(
        Enrolment.objects.filter(patient=patient, clinic=patient.clinic)
        .select_related("cohort__program")
        .order_by("-joined_at")[:10]
    )
    for e in enrolments:
        if e.status == EnrolmentStatus.WAITLISTED:
            e.position = (
                Enrolment.objects.filter(cohort=e.cohort, status=EnrolmentStatus.WAITLISTED)
                .filter(Q(joined_at__lt=e.joined_at) | Q(joined_at=e.joined_at, pk__lt=e.pk))
                .count()
                + 1
            )
    # Every attendance is an enrolment's (which it keeps from deletion): a patient never
    # enrolled has none, and most of a clinic's patients are never in a group.
    records = (
        patient_attendance(patient, CARD_RECORDS)
        if enrolments and actor.can(Perm.SESSION_READ)
        else []
    )
    return {
        "patient": patient,
        "enrolments": enrolments,
        "records": records,
        "can_enrol": actor.can(Perm.GROUP_ENROL),
    }


# --- billing -------------------------------------------------------------------------------------


def billable_attendances(
    clinic: Clinic,
    *,
    since: date | None = None,
    until: date | None = None,
    patient: Patient | None = None,
) -> QuerySet[Attendance]:
    """Attendances billing turns into charges: each attendee present at a session whose group
    note is signed, with its code (90853), units and the participant count [R103, R104];
    ``since`` and ``until`` bound the session's clinic day. Absent members are never here."""
    rows = Attendance.objects.filter(
        clinic=clinic,
        meeting__note__status=NoteStatus.SIGNED,
    ).exclude(billing_code="")
    if since is not None:
        rows = rows.filter(meeting__day__gte=since)
    if until is not None:
        rows = rows.filter(meeting__day__lte=until)
    if patient is not None:
        rows = rows.filter(patient=patient)
    return rows.select_related("patient", "meeting__cohort__program").order_by(
        "meeting__start", "patient__family_name"
    )


# --- the public page and interest requests -------------------------------------------------------


def public_cohorts(clinic: Clinic) -> list[Cohort]:
    """Cohorts listed on the public page: not started, not cancelled, of an active program,
    soonest first; each with ``full`` when a new member would go on the waitlist. Nothing about
    who is in them."""
    rows = list(
        services.open_to_ask(clinic).select_related("program").order_by("start_date", "start_time")
    )
    counts = services.members_count(rows)
    for row in rows:
        row.full = counts.get(row.pk, (0, 0))[0] >= row.capacity
    return rows


def interests(actor: Actor, status: str) -> tuple[list[GroupInterest], dict[str, int]]:
    require(actor, Perm.GROUP_ENROL)
    rows = GroupInterest.objects.filter(clinic=actor.clinic).select_related(
        "cohort__program", "patient"
    )
    counts = {s: rows.filter(status=s).count() for s in InterestStatus.values}
    if status in InterestStatus.values:
        rows = rows.filter(status=status)
    found = list(rows.order_by("submitted_at")[:200])
    record_for(
        actor,
        Action.QUERY,
        object_type="groups.groupinterest",
        detail={"status": status, "count": len(found)},
    )
    return found, counts


def new_interest_count(actor: Actor) -> int:
    """How many interest requests wait for an answer (a count: nothing about who)."""
    if not actor.can(Perm.GROUP_ENROL):
        return 0
    return GroupInterest.objects.filter(clinic=actor.clinic, status=InterestStatus.NEW).count()


def interest(actor: Actor, interest_id) -> GroupInterest:
    require(actor, Perm.GROUP_ENROL)
    row = (
        GroupInterest.objects.select_related("cohort__program", "patient")
        .filter(pk=interest_id)
        .first()
    )
    _own(actor, row)
    record_for(actor, Action.READ, obj=row)
    return row


def possible_patients(actor: Actor, row: GroupInterest) -> list[Patient]:
    """Registered patients who may be the person asking: the same name, phone or e-mail."""
    if row.patient_id is not None and row.source == InterestSource.PORTAL:
        return [row.patient]  # asked from their own portal: no one else
    match = Q(given_name__iexact=row.given_name, family_name__iexact=row.family_name)
    if row.phone:
        match |= Q(phone=row.phone)
    if row.email:
        match |= Q(email__iexact=row.email)
    return list(Patient.objects.filter(match, clinic=actor.clinic).order_by("family_name")[:10])


def open_cohorts(actor: Actor) -> list[Cohort]:
    """Cohorts a patient may still join, for the enrol forms."""
    return [c for c in cohorts(actor) if c.cancelled_at is None and services.joining_open(c)]
