"""Reads of a patient's screenings for pages; the patient was loaded (and audited) by
``access.patient`` first, so these write no event of their own."""

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.patients.models import Patient, Screening


def screening_history(actor: Actor, patient: Patient) -> dict:
    """Every screening of the patient, newest first, the current one and the draft, if any."""
    require(actor, Perm.SCREENING_READ)
    screenings = patient.screenings.select_related("created_by", "signed_by")
    listed = list(screenings)
    return {
        "screenings": listed,
        "current": screenings.current(),
        "draft": next((s for s in listed if not s.is_signed), None),
    }


def draft_screening(patient: Patient) -> Screening | None:
    """The screening begun and not yet signed, if any."""
    return patient.screenings.filter(signed_at__isnull=True).first()
