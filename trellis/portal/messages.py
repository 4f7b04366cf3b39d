"""Secure messages between a patient and their clinic: the named operations that change them.

A patient writes from their portal (a new conversation, or a reply); a member of staff with
``portal_message.reply`` answers and closes. Each operation is one transaction with its audit
event. A patient's words pass through the same crisis-language net as a shared journal entry
(``aftercare.crisis_words``) and a match raises a safety alert in that transaction; a reply
from the clinic queues the patient's notification (``notifications.notify``) in its own.

Messages are read during clinic hours and are not watched for emergencies: every page says so,
and the crisis screen is shown at once when the net matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.aftercare import crisis_words
from trellis.audit.models import Action
from trellis.audit.services import record, record_for
from trellis.lib.errors import InputError
from trellis.portal import notifications
from trellis.portal.models import (
    PORTAL_USERNAME,
    MessageThread,
    NoticeKind,
    PortalAccount,
    PortalMessage,
    ThreadStatus,
)
from trellis.safety.models import AlertKind, AlertSeverity, SafetyAlert
from trellis.safety.services import raise_alert

BODY_LIMIT = 4000
SUBJECT_LIMIT = MessageThread._meta.get_field("subject").max_length


@dataclass(frozen=True)
class Written:
    """A patient's message and the alert its words raised, if any."""

    message: PortalMessage
    alert: SafetyAlert | None

    @property
    def crisis(self) -> bool:
        return self.message.crisis_language


def _body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise InputError("body", "write your message")
    if len(body) > BODY_LIMIT:
        raise InputError("body", f"must be at most {BODY_LIMIT:,} characters")
    return body


# --- The patient -------------------------------------------------------------------------


def start_thread(
    account: PortalAccount,
    subject: str,
    body: str,
    *,
    source_address: str = "",
    now: datetime | None = None,
) -> tuple[MessageThread, Written]:
    """The patient starts a conversation with their clinic. InputError names ``subject`` or
    ``body``."""
    now = now or timezone.now()
    subject = " ".join((subject or "").split())
    if not subject:
        raise InputError("subject", "say in a few words what it is about")
    if len(subject) > SUBJECT_LIMIT:
        raise InputError("subject", f"must be at most {SUBJECT_LIMIT} characters")
    body = _body(body)
    with transaction.atomic():
        thread = MessageThread.objects.create(
            clinic_id=account.clinic_id,
            patient_id=account.patient_id,
            subject=subject,
            created_at=now,
            last_message_at=now,
        )
        record(
            Action.CREATE,
            clinic=account.clinic,
            patient=account.patient,
            obj=thread,
            username=PORTAL_USERNAME,
            source_address=source_address,
            detail={"portal": "message thread"},
        )
        written = _patient_message(account, thread, body, source_address, now)
    return thread, written


def reply_as_patient(
    account: PortalAccount,
    thread: MessageThread,
    body: str,
    *,
    source_address: str = "",
    now: datetime | None = None,
) -> Written:
    """The patient writes again in one of their own conversations, while it is open."""
    now = now or timezone.now()
    body = _body(body)
    with transaction.atomic():
        locked = MessageThread.objects.select_for_update().filter(pk=thread.pk).first()
        if locked is None or locked.patient_id != account.patient_id:
            raise Http404("No such conversation.")
        if locked.status != ThreadStatus.OPEN:
            raise InputError("body", "this conversation is closed; start a new message instead")
        return _patient_message(account, locked, body, source_address, now)


def _patient_message(account, thread, body, source_address, now) -> Written:
    """Save the patient's words, screen them, raise the alert (inside the caller's
    transaction)."""
    phrases = crisis_words.matches(body)
    message = PortalMessage.objects.create(
        clinic_id=thread.clinic_id,
        thread=thread,
        body=body,
        crisis_language=bool(phrases),
        created_at=now,
        read_by_patient_at=now,
    )
    thread.last_message_at = now
    thread.save(update_fields=["last_message_at"])
    record(
        Action.CREATE,
        clinic=account.clinic,
        patient=account.patient,
        obj=message,
        username=PORTAL_USERNAME,
        source_address=source_address,
        detail={"portal": "message", "crisis_language": bool(phrases)},
    )
    alert = None
    if phrases:
        count = len(phrases)
        alert = raise_alert(
            None,
            account.patient,
            AlertKind.MESSAGE_CRISIS_LANGUAGE,
            AlertSeverity.HIGH,
            f"A portal message from the patient has {count} phrase{'s' * (count != 1)} from "
            "the crisis-language list · read the message",
            source=message,
            now=now,
            username=PORTAL_USERNAME,
            source_address=source_address,
        )
    return Written(message, alert)


def mark_read_by_patient(
    account: PortalAccount, thread: MessageThread, *, now: datetime | None = None
) -> int:
    """The patient opened the conversation: the clinic's messages in it are read. Returns how
    many were unread (the page's read event is the audit record)."""
    if thread.patient_id != account.patient_id:
        raise Http404("No such conversation.")
    with transaction.atomic():
        return PortalMessage.objects.filter(
            thread=thread, staff_author__isnull=False, read_by_patient_at__isnull=True
        ).update(read_by_patient_at=now or timezone.now())


# --- The clinic --------------------------------------------------------------------------


def _check(actor: Actor, thread: MessageThread) -> None:
    require(actor, Perm.PORTAL_MESSAGE_REPLY)
    if thread.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")


def reply_as_staff(
    actor: Actor, thread: MessageThread, body: str, *, now: datetime | None = None
) -> PortalMessage:
    """A member of staff answers in an open conversation. The patient's messages before it
    count as read, and the patient is told there is a reply by the way they chose, outside
    their quiet hours (``notifications.notify``), in words that say nothing clinical."""
    _check(actor, thread)
    now = now or timezone.now()
    body = _body(body)
    with transaction.atomic():
        locked = MessageThread.objects.select_for_update().get(pk=thread.pk)
        if locked.status != ThreadStatus.OPEN:
            raise InputError("body", "this conversation is closed")
        PortalMessage.objects.filter(
            thread=locked, staff_author__isnull=True, read_by_staff_at__isnull=True
        ).update(read_by_staff_at=now)
        message = PortalMessage.objects.create(
            clinic_id=locked.clinic_id,
            thread=locked,
            staff_author=actor.user,
            body=body,
            created_at=now,
            read_by_staff_at=now,
        )
        locked.last_message_at = now
        locked.save(update_fields=["last_message_at"])
        record_for(actor, Action.CREATE, patient=locked.patient, obj=message)
        account = (
            PortalAccount.objects.select_related("clinic", "patient")
            .filter(patient_id=locked.patient_id, is_active=True)
            .first()
        )
        if account is not None:
            notifications.notify(account, NoticeKind.MESSAGE_REPLY, now=now)
    return message


def mark_read_by_staff(actor: Actor, thread: MessageThread, *, now: datetime | None = None) -> int:
    """A member of staff opened the conversation: the patient's messages in it are read."""
    _check(actor, thread)
    with transaction.atomic():
        return PortalMessage.objects.filter(
            thread=thread, staff_author__isnull=True, read_by_staff_at__isnull=True
        ).update(read_by_staff_at=now or timezone.now())


def close_thread(
    actor: Actor, thread: MessageThread, *, now: datetime | None = None
) -> MessageThread:
    """The conversation needs no more answers. The patient can still read it, and starts a
    new one to write again."""
    _check(actor, thread)
    now = now or timezone.now()
    with transaction.atomic():
        locked = MessageThread.objects.select_for_update().get(pk=thread.pk)
        if locked.status == ThreadStatus.CLOSED:
            raise InputError("status", "the conversation is already closed")
        locked.status = ThreadStatus.CLOSED
        locked.closed_by = actor.user
        locked.closed_at = now
        locked.save(update_fields=["status", "closed_by", "closed_at"])
        PortalMessage.objects.filter(
            thread=locked, staff_author__isnull=True, read_by_staff_at__isnull=True
        ).update(read_by_staff_at=now)
        record_for(
            actor, Action.UPDATE, patient=locked.patient, obj=locked, detail={"status": "closed"}
        )
    return locked
