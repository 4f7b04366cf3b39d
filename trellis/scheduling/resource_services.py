"""Named changes to a clinic's resources: adding and editing a chair, room or TMS device with its
weekly opening hours, taking it out of use, and blocking it for a closure or maintenance.

Each runs in one transaction and writes its audit event there. A resource is never deleted:
appointments keep pointing at it (``on_delete=PROTECT``), so it is taken out of use instead and
stays in the history. A block never cancels the appointments it covers: ``add_block`` refuses
with ``BlockClashes`` listing them until the caller confirms, so that front desk can move them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.lib.errors import Conflict, InputError
from trellis.scheduling import hours as weekly_hours
from trellis.scheduling.kinds import ResourceKind
from trellis.scheduling.models import Appointment, BlockKind, OpeningHours, Resource, ResourceBlock

NAME_MAX = 80
DEVICE_FIELD_MAX = 80
NOTE_MAX = 200
ORDERING_MAX = 999
# A block longer than this is a resource taken out of use, not a closure.
BLOCK_MAX_DAYS = 366
# Only TMS devices have a maker, model and coil (what the session record names).
DEVICE_FIELDS = ("make", "model", "coil")


class BlockClashes(Conflict):
    """A block would cover active appointments; ``appointments`` lists them, soonest first."""

    def __init__(self, appointments: list[Appointment]) -> None:
        count = len(appointments)
        super().__init__(
            f"{count} booked appointment{'s' if count != 1 else ''} fall"
            f"{'s' if count == 1 else ''} in this time; move them, or confirm to add the block "
            "anyway.",
            code="block_clashes",
        )
        self.appointments = appointments


def _own(actor: Actor, resource: Resource) -> None:
    if resource.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")


def _details(kind: str, name: str, make: str, model: str, coil: str, ordering: int) -> dict:
    """The resource's fields checked, stripped; device fields emptied on a chair or room."""
    if kind not in ResourceKind.values:
        raise InputError("kind", "must be a chair, a room or a TMS device")
    name = (name or "").strip()
    if not name:
        raise InputError("name", "is required")
    if len(name) > NAME_MAX:
        raise InputError("name", f"must be at most {NAME_MAX} characters")
    values = {"kind": kind, "name": name}
    for field, value in zip(DEVICE_FIELDS, (make, model, coil), strict=True):
        value = (value or "").strip() if kind == ResourceKind.TMS_DEVICE else ""
        if len(value) > DEVICE_FIELD_MAX:
            raise InputError(field, f"must be at most {DEVICE_FIELD_MAX} characters")
        values[field] = value
    if not isinstance(ordering, int) or not 0 <= ordering <= ORDERING_MAX:
        raise InputError("ordering", f"must be a whole number from 0 to {ORDERING_MAX}")
    values["ordering"] = ordering
    return values


def _check_name_free(clinic, name: str, resource: Resource | None) -> None:
    others = Resource.objects.filter(clinic=clinic, name__iexact=name)
    if resource is not None:
        others = others.exclude(pk=resource.pk)
    other = others.first()
    if other is not None:
        raise InputError("name", f"is already used by another resource here (“{other.name}”)")


def _save_resource(resource: Resource) -> None:
    """Save, turning a name taken by a concurrent request into the same message."""
    try:
        with transaction.atomic():
            resource.save()
    except IntegrityError:
        raise InputError(
            "name", f"is already used by another resource here (“{resource.name}”)"
        ) from None


def _week(resource: Resource) -> dict[int, list]:
    week: dict[int, list] = {}
    for row in resource.opening_hours.all():
        week.setdefault(row.weekday, []).append((row.opens, row.closes))
    return week


def _set_hours(resource: Resource, week: Mapping[int, list]) -> None:
    resource.opening_hours.all().delete()
    OpeningHours.objects.bulk_create(
        OpeningHours(
            clinic_id=resource.clinic_id,
            resource=resource,
            weekday=weekday,
            opens=opens,
            closes=closes,
        )
        for weekday, spans in sorted(week.items())
        for opens, closes in spans
    )


@transaction.atomic
def create_resource(
    actor: Actor,
    *,
    kind: str,
    name: str,
    make: str = "",
    model: str = "",
    coil: str = "",
    ordering: int = 0,
    hours: Mapping[int, Iterable] | None = None,
) -> Resource:
    """A new chair, room or TMS device at the actor's clinic, in use, open at ``hours``
    (weekday → spans; ``hours.check_week`` rules)."""
    require(actor, Perm.RESOURCE_CHANGE)
    values = _details(kind, name, make, model, coil, ordering)
    week = weekly_hours.check_week(hours or {})
    _check_name_free(actor.clinic, values["name"], None)
    resource = Resource(clinic=actor.clinic, is_active=True, **values)
    _save_resource(resource)
    _set_hours(resource, week)
    record_for(
        actor,
        Action.CREATE,
        obj=resource,
        detail={**values, "hours": weekly_hours.describe(week)},
    )
    return resource


@transaction.atomic
def update_resource(
    actor: Actor,
    resource: Resource,
    *,
    kind: str,
    name: str,
    make: str = "",
    model: str = "",
    coil: str = "",
    ordering: int = 0,
    is_active: bool = True,
    hours: Mapping[int, Iterable] | None = None,
) -> list[str]:
    """Change a resource's details, whether it is in use, and its opening hours (replaced as a
    whole). Returns the names of what changed (audited). Its appointments and blocks stay:
    taking it out of use only stops new bookings (``services._check_resource``)."""
    require(actor, Perm.RESOURCE_CHANGE)
    _own(actor, resource)
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    values = _details(kind, name, make, model, coil, ordering)
    values["is_active"] = bool(is_active)
    week = weekly_hours.check_week(hours or {})
    _check_name_free(actor.clinic, values["name"], resource)
    before = {field: getattr(resource, field) for field in values}
    changed = [field for field, value in values.items() if before[field] != value]
    if "kind" in changed:
        # A chair's IV ketamine bookings would sit on a TMS device: move them first.
        booked = clashes(resource, timezone.now(), timezone.now() + timedelta(days=3653))
        if booked:
            raise InputError(
                "kind",
                f"cannot change while {len(booked)} upcoming appointment"
                f"{'s are' if len(booked) != 1 else ' is'} booked on it; move "
                f"{'them' if len(booked) != 1 else 'it'} first",
            )
    old_hours = weekly_hours.describe(_week(resource))
    new_hours = weekly_hours.describe(week)
    detail: dict = {field: {"from": before[field], "to": values[field]} for field in changed}
    if old_hours != new_hours:
        changed.append("hours")
        detail["hours"] = {"from": old_hours, "to": new_hours}
    if not changed:
        return []
    for field, value in values.items():
        setattr(resource, field, value)
    _save_resource(resource)
    if "hours" in changed:
        _set_hours(resource, week)
    record_for(actor, Action.UPDATE, obj=resource, detail=detail)
    return changed


def _aware(moment: datetime, field: str) -> datetime:
    if timezone.is_naive(moment):
        raise InputError(field, "must carry a time zone")
    return moment


def clashes(resource: Resource, start: datetime, end: datetime) -> list[Appointment]:
    """The active appointments on ``resource`` that overlap ``start``–``end``, soonest first."""
    return list(
        Appointment.objects.active()
        .filter(resource=resource)
        .overlapping(start, end)
        .select_related("patient", "staff")
        .order_by("start")
    )


@transaction.atomic
def add_block(
    actor: Actor,
    resource: Resource,
    *,
    kind: str,
    start: datetime,
    end: datetime,
    note: str = "",
    confirmed: Collection = (),
    now: datetime | None = None,
) -> ResourceBlock:
    """Take ``resource`` out from ``start`` to ``end`` (a closure or maintenance) with a note.

    Appointments already booked then are not cancelled: the block is refused with
    ``BlockClashes`` listing them unless every one of them is among ``confirmed`` (the ids the
    administrator was shown and accepted); then it is added and they stay for front desk to
    move (the audit event names them). An appointment booked after the list was shown is not
    among them, so the list is shown again."""
    require(actor, Perm.RESOURCE_CHANGE)
    _own(actor, resource)
    # One block at a time per resource, and after any booking in progress on it.
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    if kind not in BlockKind.values:
        raise InputError("kind", "must be a closure or maintenance")
    start, end = _aware(start, "start"), _aware(end, "end")
    now = now or timezone.now()
    if end <= start:
        raise InputError("end", "must be after the start")
    if end <= now:
        raise InputError("end", "is in the past; a block takes a resource out from now on")
    if end - start > timedelta(days=BLOCK_MAX_DAYS):
        raise InputError(
            "end",
            f"must be within {BLOCK_MAX_DAYS} days of the start; for longer, take the "
            "resource out of use",
        )
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise InputError("note", f"must be at most {NOTE_MAX} characters")
    covered = clashes(resource, start, end)
    accepted = {str(pk) for pk in confirmed}
    if any(str(a.pk) not in accepted for a in covered):
        raise BlockClashes(covered)
    block = ResourceBlock.objects.create(
        clinic_id=resource.clinic_id,
        resource=resource,
        kind=kind,
        start=start,
        end=end,
        note=note,
        created_by=actor.user,
    )
    record_for(
        actor,
        Action.CREATE,
        obj=block,
        detail={
            "resource": str(resource.pk),
            "kind": kind,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "appointments_covered": [str(a.pk) for a in covered],
        },
    )
    return block


@transaction.atomic
def remove_block(actor: Actor, block: ResourceBlock, *, now: datetime | None = None) -> None:
    """Put a resource back in service for a block that has not ended. An ended block is kept:
    it is the history of when the resource was out."""
    require(actor, Perm.RESOURCE_CHANGE)
    if block.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    block = ResourceBlock.objects.select_for_update().filter(pk=block.pk).first()
    if block is None:
        raise Conflict("This block was already removed.", code="block_gone")
    if block.end <= (now or timezone.now()):
        raise Conflict("This block has ended; it is kept as the resource's history.")
    record_for(
        actor,
        Action.DELETE,
        obj=block,
        detail={
            "resource": str(block.resource_id),
            "kind": block.kind,
            "start": block.start.isoformat(),
            "end": block.end.isoformat(),
            "note": block.note,
        },
    )
    block.delete()
