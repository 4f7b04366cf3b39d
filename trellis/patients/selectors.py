"""Reads of a patient's screenings for pages; the patient was loaded (and audited) by
``access.patient`` first, so these write no event of their own. And the clinic's work lists
of requests and screenings, a page at a time, each audited as one query."""

from django.core.paginator import Page

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.selectors import audited_page
from trellis.patients.models import (
    AssessmentRequest,
    Patient,
    RequestStatus,
    Screening,
    current_among,
)


def screening_history(actor: Actor, patient: Patient) -> dict:
    """Every screening of the patient, newest first, the current one and the draft, if any."""
    require(actor, Perm.SCREENING_READ)
    listed = list(patient.screenings.select_related("created_by", "signed_by"))
    return {
        "screenings": listed,
        "current": current_among(listed),
        "draft": next((s for s in listed if not s.is_signed), None),
    }


def draft_screening(patient: Patient) -> Screening | None:
    """The screening begun and not yet signed, if any."""
    return patient.screenings.filter(signed_at__isnull=True).first()


def new_requests(actor: Actor, page=1) -> Page:
    """The clinic's assessment requests nobody has worked yet, oldest first."""
    require(actor, Perm.REQUEST_READ)
    rows = AssessmentRequest.objects.filter(clinic=actor.clinic, status=RequestStatus.NEW)
    return audited_page(
        actor,
        rows.order_by("submitted_at", "id"),
        object_type="patients.assessmentrequest",
        name="new_requests",
        page=page,
    )


def screenings_to_sign(actor: Actor, page=1) -> Page:
    """The clinic's screenings begun and not yet signed, oldest first."""
    require(actor, Perm.SCREENING_SIGN)
    rows = Screening.objects.filter(clinic=actor.clinic, signed_at__isnull=True)
    return audited_page(
        actor,
        rows.select_related("patient", "created_by").order_by("created_at", "id"),
        object_type="patients.screening",
        name="screenings_to_sign",
        page=page,
    )
