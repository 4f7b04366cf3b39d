"""Every change to progress notes, goals and psychotherapy notes: one function each, one
transaction, audited. Audit details name fields and who, never what a note says."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from trellis.accounts.access import require
from trellis.accounts.models import Membership, User
from trellis.accounts.permissions import Perm, Role
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.billing import services as billing_services
from trellis.lib.errors import Conflict, InputError
from trellis.patients.models import Patient
from trellis.safety.models import AlertKind
from trellis.safety.services import raise_alert
from trellis.scheduling.kinds import THERAPY_KINDS, AppointmentStatus
from trellis.scheduling.models import Appointment
from trellis.therapy import rules
from trellis.therapy.models import (
    GoalStatus,
    KapPhase,
    NoteStatus,
    ProgressNote,
    ProgressNoteAddendum,
    PsychotherapyNote,
    PsychotherapyNoteGrant,
    RiskLevel,
    TherapyModality,
    TreatmentGoal,
)
from trellis.treatments.models import Session, SessionStatus

TEXT_FIELDS = ("focus", "interventions", "response", "plan", "risk_notes")
TEXT_LIMIT = 10_000
NOTE_FIELDS = ("modality", "phase", "started_at", "ended_at", *TEXT_FIELDS, "risk_level", "themes")


def _same_clinic(actor, row) -> None:
    if row.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")


def _clean(values: dict) -> dict:
    """The note's fields, checked: each wrong one named with its rule."""
    cleaned: dict = {}
    modality = values.get("modality") or ""
    if modality not in TherapyModality.values:
        raise InputError("modality", f"must be one of {', '.join(TherapyModality.values)}")
    cleaned["modality"] = modality
    phase = values.get("phase") or ""
    if phase and phase not in KapPhase.values:
        raise InputError("phase", f"must be one of {', '.join(KapPhase.values)}")
    if phase and modality != TherapyModality.KAP:
        raise InputError("phase", "is a phase of ketamine-assisted psychotherapy only")
    cleaned["phase"] = phase
    started_at, ended_at = values.get("started_at"), values.get("ended_at")
    if started_at is None:
        raise InputError("started_at", "is required")
    if ended_at is None:
        raise InputError("ended_at", "is required")
    rules.minutes_between(started_at, ended_at)
    cleaned["started_at"], cleaned["ended_at"] = started_at, ended_at
    for name in TEXT_FIELDS:
        text = (values.get(name) or "").strip()
        if len(text) > TEXT_LIMIT:
            raise InputError(name, f"must be at most {TEXT_LIMIT:,} characters")
        cleaned[name] = text
    risk = values.get("risk_level") or RiskLevel.NONE
    if risk not in RiskLevel.values:
        raise InputError("risk_level", f"must be one of {', '.join(RiskLevel.values)}")
    cleaned["risk_level"] = risk
    cleaned["themes"] = rules.parse_themes(values.get("themes") or [])
    return cleaned


def _occasion(actor, session: Session | None, appointment: Appointment | None) -> Patient:
    if (session is None) == (appointment is None):
        raise InputError("session", "give either the session or the appointment")
    if session is not None:
        _same_clinic(actor, session)
        if session.status == SessionStatus.PLANNED:
            raise Conflict("The session has not begun yet.", code="not_begun")
        return session.patient
    _same_clinic(actor, appointment)
    if appointment.kind not in THERAPY_KINDS:
        raise InputError("appointment", "must be a therapy, group or coaching appointment")
    if appointment.status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW):
        raise Conflict("The appointment did not take place.", code="not_held")
    return appointment.patient


def create_progress_note(
    actor, *, session: Session | None = None, appointment: Appointment | None = None, **values
) -> ProgressNote:
    """A draft progress note by ``actor`` for a session that has begun, or a therapy, group or
    coaching appointment that was not cancelled."""
    require(actor, Perm.PROGRESS_NOTE_CHANGE)
    patient = _occasion(actor, session, appointment)
    cleaned = _clean(values)
    with transaction.atomic():
        note = ProgressNote.objects.create(
            clinic=actor.clinic,
            patient=patient,
            session=session,
            appointment=appointment,
            author=actor.user,
            **cleaned,
        )
        record_for(
            actor,
            Action.CREATE,
            patient=patient,
            obj=note,
            detail={"modality": note.modality, "minutes": note.minutes},
        )
    return note


def _own_draft(actor, note: ProgressNote) -> ProgressNote:
    require(actor, Perm.PROGRESS_NOTE_CHANGE)
    _same_clinic(actor, note)
    locked = ProgressNote.objects.select_for_update().get(pk=note.pk)
    if locked.author_id != actor.user.pk:
        raise PermissionDenied("Only the note's author changes or signs it.")
    if locked.is_signed:
        raise Conflict("The note is signed: corrections are addenda.", code="signed")
    return locked


@transaction.atomic
def update_progress_note(actor, note: ProgressNote, **values) -> ProgressNote:
    """The author's changes to a draft; a signed note never changes."""
    locked = _own_draft(actor, note)
    cleaned = _clean(values)
    changed = [name for name, value in cleaned.items() if getattr(locked, name) != value]
    for name in changed:
        setattr(locked, name, cleaned[name])
    if changed:
        locked.save(update_fields=changed)
        record_for(
            actor, Action.UPDATE, patient=locked.patient, obj=locked, detail={"changed": changed}
        )
    return locked


@transaction.atomic
def sign_progress_note(actor, note: ProgressNote) -> ProgressNote:
    locked = _own_draft(actor, note)
    missing = rules.missing_for_signing(
        {name: getattr(locked, name) for name in (*TEXT_FIELDS, "risk_level")}
    )
    if missing:
        raise Conflict("Before signing, add " + ", ".join(missing) + ".", code="incomplete")
    locked.status = NoteStatus.SIGNED
    locked.signed_at = timezone.now()
    locked.save(update_fields=["status", "signed_at"])
    record_for(
        actor, Action.UPDATE, patient=locked.patient, obj=locked, detail={"status": "signed"}
    )
    # The psychotherapy's charges, written with the signature or not at all [R102].
    billing_services.capture_progress_note(actor, locked, prescriber=actor.role == Role.PRESCRIBER)
    return locked


def add_progress_addendum(actor, note: ProgressNote, *, reason: str, text: str):
    require(actor, Perm.PROGRESS_NOTE_CHANGE)
    _same_clinic(actor, note)
    if not note.is_signed:
        raise Conflict("The note is not signed yet: correct the note itself.", code="unsigned")
    reason, text = (reason or "").strip(), (text or "").strip()
    if not reason:
        raise InputError("reason", "say why the signed note is being corrected")
    if len(reason) > 200:
        raise InputError("reason", "must be at most 200 characters")
    if not text:
        raise InputError("text", "write the correction")
    if len(text) > TEXT_LIMIT:
        raise InputError("text", f"must be at most {TEXT_LIMIT:,} characters")
    with transaction.atomic():
        addendum = ProgressNoteAddendum.objects.create(
            clinic=note.clinic,
            patient=note.patient,
            note=note,
            author=actor.user,
            reason=reason,
            text=text,
        )
        record_for(actor, Action.CREATE, patient=note.patient, obj=addendum)
    return addendum


@transaction.atomic
def raise_risk_alert(actor, note: ProgressNote):
    """A safety alert from the note's risk assessment (moderate: high, high: urgent); once."""
    require(actor, Perm.PROGRESS_NOTE_CHANGE)
    _same_clinic(actor, note)
    locked = ProgressNote.objects.select_for_update().get(pk=note.pk)
    severity = rules.RISK_TO_ALERT.get(locked.risk_level)
    if severity is None:
        raise Conflict("The risk assessment found no risk that calls for an alert.", code="no_risk")
    if locked.alert_id is not None:
        raise Conflict("An alert was already raised from this note.", code="raised")
    when = timezone.localtime(locked.started_at, locked.clinic.tzinfo)
    alert = raise_alert(
        actor,
        locked.patient,
        AlertKind.THERAPY_RISK,
        severity,
        f"{locked.get_risk_level_display()} risk in the therapist's assessment of "
        f"{when:%b} {when.day}",
        source=locked,
    )
    locked.alert = alert
    locked.save(update_fields=["alert"])
    return alert


# --- treatment-plan goals ----------------------------------------------------------------------


def add_goal(actor, patient: Patient, text: str) -> TreatmentGoal:
    require(actor, Perm.PROGRESS_NOTE_CHANGE)
    _same_clinic(actor, patient)
    text = " ".join((text or "").split())
    if not text:
        raise InputError("text", "say what the goal is")
    limit = TreatmentGoal._meta.get_field("text").max_length
    if len(text) > limit:
        raise InputError("text", f"must be at most {limit} characters")
    with transaction.atomic():
        goal = TreatmentGoal.objects.create(
            clinic=patient.clinic, patient=patient, text=text, created_by=actor.user
        )
        record_for(actor, Action.CREATE, patient=patient, obj=goal)
    return goal


@transaction.atomic
def set_goal_status(actor, goal: TreatmentGoal, status: str) -> TreatmentGoal:
    require(actor, Perm.PROGRESS_NOTE_CHANGE)
    _same_clinic(actor, goal)
    if status not in GoalStatus.values:
        raise InputError("status", f"must be one of {', '.join(GoalStatus.values)}")
    locked = TreatmentGoal.objects.select_for_update().get(pk=goal.pk)
    if locked.status != status:
        locked.status = status
        locked.status_changed_at = timezone.now()
        locked.save(update_fields=["status", "status_changed_at"])
        record_for(
            actor, Action.UPDATE, patient=locked.patient, obj=locked, detail={"status": status}
        )
    return locked


# --- psychotherapy notes (HIPAA 164.501) -------------------------------------------------------


def write_psychotherapy_note(actor, patient: Patient, text: str) -> PsychotherapyNote:
    """The author's own note; its words never reach the audit trail."""
    require(actor, Perm.PSYCHOTHERAPY_NOTE_WRITE)
    _same_clinic(actor, patient)
    text = (text or "").strip()
    if not text:
        raise InputError("text", "write the note")
    if len(text) > TEXT_LIMIT:
        raise InputError("text", f"must be at most {TEXT_LIMIT:,} characters")
    with transaction.atomic():
        note = PsychotherapyNote.objects.create(
            clinic=patient.clinic, patient=patient, author=actor.user, text=text
        )
        record_for(actor, Action.CREATE, patient=patient, obj=note)
    return note


def grant_psychotherapy_notes(
    actor, patient: Patient, grantee: User, note: PsychotherapyNote | None = None
) -> PsychotherapyNoteGrant:
    """The author lets ``grantee`` read ``note``, or every note the author writes on
    ``patient`` when ``note`` is None."""
    require(actor, Perm.PSYCHOTHERAPY_NOTE_WRITE)
    _same_clinic(actor, patient)
    if note is not None and (note.patient_id != patient.pk or note.author_id != actor.user.pk):
        raise Http404("No such record.")
    if grantee.pk == actor.user.pk:
        raise InputError("grantee", "is the author, who reads their own notes already")
    membership = Membership.objects.filter(user=grantee, clinic=actor.clinic).first()
    if membership is None:
        raise InputError("grantee", "must be a member of staff at this clinic")
    if not membership.can(Perm.PSYCHOTHERAPY_NOTE_READ):
        raise InputError("grantee", "must be a clinician: their role may not read clinical notes")
    with transaction.atomic():
        grant = PsychotherapyNoteGrant.objects.create(
            clinic=patient.clinic, patient=patient, author=actor.user, grantee=grantee, note=note
        )
        record_for(
            actor,
            Action.CREATE,
            patient=patient,
            obj=grant,
            detail={"grantee": grantee.get_username(), "scope": "note" if note else "patient"},
        )
    return grant


@transaction.atomic
def revoke_psychotherapy_grant(actor, grant: PsychotherapyNoteGrant) -> PsychotherapyNoteGrant:
    require(actor, Perm.PSYCHOTHERAPY_NOTE_WRITE)
    _same_clinic(actor, grant)
    locked = PsychotherapyNoteGrant.objects.select_for_update().get(pk=grant.pk)
    if locked.author_id != actor.user.pk:
        raise Http404("No such record.")
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        record_for(
            actor,
            Action.UPDATE,
            patient=locked.patient,
            obj=locked,
            detail={"revoked": locked.grantee.get_username()},
        )
    return locked
