"""Reads of secure messages: the patient's own conversations in the portal, and the clinic's
inbox for staff with ``portal_message.reply``.

The patient's reads take the signed-in ``PortalAccount`` and find only their own patient's
threads. Staff reads are scoped to the actor's clinic; one thread is loaded through the access
helper (another clinic's is a 404, a role without the permission a 403) and audited there.
Nothing here reads any other part of the record: a conversation page shows the conversation.
"""

from __future__ import annotations

from django.core.paginator import Page
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import dateformat, timezone

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.selectors import audited_page
from trellis.patients import access
from trellis.portal.models import MessageThread, PortalAccount, PortalMessage, ThreadStatus
from trellis.safety.sources import Source

_UNREAD_BY_PATIENT = Count(
    "messages",
    filter=Q(messages__staff_author__isnull=False, messages__read_by_patient_at__isnull=True),
)
_UNREAD_BY_STAFF = Count(
    "messages",
    filter=Q(messages__staff_author__isnull=True, messages__read_by_staff_at__isnull=True),
)


# --- The patient -------------------------------------------------------------------------


def patient_threads(account: PortalAccount, limit: int = 100) -> list[MessageThread]:
    """The patient's conversations, latest first, each with ``unread``: the clinic's messages
    in it the patient has not opened."""
    return list(
        MessageThread.objects.filter(patient_id=account.patient_id)
        .annotate(unread=_UNREAD_BY_PATIENT)
        .order_by("-last_message_at")[:limit]
    )


def patient_unread_count(account: PortalAccount) -> int:
    return PortalMessage.objects.filter(
        thread__patient_id=account.patient_id,
        staff_author__isnull=False,
        read_by_patient_at__isnull=True,
    ).count()


def patient_thread(account: PortalAccount, thread_id) -> MessageThread | None:
    """One of the patient's own conversations, or None (someone else's, or no such one)."""
    return MessageThread.objects.filter(pk=thread_id, patient_id=account.patient_id).first()


def thread_messages(thread: MessageThread) -> list[PortalMessage]:
    """The conversation's messages, oldest first, with who wrote each."""
    return list(thread.messages.select_related("staff_author").order_by("created_at"))


# --- The clinic --------------------------------------------------------------------------

INBOX_STATUSES = [("open", "Open"), ("closed", "Closed"), ("all", "All")]


def _clinic_threads(actor: Actor) -> QuerySet:
    require(actor, Perm.PORTAL_MESSAGE_REPLY)
    return (
        MessageThread.objects.filter(clinic=actor.clinic)
        .select_related("patient")
        .annotate(unread=_UNREAD_BY_STAFF)
    )


def inbox(actor: Actor, status: str = "open", page=1) -> Page:
    """The clinic's conversations in ``status`` (open, closed or all), those with unread
    patient messages first, then the latest; a page at a time, audited as one query."""
    rows = _clinic_threads(actor)
    if status in ThreadStatus.values:
        rows = rows.filter(status=status)
    return audited_page(
        actor,
        rows.order_by("-unread", "-last_message_at", "id"),
        object_type="portal.messagethread",
        name=f"portal_inbox_{status}",
        page=page,
    )


def awaiting_reply(actor: Actor, page=1) -> Page:
    """Open conversations with a patient message nobody has opened, the longest waiting first:
    the home page's work list (``desk.sections``)."""
    rows = (
        _clinic_threads(actor)
        .filter(status=ThreadStatus.OPEN, unread__gt=0)
        .order_by("last_message_at", "id")
    )
    return audited_page(
        actor, rows, object_type="portal.messagethread", name="portal_messages_unread", page=page
    )


def unread_count(actor: Actor) -> int:
    """How many patient messages in the clinic's open conversations nobody has opened."""
    require(actor, Perm.PORTAL_MESSAGE_REPLY)
    return PortalMessage.objects.filter(
        clinic=actor.clinic,
        thread__status=ThreadStatus.OPEN,
        staff_author__isnull=True,
        read_by_staff_at__isnull=True,
    ).count()


def staff_thread(actor: Actor, thread_id) -> MessageThread:
    """One conversation of the actor's clinic, through the access helper (404, 403, audited)."""
    return access.load(
        actor,
        MessageThread.objects.select_related("patient", "clinic"),
        thread_id,
        Perm.PORTAL_MESSAGE_REPLY,
    )


# --- What raised an alert ----------------------------------------------------------------


def message_source(alert, actor) -> Source | None:
    """A message alert's source on the alert page: when it was written, with a link to the
    conversation for those who may read it."""
    message = (
        PortalMessage.objects.filter(pk=alert.source_id, clinic=alert.clinic_id)
        .select_related("thread")
        .first()
    )
    if message is None:
        return None
    when = timezone.localtime(message.created_at, alert.clinic.tzinfo)
    text = f"Portal message of {dateformat.format(when, 'M j, Y, H:i')}"
    url = ""
    if actor is not None and actor.can(Perm.PORTAL_MESSAGE_REPLY):
        url = reverse("portal_inbox_thread", args=[message.thread_id])
    return Source(text, url)
