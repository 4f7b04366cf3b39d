"""Reads of questionnaires for pages that belong to other apps (the patient's page) and for
the API."""

from django.core.paginator import Page, Paginator
from django.utils import timezone

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.selectors import audited_page
from trellis.measures import instruments, services
from trellis.measures.models import Measure
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


HISTORY_PAGE = 50


def patient_history(actor: Actor, patient: Patient, page=1) -> Page:
    """Every questionnaire ``patient`` has answered, newest first, ``HISTORY_PAGE`` a page, each
    with its course's protocol: the page of them all (the patient's page shows the latest few).
    The caller has loaded, and audited, the patient."""
    require(actor, Perm.MEASURE_READ)
    rows = (
        Measure.objects.filter(patient=patient)
        .select_related("course__protocol")
        .order_by("-observed_at", "-created_at")
    )
    return Paginator(rows, HISTORY_PAGE).get_page(page)


def questionnaires_due(actor: Actor, page=1) -> Page:
    """The clinic's scheduled questionnaires open today and unanswered (the rows of the due
    list, ``services.due_and_overdue``), earliest due first."""
    require(actor, Perm.MEASURE_READ)
    today = actor.clinic.today()
    rows = (
        services.open_unanswered(actor.clinic, today)
        .select_related("patient")
        .order_by("due_on", "patient__family_name", "patient__given_name", "instrument", "id")
    )
    return audited_page(
        actor, rows, object_type="measures.scheduledmeasure", name="questionnaires_due", page=page
    )


def patient_measures(patient: Patient, instrument: str | None = None) -> list[Measure]:
    """The patient's questionnaires, oldest first, of one instrument or all (the caller loaded,
    checked and audited the patient through ``patients.access``)."""
    rows = Measure.objects.filter(patient=patient).order_by("observed_at", "created_at")
    if instrument:
        rows = rows.filter(instrument=instruments.get_instrument(instrument).code)
    return list(rows)
