"""Appointments as iCalendar files (RFC 5545, the ``icalendar`` library): one appointment for a
message, or a patient's upcoming appointments for their calendar feed.

What a calendar shows is seen by others: SUMMARY says "Appointment at <clinic>" and nothing
clinical. Times are written in UTC (``…Z``), which every calendar shows in its own timezone,
so no VTIMEZONE is needed and a DST change cannot shift them. UID is the appointment's id and
stays with it; SEQUENCE is raised at each move and at cancelling (``Appointment.sequence``), so
a calendar that already holds the event replaces it; a cancelled one is ``STATUS:CANCELLED``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import icalendar
from django.utils import timezone

from trellis.scheduling.kinds import AppointmentStatus
from trellis.scheduling.models import Appointment
from trellis.scheduling.patient_words import one_line

PRODID = "-//Trellis//Appointments//EN"
CONTENT_TYPE = "text/calendar; charset=utf-8"


def uid(appointment: Appointment) -> str:
    return f"appointment-{appointment.pk}@trellis"


def summary(clinic) -> str:
    return f"Appointment at {clinic.name}"


def event(appointment: Appointment, clinic, *, now: datetime | None = None) -> icalendar.Event:
    item = icalendar.Event()
    item.add("uid", uid(appointment))
    item.add("dtstamp", (now or timezone.now()).astimezone(UTC))
    item.add("dtstart", appointment.start.astimezone(UTC))
    item.add("dtend", appointment.end.astimezone(UTC))
    item.add("summary", summary(clinic))
    address = one_line(clinic.address)
    if address:
        item.add("location", address)
    item.add("sequence", appointment.calendar_sequence)
    cancelled = appointment.status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW)
    item.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return item


def calendar(
    appointments: Iterable[Appointment], clinic, *, name: str = "", now: datetime | None = None
) -> bytes:
    """The appointments (all of ``clinic``) as one calendar file."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    if name:
        cal.add("x-wr-calname", name)
    for appointment in appointments:
        cal.add_component(event(appointment, clinic, now=now))
    return cal.to_ical()
