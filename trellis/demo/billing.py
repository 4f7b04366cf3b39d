"""The demo's money: each clinic's fees, provider NPIs and tax id, a problem list for the
patients screened for treatment (set before the demo's sessions are signed, so that signing
writes priced, coded charges), then a few payments through the billing services."""

from __future__ import annotations

import random
from decimal import Decimal

from trellis.accounts.access import Actor
from trellis.accounts.models import Clinic, Membership, User
from trellis.accounts.permissions import Role
from trellis.billing import services
from trellis.billing.models import Charge, Diagnosis, Fee, Payment
from trellis.patients.models import Patient

# Example self-pay fees in US dollars, within the market ranges of DOMAIN.md §14 [R118, R120].
FEES = {
    "96365": "350",
    "96366": "150",
    "96374": "200",
    "J3490": "75",
    "90867": "450",
    "90868": "300",
    "90869": "350",
    "G2082": "650",
    "G2083": "850",
    "J0013": "12",
    "99213": "150",
    "90833": "90",
    "90836": "120",
    "90838": "160",
    "90832": "110",
    "90834": "150",
    "90837": "190",
}
# Made-up identifiers that pass the NPI check digit [R125]; the tax ids are examples.
CLINIC_IDS = {
    "riverside": ("1647895022", "06-1234567"),
    "lakeshore": ("1528937463", "36-7654321"),
}
PROVIDERS = {"prescriber": ("1234567893", "MD"), "lakeshore": ("1982746350", "PMHNP-BC")}
DIAGNOSES = ("F33.1", "F33.2", "F32.2", "F33.1")


def prepare(clinic: Clinic) -> None:
    """Fees, identifiers and problem lists, once per clinic (none set yet)."""
    if Fee.objects.filter(clinic=clinic).exists():
        return
    admin = Membership.objects.filter(clinic=clinic, role=Role.CLINIC_ADMIN).first()
    for code, amount in FEES.items():
        Fee.objects.create(clinic=clinic, code=code, amount=Decimal(amount), updated_by=admin.user)
    npi, tax_id = CLINIC_IDS.get(clinic.slug, ("", ""))
    Clinic.objects.filter(pk=clinic.pk, billing_npi="").update(billing_npi=npi, tax_id=tax_id)
    clinic.refresh_from_db()
    for username, (number, credentials) in PROVIDERS.items():
        User.objects.filter(username=username, npi="").update(npi=number, credentials=credentials)
    prescriber = (
        Membership.objects.filter(clinic=clinic, role=Role.PRESCRIBER, is_active=True)
        .select_related("user", "clinic")
        .first()
    )
    if prescriber is None:
        return
    actor = Actor(prescriber.user, prescriber, "demo-loader")
    patients = Patient.objects.filter(clinic=clinic, screenings__signed_at__isnull=False)
    for index, patient in enumerate(patients.distinct().order_by("mrn")):
        if not Diagnosis.objects.filter(patient=patient).exists():
            services.add_diagnosis(actor, patient, DIAGNOSES[index % len(DIAGNOSES)])
            if index % 3 == 0:
                services.add_diagnosis(actor, patient, "F41.1")


def add_payments(clinic: Clinic) -> int:
    """Payments on some accounts (cash, card, an insurer's remittance), once per clinic."""
    if Payment.objects.filter(clinic=clinic).exists():
        return 0
    desk = (
        Membership.objects.filter(clinic=clinic, role__in=[Role.FRONT_DESK, Role.CLINIC_ADMIN])
        .select_related("user", "clinic")
        .order_by("role")
        .first()
    )
    if desk is None:
        return 0
    actor = Actor(desk.user, desk, "demo-loader")
    rng = random.Random(f"{clinic.slug}-payments")
    patient_ids = list(
        Charge.objects.filter(clinic=clinic).values_list("patient_id", flat=True).distinct()
    )
    added = 0
    for patient in Patient.objects.filter(pk__in=patient_ids).order_by("mrn"):
        owing = sum((row.owing for row in services.owing_charges(patient)), Decimal("0"))
        if owing <= 0 or rng.random() < 0.3:
            continue  # some accounts are left owing, for the aged receivables
        choice = rng.choice(["cash", "card", "insurer"])
        amount = (owing * Decimal(rng.choice(["1", "0.5", "0.8"]))).quantize(Decimal("0.01"))
        services.record_payment(
            actor,
            patient,
            method=choice,
            amount=amount,
            reference=""
            if choice == "cash"
            else f"{'AUTH' if choice == 'card' else 'ERA'}-{rng.randint(10000, 99999)}",
            payer_name="Aetna" if choice == "insurer" else "",
        )
        added += 1
    return added
