"""Open notes: the patient's own signed progress notes, where their clinic shows them.

What is shown is the part of the medical record a progress note is, signed, and nothing else
[R101]:

- the therapist's **progress notes** (``therapy.ProgressNote``) once signed, with their
  addenda: what the session worked on, what was done, how the patient responded, the risk
  assessment and the plan;
- the **group session notes** of the sessions the patient attended, once signed: the group's
  shared part (topic and approaches, never who else was there) and the patient's own section,
  through ``groups.selectors.patient_attendance`` (the member wall).

Never shown, whatever the setting: a **psychotherapy note** (HIPAA 164.501, excepted from the
right of access [R100, R101]; this module does not read that table), and a **draft**. Treatment
session records (doses, vital signs) are structured documentation, not notes, and stay out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch

from trellis.audit.models import Action
from trellis.audit.services import record
from trellis.groups.selectors import patient_attendance
from trellis.portal.models import PORTAL_USERNAME, PortalAccount
from trellis.therapy.models import NoteStatus, ProgressNote, ProgressNoteAddendum, RiskLevel

SETTING = "portal_open_notes"


def open_notes_on(clinic) -> bool:
    """Whether the clinic shows signed progress notes in the portal (a clinic setting, off by
    default)."""
    return bool(clinic.setting(SETTING))


@dataclass(frozen=True)
class Part:
    heading: str
    text: str


@dataclass(frozen=True)
class Correction:
    when: datetime
    author: str
    reason: str
    text: str


@dataclass(frozen=True)
class OpenNote:
    when: datetime
    title: str
    author: str
    signed_at: datetime
    parts: list[Part]
    corrections: list[Correction]


def _name(user) -> str:
    name = user.get_full_name() or user.username
    return f"{name}, {user.credentials}" if user.credentials else name


def _risk(level: str, notes: str) -> str:
    words = "No risk found" if level == RiskLevel.NONE else f"{RiskLevel(level).label} risk"
    return f"{words}. {notes}" if notes else f"{words}."


def _parts(pairs: list[tuple[str, str]]) -> list[Part]:
    return [Part(heading, text) for heading, text in pairs if text]


def _progress_notes(account: PortalAccount) -> list[OpenNote]:
    rows = (
        ProgressNote.objects.filter(
            clinic=account.clinic, patient=account.patient, status=NoteStatus.SIGNED
        )
        .select_related("author")
        .prefetch_related(
            Prefetch(
                "addenda",
                ProgressNoteAddendum.objects.select_related("author").order_by("created_at"),
            )
        )
    )
    notes = []
    for note in rows:
        title = f"Therapy session: {note.get_modality_display()}"
        if note.phase:
            title += f" ({note.get_phase_display().lower()})"
        notes.append(
            OpenNote(
                when=note.started_at,
                title=title,
                author=_name(note.author),
                signed_at=note.signed_at,
                parts=_parts(
                    [
                        ("What the session focused on", note.focus),
                        ("What was done", note.interventions),
                        ("How you responded", note.response),
                        ("Safety check", _risk(note.risk_level, note.risk_notes)),
                        ("The plan", note.plan),
                    ]
                ),
                corrections=[
                    Correction(a.created_at, _name(a.author), a.reason, a.text)
                    for a in note.addenda.all()
                ],
            )
        )
    return notes


def _group_notes(account: PortalAccount) -> list[OpenNote]:
    notes = []
    for r in patient_attendance(account.patient):
        if r.note is None or not r.note.is_signed:
            continue
        section = r.section
        notes.append(
            OpenNote(
                when=r.meeting.start,
                title=f"Group session {r.meeting.number}: {r.program}",
                author=_name(r.note.author),
                signed_at=r.note.signed_at,
                parts=_parts(
                    [
                        ("What the group worked on", r.note.topic),
                        ("What was done", r.note.interventions),
                        ("Your participation", section.participation if section else ""),
                        ("How you responded", section.response if section else ""),
                        (
                            "Safety check",
                            _risk(section.risk_level, section.risk_notes) if section else "",
                        ),
                    ]
                ),
                corrections=[
                    Correction(a.created_at, _name(a.author), a.reason, a.text) for a in r.addenda
                ],
            )
        )
    return notes


def open_notes(account: PortalAccount, source_address: str = "") -> list[OpenNote]:
    """The patient's signed progress and group session notes, newest first; the read is one
    audit event under the portal's name, with how many notes it showed."""
    notes = sorted(
        _progress_notes(account) + _group_notes(account), key=lambda n: n.when, reverse=True
    )
    record(
        Action.READ,
        clinic=account.clinic,
        patient=account.patient,
        obj=account.patient,
        username=PORTAL_USERNAME,
        source_address=source_address,
        detail={"portal": "notes", "count": len(notes)},
    )
    return notes
