"""What a work list's appointment row offers the member of staff looking at it."""

from django import template

from trellis.scheduling.kinds import AppointmentStatus
from trellis.scheduling.services import change_permission

register = template.Library()

_CHECKABLE = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)


@register.filter
def may_check_in(appointment, actor) -> bool:
    """Whether ``actor`` may check the patient of ``appointment`` in now: it is booked or
    confirmed, and the actor may change appointments of its kind."""
    return (
        actor is not None
        and appointment.status in _CHECKABLE
        and actor.can(change_permission(appointment.kind))
    )
