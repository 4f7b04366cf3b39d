"""Reads of a clinic's resources for the resource pages and the day view's column headings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from trellis.scheduling import availability
from trellis.scheduling import hours as weekly_hours
from trellis.scheduling.kinds import ACTIVE_STATUSES, ResourceKind
from trellis.scheduling.models import Resource, ResourceBlock


def week_of(resource: Resource) -> dict[int, list]:
    """The resource's opening hours as weekday → spans (from a prefetch when there is one)."""
    week: dict[int, list] = {}
    for row in resource.opening_hours.all():
        week.setdefault(row.weekday, []).append((row.opens, row.closes))
    return week


@dataclass
class KindGroup:
    kind: str
    label: str
    resources: list = field(default_factory=list)


def overview(clinic, *, now: datetime | None = None) -> list[KindGroup]:
    """The clinic's resources, in use or not, grouped by kind (chairs, rooms, TMS devices), each
    with ``hours_words`` (and its ``hours_lines``), ``upcoming_blocks`` (not yet ended, soonest
    first) and ``upcoming_count`` (active appointments not yet ended): three queries."""
    now = now or timezone.now()
    rows = (
        Resource.objects.filter(clinic=clinic)
        .annotate(
            upcoming_count=Count(
                "appointments",
                filter=Q(appointments__status__in=ACTIVE_STATUSES, appointments__end__gt=now),
            )
        )
        .prefetch_related(
            "opening_hours",
            Prefetch(
                "blocks",
                queryset=ResourceBlock.objects.filter(end__gt=now).order_by("start"),
                to_attr="upcoming_blocks",
            ),
        )
        .order_by("-is_active", "ordering", "name")
    )
    groups = {kind: KindGroup(kind, label) for kind, label in ResourceKind.choices}
    for resource in rows:
        resource.hours_words = weekly_hours.describe(week_of(resource))
        resource.hours_lines = resource.hours_words.split("; ")
        for block in resource.upcoming_blocks:
            block.local_start = availability.local(clinic, block.start).replace(tzinfo=None)
            block.local_end = availability.local(clinic, block.end).replace(tzinfo=None)
            block.is_current = block.start <= now
        groups[resource.kind].resources.append(resource)
    return list(groups.values())


def blocks_on(clinic, day: date, resources) -> dict:
    """The first block touching ``day`` (clinic-local) of each of ``resources``, by resource id:
    the day view marks that column "closed" or "maintenance". One query."""
    since, until = availability.day_bounds(clinic, day)
    found: dict = {}
    for block in ResourceBlock.objects.filter(
        resource__in=resources, start__lt=until, end__gt=since
    ).order_by("start"):
        found.setdefault(block.resource_id, block)
    return found
