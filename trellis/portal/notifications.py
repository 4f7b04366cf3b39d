"""Telling a patient that something new waits in their portal, the way they chose.

The patient chooses, per kind (a new questionnaire, an appointment reminder, a reply from the
clinic), e-mail, text or nothing, and quiet hours in their clinic's time zone (by default
9 pm to 8 am). A notification is an outbox message (``messaging``) queued in the transaction
that caused it, with the outbox's send-not-before time set to the end of the quiet hours when it
falls inside them (``quiet_hours.send_at``).

The words never carry clinical content: "You have a new message from Riverside Clinic — sign
in to read it", never the message, the questionnaire's name or a score. A text goes only to a
patient whose agreement to texts the clinic has recorded where it requires it
(``patients.contact.may_text``, as appointment reminders); without it the notice goes by
e-mail when an address is on file, and otherwise not at all.

Appointment reminders (``scheduling.reminders``), questionnaire reminders (``measures``) and
check-in links (``aftercare``) are sent by apps below the portal: they ask
``patients.contact``, where the portal registers ``chosen_channels`` for the patient's saved
choice.
"""

from __future__ import annotations

from datetime import datetime, time

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from trellis.accounts.models import Clinic
from trellis.audit.models import Action
from trellis.audit.services import record
from trellis.lib.errors import InputError
from trellis.lib.http import site_url
from trellis.lib.models import one_or_none
from trellis.measures.services import open_unanswered
from trellis.messaging.models import OutboxMessage, Status
from trellis.messaging.services import enqueue_email, enqueue_sms
from trellis.patients import contact
from trellis.portal import quiet_hours
from trellis.portal.models import (
    PORTAL_USERNAME,
    NoticeChannel,
    NoticeKind,
    NotificationPreference,
    PortalAccount,
    PortalNotice,
)

# How the questionnaire job appears in the audit trail.
NOTICE_USERNAME = "(portal notice)"

PURPOSES = {
    NoticeKind.QUESTIONNAIRE: "portal_questionnaire",
    NoticeKind.MESSAGE_REPLY: "portal_message_reply",
}
# The front desk's answer to a request from the portal is a reply from the clinic: it goes as
# the patient chose for replies, with words and a link of its own.
REQUEST_ANSWER = "portal_request_answer"

FIELDS = [kind.value for kind in NoticeKind]


def preferences_for(account: PortalAccount) -> NotificationPreference:
    """The patient's saved choices, or (not yet saved) the clinic's usual way of reaching them
    for every kind (``patients.contact.clinic_channels``: text first) and the default quiet
    hours."""
    saved = NotificationPreference.objects.filter(account=account).first()
    if saved is not None:
        return saved
    usual = contact.clinic_channels(account.patient)
    channel = usual[0] if usual else NoticeChannel.NONE
    return NotificationPreference(
        clinic_id=account.clinic_id, account=account, **dict.fromkeys(FIELDS, channel)
    )


def save_preferences(
    account: PortalAccount,
    *,
    channels: dict[str, str],
    quiet_start: time | None,
    quiet_end: time | None,
    source_address: str = "",
    now: datetime | None = None,
) -> NotificationPreference:
    """The patient saves their notification settings. InputError names the field: a channel
    that is not e-mail, text or none; a text without a number and agreement on file; an
    e-mail without an address; a missing quiet-hours time."""
    patient = account.patient
    for field in FIELDS:
        value = channels.get(field, "")
        if value not in NoticeChannel.values:
            raise InputError(field, "choose e-mail, text message or don't tell me")
        if value == NoticeChannel.SMS and not contact.may_text(patient):
            raise InputError(
                field,
                "texts need your mobile number and your agreement to texts on file; ask the "
                "clinic to add them, or choose e-mail",
            )
        if value == NoticeChannel.EMAIL and not patient.email.strip():
            raise InputError(field, "the clinic has no e-mail address for you; ask them to add one")
    if quiet_start is None:
        raise InputError("quiet_start", "give a time such as 21:00")
    if quiet_end is None:
        raise InputError("quiet_end", "give a time such as 08:00")
    with transaction.atomic():
        preference, _ = NotificationPreference.objects.update_or_create(
            account=account,
            defaults={
                "clinic_id": account.clinic_id,
                **{field: channels[field] for field in FIELDS},
                "quiet_start": quiet_start,
                "quiet_end": quiet_end,
                "updated_at": now or timezone.now(),
            },
        )
        record(
            Action.UPDATE,
            clinic=account.clinic,
            patient=patient,
            obj=preference,
            username=PORTAL_USERNAME,
            source_address=source_address,
            detail={
                "portal": "notification settings",
                **{field: channels[field] for field in FIELDS},
                "quiet": f"{quiet_start:%H:%M}-{quiet_end:%H:%M}",
            },
        )
    return preference


def channel(account: PortalAccount, kind: str, preference=None) -> str:
    """The channel a notice of ``kind`` goes by now: the patient's choice, or e-mail when they
    chose texts that the clinic may not send them, or none."""
    patient = account.patient
    chosen = (preference or preferences_for(account)).channel_for(kind)
    if chosen == NoticeChannel.SMS and not contact.may_text(patient):
        chosen = NoticeChannel.EMAIL
    if chosen == NoticeChannel.EMAIL and not patient.email.strip():
        chosen = NoticeChannel.NONE
    return chosen


# What each purpose ``patients.contact`` asks about is, among the kinds the patient chooses a
# way for: a check-in is a short questionnaire.
KIND_OF_PURPOSE = {
    NoticeKind.APPOINTMENT_REMINDER.value: NoticeKind.APPOINTMENT_REMINDER,
    contact.QUESTIONNAIRE: NoticeKind.QUESTIONNAIRE,
    contact.CHECK_IN: NoticeKind.QUESTIONNAIRE,
}


def chosen_channels(patient, purpose: str) -> list[str] | None:
    """``patients.contact``'s chooser: for appointment reminders, questionnaire reminders and
    check-in links, the channel a patient who has saved their portal's notification settings
    chose (none: not sent), or None to leave it to the clinic's usual way."""
    kind = KIND_OF_PURPOSE.get(purpose)
    if kind is None:
        return None
    # One account a patient, one preference an account: read by key, with the account; the
    # patient (and their clinic) are the caller's.
    saved = one_or_none(
        NotificationPreference.objects.filter(
            account__patient=patient, account__is_active=True
        ).select_related("account")
    )
    if saved is None:
        return None
    saved.account.patient = patient
    chosen = channel(saved.account, kind, saved)
    return [] if chosen == NoticeChannel.NONE else [chosen]


def words(kind: str, clinic: Clinic, purpose: str = "") -> tuple[str, str]:
    """(subject, body) of a notice: who it is from and where to sign in, nothing clinical."""
    if purpose == REQUEST_ANSWER:
        url = site_url(reverse("portal_appointments"))
        return (
            f"An answer from {clinic.name}",
            f"{clinic.name} has answered your request — sign in to read it: {url}",
        )
    if kind == NoticeKind.QUESTIONNAIRE:
        url = site_url(reverse("portal_home"))
        return (
            f"A questionnaire from {clinic.name}",
            f"You have a new questionnaire from {clinic.name} — sign in to answer it: {url}",
        )
    url = site_url(reverse("portal_messages"))
    return (
        f"A new message from {clinic.name}",
        f"You have a new message from {clinic.name} — sign in to read it: {url}",
    )


def notify(
    account: PortalAccount, kind: str, *, now: datetime | None = None, purpose: str = ""
) -> OutboxMessage | None:
    """Queue the patient's notice of ``kind`` in the caller's transaction, sent from the end of
    their quiet hours when ``now`` falls inside them. None when they chose no notice, cannot be
    reached, or a notice of the same purpose still waits unsent (one is enough). ``purpose``:
    the kind's own (``PURPOSES``), or ``REQUEST_ANSWER``."""
    now = now or timezone.now()
    preference = preferences_for(account)
    by = channel(account, kind, preference)
    if by == NoticeChannel.NONE:
        return None
    purpose = purpose or PURPOSES[kind]
    waiting = OutboxMessage.objects.filter(
        patient_id=account.patient_id, purpose=purpose, status=Status.PENDING
    )
    if waiting.exists():
        return None
    clinic = account.clinic
    send_at = quiet_hours.send_at(now, preference.quiet_start, preference.quiet_end, clinic.tzinfo)
    subject, body = words(kind, clinic, purpose)
    patient = account.patient
    if by == NoticeChannel.SMS:
        return enqueue_sms(
            recipient=patient.phone,
            body=body,
            purpose=purpose,
            clinic=clinic,
            patient=patient,
            send_at=send_at,
        )
    return enqueue_email(
        recipient=patient.email,
        subject=subject,
        body=body,
        purpose=purpose,
        clinic=clinic,
        patient=patient,
        send_at=send_at,
    )


def send_questionnaire_notices(*, now: datetime | None = None, limit: int = 200) -> int:
    """The timed job: each patient with a portal sign-in is told once of each questionnaire
    moment (what opens for them on one day) that is open and unanswered. Returns how many
    patients were told (or recorded as not wanting to be)."""
    now = now or timezone.now()
    done = 0
    for clinic in Clinic.objects.all():
        today = timezone.localtime(now, clinic.tzinfo).date()
        told = PortalNotice.objects.filter(
            patient=OuterRef("patient"), kind=NoticeKind.QUESTIONNAIRE, day=OuterRef("opens_on")
        )
        # Patients whose sign-in is ready, by app or by passkey alone.
        ready = PortalAccount.objects.ready().filter(patient=OuterRef("patient"))
        moments = (
            open_unanswered(clinic, today)
            .filter(Exists(ready))
            .exclude(Exists(told))
            .values_list("patient_id", "opens_on")
            .distinct()
            .order_by("opens_on", "patient_id")[: limit - done]
        )
        for patient_id, day in list(moments):
            account = PortalAccount.objects.select_related("clinic", "patient").get(
                patient_id=patient_id
            )
            try:
                with transaction.atomic():
                    notice = PortalNotice.objects.create(
                        clinic=clinic,
                        patient_id=patient_id,
                        kind=NoticeKind.QUESTIONNAIRE,
                        day=day,
                        channel=channel(account, NoticeKind.QUESTIONNAIRE),
                        created_at=now,
                    )
                    notify(account, NoticeKind.QUESTIONNAIRE, now=now)
                    record(
                        Action.CREATE,
                        clinic=clinic,
                        patient=account.patient,
                        obj=notice,
                        username=NOTICE_USERNAME,
                        detail={"channel": notice.channel},
                    )
            except IntegrityError:
                continue  # told already, by another worker
            done += 1
        if done >= limit:
            break
    return done
