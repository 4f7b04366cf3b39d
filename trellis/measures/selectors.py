"""Reads of questionnaires for pages that belong to other apps (the patient's page)."""

from django.utils import timezone

from trellis.accounts.access import Actor
from trellis.accounts.permissions import Perm
from trellis.measures import services
from trellis.patients.models import Patient


def patient_card(actor: Actor, patient: Patient) -> dict:
    """The questionnaire card: scores, outcomes, the chart and what is due.

    Registered as a patient-page card (``patients.panels``), which has checked the clinic and
    ``measure.read`` and audited the patient."""
    return {
        "patient": patient,
        "summary": services.patient_measures(actor, patient),
        "can_change": actor.can(Perm.MEASURE_CHANGE),
        "now": timezone.now(),
    }
