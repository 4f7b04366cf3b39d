"""Reads of safety alerts for pages that belong to other apps (the patient's page, the top bar)."""

from datetime import timedelta

from django.core.paginator import Page
from django.utils import timezone

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.selectors import audited_page
from trellis.patients.models import Patient
from trellis.safety import services
from trellis.safety.models import AlertStatus, SafetyAlert


def alert_banner(actor: Actor, patient: Patient) -> dict:
    """The patient's open alerts, most severe first, for the banner above the name.

    Registered as a patient-page card (``patients.panels``), which has checked the clinic and
    ``alert.read`` and audited the patient."""
    open_alerts = services.open_alerts_ordered(
        SafetyAlert.objects.filter(clinic=actor.clinic, patient=patient, status=AlertStatus.OPEN)
    )
    return {
        "alerts": list(open_alerts),
        "can_acknowledge": actor.can(Perm.ALERT_ACKNOWLEDGE),
        "now": timezone.now(),
    }


def alerts_raised_by(actor: Actor, source) -> list[SafetyAlert]:
    """The alerts ``source`` (a questionnaire, a session) raised, for its own page: none for a
    role without ``alert.read``. The page loaded, and audited, ``source`` itself."""
    if not actor.can(Perm.ALERT_READ):
        return []
    return list(
        SafetyAlert.objects.filter(
            clinic=actor.clinic, source_type=source._meta.label_lower, source_id=str(source.pk)
        )
    )


def open_alerts(actor: Actor, page=1) -> Page:
    """The clinic's open alerts, most severe and oldest first (the order ``alert_queue`` shows)."""
    require(actor, Perm.ALERT_READ)
    rows = SafetyAlert.objects.filter(clinic=actor.clinic, status=AlertStatus.OPEN)
    return audited_page(
        actor,
        services.open_alerts_ordered(rows.select_related("patient")).order_by(
            "-severity_rank_db", "created_at", "id"
        ),
        object_type="safety.safetyalert",
        name="open_alerts",
        page=page,
    )


def alerts_past_escalation(actor: Actor, page=1, *, now=None) -> Page:
    """Open alerts older than the clinic's ``alert_escalation_minutes``: nobody acknowledged
    them in the time the clinic set, so they are escalating (most severe and oldest first)."""
    require(actor, Perm.ALERT_READ)
    now = now or timezone.now()
    minutes = actor.clinic.setting("alert_escalation_minutes")
    rows = SafetyAlert.objects.filter(
        clinic=actor.clinic,
        status=AlertStatus.OPEN,
        created_at__lt=now - timedelta(minutes=minutes),
    )
    return audited_page(
        actor,
        services.open_alerts_ordered(rows.select_related("patient")).order_by(
            "-severity_rank_db", "created_at", "id"
        ),
        object_type="safety.safetyalert",
        name="alerts_past_escalation",
        page=page,
    )


def alerts_raised_by_each(actor: Actor, sources: list) -> dict[str, list[SafetyAlert]]:
    """The alerts each of ``sources`` (rows of one model, of the actor's clinic) raised, oldest
    first, keyed by the source's primary key as text, in one query: none for a role without
    ``alert.read``. The caller loaded, and audited, the sources themselves."""
    found: dict[str, list[SafetyAlert]] = {}
    if not sources or not actor.can(Perm.ALERT_READ):
        return found
    for alert in SafetyAlert.objects.filter(
        clinic=actor.clinic,
        source_type=sources[0]._meta.label_lower,
        source_id__in=[str(source.pk) for source in sources],
    ).order_by("created_at"):
        found.setdefault(alert.source_id, []).append(alert)
    return found


def open_alert_count(actor: Actor | None) -> int | None:
    """The clinic's open alerts, for "Alerts" in the top bar (one COUNT query); ``None`` for a
    role without ``alert.read``, which is shown no link."""
    if actor is None or not actor.can(Perm.ALERT_READ):
        return None
    return SafetyAlert.objects.filter(clinic=actor.clinic, status=AlertStatus.OPEN).count()
