"""Reads of aftercare for the patient's page, the alert page and (later) the patient portal."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import dateformat, timezone

from trellis.accounts.access import Actor
from trellis.accounts.permissions import Perm
from trellis.aftercare import checkins
from trellis.aftercare.models import (
    AftercarePlan,
    CheckIn,
    CoachingSession,
    FollowUpEscalation,
    JournalEntry,
)
from trellis.aftercare.services import check_in_channels
from trellis.lib.models import one_or_none
from trellis.patients.models import Patient
from trellis.safety.sources import Source

CARD_CHECK_INS = 6
CARD_JOURNAL = 5


def patient_card(actor: Actor, patient: Patient) -> dict:
    """The aftercare card: the plan, recent check-ins and the journal entries the patient
    shared. Registered as a patient-page card (``patients.panels``), which has checked the
    clinic and ``aftercare.read`` and audited the patient. Private entries are counted, never
    loaded."""
    plan = one_or_none(
        AftercarePlan.objects.filter(patient=patient).select_related(
            "course__protocol", "follow_up_clinician", "updated_by"
        )
    )
    sessions = (
        list(CoachingSession.objects.filter(plan=plan).select_related("recorded_by")[:10])
        if plan is not None
        else []
    )
    check_ins = list(
        CheckIn.objects.filter(patient=patient).select_related("session")[:CARD_CHECK_INS]
    )
    counts = JournalEntry.objects.filter(patient=patient).aggregate(
        shared_count=Count("pk", filter=Q(shared=True)),
        private_count=Count("pk", filter=Q(shared=False)),
    )
    private = counts["private_count"]
    shared = (
        list(
            JournalEntry.objects.filter(patient=patient, shared=True).select_related(
                "recorded_by"
            )[:CARD_JOURNAL]
        )
        if counts["shared_count"]
        else []
    )
    return {
        "patient": patient,
        "plan": plan,
        "coaching_sessions": sessions,
        "check_ins": check_ins,
        "journal": shared,
        "private_count": private,
        "can_change": actor.can(Perm.AFTERCARE_CHANGE),
        "reachable": check_in_channels(patient) is not None,
        "sleep_words": dict(enumerate(checkins.SLEEP_OPTIONS)),
    }


@dataclass(frozen=True)
class PortalPlan:
    """What the patient's own portal shows of their plan: what they agreed to, who they will
    see, their coaching goals and resources. No staff notes, no progress notes."""

    components: list[str]
    follow_up: str
    referral_status: str
    coaching_goals: str
    coaching_sessions_planned: int | None
    mindfulness_resources: str
    group: str
    updated_at: object


def plan_for_portal(patient: Patient) -> PortalPlan | None:
    """The patient's plan for their portal (the portal signs the patient in and audits the
    read), or None when there is none."""
    plan = (
        AftercarePlan.objects.filter(patient=patient).select_related("follow_up_clinician").first()
    )
    if plan is None:
        return None
    if plan.follow_up == "internal" and plan.follow_up_clinician is not None:
        who = plan.follow_up_clinician
        follow_up = who.get_full_name() or who.username
    else:
        follow_up = plan.referral_to
    return PortalPlan(
        components=plan.component_labels(),
        follow_up=follow_up if plan.follow_up else "",
        referral_status=plan.get_referral_status_display() if plan.referral_status else "",
        coaching_goals=plan.coaching_goals if plan.coaching else "",
        coaching_sessions_planned=plan.coaching_sessions_planned,
        mindfulness_resources=plan.mindfulness_resources if plan.mindfulness else "",
        group=plan.group_reference if plan.group else "",
        updated_at=plan.updated_at,
    )


def _when(moment) -> str:
    return dateformat.format(timezone.localtime(moment), "M j, H:i")


def _patient_page(alert, actor) -> str:
    if actor is None or not actor.can(Perm.AFTERCARE_READ) or alert.patient_id is None:
        return ""
    return reverse("patient_detail", args=[alert.patient_id]) + "#aftercare"


def check_in_source(alert, actor) -> Source | None:
    row = CheckIn.objects.filter(pk=alert.source_id, clinic=alert.clinic_id).first()
    if row is None:
        return None
    when = _when(row.answered_at or row.due_at)
    return Source(f"Check-in of {when}, {row.label()}", _patient_page(alert, actor))


def journal_source(alert, actor) -> Source | None:
    entry = JournalEntry.objects.filter(pk=alert.source_id, clinic=alert.clinic_id).first()
    if entry is None:
        return None
    return Source(f"Shared journal entry of {_when(entry.written_at)}", _patient_page(alert, actor))


def follow_up_source(alert, actor) -> Source | None:
    row = FollowUpEscalation.objects.filter(pk=alert.source_id, clinic=alert.clinic_id).first()
    if row is None:
        return None
    return Source(
        f"{row.label} due {dateformat.format(row.due_on, 'M j, Y')}", _patient_page(alert, actor)
    )
