"""At-home oral ketamine in the demo: Riverside prescribes for home, and its sublingual KAP
patient has a PDMP check, a urine drug screen, bladder answers and a prescription. Once per
clinic, through the services staff use."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from trellis.accounts.access import Actor
from trellis.accounts.models import Clinic, Membership
from trellis.accounts.permissions import Role
from trellis.patients.modality import Modality
from trellis.treatments import prescriptions, urinary
from trellis.treatments.models import Course, OralPrescription

CLINICS = ("riverside",)


def add_home_prescription(clinic: Clinic) -> int:
    """The prescription and the checks it rests on; 1 when added, 0 when there was one."""
    if clinic.slug not in CLINICS or OralPrescription.objects.filter(clinic=clinic).exists():
        return 0
    course = (
        Course.objects.filter(clinic=clinic, modality=Modality.ORAL_KETAMINE)
        .select_related("patient__clinic")
        .order_by("start_date")
        .first()
    )
    membership = (
        Membership.objects.filter(clinic=clinic, role=Role.PRESCRIBER, is_active=True)
        .select_related("user", "clinic")
        .order_by("user__username")
        .first()
    )
    if course is None or membership is None:
        return 0
    clinic.settings = {**clinic.settings, "oral_home_prescribing": 1}
    clinic.save(update_fields=["settings"])
    patient = course.patient
    patient.clinic = clinic
    actor = Actor(membership.user, membership, "demo-loader")
    today = clinic.today()
    prescriptions.record_urine_drug_screen(
        actor, patient, collected_on=today - timedelta(days=6), result="expected"
    )
    prescriptions.record_pdmp_check(
        actor,
        patient,
        checked_on=today,
        result="no_concerns",
        note="State PDMP: no other controlled prescriptions in 12 months.",
    )
    prescriptions.record_bladder_check(
        actor, patient, dict.fromkeys(urinary.SYMPTOMS, False), asked_on=today
    )
    prescriptions.issue_prescription(
        actor,
        patient,
        product="Ketamine HCl sublingual troche",
        pharmacy="Harbor Compounding Pharmacy (503A)",
        form="troche",
        route="sublingual",
        strength_mg=Decimal("100"),
        units_per_dose=1,
        quantity=8,
        days_supply=28,
        directions="Dissolve one troche under the tongue twice a week, seated, with the monitor "
        "present; no driving until the next day.",
        refills=1,
        basis="in_person",
        peer_monitor_name="Jordan Reyes",
        peer_monitor_relationship="spouse",
        course=course,
    )
    return 1
