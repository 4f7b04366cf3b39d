"""The resource pages for a clinic's administrator: the clinic's chairs, rooms and TMS devices
with their weekly hours and upcoming blocks, adding and editing one, and blocking one for a
closure or maintenance (listing the appointments the block would cover before it is added).

Thin views: ``resource.change`` (403 otherwise), the actor's clinic (404 for another's), one
form, one service (``resource_services``), render.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.lib.errors import Conflict, InputError
from trellis.scheduling import resource_selectors, resource_services, selectors
from trellis.scheduling.kinds import ResourceKind
from trellis.scheduling.models import Resource, ResourceBlock
from trellis.scheduling.resource_forms import BlockForm, ResourceForm, initial_for, place


def _resource(actor: Actor, resource_id: UUID) -> Resource:
    return get_object_or_404(
        Resource.objects.select_related("clinic").prefetch_related("opening_hours"),
        pk=resource_id,
        clinic=actor.clinic,
    )


@login_required
def resource_list(request: HttpRequest) -> HttpResponse:
    actor = require(request.actor, Perm.RESOURCE_CHANGE)
    groups = resource_selectors.overview(actor.clinic)
    return render(
        request,
        "scheduling/resources/list.html",
        {
            "groups": groups,
            "count": sum(len(g.resources) for g in groups),
            "timezone": str(actor.clinic.tzinfo),
        },
    )


def _saved_words(resource: Resource, created: bool) -> str:
    return f"{resource.get_kind_display()} “{resource.name}” {'added' if created else 'saved'}."


@login_required
def resource_add(request: HttpRequest) -> HttpResponse:
    actor = require(request.actor, Perm.RESOURCE_CHANGE)
    initial = {"kind": request.GET.get("kind") or ResourceKind.CHAIR}
    initial.update({f"hours_{weekday}": "08:00–18:00" for weekday in range(5)})
    form = ResourceForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            values = form.values()
            try:
                resource = resource_services.create_resource(actor, **values)
            except InputError as error:
                place(form, error)
            else:
                messages.success(request, _saved_words(resource, True))
                return redirect("resource_list")
    return render(
        request, "scheduling/resources/edit.html", {"form": form, "resource": None}, status=status
    )


@login_required
def resource_edit(request: HttpRequest, resource_id: UUID) -> HttpResponse:
    actor = require(request.actor, Perm.RESOURCE_CHANGE)
    resource = _resource(actor, resource_id)
    form = ResourceForm(request.POST or None, initial=initial_for(resource), editing=True)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                changed = resource_services.update_resource(actor, resource, **form.values())
            except InputError as error:
                place(form, error)
            else:
                if not changed:
                    messages.success(request, "Nothing changed.")
                else:
                    resource.refresh_from_db()
                    messages.success(request, _saved_words(resource, False))
                    if "is_active" in changed and not resource.is_active:
                        _warn_booked(request, resource)
                return redirect("resource_list")
    return render(
        request,
        "scheduling/resources/edit.html",
        {"form": form, "resource": resource},
        status=status,
    )


def _warn_booked(request: HttpRequest, resource: Resource) -> None:
    """Taking a resource out of use leaves its booked appointments where they are: say so."""
    now = timezone.now()
    booked = resource_services.clashes(resource, now, now + timedelta(days=3653))
    if booked:
        messages.warning(
            request,
            f"{resource.name} is out of use; {len(booked)} booked appointment"
            f"{'s' if len(booked) != 1 else ''} on it stay{'s' if len(booked) == 1 else ''} "
            "until front desk moves them. Nothing new is booked on it.",
        )


@login_required
def block_add(request: HttpRequest, resource_id: UUID) -> HttpResponse:
    actor = require(request.actor, Perm.RESOURCE_CHANGE)
    resource = _resource(actor, resource_id)
    clinic = actor.clinic
    tomorrow = clinic.today() + timedelta(days=1)
    initial = {
        "start_date": tomorrow,
        "start_time": "08:00",
        "end_date": tomorrow,
        "end_time": "18:00",
    }
    form = BlockForm(request.POST or None, initial=initial)
    status, covered = 200, []
    if request.method == "POST":
        status = 422
        if form.is_valid():
            values = form.cleaned_data
            try:
                block = resource_services.add_block(
                    actor,
                    resource,
                    kind=values["kind"],
                    start=form.start(clinic.tzinfo),
                    end=form.end(clinic.tzinfo),
                    note=values["note"],
                    confirmed=values["confirmed"],
                )
            except InputError as error:
                place(form, error)
            except resource_services.BlockClashes as error:
                status = 409
                covered = error.appointments
                for appointment in covered:
                    appointment.local_start = selectors.wall_clock(clinic, appointment.start)
                    appointment.local_end = selectors.wall_clock(clinic, appointment.end)
                record_for(
                    actor,
                    Action.QUERY,
                    object_type="scheduling.appointment",
                    detail={"block_clashes": str(resource.pk), "count": len(covered)},
                )
                # The same form again, confirming the appointments the administrator now sees.
                data = request.POST.copy()
                data["confirmed"] = ",".join(str(a.pk) for a in covered)
                form = BlockForm(data)
                form.is_valid()
            else:
                start = selectors.wall_clock(clinic, block.start)
                messages.success(
                    request,
                    f"{resource.name}: {block.get_kind_display().lower()} from "
                    f"{start:%a %b %-d %H:%M} added.",
                )
                return redirect("resource_list")
    return render(
        request,
        "scheduling/resources/block.html",
        {
            "form": form,
            "resource": resource,
            "covered": covered,
            "timezone": str(clinic.tzinfo),
        },
        status=status,
    )


@require_POST
@login_required
def block_remove(request: HttpRequest, resource_id: UUID, block_id: UUID) -> HttpResponse:
    actor = require(request.actor, Perm.RESOURCE_CHANGE)
    resource = _resource(actor, resource_id)
    block = get_object_or_404(ResourceBlock, pk=block_id, resource=resource)
    try:
        resource_services.remove_block(actor, block)
    except Conflict as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"{resource.name} is back in service: the {block.get_kind_display().lower()} "
            "was removed.",
        )
    return redirect("resource_list")
