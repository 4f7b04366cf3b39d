"""JSON API for the appointment book (DESIGN.md §5.1).

Thin: parse, load through ``patients.access``, call one service or selector, shape the answer.
Times are answered in the clinic's timezone with its UTC offset (``2026-11-02T08:00:00-08:00``);
a ``start`` sent without an offset is read as the clinic's local time.
"""

from datetime import date
from typing import Literal
from uuid import UUID

from django.utils import timezone
from ninja import Field, Router, Schema, Status

from trellis.accounts.permissions import Perm
from trellis.lib.apidoc import errors
from trellis.lib.errors import InputError
from trellis.lib.schema import Date, DateTime, bounded, text
from trellis.patients import access
from trellis.scheduling import kinds, selectors, services
from trellis.scheduling.kinds import AppointmentKind, AppointmentStatus
from trellis.scheduling.models import Appointment, Resource
from trellis.treatments.models import Session

router = Router(tags=["appointments"])


class AppointmentIn(Schema):
    patient: UUID
    kind: Literal[tuple(AppointmentKind.values)]
    start: DateTime = Field(
        ...,
        description="ISO 8601 with the UTC offset; without one, the clinic's local time",
        examples=["2026-11-02T08:00:00-08:00"],
    )
    minutes: bounded(kinds.MIN_MINUTES, kinds.MAX_MINUTES, whole=True) | None = Field(
        None, description="Default: the clinic's length for the kind (or the session's protocol)"
    )
    resource: UUID | None = Field(None, description="A chair, room or TMS device (GET /resources)")
    session: UUID | None = Field(None, description="The course session this appointment is for")
    override_reason: text(services.OVERRIDE_REASON_MAX, multiline=True) = Field(
        "",
        description="Prescribers only: why a second ketamine-family dose is booked on one day",
    )


class AppointmentOut(Schema):
    id: UUID
    patient: UUID
    kind: str
    start: str = Field(..., description="ISO 8601 in the clinic's timezone, with its offset")
    end: str
    day: date = Field(..., description="The clinic-local date of start")
    minutes: int
    resource: UUID | None
    resource_name: str
    session: UUID | None
    status: Literal[tuple(AppointmentStatus.values)]
    status_reason: str
    override_reason: str


def _out(appointment: Appointment) -> dict:
    tz = appointment.clinic.tzinfo
    return {
        "id": appointment.id,
        "patient": appointment.patient_id,
        "kind": appointment.kind,
        "start": timezone.localtime(appointment.start, tz).isoformat(),
        "end": timezone.localtime(appointment.end, tz).isoformat(),
        "day": appointment.day,
        "minutes": appointment.minutes,
        "resource": appointment.resource_id,
        "resource_name": appointment.resource.name if appointment.resource_id else "",
        "session": appointment.session_id,
        "status": appointment.status,
        "status_reason": appointment.status_reason,
        "override_reason": appointment.override_reason,
    }


def _resource(actor, pk: UUID | None) -> Resource | None:
    if pk is None:
        return None
    resource = Resource.objects.filter(pk=pk, clinic=actor.clinic).select_related("clinic").first()
    if resource is None:
        raise InputError("resource", "is not one of this clinic's resources")
    return resource


def _session(actor, pk: UUID | None) -> Session | None:
    if pk is None:
        return None
    session = (
        Session.objects.filter(pk=pk, clinic=actor.clinic)
        .select_related("clinic", "patient", "course__protocol")
        .first()
    )
    if session is None:
        raise InputError("session", "is not a session at this clinic")
    return session


@router.post(
    "/appointments",
    response={201: AppointmentOut, **errors(403, 404, 409)},
    summary="Book an appointment; 409 when the resource or the patient is booked then, or a "
    "ketamine-family dose is already booked that day without a prescriber's override",
)
def book(request, payload: AppointmentIn):
    actor = request.auth
    patient = access.patient(actor, payload.patient, Perm.APPOINTMENT_READ)
    appointment = services.book_appointment(
        actor,
        patient=patient,
        kind=payload.kind,
        start=payload.start,
        minutes=payload.minutes,
        resource=_resource(actor, payload.resource),
        session=_session(actor, payload.session),
        override_reason=payload.override_reason,
    )
    return Status(201, _out(appointment))


@router.get(
    "/appointments",
    response={200: list[AppointmentOut], **errors(403)},
    summary="The clinic's appointments on a day, in start order",
)
def day_list(request, date: Date | None = None):
    """``date`` is YYYY-MM-DD at the clinic; without it, the clinic's today."""
    actor = request.auth
    day = date or actor.clinic.today()
    return [_out(a) for a in selectors.day_appointments(actor, day)]


class StatusIn(Schema):
    status: Literal[tuple(s for s in AppointmentStatus.values if s != "booked")]
    reason: text(services.STATUS_REASON_MAX, multiline=True) = Field(
        "", description="Required for cancelled"
    )


@router.post(
    "/appointments/{appointment_id}/status",
    response={200: AppointmentOut, **errors(403, 409)},
    summary="Confirm, check in, complete, cancel (with a reason) or mark a no-show",
)
def change_status(request, appointment_id: str, payload: StatusIn):
    actor = request.auth
    appointment = access.load(
        actor,
        Appointment.objects.select_related("clinic", "patient", "resource", "session"),
        appointment_id,
        Perm.APPOINTMENT_READ,
    )
    appointment = services.set_status(actor, appointment, payload.status, payload.reason)
    return _out(appointment)


class ResourceOut(Schema):
    id: UUID
    kind: str
    name: str
    make: str
    model: str
    coil: str


@router.get(
    "/resources",
    response={200: list[ResourceOut], **errors(403)},
    summary="The clinic's chairs, rooms and TMS devices in use, in the day view's order",
)
def resource_list(request):
    actor = access.require(request.auth, Perm.APPOINTMENT_READ)
    fields = ("id", "kind", "name", "make", "model", "coil")
    return [{f: getattr(r, f) for f in fields} for r in selectors.resources(actor.clinic)]
