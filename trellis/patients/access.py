"""The one way patient data is loaded.

Every view and API endpoint that touches a patient goes through these functions. They check the
clinic (another clinic's record is 404: it does not exist for you), then the role (403), and
write the audit event for the read. ``Actor`` and ``require`` come from accounts and are
offered here too, so that a view needs one ``access``.
"""

from uuid import UUID

from django.db import models
from django.db.models import Q
from django.http import Http404

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.lib.dates import parse_search_date
from trellis.lib.models import one_or_none
from trellis.patients.models import AssessmentRequest, Patient, RequestStatus

__all__ = ["Actor", "assessment_requests", "load", "patient", "require", "search_patients"]


def _as_uuid(value) -> UUID:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        raise Http404("No such record.") from None


def load(
    actor: Actor | None,
    queryset: models.QuerySet,
    pk,
    perm: Perm,
    *,
    action: Action = Action.READ,
) -> models.Model:
    """One clinic-scoped row for ``actor``: a patient, or a row with ``clinic`` and ``patient``
    (which may be empty, as for an assessment request not yet registered)."""
    row = one_or_none(queryset.filter(pk=_as_uuid(pk)))
    if row is None:
        raise Http404("No such record.")
    if actor is None:
        raise Http404("No such record.")
    if row.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    require(actor, perm)
    patient = row if isinstance(row, Patient) else getattr(row, "patient", None)
    record_for(actor, action, patient=patient, obj=row)
    return row


def patient(actor: Actor | None, pk, perm: Perm = Perm.PATIENT_READ) -> Patient:
    return load(actor, Patient.objects.select_related("clinic"), pk, perm)


def search_patients(actor: Actor | None, query: str, *, limit: int = 50) -> list[Patient]:
    """Patients of the actor's clinic matching a name, MRN or date of birth (audited as a query)."""
    require(actor, Perm.PATIENT_READ)
    query = query.strip()
    rows = Patient.objects.filter(clinic=actor.clinic)
    if query:
        rows = rows.filter(_match(query))
    found = list(rows.order_by("family_name", "given_name")[:limit])
    record_for(
        actor,
        Action.QUERY,
        object_type="patients.patient",
        detail={"q": query[:100], "results": len(found)},
    )
    return found


def assessment_requests(
    actor: Actor | None, status: str, *, limit: int = 200
) -> tuple[list[AssessmentRequest], dict[str, int]]:
    """The clinic's assessment requests in ``status`` (any other word: all of them), oldest
    first, and how many there are in each status (audited as a query)."""
    require(actor, Perm.REQUEST_READ)
    rows = AssessmentRequest.objects.filter(clinic=actor.clinic).select_related("patient", "clinic")
    if status in RequestStatus.values:
        rows = rows.filter(status=status)
    found = list(rows.order_by("submitted_at")[:limit])
    counts = dict.fromkeys(RequestStatus.values, 0)
    for value in AssessmentRequest.objects.filter(clinic=actor.clinic).values_list(
        "status", flat=True
    ):
        counts[value] += 1
    record_for(
        actor,
        Action.QUERY,
        object_type="patients.assessmentrequest",
        detail={"status": status, "results": len(found)},
    )
    return found, counts


def _match(query: str) -> Q:
    day = parse_search_date(query)
    if day is not None:
        return Q(birth_date=day)
    condition = Q(mrn__iexact=query)
    words = query.replace(",", " ").split()
    name = Q()
    for word in words:
        name &= Q(family_name__istartswith=word) | Q(given_name__istartswith=word)
    return condition | name
