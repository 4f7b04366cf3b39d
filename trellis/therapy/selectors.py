"""Reading progress notes, goals and psychotherapy notes.

Psychotherapy notes are read here and nowhere else: by their author, or by a colleague with a
grant that is not revoked, each note read audited with no word of it in the event. Anyone
else is told the page does not exist (404), so that not even a note's existence is revealed.
"""

from __future__ import annotations

from collections import Counter

from django.db.models import Q
from django.http import Http404
from django.urls import reverse

from trellis.accounts.access import Actor
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.patients.models import Patient
from trellis.scheduling.kinds import THERAPY_KINDS, AppointmentKind, AppointmentStatus
from trellis.scheduling.models import Appointment
from trellis.therapy import rules
from trellis.therapy.models import (
    GoalStatus,
    ProgressNote,
    PsychotherapyNote,
    PsychotherapyNoteGrant,
    TreatmentGoal,
)


def with_codes(notes) -> list[ProgressNote]:
    """The notes, each with its minutes' add-on code as ``addon``."""
    notes = list(notes)
    for note in notes:
        note.addon = rules.addon(note.minutes)
    return notes


def session_part(actor: Actor, session) -> dict | None:
    """The therapist's progress notes on the session's page (treatments.hooks)."""
    if not actor.can(Perm.SESSION_READ):
        return None
    notes = with_codes(
        ProgressNote.objects.filter(session=session, clinic=actor.clinic).select_related("author")
    )
    can_write = actor.can(Perm.PROGRESS_NOTE_CHANGE) and session.status not in (
        "planned",
        "cancelled",
        "no_show",
        "not_given",
    )
    return {
        "template": "therapy/includes/session_notes.html",
        "notes": notes,
        "can_write": can_write,
        "new_url": reverse("progress_note_for_session", args=[session.id]),
    }


def patient_card(actor: Actor, patient: Patient) -> dict:
    """The patient page's card: progress notes, goals, themes and therapy appointments still
    without a note. No psychotherapy note, ever."""
    mine = ProgressNote.objects.filter(patient=patient, clinic=patient.clinic)
    themes_of_each = list(mine.values_list("themes", flat=True))
    themes = Counter(theme for row in themes_of_each for theme in row or [])
    # The notes with their authors and sessions only for a patient who has any.
    notes = (
        with_codes(mine.select_related("author", "session", "appointment")[:20])
        if themes_of_each
        else []
    )
    goals = list(TreatmentGoal.objects.filter(patient=patient, clinic=patient.clinic))
    can_write = actor.can(Perm.PROGRESS_NOTE_CHANGE)
    unwritten = []
    if can_write:
        unwritten = list(
            Appointment.objects.filter(
                patient=patient,
                clinic=patient.clinic,
                kind__in=THERAPY_KINDS,
                day__lte=patient.clinic.today(),
                progress_notes__isnull=True,
            )
            .exclude(status__in=[AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW])
            # A group's sessions are documented by the group's note (trellis.groups).
            .exclude(kind=AppointmentKind.GROUP)
            .order_by("-start")[:5]
        )
    return {
        "patient": patient,
        "notes": notes,
        "goals": goals,
        "active_goals": [g for g in goals if g.status == GoalStatus.ACTIVE],
        "themes": themes.most_common(),
        "can_write": can_write,
        "unwritten": unwritten,
        "can_psychotherapy": actor.can(Perm.PSYCHOTHERAPY_NOTE_WRITE),
    }


def _granted(actor: Actor, patient: Patient) -> Q:
    grants = PsychotherapyNoteGrant.objects.filter(
        patient=patient, clinic=patient.clinic, grantee=actor.user, revoked_at__isnull=True
    )
    whole = grants.filter(note__isnull=True).values("author")
    single = grants.filter(note__isnull=False).values("note")
    return Q(author=actor.user) | Q(author__in=whole) | Q(pk__in=single)


def psychotherapy_notes(actor: Actor | None, patient: Patient) -> list[PsychotherapyNote]:
    """The psychotherapy notes ``actor`` may read on ``patient``, each read audited. 404 when
    there is none to read and the actor may not write one: nothing is revealed."""
    if actor is None or patient.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    notes: list[PsychotherapyNote] = []
    if actor.can(Perm.PSYCHOTHERAPY_NOTE_READ) or actor.can(Perm.PSYCHOTHERAPY_NOTE_WRITE):
        notes = list(
            PsychotherapyNote.objects.filter(patient=patient, clinic=patient.clinic)
            .filter(_granted(actor, patient))
            .select_related("author")
        )
    if not notes and not actor.can(Perm.PSYCHOTHERAPY_NOTE_WRITE):
        raise Http404("No such record.")
    for note in notes:
        record_for(actor, Action.READ, patient=patient, obj=note)
    return notes


def own_grants(actor: Actor, patient: Patient) -> list[PsychotherapyNoteGrant]:
    return list(
        PsychotherapyNoteGrant.objects.filter(
            patient=patient, clinic=patient.clinic, author=actor.user
        ).select_related("grantee", "note")
    )
