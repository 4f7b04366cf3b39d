"""The calendar pages: a clinic's day by resource, its week, booking and moving by form, a
change of status from the day view (htmx), and a course's planned sessions booked in one step.

Thin views: load through ``access`` (clinic → 404, role → 403, audited read), call one service
or selector, render. The day's grid is arranged here for the page (``_day_grid``); the rules are
in ``services`` and ``kinds``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.html import escape
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.views.decorators.http import require_POST

from trellis.accounts.access import Actor
from trellis.accounts.permissions import Perm
from trellis.lib.errors import Conflict, InputError
from trellis.lib.http import is_htmx
from trellis.lib.text import text_problem
from trellis.patients import access
from trellis.scheduling import availability, kinds, resource_selectors, selectors, services
from trellis.scheduling.forms import BookForm, CourseRowForm, MoveForm, StatusForm, place_error
from trellis.scheduling.kinds import AppointmentKind, AppointmentStatus
from trellis.scheduling.models import Appointment, OpeningHours, Resource, ResourceBlock
from trellis.treatments.models import Course

# The day and week pages look back or ahead at most ten years; a date beyond is a typing error.
RANGE_DAYS = 3653
SLOT_MINUTES = 15

S = AppointmentStatus


def _day_from(request: HttpRequest, today: date) -> tuple[date, str]:
    """The ``date`` asked for, or today with a message saying why not."""
    raw = request.GET.get("date", "")
    if not raw:
        return today, ""
    try:
        day = date.fromisoformat(raw)
        if abs((day - today).days) > RANGE_DAYS:
            raise ValueError("too far from today")
    except ValueError:
        return today, f"“{raw[:20]}” is not a date (YYYY-MM-DD); showing today."
    return day, ""


def _may_act(actor: Actor, kind: str) -> bool:
    perm = Perm.APPOINTMENT_THERAPY if kind in kinds.THERAPY_KINDS else Perm.APPOINTMENT_CHANGE
    return actor.can(perm)


def _day_url(day: date) -> str:
    return f"{reverse('calendar_day')}?date={day.isoformat()}"


# --- The day view --------------------------------------------------------------------------------


@dataclass
class Cell:
    """One place in the day's grid: an appointment spanning ``rows`` slots, or an empty slot
    that is ``closed`` (outside the resource's opening hours or in a block) or may be booked
    (``book``: the booking form's query)."""

    appointment: Appointment | None = None
    rows: int = 1
    closed: bool = False
    book: str = ""
    label: str = ""

    def html(self, book_url: str) -> str:
        """An empty cell's markup. A busy clinic's day has thousands of them (a cell per
        resource per slot), so they are written here and joined a run at a time (``Run``)
        rather than each drawn by the template."""
        if self.closed:
            return f'<td class="cal-cell is-closed" title="{escape(self.label)}"></td>'
        if self.book:
            return (
                f'<td class="cal-cell"><a class="cal-book" href="{book_url}?{escape(self.book)}">'
                f'<span class="visually-hidden">{escape(self.label)}</span></a></td>'
            )
        return '<td class="cal-cell"></td>'


class Run(SafeString):
    """Empty cells side by side in one row of the grid, as markup ready for the page."""

    appointment = None  # what the template asks of each piece of a row


def _row_parts(cells: list, book_url: str) -> list:
    """A row's cells for the template: each appointment's cell (drawn by its include) and,
    between them, the runs of empty cells as ready markup. Cells covered by an appointment
    above (None) are left out."""
    parts: list = []
    run: list[str] = []
    for cell in cells:
        if cell is None:
            continue
        if cell.appointment is None:
            run.append(cell.html(book_url))
            continue
        if run:
            parts.append(Run("".join(run)))
            run = []
        parts.append(cell)
    if run:
        parts.append(Run("".join(run)))
    return parts


@dataclass
class Lane:
    """One column of the day's grid: a resource (or none), split into lanes where cancelled or
    unassigned appointments overlap."""

    appointments: list = field(default_factory=list)
    cells: list = field(default_factory=list)  # one per slot: a Cell, or None where covered


@dataclass
class Column:
    resource: Resource | None
    lanes: list[Lane] = field(default_factory=list)
    closed: bool = False
    # A closure or maintenance touching the day (resource_selectors.blocks_on), if any.
    block: object = None


def _slot(moment: datetime, first: datetime) -> int:
    return int((moment - first).total_seconds() // 60) // SLOT_MINUTES


def _slots_within(slots: list[datetime], spans) -> set[int]:
    """The indexes of the slots that lie wholly within one of ``spans`` (start–end pairs)."""
    step = timedelta(minutes=SLOT_MINUTES)
    return {
        i for i, at in enumerate(slots) for opens, closes in spans if opens <= at <= closes - step
    }


def _slots_touching(slots: list[datetime], spans) -> set[int]:
    """The indexes of the slots that overlap one of ``spans`` (start–end pairs)."""
    step = timedelta(minutes=SLOT_MINUTES)
    return {i for i, at in enumerate(slots) for start, end in spans if start - step < at < end}


def _empty_cells(column: Column, slots: list[datetime], spans, blocks, now, may_book) -> list:
    """The empty cells of ``column``: closed outside ``spans`` (its opening hours, as local
    start–end pairs) or within ``blocks``; a link to the booking form where a booking there
    could succeed (open, free, not past)."""
    resource = column.resource
    if resource is None:
        return [Cell() for _ in slots]
    busy = {
        i for lane in column.lanes for a in lane.appointments if a.is_active for i in range(*a.span)
    }
    open_slots = _slots_within(slots, spans)
    blocked_slots = _slots_touching(slots, blocks)
    cells = []
    for i, at in enumerate(slots):
        is_open = i in open_slots
        blocked = i in blocked_slots
        if not is_open or blocked:
            cells.append(Cell(closed=True, label="Blocked" if blocked and is_open else "Closed"))
        elif may_book and i not in busy and at >= now:
            # Dates, times and UUIDs need no escaping; the form reads them as typed.
            query = f"date={at.date().isoformat()}&time={at:%H:%M}&resource={resource.pk}"
            cells.append(Cell(book=query, label=f"Book {resource.name} at {at:%H:%M}"))
        else:
            cells.append(Cell())
    return cells


def _day_grid(
    clinic,
    day: date,
    resources: list[Resource],
    appointments: list[Appointment],
    *,
    now: datetime | None = None,
    may_book: bool = False,
):
    """The day as rows of ``SLOT_MINUTES`` from the earliest opening to the latest closing
    (stretched to any appointment outside them), and a column per resource, then one for
    appointments without a resource. Empty cells say whether they are closed or bookable."""
    hours = list(OpeningHours.objects.filter(resource__in=resources, weekday=day.weekday()))
    open_ids = {h.resource_id for h in hours}
    tz = clinic.tzinfo
    starts = [datetime.combine(day, h.opens, tz) for h in hours]
    ends = [datetime.combine(day, h.closes, tz) for h in hours]
    starts += [availability.local(clinic, a.start) for a in appointments]
    ends += [availability.local(clinic, a.end) for a in appointments]
    if not starts:
        return [], []
    first = min(starts).replace(minute=min(starts).minute // SLOT_MINUTES * SLOT_MINUTES)
    count = -(-int((max(ends) - first).total_seconds() // 60) // SLOT_MINUTES)
    count = max(count, 1)
    slots = [first + timedelta(minutes=SLOT_MINUTES * i) for i in range(count)]
    last = slots[-1] + timedelta(minutes=SLOT_MINUTES)
    spans: dict = {}
    for h in hours:
        spans.setdefault(h.resource_id, []).append(
            (datetime.combine(day, h.opens, tz), datetime.combine(day, h.closes, tz))
        )
    blocks: dict = {}
    for block in ResourceBlock.objects.filter(
        resource__in=resources, start__lt=last, end__gt=first
    ):
        blocks.setdefault(block.resource_id, []).append(
            (availability.local(clinic, block.start), availability.local(clinic, block.end))
        )
    now = availability.local(clinic, now or timezone.now())

    columns = [Column(r, closed=r.pk not in open_ids) for r in resources]
    by_resource = {r.pk: c for r, c in zip(resources, columns, strict=True)}
    loose = Column(None)
    for appointment in appointments:
        column = by_resource.get(appointment.resource_id, loose)
        begin = _slot(availability.local(clinic, appointment.start), first)
        end = max(
            begin + 1, -(-int((appointment.end - first).total_seconds() // 60) // SLOT_MINUTES)
        )
        appointment.span = (begin, end)
        appointment.short = end - begin == 1
        for lane in column.lanes:
            if all(o.span[1] <= begin or o.span[0] >= end for o in lane.appointments):
                lane.appointments.append(appointment)
                break
        else:
            column.lanes.append(Lane([appointment]))
    if loose.lanes:
        columns.append(loose)
    for column in columns:
        if not column.lanes:
            column.lanes.append(Lane())
        resource_id = column.resource.pk if column.resource else None
        for lane in column.lanes:
            lane.cells = _empty_cells(
                column,
                slots,
                spans.get(resource_id, []),
                blocks.get(resource_id, []),
                now,
                may_book,
            )
            for appointment in lane.appointments:
                begin, end = appointment.span
                lane.cells[begin] = Cell(appointment, end - begin)
                for i in range(begin + 1, min(end, count)):
                    lane.cells[i] = None
    book_url = reverse("calendar_book")
    rows = [
        {
            "at": at,
            "hour": at.minute == 0,
            "cells": _row_parts([lane.cells[i] for c in columns for lane in c.lanes], book_url),
        }
        for i, at in enumerate(slots)
    ]
    return columns, rows


# What each action is called on the day view, and how its button looks.
ACTIONS = {
    S.CHECKED_IN: ("Check in", ""),
    S.COMPLETED: ("Complete", ""),
    S.CONFIRMED: ("Confirm", "button-secondary"),
    kinds.MOVE: ("Move…", "button-secondary"),
    S.NO_SHOW: ("No-show", "button-danger"),
    S.CANCELLED: ("Cancel appointment", "button-danger"),
}
# The actions a block offers as its one button; the rest are under its "More".
PRIMARY = (S.CHECKED_IN, S.COMPLETED, S.CONFIRMED)


# The mark before a status's name on its block (checked in also adds the time of arrival).
STATUS_MARKS = {S.CHECKED_IN: "✓ ", S.COMPLETED: "✓ ", S.CANCELLED: "✕ ", S.NO_SHOW: "✕ "}


def _action_groups(actions: list[dict]) -> list[dict]:
    """The block's actions in order, for its "More" panel: Move (a link), Cancel (a form that
    asks the reason), and between them the plain changes of status, side by side ones sharing
    one form whose buttons each send their own status."""
    groups: list[dict] = []
    for action in actions:
        if action["status"] in (kinds.MOVE, S.CANCELLED):
            groups.append({"kind": action["status"]})
        elif groups and groups[-1]["kind"] == "status":
            groups[-1]["buttons"].append(action)
        else:
            groups.append({"kind": "status", "buttons": [action]})
    return groups


def _addresses(name: str) -> Callable[[UUID], str]:
    """``reverse(name, args=[pk])`` for many pks: the route is reversed once, with a stand-in
    id that the pk then takes the place of."""
    stand_in = str(UUID(int=0))
    pattern = reverse(name, args=[stand_in])
    return lambda pk: pattern.replace(stand_in, str(pk))


def _decorate(actor: Actor, appointments: list[Appointment]) -> None:
    """What the templates show of each appointment: times on the clinic's wall clock (without
    an offset: the filters show them as they are), and what the actor may do with it now
    (``kinds.allowed_actions``): ``primary``, the next step, and ``actions``, every one.

    A busy day has a hundred blocks or more, each with its details and forms, so what a block
    shows several times (its times, words and addresses) is worked out once here, and what all
    blocks share (labels, routes, a day's words) once for all of them."""
    clinic = actor.clinic
    today = clinic.today()
    kind_words = {kind: str(label) for kind, label in AppointmentKind.choices}
    status_labels = {status: status.label for status in S}
    status_words = {
        status: STATUS_MARKS.get(status, "") + label for status, label in status_labels.items()
    }
    may_act: dict[str, bool] = {}
    status_url = _addresses("appointment_status")
    detail_url = _addresses("appointment_detail")
    patient_url = _addresses("patient_detail")
    day_words: dict[date, str] = {}
    for appointment in appointments:
        if appointment.kind not in may_act:
            may_act[appointment.kind] = _may_act(actor, appointment.kind)
        appointment.can_act = may_act[appointment.kind]
        allowed = (
            kinds.allowed_actions(appointment.status, appointment.day, today)
            if appointment.can_act
            else ()
        )
        appointment.actions = [
            {"status": a, "label": ACTIONS[a][0], "look": ACTIONS[a][1]} for a in allowed
        ]
        appointment.primary = next((a for a in appointment.actions if a["status"] in PRIMARY), None)
        appointment.action_groups = _action_groups(appointment.actions)
        appointment.local_start = selectors.wall_clock(clinic, appointment.start)
        appointment.local_end = selectors.wall_clock(clinic, appointment.end)
        appointment.kind_words = kind_words.get(appointment.kind, appointment.kind)
        appointment.status_label = status_labels[appointment.status]
        appointment.status_words = status_words[appointment.status]
        if appointment.checked_in_at:
            appointment.local_checked_in = selectors.wall_clock(clinic, appointment.checked_in_at)
            if appointment.status == S.CHECKED_IN:
                appointment.status_words += f" {appointment.local_checked_in:%H:%M}"
        appointment.clock = f"{appointment.local_start:%H:%M}"
        appointment.clock_end = f"{appointment.local_end:%H:%M}"
        local_day = appointment.local_start.date()
        if local_day not in day_words:
            day_words[local_day] = dateformat.format(appointment.local_start, "D M j")
        appointment.day_words = day_words[local_day]
        appointment.key = str(appointment.pk)
        appointment.name = appointment.patient.full_name
        staff = appointment.staff
        appointment.staff_name = (staff.get_full_name() or staff.username) if staff else ""
        appointment.status_url = status_url(appointment.pk)
        appointment.detail_url = detail_url(appointment.pk)
        appointment.patient_url = patient_url(appointment.patient_id)


@login_required
def day(request: HttpRequest) -> HttpResponse:
    actor = access.require(request.actor, Perm.APPOINTMENT_READ)
    clinic = actor.clinic
    today = clinic.today()
    shown, date_error = _day_from(request, today)
    resources = selectors.resources(clinic)
    appointments = selectors.day_appointments(actor, shown)
    # A resource taken out of use keeps its column on the days it still has appointments.
    shown_ids = {resource.pk for resource in resources}
    for appointment in appointments:
        if appointment.resource_id and appointment.resource_id not in shown_ids:
            shown_ids.add(appointment.resource_id)
            resources.append(appointment.resource)
    _decorate(actor, appointments)
    can_book = actor.can(Perm.APPOINTMENT_CHANGE) or actor.can(Perm.APPOINTMENT_THERAPY)
    columns, rows = _day_grid(clinic, shown, resources, appointments, may_book=can_book)
    blocks = resource_selectors.blocks_on(clinic, shown, resources)
    for column in columns:
        if column.resource is not None:
            column.block = blocks.get(column.resource.pk)
    active = [a for a in appointments if a.is_active]
    return render(
        request,
        "scheduling/day.html",
        {
            "day": shown,
            "today": today,
            "date_error": date_error,
            "columns": columns,
            "rows": rows,
            "count": len(active),
            "checked_in": sum(a.status == S.CHECKED_IN for a in active),
            "previous_day": shown - timedelta(days=1),
            "next_day": shown + timedelta(days=1),
            "can_book": can_book,
            "timezone": str(clinic.tzinfo),
            "can_set_up": actor.can(Perm.RESOURCE_CHANGE),
        },
    )


# --- The week view -------------------------------------------------------------------------------


@login_required
def week(request: HttpRequest) -> HttpResponse:
    actor = access.require(request.actor, Perm.APPOINTMENT_READ)
    clinic = actor.clinic
    today = clinic.today()
    shown, date_error = _day_from(request, today)
    monday = shown - timedelta(days=shown.weekday())
    resources = selectors.resources(clinic)
    chosen = next((r for r in resources if str(r.pk) == request.GET.get("resource", "")), None)
    appointments = selectors.week_appointments(actor, monday, resource=chosen)
    _decorate(actor, appointments)
    days = [{"day": monday + timedelta(days=i), "appointments": []} for i in range(7)]
    for appointment in appointments:
        days[(appointment.day - monday).days]["appointments"].append(appointment)
    return render(
        request,
        "scheduling/week.html",
        {
            "day": shown,
            "today": today,
            "monday": monday,
            "sunday": monday + timedelta(days=6),
            "days": days,
            "date_error": date_error,
            "resources": resources,
            "chosen": chosen,
            "previous_week": monday - timedelta(days=7),
            "next_week": monday + timedelta(days=7),
            "count": len(appointments),
        },
    )


# --- Booking -------------------------------------------------------------------------------------


def _kind_from(data) -> str | None:
    kind = data.get("kind", "")
    return kind if kind in AppointmentKind.values else None


def _default_minutes(clinic) -> list[tuple[str, int]]:
    return [
        (label, kinds.default_minutes(kind, clinic.setting))
        for kind, label in AppointmentKind.choices
    ]


@login_required
def book(request: HttpRequest) -> HttpResponse:
    actor = access.require(request.actor, Perm.APPOINTMENT_THERAPY)
    clinic = actor.clinic
    data = request.POST if request.method == "POST" else request.GET
    patient = None
    if data.get("patient"):
        patient = access.patient(actor, data["patient"])
    kind = _kind_from(data)
    resources = selectors.resources(clinic)
    if kind is None and request.method == "GET":
        # Begun from a resource's column: start as a kind that resource takes.
        chosen = next((r for r in resources if str(r.pk) == data.get("resource")), None)
        kind = kinds.first_kind_for(chosen.kind) if chosen is not None else None
    staff = selectors.bookable_staff(clinic)
    may_override = actor.can(Perm.APPOINTMENT_OVERRIDE)
    initial = {"kind": kind or AppointmentKind.ASSESSMENT}
    for name in ("date", "time", "resource", "staff", "minutes"):
        if request.GET.get(name):
            initial[name] = request.GET[name]
    initial.setdefault("date", clinic.today())
    if patient is not None:
        initial["patient"] = patient.pk
    form = BookForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        resources=resources,
        staff=staff,
        kind=kind,
        may_override=may_override,
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        try:
            appointment = services.book_appointment(
                actor,
                patient=patient,
                kind=values["kind"],
                start=form.start(clinic.tzinfo),
                minutes=values["minutes"],
                resource=values["resource"],
                staff=values["staff"],
                override_reason=values.get("override_reason", ""),
            )
        except (InputError, Conflict) as error:
            place_error(form, error)
            status = 409 if isinstance(error, Conflict) else 422
        except PermissionDenied as error:
            form.add_error(None, str(error))
            status = 403
        else:
            local = availability.local(clinic, appointment.start)
            messages.success(
                request,
                f"Booked {appointment.get_kind_display()} for {patient.full_name} on "
                f"{local:%a %b %-d} at {local:%H:%M}"
                f"{f' on {appointment.resource}' if appointment.resource_id else ''}.",
            )
            return redirect(_day_url(appointment.day))
    elif request.method == "POST":
        status = 422
    query, found, search_error = request.GET.get("q", ""), [], ""
    if patient is None and query:
        problem = text_problem(query, multiline=False, name=False)
        if problem:
            search_error = f"The search {problem}."
        else:
            found = access.search_patients(actor, query, limit=20)
    chosen_kind = kind or AppointmentKind.ASSESSMENT
    context = {
        "form": form,
        "patient": patient,
        "q": query,
        "found": found,
        "search_error": search_error,
        "defaults": _default_minutes(clinic),
        "kind_minutes": kinds.default_minutes(chosen_kind, clinic.setting),
        "kind_label": AppointmentKind(chosen_kind).label,
        "carry": {
            k: v for k, v in request.GET.items() if k in ("date", "resource", "kind", "time")
        },
    }
    template = "scheduling/book.html#book-form" if is_htmx(request) else "scheduling/book.html"
    return render(request, template, context, status=status)


# --- Changing an appointment ---------------------------------------------------------------------


def _appointment(actor, appointment_id: UUID, perm: Perm = Perm.APPOINTMENT_READ) -> Appointment:
    return access.load(
        actor,
        Appointment.objects.select_related("patient", "resource", "staff", "clinic", "session"),
        appointment_id,
        perm,
    )


@login_required
def appointment_detail(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    """An appointment's details and what the actor may do with it: the day view's "More" panel
    when htmx asks for it as the panel opens, the appointment's own page otherwise."""
    actor = request.actor
    appointment = _appointment(actor, appointment_id)
    _decorate(actor, [appointment])
    context = {"a": appointment, "today": actor.clinic.today()}
    if is_htmx(request):
        return render(
            request, "scheduling/includes/appointment_panel.html", {**context, "panel": True}
        )
    return render(request, "scheduling/appointment.html", context)


ACTION_WORDS = {
    S.CONFIRMED: "confirmed",
    S.CHECKED_IN: "checked in",
    S.COMPLETED: "completed",
    S.CANCELLED: "cancelled",
    S.NO_SHOW: "marked a no-show",
}


@require_POST
@login_required
def change_status(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    """One tap on the day view: confirm, check in, complete, no-show, or cancel with a reason.
    A second identical tap (a double click, a retried request) changes nothing and says so."""
    actor = request.actor
    appointment = _appointment(actor, appointment_id)
    if not _may_act(actor, appointment.kind):
        raise PermissionDenied(
            f"Your role ({actor.membership.get_role_display()}) may not do this."
        )
    form = StatusForm(request.POST)
    note, error, reason_error = "", "", ""
    if not form.is_valid():
        error = "Choose what to do with the appointment."
    else:
        status, reason = form.cleaned_data["status"], form.cleaned_data["reason"]
        name = appointment.patient.full_name
        if appointment.status == status:
            note = f"{name} is already {ACTION_WORDS[status]}." if status in ACTION_WORDS else ""
        else:
            try:
                services.set_status(actor, appointment, status, reason)
            except InputError as failure:
                if failure.field == "reason":
                    reason_error = capfirst(failure.message) + "."
                else:
                    error = capfirst(failure.message) + "."
            except Conflict as failure:
                appointment.refresh_from_db()
                if appointment.status == status:
                    note = f"{name} is already {ACTION_WORDS[status]}."
                else:
                    error = failure.message
            else:
                note = f"{name}: {ACTION_WORDS[status]}."
    if is_htmx(request):
        _decorate(actor, [appointment])
        return render(
            request,
            "scheduling/day.html#appointment-block",
            {
                "a": appointment,
                "today": actor.clinic.today(),
                "note": note,
                "error": error or reason_error,
                "open": bool(reason_error),
            },
            status=422 if reason_error else 200,
        )
    if error or reason_error:
        messages.error(request, error or reason_error)
    elif note:
        messages.success(request, note)
    return redirect(_day_url(appointment.day))


@login_required
def move(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    actor = request.actor
    appointment = _appointment(actor, appointment_id)
    if not _may_act(actor, appointment.kind):
        raise PermissionDenied(
            f"Your role ({actor.membership.get_role_display()}) may not do this."
        )
    clinic = actor.clinic
    local = availability.local(clinic, appointment.start)
    form = MoveForm(
        request.POST if request.method == "POST" else None,
        initial={
            "date": local.date(),
            "time": local.time().replace(tzinfo=None),
            "resource": str(appointment.resource_id or ""),
        },
        resources=selectors.resources(clinic),
        kind=appointment.kind,
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        start = datetime.combine(
            form.cleaned_data["date"], form.cleaned_data["time"], clinic.tzinfo
        )
        try:
            services.move_appointment(
                actor, appointment, start=start, resource=form.cleaned_data["resource"]
            )
        except (InputError, Conflict) as error:
            place_error(form, error)
            status = 409
        else:
            moved = availability.local(clinic, appointment.start)
            messages.success(
                request,
                f"Moved {appointment.patient.full_name}'s {appointment.get_kind_display()} to "
                f"{moved:%a %b %-d} at {moved:%H:%M}.",
            )
            return redirect(_day_url(appointment.day))
    elif request.method == "POST":
        status = 422
    _decorate(actor, [appointment])
    return render(request, "scheduling/move.html", {"a": appointment, "form": form}, status=status)


# --- A course's sessions in one step -------------------------------------------------------------


@login_required
def course_book(request: HttpRequest, course_id: UUID) -> HttpResponse:
    """A course's planned sessions with a proposed time and resource each, adjusted by front
    desk and booked together: all or nothing."""
    actor = request.actor
    course = access.load(
        actor,
        Course.objects.select_related("clinic", "patient", "protocol"),
        course_id,
        Perm.APPOINTMENT_CHANGE,
    )
    clinic = actor.clinic
    proposals = services.propose_course_slots(course)
    resources = selectors.resources(clinic)
    rows = []
    for proposal in proposals:
        initial = {"date": proposal.session.planned_date}
        if proposal.start is not None:
            local = availability.local(clinic, proposal.start)
            initial.update(
                time=local.time().replace(tzinfo=None), resource=str(proposal.resource.pk)
            )
        rows.append(
            {
                "proposal": proposal,
                "form": CourseRowForm(
                    request.POST if request.method == "POST" else None,
                    prefix=f"s{proposal.session.number}",
                    initial=initial,
                    resources=resources,
                    kind=course.modality,
                ),
            }
        )
    status = 200
    if request.method == "POST":
        if all(row["form"].is_valid() for row in rows):
            for row in rows:
                values = row["form"].cleaned_data
                row["proposal"].start = datetime.combine(
                    values["date"], values["time"], clinic.tzinfo
                )
                row["proposal"].resource = values["resource"]
            try:
                booked = services.book_course(actor, course, [r["proposal"] for r in rows])
            except services.CourseBookingFailed as error:
                _row_error(rows, error.session.number, error.cause)
                status = 409
            except InputError as error:
                number, _, rest = error.field.removeprefix("sessions.").partition(".")
                _row_error(
                    rows, int(number) if number.isdigit() else None, InputError(rest, error.message)
                )
                status = 422
            else:
                messages.success(
                    request, f"Booked {len(booked)} sessions of {course.protocol.name}."
                )
                return redirect("course_detail", course.id)
        else:
            status = 422
        if status != 200:
            messages.error(request, "Nothing was booked: correct the session marked below.")
    return render(
        request,
        "scheduling/course_book.html",
        {"course": course, "patient": course.patient, "rows": rows, "today": clinic.today()},
        status=status,
    )


def _row_error(rows: list[dict], number: int | None, error: InputError | Conflict) -> None:
    for row in rows:
        if row["proposal"].session.number == number:
            place_error(row["form"], error)
            row["failed"] = True
            return
    if rows:
        rows[0]["form"].add_error(None, error.message)
