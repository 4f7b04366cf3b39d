"""The groups page of the portal: cohorts of the patient's clinic they may ask to join, and
their own places and requests. Nothing about who else is in a group: only how many places
are left.

Which cohorts are open to ask is the groups app's one definition (``groups.services.
open_to_ask``, as the public page); the request itself is ``groups.services.ask_to_join``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Q
from django.utils import timezone

from trellis.audit.models import Action
from trellis.audit.services import record
from trellis.groups import rules
from trellis.groups import services as groups
from trellis.groups.models import (
    OPEN_ENROLMENT,
    Cohort,
    Enrolment,
    EnrolmentStatus,
    GroupInterest,
    InterestStatus,
)
from trellis.portal.models import PORTAL_USERNAME, PortalAccount


@dataclass
class OpenCohort:
    cohort: Cohort
    places: int
    asked_on: date | None = None  # the patient's unanswered request
    member: bool = False  # enrolled or waitlisted already

    @property
    def full(self) -> bool:
        return self.places == 0

    @property
    def askable(self) -> bool:
        return not (self.full or self.member or self.asked_on)


@dataclass
class OwnPlace:
    cohort: Cohort
    waitlisted: bool
    position: int | None
    next_session: datetime | None


@dataclass
class GroupsPage:
    open: list[OpenCohort] = field(default_factory=list)
    own: list[OwnPlace] = field(default_factory=list)
    declined: list[GroupInterest] = field(default_factory=list)

    @property
    def can_ask(self) -> bool:
        return any(o.askable for o in self.open)


def _position(enrolment: Enrolment) -> int:
    ahead = Enrolment.objects.filter(
        cohort=enrolment.cohort_id, status=EnrolmentStatus.WAITLISTED
    ).filter(
        Q(joined_at__lt=enrolment.joined_at) | Q(joined_at=enrolment.joined_at, pk__lt=enrolment.pk)
    )
    return ahead.count() + 1


def groups_page(
    account: PortalAccount, source_address: str = "", *, now: datetime | None = None
) -> GroupsPage:
    """What the patient's groups page shows, read in a handful of queries; one audit event."""
    now = now or timezone.now()
    clinic, patient = account.clinic, account.patient
    cohorts = list(
        groups.open_to_ask(clinic).select_related("program").order_by("start_date", "start_time")
    )
    counts = groups.members_count(cohorts)
    asked = {
        i.cohort_id: i.submitted_at
        for i in GroupInterest.objects.filter(
            clinic=clinic, patient=patient, status=InterestStatus.NEW
        )
    }
    enrolments = list(
        Enrolment.objects.filter(clinic=clinic, patient=patient, status__in=OPEN_ENROLMENT)
        .select_related("cohort__program", "cohort__room")
        .order_by("cohort__start_date")
    )
    member_of = {e.cohort_id for e in enrolments}
    page = GroupsPage()
    for cohort in cohorts:
        enrolled = counts.get(cohort.pk, (0, 0))[0]
        when = asked.get(cohort.pk)
        page.open.append(
            OpenCohort(
                cohort=cohort,
                places=rules.places_left(cohort.capacity, enrolled),
                asked_on=timezone.localtime(when, clinic.tzinfo).date() if when else None,
                member=cohort.pk in member_of,
            )
        )
    for e in enrolments:
        upcoming = e.cohort.meetings.filter(start__gt=now).order_by("start").first()
        if upcoming is None and e.cohort.start_date < clinic.today():
            continue  # the group is over
        waitlisted = e.status == EnrolmentStatus.WAITLISTED
        page.own.append(
            OwnPlace(
                cohort=e.cohort,
                waitlisted=waitlisted,
                position=_position(e) if waitlisted else None,
                next_session=upcoming.start if upcoming else None,
            )
        )
    page.declined = list(
        GroupInterest.objects.filter(
            clinic=clinic,
            patient=patient,
            status=InterestStatus.DECLINED,
            cohort__start_date__gt=clinic.today(),
        ).select_related("cohort__program")
    )
    record(
        Action.READ,
        clinic=clinic,
        patient=patient,
        obj=patient,
        username=PORTAL_USERNAME,
        source_address=source_address,
        detail={"portal": "groups"},
    )
    return page


def cohort_to_ask(account: PortalAccount, cohort_id) -> Cohort | None:
    """A cohort of the patient's own clinic, or None: another clinic's is never found."""
    return Cohort.objects.filter(pk=cohort_id, clinic=account.clinic).first()
