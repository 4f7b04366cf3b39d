"""Reads of safety alerts for pages that belong to other apps (the patient's page, the top bar)."""

from django.utils import timezone

from trellis.accounts.access import Actor
from trellis.accounts.permissions import Perm
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


def open_alert_count(actor: Actor | None) -> int | None:
    """The clinic's open alerts, for "Alerts" in the top bar (one COUNT query); ``None`` for a
    role without ``alert.read``, which is shown no link."""
    if actor is None or not actor.can(Perm.ALERT_READ):
        return None
    return SafetyAlert.objects.filter(clinic=actor.clinic, status=AlertStatus.OPEN).count()
