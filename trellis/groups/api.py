"""JSON API for group therapy (DESIGN.md §5 conventions): a patient's own group sessions.

What it returns for one patient is their attendance, the group note's shared part and their
own section: never another member's name or section.
"""

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from ninja import Field, Router, Schema

from trellis.accounts.permissions import Perm
from trellis.groups import selectors
from trellis.lib.apidoc import errors
from trellis.patients import access

router = Router(tags=["groups"])


class SectionOut(Schema):
    participation: str
    response: str
    risk_level: Literal["none", "low", "moderate", "high"]
    risk_notes: str


class GroupNoteOut(Schema):
    topic: str
    interventions: str
    participant_count: int = Field(..., description="Members who took part [R103]")
    signed: bool
    signed_at: datetime | None


class GroupAttendanceOut(Schema):
    id: UUID
    cohort: UUID
    program: str
    session_number: int
    day: date
    start: datetime
    end: datetime
    status: Literal["present", "late", "left_early", "absent"]
    billing_code: str = Field(
        ..., description="90853 for an attendee present once the note is signed, else empty"
    )
    billing_units: int
    participant_count: int | None
    note: GroupNoteOut | None = Field(None, description="The group note's shared part")
    section: SectionOut | None = Field(None, description="This patient's own section")


def _out(record: selectors.MemberRecord) -> dict:
    a, m, note, section = record.attendance, record.meeting, record.note, record.section
    return {
        "id": a.pk,
        "cohort": m.cohort_id,
        "program": record.program,
        "session_number": m.number,
        "day": m.day,
        "start": m.start,
        "end": m.end,
        "status": a.status,
        "billing_code": a.billing_code,
        "billing_units": a.billing_units,
        "participant_count": a.participant_count,
        "note": None
        if note is None
        else {
            "topic": note.topic,
            "interventions": note.interventions,
            "participant_count": note.participant_count,
            "signed": note.is_signed,
            "signed_at": note.signed_at,
        },
        "section": None
        if section is None
        else {
            "participation": section.participation,
            "response": section.response,
            "risk_level": section.risk_level,
            "risk_notes": section.risk_notes,
        },
    }


@router.get(
    "/patients/{patient_id}/group-attendance",
    response={200: list[GroupAttendanceOut], **errors(403)},
    summary="A patient's group sessions: attendance, the note's shared part, their own section",
)
def patient_group_attendance(request, patient_id: str):
    patient = access.patient(request.auth, patient_id, Perm.SESSION_READ)
    return [_out(r) for r in selectors.patient_attendance(patient)]
