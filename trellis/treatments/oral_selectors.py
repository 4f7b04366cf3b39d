"""Reading at-home oral ketamine: the patient's prescriptions page and card, the bladder
questions on an oral session's page, and the alert page's link to the answers that raised an
alert. The caller has loaded the patient or session through the access helper (its read
audited); the cards write no audit event of their own (``patients.panels``)."""

from __future__ import annotations

from datetime import date

from django.urls import reverse

from trellis.accounts.permissions import Perm
from trellis.patients.modality import Modality
from trellis.patients.models import Patient
from trellis.safety.sources import Source
from trellis.treatments.models import (
    BladderCheck,
    Course,
    OralPrescription,
    PdmpCheck,
    Session,
    SessionStatus,
    UrineDrugScreen,
)
from trellis.treatments.oral_forms import BladderCheckForm
from trellis.treatments.prescriptions import (
    bladder_due,
    home_prescribing_enabled,
    oral_dose_escalation,
    oral_dose_history,
)

# --- Reads ---------------------------------------------------------------------------------------


def home_record(patient: Patient, today: date) -> dict:
    """What the prescriptions page and the API show: the prescriptions with their fills, the
    PDMP checks, drug screens and bladder answers, and the oral dose over time. The caller has
    loaded ``patient`` through the access helper (its read audited)."""
    prescriptions = list(
        OralPrescription.objects.filter(patient=patient)
        .select_related("prescriber", "course__protocol", "pdmp_check", "urine_drug_screen")
        .prefetch_related("fills")
    )
    for rx in prescriptions:
        rx.fill_list = list(rx.fills.all())
        rx.is_void = today >= rx.void_on
        rx.refills_left = max(0, 1 + rx.refills - len(rx.fill_list))
    return {
        "prescriptions": prescriptions,
        "pdmp_checks": list(PdmpCheck.objects.filter(patient=patient).select_related("checked_by")),
        "screens": list(
            UrineDrugScreen.objects.filter(patient=patient).select_related("recorded_by")
        ),
        "bladder_checks": list(
            BladderCheck.objects.filter(patient=patient).select_related(
                "recorded_by", "session", "alert"
            )[:12]
        ),
        "bladder_due": bladder_due(patient, today),
        "dose_history": oral_dose_history(patient),
        "escalation": oral_dose_escalation(patient),
    }


def oral_courses(patient: Patient) -> list[Course]:
    return list(
        Course.objects.filter(patient=patient, modality=Modality.ORAL_KETAMINE).select_related(
            "protocol"
        )
    )


# --- What other pages show ---------------------------------------------------------------------


def patient_card(actor, patient: Patient) -> dict | None:
    """The card on the patient's page: shown once the patient has oral ketamine (a course, a
    prescription or bladder answers), or when a prescriber of a clinic that prescribes for home
    could start one."""
    latest = OralPrescription.objects.filter(patient=patient).first()
    has_oral = (
        latest is not None
        or Course.objects.filter(patient=patient, modality=Modality.ORAL_KETAMINE).exists()
        or BladderCheck.objects.filter(patient=patient).exists()
    )
    can_prescribe = actor.can(Perm.PRESCRIPTION_CHANGE) and home_prescribing_enabled(patient.clinic)
    if not has_oral and not can_prescribe:
        return None
    today = patient.clinic.today()
    return {
        "patient": patient,
        "latest": latest,
        "bladder_due": has_oral and bladder_due(patient, today),
        "last_bladder": BladderCheck.objects.filter(patient=patient).first(),
        "escalation": oral_dose_escalation(patient) if has_oral else None,
        "can_prescribe": can_prescribe,
    }


def session_part(actor, session: Session) -> dict | None:
    """The bladder and urinary questions on an oral ketamine session's page
    (``hooks.on_session_page``)."""
    if session.course.modality != Modality.ORAL_KETAMINE or not actor.can(Perm.SESSION_READ):
        return None
    today = session.clinic.today()
    last = BladderCheck.objects.filter(patient=session.patient).first()
    # Asked while the patient is in the chair; afterwards, at a follow-up (prescriptions page).
    can_ask = actor.can(Perm.MEASURE_CHANGE) and session.status == SessionStatus.IN_PROGRESS
    return {
        "template": "treatments/includes/bladder_part.html",
        "session_id": session.pk,
        "last": last,
        "due": bladder_due(session.patient, today),
        "interval": session.clinic.setting("bladder_symptom_interval_days"),
        "form": BladderCheckForm(auto_id="bladder_%s") if can_ask else None,
    }


def describe_alert_source(alert, actor):
    """The bladder answers that raised ``alert``, for the alert's page (``safety.sources``)."""
    check = BladderCheck.objects.filter(pk=alert.source_id, clinic=alert.clinic_id).first()
    if check is None:
        return None
    text = f"Bladder and urinary symptoms asked on {check.asked_on:%b} {check.asked_on.day}"
    url = reverse("patient_prescriptions", args=[check.patient_id]) + "#bladder"
    return Source(text, url if actor.can(Perm.SESSION_READ) else "")
