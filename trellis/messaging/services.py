"""Queueing e-mail and SMS in the caller's transaction, and sending what is due.

``enqueue_email`` and ``enqueue_sms`` only write a pending ``OutboxMessage``: the message is
committed or rolled back together with whatever caused it. ``send_due`` (run by
``manage.py run_outbox``) claims due messages, sends them outside any transaction, and records
each outcome, retrying failures with exponential backoff. Delivery is at least once: a worker
killed between sending and recording sends that message again when its claim lapses.
"""

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.validators import validate_email
from django.db import models, transaction
from django.utils import timezone

from trellis.lib.errors import InputError
from trellis.messaging.models import Channel, OutboxMessage, Status
from trellis.messaging.sms import SmsProvider, get_provider

if TYPE_CHECKING:
    from trellis.accounts.models import Clinic
    from trellis.patients.models import Patient

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
# A message still "sending" this long after it was claimed belongs to a worker that died.
SENDING_TIMEOUT = timedelta(minutes=10)

_PHONE_SEPARATORS = re.compile(r"[\s().-]")
_PHONE = re.compile(r"\+?[0-9]{7,15}")  # E.164 numbers have at most 15 digits
_PURPOSE = re.compile(r"[a-z][a-z0-9_]*")

_SUBJECT_MAX = OutboxMessage._meta.get_field("subject").max_length
_PURPOSE_MAX = OutboxMessage._meta.get_field("purpose").max_length


# --- Queueing ------------------------------------------------------------------------------


def enqueue_email(
    *,
    recipient: str,
    subject: str,
    body: str,
    purpose: str,
    html_body: str = "",
    clinic: "Clinic | None" = None,
    patient: "Patient | None" = None,
    send_at: datetime | None = None,
) -> OutboxMessage:
    """Queue an e-mail in the caller's transaction; ``run_outbox`` sends it from ``send_at`` on."""
    recipient = recipient.strip()
    try:
        validate_email(recipient)
    except ValidationError:
        raise InputError(
            "recipient", "must be an e-mail address such as name@example.org"
        ) from None
    if not subject.strip():
        raise InputError("subject", "must not be empty")
    if "\n" in subject or "\r" in subject:
        raise InputError("subject", "must be a single line")
    if len(subject) > _SUBJECT_MAX:
        raise InputError("subject", f"must be at most {_SUBJECT_MAX} characters")
    return _enqueue(
        Channel.EMAIL,
        recipient,
        subject=subject,
        body=body,
        html_body=html_body,
        purpose=purpose,
        clinic=clinic,
        patient=patient,
        send_at=send_at,
    )


def enqueue_sms(
    *,
    recipient: str,
    body: str,
    purpose: str,
    clinic: "Clinic | None" = None,
    patient: "Patient | None" = None,
    send_at: datetime | None = None,
) -> OutboxMessage:
    """Queue an SMS in the caller's transaction; ``run_outbox`` sends it from ``send_at`` on.

    Spaces, dots, dashes and parentheses are taken out of the number: "+1 (555) 010-4477" is
    stored as "+15550104477".
    """
    recipient = _PHONE_SEPARATORS.sub("", recipient)
    if not _PHONE.fullmatch(recipient):
        raise InputError(
            "recipient", "must be a phone number of 7 to 15 digits, optionally after a +"
        )
    return _enqueue(
        Channel.SMS,
        recipient,
        body=body,
        purpose=purpose,
        clinic=clinic,
        patient=patient,
        send_at=send_at,
    )


def _enqueue(
    channel: Channel,
    recipient: str,
    *,
    body: str,
    purpose: str,
    clinic: "Clinic | None",
    patient: "Patient | None",
    send_at: datetime | None,
    subject: str = "",
    html_body: str = "",
) -> OutboxMessage:
    if not body.strip():
        raise InputError("body", "must not be empty")
    if len(purpose) > _PURPOSE_MAX or not _PURPOSE.fullmatch(purpose):
        raise InputError(
            "purpose",
            f"must be a code of at most {_PURPOSE_MAX} lower-case letters, digits and _, "
            "such as questionnaire_link",
        )
    clinic_id = clinic.pk if clinic is not None else None
    if patient is not None:
        if clinic_id is not None and clinic_id != patient.clinic_id:
            raise InputError("patient", "belongs to another clinic")
        clinic_id = patient.clinic_id  # every patient-scoped row carries its clinic
    # No savepoint: the message joins the caller's transaction and fails with it.
    with transaction.atomic(savepoint=False):
        return OutboxMessage.objects.create(
            clinic_id=clinic_id,
            patient=patient,
            channel=channel,
            recipient=recipient,
            subject=subject,
            body=body,
            html_body=html_body,
            purpose=purpose,
            next_attempt_at=send_at or timezone.now(),
        )


def requeue(messages: models.QuerySet[OutboxMessage], now: datetime | None = None) -> int:
    """Give the failed ones among ``messages`` a fresh set of attempts, due now."""
    with transaction.atomic():
        return messages.filter(status=Status.FAILED).update(
            status=Status.PENDING, attempts=0, next_attempt_at=now or timezone.now()
        )


# --- Sending -------------------------------------------------------------------------------


@dataclass
class SendCounts:
    """What one ``send_due`` pass did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.retrying + self.failed

    def __str__(self) -> str:
        return f"sent {self.sent}, retrying {self.retrying}, failed {self.failed}"


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after ``attempts`` failed attempts: 1, 2, 4, 8 … minutes, at most 1 hour."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)


def send_due(now: datetime | None = None, limit: int = 100) -> SendCounts:
    """Send up to ``limit`` due messages; one message's failure never stops the others.

    Safe with several workers at once. Must not run inside a transaction: the claim is
    committed before anything is sent, so a slow SMTP server holds no lock.
    """
    counts = SendCounts()
    claimed, counts.failed = _claim_due(now or timezone.now(), limit)
    mail = get_connection()
    sms: SmsProvider | None = None
    try:
        for message in claimed:
            try:
                if message.channel == Channel.EMAIL:
                    _send_email(message, mail)
                else:
                    sms = sms or get_provider()
                    sms.send(message.recipient, message.body)
            except Exception as error:
                mail.close()  # a broken SMTP session must not fail the messages after it
                if _record_failure(message, error, now or timezone.now()) == Status.FAILED:
                    counts.failed += 1
                else:
                    counts.retrying += 1
            else:
                _record_sent(message, now or timezone.now())
                counts.sent += 1
    finally:
        mail.close()
    return counts


def _claim_due(now: datetime, limit: int) -> tuple[list[OutboxMessage], int]:
    """Mark up to ``limit`` due messages as sending and commit, so no other worker takes them.

    Returns the claimed messages and how many interrupted ones were given up as failed.
    """
    with transaction.atomic(durable=True):
        # PostgreSQL skips rows another worker is claiming rather than waiting for them. SQLite
        # has no row locks and ignores this; its IMMEDIATE transactions already let only one
        # writer at a time through this block.
        due = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status__in=[Status.PENDING, Status.SENDING], next_attempt_at__lte=now)
            .order_by("next_attempt_at")[:limit]
        )
        claimed = []
        for message in due:
            if message.status == Status.SENDING:
                message.last_error = f"attempt {message.attempts} was interrupted (worker stopped)"
                if message.attempts >= MAX_ATTEMPTS:
                    message.status = Status.FAILED
                    logger.error("Outbox message %s given up: %s", message.pk, message.last_error)
                    continue
            message.status = Status.SENDING
            message.attempts += 1
            message.next_attempt_at = now + SENDING_TIMEOUT
            claimed.append(message)
        OutboxMessage.objects.bulk_update(
            due, ["status", "attempts", "next_attempt_at", "last_error"]
        )
    return claimed, len(due) - len(claimed)


def _send_email(message: OutboxMessage, connection: BaseEmailBackend) -> None:
    email = EmailMultiAlternatives(
        subject=message.subject, body=message.body, to=[message.recipient], connection=connection
    )
    if message.html_body:
        email.attach_alternative(message.html_body, "text/html")
    email.send()


def _still_ours(message: OutboxMessage) -> models.QuerySet[OutboxMessage]:
    """The message, unless its claim lapsed and another worker has taken it since."""
    return OutboxMessage.objects.filter(
        pk=message.pk, status=Status.SENDING, attempts=message.attempts
    )


def _record_sent(message: OutboxMessage, at: datetime) -> None:
    if not _still_ours(message).update(status=Status.SENT, sent_at=at):
        logger.warning("Outbox message %s was sent after its claim lapsed", message.pk)


def _record_failure(message: OutboxMessage, error: Exception, at: datetime) -> Status:
    """Schedule the next attempt, or give up after ``MAX_ATTEMPTS``; returns the new status."""
    reason = f"{type(error).__name__}: {error}"[:1000]
    if message.attempts >= MAX_ATTEMPTS:
        status, next_attempt_at = Status.FAILED, at
        logger.error(
            "Outbox message %s (%s) given up after %d attempts: %s",
            message.pk,
            message.purpose,
            message.attempts,
            reason,
        )
    else:
        status, next_attempt_at = Status.PENDING, at + retry_delay(message.attempts)
        logger.warning(
            "Outbox message %s (%s) attempt %d failed, next at %s: %s",
            message.pk,
            message.purpose,
            message.attempts,
            next_attempt_at,
            reason,
        )
    _still_ours(message).update(status=status, next_attempt_at=next_attempt_at, last_error=reason)
    return status
