"""When a resource can take an appointment: its opening hours, its blocks and what is booked.

Read-only helpers shared by the services (which refuse a booking outside them) and the
selectors (which propose free times). Times are aware; opening hours are clinic-local.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.utils import timezone

from trellis.scheduling.models import Appointment, OpeningHours, Resource, ResourceBlock

# Proposed start times fall on this grid of minutes past the opening time.
STEP_MINUTES = 15


def local(clinic, moment: datetime) -> datetime:
    return timezone.localtime(moment, clinic.tzinfo)


def clinic_day(clinic, moment: datetime) -> date:
    """The clinic-local date of ``moment``: an appointment's ``day``."""
    return local(clinic, moment).date()


def day_bounds(clinic, day: date) -> tuple[datetime, datetime]:
    """The aware start of ``day`` and of the next day at the clinic (23 or 25 hours apart on a
    DST change)."""
    tz = clinic.tzinfo
    start = datetime.combine(day, datetime.min.time(), tz)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tz)
    return start, end


def opening_spans(resource: Resource, day: date, hours: Iterable[OpeningHours] | None = None):
    """The resource's open spans on ``day`` as aware (start, end) pairs, earliest first."""
    tz = resource.clinic.tzinfo
    if hours is None:
        hours = resource.opening_hours.filter(weekday=day.weekday())
    return sorted(
        (datetime.combine(day, h.opens, tz), datetime.combine(day, h.closes, tz))
        for h in hours
        if h.weekday == day.weekday()
    )


def is_open(resource: Resource, start: datetime, end: datetime) -> bool:
    """Whether one of the resource's opening spans on the day of ``start`` holds all of it."""
    day = clinic_day(resource.clinic, start)
    return any(opens <= start and end <= closes for opens, closes in opening_spans(resource, day))


def blocking(resource: Resource, start: datetime, end: datetime) -> ResourceBlock | None:
    return resource.blocks.filter(start__lt=end, end__gt=start).order_by("start").first()


def free_starts(
    resource: Resource,
    day: date,
    minutes: int,
    *,
    busy: Iterable[tuple[datetime, datetime]] = (),
    hours: Iterable[OpeningHours] | None = None,
    not_before: datetime | None = None,
) -> list[datetime]:
    """Start times on ``day`` (every ``STEP_MINUTES`` from each opening) at which ``minutes``
    fit in the resource's opening hours without touching a block, an active appointment on the
    resource, or any of ``busy`` (e.g. the patient's own appointments)."""
    spans = opening_spans(resource, day, hours)
    if not spans:
        return []
    since, until = day_bounds(resource.clinic, day)
    taken = list(busy)
    taken += [
        (a.start, a.end)
        for a in Appointment.objects.active()
        .filter(resource=resource)
        .overlapping(since, until)
        .only("start", "end")
    ]
    taken += [
        (b.start, b.end)
        for b in ResourceBlock.objects.filter(resource=resource, start__lt=until, end__gt=since)
    ]
    length = timedelta(minutes=minutes)
    step = timedelta(minutes=STEP_MINUTES)
    found = []
    for opens, closes in spans:
        at = opens
        while at + length <= closes:
            if (not_before is None or at >= not_before) and not any(
                s < at + length and e > at for s, e in taken
            ):
                found.append(at)
            at += step
    return found
