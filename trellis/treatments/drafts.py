"""The chair-side note kept as a draft while it is typed, and the sign-in kept alive while a
session is open.

A nurse documents a session over an hour or more, with long gaps while the patient is watched.
What is typed is saved as a draft every few seconds (per session and author), so that a closed
tab, a lost connection or an idle sign-out loses nothing; the draft becomes the note only when
its author saves the note. A page with a session in progress may also keep its user signed in
(``keeps_sign_in``): esketamine's two hours of monitoring must not be cut short by idle logoff.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from trellis.accounts.access import require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.lib.errors import Conflict, InputError
from trellis.treatments.models import NoteDraft, Session, SessionStatus

MAX_DRAFT_CHARACTERS = 20_000

# How long after a session began its open page may keep a workstation signed in. The longest
# visit — esketamine with up to 4 hours of monitoring by clinic setting, after check-in and
# dosing [R22, R28] — fits inside it; a tab forgotten on an open session does not stay signed
# in overnight.
KEEP_SIGNED_IN_FOR = timedelta(hours=6)


def _documentable(session: Session) -> None:
    """A draft belongs to a session being documented: begun, and not yet signed."""
    if session.is_signed:
        raise Conflict(
            "This session is signed and cannot change; add an addendum instead.", code="signed"
        )
    if session.status != SessionStatus.IN_PROGRESS:
        raise Conflict(
            "The note opens when the session begins; this session is "
            f"{session.get_status_display().lower()}.",
            code="not_in_progress",
        )


def save_note_draft(
    actor, session: Session, text: str, *, now: datetime | None = None
) -> NoteDraft:
    """Keep what ``actor`` has typed in the session's note so far (audited as an update)."""
    require(actor, Perm.SESSION_CHANGE)
    if len(text) > MAX_DRAFT_CHARACTERS:
        raise InputError("note", f"a note holds at most {MAX_DRAFT_CHARACTERS:,} characters")
    now = now or timezone.now()
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        _documentable(locked)
        draft, _ = NoteDraft.objects.update_or_create(
            session=locked,
            author=actor.user,
            defaults={"clinic_id": locked.clinic_id, "text": text, "saved_at": now},
        )
        record_for(
            actor,
            Action.UPDATE,
            patient=session.patient,
            obj=draft,
            detail={"session": str(session.pk), "characters": len(text)},
        )
    return draft


def unsaved_note_draft(actor, session: Session, saved_note: str) -> NoteDraft | None:
    """``actor``'s own draft of the note while the session can still be documented, when it
    says something the saved note does not (a draft kept just as the note was saved does not)."""
    if session.is_signed or session.status != SessionStatus.IN_PROGRESS:
        return None
    draft = NoteDraft.objects.filter(session=session, author=actor.user).first()
    if draft is None or draft.text == saved_note:
        return None
    return draft


def discard_note_draft(actor, session: Session) -> None:
    """The note was saved: the author's draft of it is now in the record."""
    NoteDraft.objects.filter(session=session, author=actor.user).delete()


def keeps_sign_in(actor, session: Session, *, now: datetime | None = None) -> bool:
    """Whether an open page of ``session`` may keep ``actor`` signed in without activity.

    Only a session in progress that the actor may document, and only for a visit's length.
    """
    now = now or timezone.now()
    return (
        actor.can(Perm.SESSION_CHANGE)
        and not session.is_signed
        and session.status == SessionStatus.IN_PROGRESS
        and session.started_at is not None
        and now - session.started_at < KEEP_SIGNED_IN_FOR
    )
