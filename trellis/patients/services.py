"""Named operations that change patients. Each runs in one transaction and is audited."""

from django.db import transaction
from django.db.models import F

from trellis.accounts.models import Clinic
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.patients.models import Patient


def next_mrn(clinic: Clinic) -> str:
    """Take the clinic's next medical record number (call inside a transaction)."""
    Clinic.objects.filter(pk=clinic.pk).update(next_mrn=F("next_mrn") + 1)
    number = Clinic.objects.values_list("next_mrn", flat=True).get(pk=clinic.pk) - 1
    return f"{clinic.mrn_prefix}-{number:06d}"


def register_patient(actor, **fields) -> Patient:
    with transaction.atomic():
        patient = Patient(clinic=actor.clinic, mrn=next_mrn(actor.clinic), **fields)
        patient.full_clean()
        patient.save(force_insert=True)
        record_for(actor, Action.CREATE, patient=patient, obj=patient)
    return patient
