"""Requests from the portal: a patient asks to cancel an appointment, to change its time, or
for a new appointment; the front desk answers. Never a booking: whoever answers books, moves or
cancels in the appointment book, then marks the request done (or declines it, saying why).

``ask`` is the patient's, audited under the portal's name like the portal's other writes;
``handle`` is staff's, audited with ``record_for``. Each runs in one transaction. A person not
yet a patient asks for an assessment through ``patients`` (the public request form), not here.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record, record_for
from trellis.lib.errors import Conflict, InputError
from trellis.portal import notifications
from trellis.portal.models import (
    ASKABLE_KINDS,
    ASKABLE_WORDS,
    PORTAL_USERNAME,
    NoticeKind,
    PortalAccount,
    PortalRequest,
    RequestKind,
    RequestStatus,
)
from trellis.scheduling.kinds import MOVABLE
from trellis.scheduling.models import Appointment

MESSAGE_MAX = 1000
PREFERRED_MAX = 300
REPLY_MAX = 1000

OUTCOMES: tuple[str, ...] = (RequestStatus.DONE, RequestStatus.DECLINED)


def _text(field: str, value: str, limit: int) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise InputError(field, f"must be at most {limit:,} characters (it has {len(value):,})")
    return value


def ask(
    account: PortalAccount,
    kind: str,
    *,
    appointment: Appointment | None = None,
    appointment_kind: str = "",
    preferred: str = "",
    message: str = "",
    source_address: str = "",
    now: datetime | None = None,
) -> PortalRequest:
    """The patient's request: ``cancel`` or ``reschedule`` one of their own upcoming, not yet
    begun appointments, or a new ``appointment`` of an ``ASKABLE_KINDS`` kind. One open request
    per appointment, and one open request per kind of new appointment: a second is a
    ``Conflict`` saying the first is still with the clinic."""
    now = now or timezone.now()
    if kind not in RequestKind.values:
        raise InputError("kind", f"must be one of {', '.join(RequestKind.values)}")
    preferred = _text("preferred", preferred, PREFERRED_MAX)
    message = _text("message", message, MESSAGE_MAX)
    patient = account.patient
    with transaction.atomic():
        if kind == RequestKind.APPOINTMENT:
            if appointment is not None:
                raise InputError("appointment", "must be empty when asking for a new appointment")
            if appointment_kind not in ASKABLE_KINDS:
                raise InputError(
                    "appointment_kind",
                    "choose one of: " + ", ".join(ASKABLE_WORDS[k].lower() for k in ASKABLE_KINDS),
                )
            waiting = PortalRequest.objects.filter(
                patient=patient,
                kind=RequestKind.APPOINTMENT,
                appointment_kind=appointment_kind,
                status=RequestStatus.OPEN,
            ).exists()
            if waiting:
                raise Conflict(
                    f"You have already asked for {ASKABLE_WORDS[appointment_kind].lower()}; the "
                    "clinic will contact you about it.",
                    code="already_asked",
                )
        else:
            appointment_kind = ""
            _check_own_upcoming(account, appointment, now)
            # The appointment's row is the lock two requests for it queue on.
            Appointment.objects.select_for_update().filter(pk=appointment.pk).first()
            if PortalRequest.objects.filter(
                appointment=appointment, status=RequestStatus.OPEN
            ).exists():
                raise Conflict(
                    "You have already asked the clinic about this appointment; they will answer "
                    "that request first.",
                    code="already_asked",
                )
        try:
            with transaction.atomic():
                row = PortalRequest.objects.create(
                    clinic=account.clinic,
                    patient=patient,
                    kind=kind,
                    appointment=appointment,
                    appointment_kind=appointment_kind,
                    preferred=preferred,
                    message=message,
                    created_at=now,
                )
        except IntegrityError:
            # Another tab's request for the same appointment won the race.
            raise Conflict(
                "You have already asked the clinic about this appointment.", code="already_asked"
            ) from None
        record(
            Action.CREATE,
            clinic=account.clinic,
            patient=patient,
            obj=row,
            username=PORTAL_USERNAME,
            source_address=source_address,
            detail={"portal": "request", "kind": kind},
        )
    return row


def _check_own_upcoming(account: PortalAccount, appointment: Appointment | None, now) -> None:
    if appointment is None:
        raise InputError("appointment", "must be one of your upcoming appointments")
    if appointment.clinic_id != account.clinic_id or appointment.patient_id != account.patient_id:
        raise InputError("appointment", "must be one of your upcoming appointments")
    if appointment.status not in MOVABLE or appointment.start <= now:
        raise InputError(
            "appointment",
            "has begun, passed or been cancelled; call the clinic about it instead",
        )
    if not can_ask_about(appointment, account.clinic.today()):
        raise InputError(
            "appointment", "is today: the clinic may not read a request in time, please call"
        )


def can_ask_about(appointment: Appointment, today) -> bool:
    """Whether the portal offers to ask about ``appointment``: booked or confirmed, on a later
    clinic day than ``today`` (on the day itself the patient calls: a request might be read
    too late)."""
    return appointment.status in MOVABLE and appointment.day > today


def handle(
    actor: Actor, request: PortalRequest, outcome: str, reply: str = "", *, now=None
) -> PortalRequest:
    """The front desk's answer: ``done`` (booked, moved or cancelled as asked) or ``declined``
    (with a reply saying why: the patient reads it in their portal). A request is answered
    once; a second answer, a colleague's in the meantime, is a ``Conflict``."""
    require(actor, Perm.APPOINTMENT_CHANGE)
    if request.clinic_id != actor.clinic.pk:
        raise InputError("request", "must be a request of this clinic")
    if outcome not in OUTCOMES:
        raise InputError("outcome", f"must be one of {', '.join(OUTCOMES)}")
    reply = _text("reply", reply, REPLY_MAX)
    if outcome == RequestStatus.DECLINED and not reply:
        raise InputError("reply", "must say why, for the patient, when a request is declined")
    now = now or timezone.now()
    with transaction.atomic():
        # Answered once: the conditional update lets one of two answers through.
        taken = PortalRequest.objects.filter(pk=request.pk, status=RequestStatus.OPEN).update(
            status=outcome, reply=reply, handled_by=actor.user, handled_at=now
        )
        if not taken:
            raise Conflict("This request has been answered already.", code="answered")
        request.refresh_from_db()
        record_for(
            actor,
            Action.UPDATE,
            patient=request.patient,
            obj=request,
            detail={"outcome": outcome, "kind": request.kind},
        )
        account = PortalAccount.objects.filter(patient=request.patient, is_active=True).first()
        if account is not None:
            notifications.notify(
                account, NoticeKind.MESSAGE_REPLY, now=now, purpose=notifications.REQUEST_ANSWER
            )
    return request
