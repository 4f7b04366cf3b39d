"""What the patient is told about their appointments, and what they answer.

- **Booked, moved, cancelled**: ``appointment_changed`` is called by ``services._changed`` in
  the change's own transaction, so the message commits with the booking or not at all. A
  booking is told when the clinic setting ``appointment_booking_message`` is 1; a move (with the
  new time) and a cancellation by the clinic are always told.
- **The day before**: ``send_day_before_reminders``, a job of the outbox worker, queues one
  reminder per booked or confirmed appointment of the next clinic day, from the clinic's
  ``appointment_reminder_hour`` (clinic time). An ``AppointmentMessage`` keyed
  ``reminder:<day>`` is written first, so a rerun, or a second worker, never queues it again.
- **Channels**: the patient's choice, ``patients.contact.channels`` (a patient not asked yet:
  by text when a phone number is on file, else by e-mail, or both when the clinic setting
  ``appointment_message_channels`` is 2; no text without recorded agreement where the clinic
  requires it). A phone number the outbox refuses falls back to e-mail.
- **Answers**: each message but a cancellation carries a signed link (``lib.signed_tokens``) to
  a page where the patient confirms (the appointment becomes ``confirmed``) or asks to cancel
  or reschedule (recorded on the link for front desk, ``selectors.cancel_requests``; the
  appointment stays booked until front desk acts). One answer per link; the link ends when the
  appointment starts. There is no inbound SMS path, so a text reply is not read.
- **Calendar feed**: a per-patient signed address for their upcoming appointments as a
  calendar file; issuing a new one revokes the old. Staff issue it from the patient's page,
  and may send it to the patient the way they are reached (``send_calendar_feed``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from trellis.accounts.access import Actor, require
from trellis.accounts.models import Clinic
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record, record_for
from trellis.lib import signed_tokens
from trellis.lib.errors import InputError
from trellis.lib.http import site_url
from trellis.messaging.models import Channel
from trellis.messaging.services import enqueue_email, enqueue_sms
from trellis.patients import contact
from trellis.patients.models import Patient
from trellis.scheduling import kinds, patient_words
from trellis.scheduling.kinds import AppointmentStatus
from trellis.scheduling.models import (
    Appointment,
    AppointmentLink,
    AppointmentMessage,
    CalendarFeed,
    LinkAnswer,
    MessageKind,
)

logger = logging.getLogger(__name__)

# How the patient answering a link, and the reminder job, appear in the audit trail.
PATIENT_LINK_USERNAME = "(patient appointment link)"
REMINDER_USERNAME = "(appointment reminder)"

# Reminders go out from the clinic's reminder hour until this hour of its day; a worker that was
# down all afternoon does not text patients at night (47 CFR 64.1200(c)(1): 8 am–9 pm).
REMINDER_LAST_HOUR = 21

_LINK_SALT = "trellis.scheduling.appointment_link"
_FEED_SALT = "trellis.scheduling.calendar_feed"

# Statuses a reminder, a confirmation or a cancellation request is for.
UPCOMING = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)


# --- Words ---------------------------------------------------------------------------------------


def when(appointment: Appointment, clinic) -> str:
    """ "Tue Mar 10, 9:00 AM PDT": the start in the clinic's timezone, named so."""
    local = timezone.localtime(appointment.start, clinic.tzinfo)
    return f"{local:%a %b %-d}, {local:%-I:%M %p} {local.tzname()}"


@dataclass(frozen=True)
class Words:
    """One message in its two forms: short for a text, longer for an e-mail."""

    sms: str
    subject: str
    email: str


def compose(
    kind: str, appointment: Appointment, clinic, *, link_url: str = "", ics_url: str = ""
) -> Words:
    """The words of a ``MessageKind`` message about ``appointment``. No name, no diagnosis."""
    what = patient_words.plain(appointment.kind)
    at = when(appointment, clinic)
    address = patient_words.one_line(clinic.address)
    where = f" at {address}" if address else ""
    travel = patient_words.travel(appointment.kind)
    if kind == MessageKind.CANCELLED:
        lead = f"your {what} on {at} is cancelled."
        subject = f"Cancelled: your appointment on {at}"
        tail = f"To book again, call {clinic.phone}." if clinic.phone else ""
        travel = ""
    else:
        lead = {
            MessageKind.BOOKED: f"your {what} is booked for {at}{where}.",
            MessageKind.MOVED: f"your {what} has moved to {at}{where}.",
            MessageKind.REMINDER: f"reminder of your {what} tomorrow, {at}{where}.",
        }[kind]
        subject = {
            MessageKind.BOOKED: f"Your appointment on {at}",
            MessageKind.MOVED: f"New time: your appointment on {at}",
            MessageKind.REMINDER: f"Reminder: your appointment tomorrow, {at}",
        }[kind]
        tail = f"Confirm or cancel: {link_url}" if link_url else ""
    sms = " ".join(part for part in (f"{clinic.name}: {lead}", travel, tail) if part)
    lines = ["Hello,", "", f"This is {clinic.name}: {lead}"]
    if travel:
        lines += ["", travel]
    if link_url:
        lines += ["", f"Please confirm, or tell us you need to cancel or reschedule: {link_url}"]
    if ics_url:
        lines += ["", f"Add it to your calendar: {ics_url}"]
    lines += ["", clinic.name]
    lines += [line for line in (address, clinic.phone) if line]
    return Words(sms=sms, subject=f"{subject} · {clinic.name}"[:200], email="\n".join(lines) + "\n")


# --- Telling the patient -------------------------------------------------------------------------


# The purpose a reminder is asked about (``patients.contact.chosen``): the patient may have
# chosen, in their portal, how reminders reach them.
REMINDER_PURPOSE = "appointment_reminder"


def channels(patient: Patient, clinic, purpose: str = "") -> list[str]:
    """How an automated message about appointments reaches ``patient`` (``patients.contact``):
    for a ``purpose`` the patient has chosen a way for, that way."""
    if purpose:
        found = contact.chosen(patient, purpose)
        if found is not None:
            return list(found)
    return contact.channels(
        patient,
        clinic.setting("appointment_message_channels"),
        consent_required=bool(clinic.setting("sms_consent_required")),
    )


def _queue(patient: Patient, clinic, channels: list[str], words: Words, purpose: str) -> list[str]:
    """Queue the message by each channel; a phone number the outbox refuses falls back to
    e-mail. Returns the channels used. Nothing is written for a refused one."""
    used = []
    for channel in channels:
        try:
            if channel == Channel.SMS:
                enqueue_sms(
                    recipient=patient.phone, body=words.sms, purpose=purpose, patient=patient
                )
            else:
                enqueue_email(
                    recipient=patient.email,
                    subject=words.subject,
                    body=words.email,
                    purpose=purpose,
                    patient=patient,
                )
            used.append(channel)
        except InputError as error:
            logger.warning("No %s %s for %s: %s", channel, purpose, patient.mrn, error)
            if channel == Channel.SMS and Channel.EMAIL not in channels and patient.email.strip():
                channels.append(Channel.EMAIL)
    return used


def _tell(
    appointment: Appointment, kind: str, key: str, now: datetime
) -> AppointmentMessage | None:
    """Queue the ``kind`` message about ``appointment`` once per ``key``, in the caller's
    transaction. Returns None when it was already told under that key."""
    clinic = appointment.clinic
    patient = appointment.patient
    try:
        with transaction.atomic():
            told = AppointmentMessage.objects.create(
                clinic=clinic, appointment=appointment, kind=kind, key=key, created_at=now
            )
    except IntegrityError:
        return None  # told already (a rerun, or another worker)
    link_url = ics_url = ""
    token = ""
    if kind != MessageKind.CANCELLED and appointment.start > now:
        token = signed_tokens.new_token(_LINK_SALT)
        link_url = site_url(reverse("appointment_link", args=[token]))
        ics_url = site_url(reverse("appointment_link_ics", args=[token]))
    words = compose(kind, appointment, clinic, link_url=link_url, ics_url=ics_url)
    purpose = REMINDER_PURPOSE if kind == MessageKind.REMINDER else ""
    used = _queue(patient, clinic, channels(patient, clinic, purpose), words, f"appointment_{kind}")
    if used and token:
        AppointmentLink.objects.create(
            clinic=clinic,
            appointment=appointment,
            token_hash=signed_tokens.hash_token(token),
            expires_at=appointment.start,
            created_at=now,
        )
    if not used:
        logger.info("No %s message for %s: no usable phone or e-mail", kind, patient.mrn)
    told.channels = ",".join(used)
    told.save(update_fields=["channels"])
    return told


# Bookings held back by ``one_message``: told together when it ends.
_held: ContextVar[list[Appointment] | None] = ContextVar("held_bookings", default=None)


@contextmanager
def one_message() -> Iterator[None]:
    """Bookings made inside (a course's sessions, ``services.book_course``) are told in one
    message listing their times, when the block ends without an error; inside the caller's
    transaction still. Their confirmation links come with each day-before reminder."""
    held: list[Appointment] = []
    reset = _held.set(held)
    try:
        yield
    finally:
        _held.reset(reset)
    if held:
        _tell_bookings(held, timezone.now())


def _tell_bookings(appointments: list[Appointment], now: datetime) -> None:
    first = appointments[0]
    clinic, patient = first.clinic, first.patient
    if len(appointments) == 1:
        _tell(first, MessageKind.BOOKED, f"{MessageKind.BOOKED}:0", now)
        return
    told = [
        AppointmentMessage.objects.create(
            clinic=clinic, appointment=a, kind=MessageKind.BOOKED, key="booked:0", created_at=now
        )
        for a in appointments
    ]
    what = patient_words.plain(first.kind)
    times = "; ".join(when(a, clinic) for a in appointments)
    address = patient_words.one_line(clinic.address)
    where = f" at {address}" if address else ""
    travel = patient_words.travel(first.kind)
    lead = f"your {len(appointments)} {what} appointments are booked{where}: {times}."
    tail = "We will send a reminder with a link to confirm the day before each."
    sms = " ".join(part for part in (f"{clinic.name}: {lead}", travel, tail) if part)
    lines = ["Hello,", "", f"This is {clinic.name}: your {what} appointments are booked{where}:"]
    lines += [""] + [f"- {when(a, clinic)}" for a in appointments]
    lines += ["", travel] if travel else []
    lines += ["", tail, "", clinic.name] + [line for line in (address, clinic.phone) if line]
    words = Words(
        sms=sms,
        subject=f"Your {len(appointments)} appointments from {when(first, clinic)} · {clinic.name}"[
            :200
        ],
        email="\n".join(lines) + "\n",
    )
    used = _queue(patient, clinic, channels(patient, clinic), words, "appointment_booked")
    AppointmentMessage.objects.filter(pk__in=[t.pk for t in told]).update(channels=",".join(used))


def appointment_changed(
    appointment: Appointment, action: str, detail: dict, *, now: datetime | None = None
) -> None:
    """What the patient is told of a change (called by ``services._changed``, in its
    transaction): a booking, a move with the new time, a cancellation. A move or cancellation
    also raises the calendar file's SEQUENCE."""
    now = now or timezone.now()
    if action == Action.CREATE:
        kind = MessageKind.BOOKED
    elif "moved_from" in detail:
        kind = MessageKind.MOVED
    elif detail.get("status") == AppointmentStatus.CANCELLED:
        kind = MessageKind.CANCELLED
    else:
        return
    if kind != MessageKind.BOOKED:
        appointment.sequence = appointment.calendar_sequence + 1
        Appointment.objects.filter(pk=appointment.pk).update(sequence=appointment.sequence)
    if appointment.end <= now:
        return  # nothing to tell about an appointment that is over
    if kind == MessageKind.BOOKED and not appointment.clinic.setting("appointment_booking_message"):
        return
    held = _held.get()
    if kind == MessageKind.BOOKED and held is not None:
        held.append(appointment)
        return
    _tell(appointment, kind, f"{kind}:{appointment.calendar_sequence}", now)


def send_day_before_reminders(*, now: datetime | None = None, limit: int = 500) -> int:
    """Queue the reminder for each booked or confirmed appointment of the next clinic day, from
    each clinic's reminder hour; returns how many appointments were reminded."""
    now = now or timezone.now()
    reminded = 0
    for clinic in Clinic.objects.all():
        local = timezone.localtime(now, clinic.tzinfo)
        if not clinic.setting("appointment_reminder_hour") <= local.hour < REMINDER_LAST_HOUR:
            continue
        tomorrow = local.date() + timedelta(days=1)
        key = f"{MessageKind.REMINDER}:{tomorrow.isoformat()}"
        due = (
            Appointment.objects.filter(clinic=clinic, day=tomorrow, status__in=UPCOMING)
            .exclude(Exists(AppointmentMessage.objects.filter(appointment=OuterRef("pk"), key=key)))
            .select_related("clinic", "patient__clinic")
            .order_by("start")[: limit - reminded]
        )
        for appointment in due:
            try:
                with transaction.atomic():
                    if _tell(appointment, MessageKind.REMINDER, key, now) is None:
                        continue
                    record(
                        Action.CREATE,
                        clinic=clinic,
                        patient=appointment.patient,
                        obj=appointment,
                        username=REMINDER_USERNAME,
                        detail={"reminder": tomorrow.isoformat()},
                    )
                reminded += 1
            except DatabaseError:
                raise  # the worker reports it and tries again on its next pass
            except Exception:
                # One patient's failure must not hold up everyone else's reminders.
                logger.exception("Appointment reminder for %s failed", appointment.pk)
        if reminded >= limit:
            break
    return reminded


# --- The patient's answer ------------------------------------------------------------------------


class LinkUnusable(Exception):
    """A link that cannot be answered: ``reason`` is unknown, answered, expired or closed
    (the appointment was cancelled, or has happened)."""

    def __init__(self, reason: str, link: AppointmentLink | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.link = link


def open_link(token: str, *, now: datetime | None = None) -> AppointmentLink:
    """The link ``token`` opens (answered or not), or LinkUnusable. A token without our
    signature is never looked up; a signed one is found by its hash only."""
    if not signed_tokens.is_signed(token, _LINK_SALT):
        raise LinkUnusable("unknown")
    link = (
        AppointmentLink.objects.select_related("clinic", "appointment__patient")
        .filter(token_hash=signed_tokens.hash_token(token))
        .first()
    )
    if link is None:
        raise LinkUnusable("unknown")
    if (now or timezone.now()) >= link.expires_at:
        raise LinkUnusable("expired", link)
    if link.appointment.status not in UPCOMING:
        raise LinkUnusable("closed", link)
    return link


def answer_link(
    token: str, answer: str, *, source_address: str = "", now: datetime | None = None
) -> AppointmentLink:
    """The patient confirms (``LinkAnswer.CONFIRMED``: a booked appointment becomes confirmed)
    or asks to cancel or reschedule (``CANCEL_REQUESTED``: front desk calls them). Once per
    link; raises LinkUnusable."""
    if answer not in LinkAnswer.values:
        raise InputError("answer", f"must be one of {', '.join(LinkAnswer.values)}")
    now = now or timezone.now()
    with transaction.atomic():
        link = open_link(token, now=now)
        # The conditional update is the single use: of two answers racing, one wins.
        claimed = AppointmentLink.objects.filter(pk=link.pk, answered_at__isnull=True).update(
            answered_at=now, answer=answer
        )
        if not claimed:
            raise LinkUnusable("answered", link)
        link.answered_at, link.answer = now, answer
        appointment = Appointment.objects.select_for_update(of=("self",)).get(
            pk=link.appointment_id
        )
        if appointment.status not in UPCOMING:
            raise LinkUnusable("closed", link)
        detail = {"link_answer": answer}
        if answer == LinkAnswer.CONFIRMED and appointment.status == AppointmentStatus.BOOKED:
            kinds.check_transition(appointment.status, AppointmentStatus.CONFIRMED)
            appointment.status = AppointmentStatus.CONFIRMED
            appointment.confirmed_at = now
            appointment.save(update_fields=["status", "confirmed_at"])
            detail.update(status=AppointmentStatus.CONFIRMED, **{"from": AppointmentStatus.BOOKED})
        record(
            Action.UPDATE,
            clinic=link.clinic,
            patient=appointment.patient,
            obj=appointment,
            username=PATIENT_LINK_USERNAME,
            source_address=source_address,
            detail=detail,
        )
        link.appointment = appointment
    return link


# --- Calendar feeds ------------------------------------------------------------------------------


def _feed_patient(actor: Actor, patient: Patient) -> None:
    require(actor, Perm.APPOINTMENT_CHANGE)
    if patient.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")


@transaction.atomic
def issue_calendar_feed(actor: Actor, patient: Patient, *, now: datetime | None = None) -> str:
    """A new calendar address for ``patient`` (their upcoming appointments); any earlier one
    stops working. Returns the address, which holds the token and is never stored."""
    _feed_patient(actor, patient)
    now = now or timezone.now()
    CalendarFeed.objects.filter(patient=patient, revoked_at__isnull=True).update(revoked_at=now)
    token = signed_tokens.new_token(_FEED_SALT)
    feed = CalendarFeed.objects.create(
        clinic=patient.clinic,
        patient=patient,
        token_hash=signed_tokens.hash_token(token),
        created_by=actor.user,
        created_at=now,
    )
    record_for(actor, Action.CREATE, patient=patient, obj=feed, detail={"calendar_feed": True})
    return site_url(reverse("calendar_feed", args=[token]))


@transaction.atomic
def revoke_calendar_feeds(actor: Actor, patient: Patient, *, now: datetime | None = None) -> int:
    """Stop the patient's calendar address(es) working; returns how many were revoked."""
    _feed_patient(actor, patient)
    feeds = list(CalendarFeed.objects.filter(patient=patient, revoked_at__isnull=True))
    for feed in feeds:
        feed.revoked_at = now or timezone.now()
        feed.save(update_fields=["revoked_at"])
        record_for(actor, Action.UPDATE, patient=patient, obj=feed, detail={"revoked": True})
    return len(feeds)


def feed_words(clinic, url: str) -> Words:
    """The message carrying a calendar address. No name, no diagnosis."""
    what = "the calendar of your appointments"
    sms = f"{clinic.name}: {what}, to add to your phone's calendar: {url}"
    lines = [
        "Hello,",
        "",
        f"This is {clinic.name}. Here is {what}; add it to your calendar app (as a calendar "
        'subscription, or "from URL") and your appointments with us appear there and stay '
        "up to date:",
        "",
        url,
        "",
        "Keep the link to yourself: anyone with it can see your appointment times.",
        "",
        clinic.name,
    ]
    lines += [line for line in (patient_words.one_line(clinic.address), clinic.phone) if line]
    return Words(
        sms=sms,
        subject=f"Your appointments calendar · {clinic.name}"[:200],
        email="\n".join(lines) + "\n",
    )


@dataclass(frozen=True)
class SentFeed:
    url: str
    channels: list[str]


@transaction.atomic
def send_calendar_feed(actor: Actor, patient: Patient, *, now: datetime | None = None) -> SentFeed:
    """A new calendar address for ``patient`` (any earlier one stops working), sent to them
    the way they are reached, through the outbox, in the same transaction. InputError when
    they have no way to receive it (no automated messages, or nothing usable on file)."""
    _feed_patient(actor, patient)
    clinic = patient.clinic
    ways = channels(patient, clinic)
    if not ways:
        raise InputError("patient", "has no way to receive automated messages")
    url = issue_calendar_feed(actor, patient, now=now)
    used = _queue(patient, clinic, ways, feed_words(clinic, url), "calendar_feed")
    if not used:
        raise InputError("patient", "has no phone number or e-mail address the outbox can use")
    feed = CalendarFeed.objects.filter(patient=patient, revoked_at__isnull=True).get()
    record_for(actor, Action.UPDATE, patient=patient, obj=feed, detail={"sent_by": used})
    return SentFeed(url=url, channels=used)


def open_feed(token: str) -> CalendarFeed | None:
    """The unrevoked feed ``token`` opens, or None."""
    if not signed_tokens.is_signed(token, _FEED_SALT):
        return None
    return (
        CalendarFeed.objects.select_related("clinic", "patient")
        .filter(token_hash=signed_tokens.hash_token(token), revoked_at__isnull=True)
        .first()
    )
