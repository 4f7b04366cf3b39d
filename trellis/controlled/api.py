"""JSON API for the controlled-substance ledger (DESIGN.md §5.1).

Thin: parse, load what the ids name through the one access helper (another clinic's record is
404), call one service, shape the answer. A dose that would take a container below zero, or
from an expired or quarantined one, is a 409; bad input a 422 naming the field.
"""

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from ninja import Field, Router, Schema, Status

from trellis.accounts.models import User
from trellis.accounts.permissions import Perm
from trellis.controlled import balance, selectors, services
from trellis.controlled.models import Container, EntryKind, LedgerEntry
from trellis.lib.apidoc import errors
from trellis.lib.errors import InputError
from trellis.lib.schema import Date, Note, bounded, text
from trellis.patients import access
from trellis.treatments.models import Session

router = Router(tags=["controlled"])

Milligrams = bounded(0.001, 1_000_000)


class SupplierIn(Schema):
    name: text(200, required=True)
    address: text(500, multiline=True, required=True)


class InvoiceIn(Schema):
    number: text(60, required=True)
    date: Date = Field(..., description="YYYY-MM-DD, the invoice's date")


class ReceiptIn(Schema):
    substance: Literal["ketamine", "esketamine"]
    ndc: text(13, required=True) = Field(..., examples=["0409-2053-10"])
    form: Literal["vial", "nasal_device", "tablets"] | None = Field(
        None, description="Default: vial for ketamine, nasal_device for esketamine"
    )
    lot: text(40, required=True)
    expires_on: Date
    containers: bounded(1, services.MAX_CONTAINERS_PER_RECEIPT, whole=True) = Field(
        ..., description="How many vials, bottles or devices (a Spravato kit is 2 or 3 devices)"
    )
    amount_per_container_mg: Milligrams = Field(
        ..., description="mg in each container (a Spravato device: 28)"
    )
    volume_per_container_ml: bounded(0.01, 9999) | None = None
    supplier: SupplierIn
    supplier_dea: text(9, required=True) = Field(
        ..., description="The supplier's DEA registration number (check digit validated)"
    )
    invoice: InvoiceIn
    received_on: Date | None = Field(None, description="Default: today at the clinic")
    patient: UUID | None = Field(None, description="For Spravato devices labelled for one patient")


class ContainerBrief(Schema):
    id: UUID
    substance: str
    lot: str
    number: int
    expires_on: date
    remaining_mg: float


class ReceiptOut(Schema):
    id: UUID
    substance: str
    lot: str
    expires_on: date
    containers: list[ContainerBrief]


def _brief(container: Container) -> dict:
    return {
        "id": container.pk,
        "substance": container.substance,
        "lot": container.lot,
        "number": container.number,
        "expires_on": container.expires_on,
        "remaining_mg": balance.to_mg(container.balance_ug),
    }


@router.post(
    "/controlled/receipts",
    response={201: ReceiptOut, **errors(403, 404)},
    summary="Receive ketamine or esketamine on an invoice: one container per vial or device",
)
def create_receipt(request, payload: ReceiptIn):
    actor = request.auth
    patient = access.patient(actor, payload.patient) if payload.patient else None
    receipt = services.receive(
        actor,
        substance=payload.substance,
        ndc=payload.ndc,
        form=payload.form or "",
        lot=payload.lot,
        expires_on=payload.expires_on,
        containers=payload.containers,
        amount_per_container_mg=payload.amount_per_container_mg,
        volume_per_container_ml=payload.volume_per_container_ml,
        supplier=services.Supplier(
            payload.supplier.name, payload.supplier.address, payload.supplier_dea
        ),
        invoice_number=payload.invoice.number,
        invoice_date=payload.invoice.date,
        received_on=payload.received_on,
        patient=patient,
    )
    return Status(
        201,
        {
            "id": receipt.pk,
            "substance": receipt.substance,
            "lot": receipt.lot,
            "expires_on": receipt.expires_on,
            "containers": [_brief(c) for c in receipt.created_items],
        },
    )


def _container(request, container_id: UUID, perm: Perm = Perm.CONTROLLED_CHANGE) -> Container:
    return access.load(request.auth, Container.objects.select_related("clinic"), container_id, perm)


class AdministrationIn(Schema):
    container: UUID
    patient: UUID
    amount_mg: Milligrams
    session: UUID | None = None


class AdministrationOut(Schema):
    id: UUID
    container: UUID
    patient: UUID
    amount_mg: float
    remaining_mg: float
    created_at: datetime


@router.post(
    "/controlled/administrations",
    response={201: AdministrationOut, **errors(403, 404, 409)},
    summary="Record a dose given from a container; 409 when it would take the container below "
    "zero, or the container is expired or quarantined",
)
def create_administration(request, payload: AdministrationIn):
    actor = request.auth
    container = _container(request, payload.container)
    patient = access.patient(actor, payload.patient)
    session = None
    if payload.session is not None:
        session = access.load(actor, Session.objects.all(), payload.session, Perm.SESSION_READ)
    entry = services.administer(actor, container, patient, payload.amount_mg, session)
    return Status(
        201,
        {
            "id": entry.pk,
            "container": container.pk,
            "patient": patient.pk,
            "amount_mg": balance.to_mg(-entry.amount_ug),
            "remaining_mg": balance.to_mg(entry.balance_after_ug),
            "created_at": entry.created_at,
        },
    )


class WasteIn(Schema):
    container: UUID
    amount_mg: Milligrams
    method: text(200, required=True) = Field(
        ..., description="How it was made unusable, e.g. into a drug-disposal container"
    )
    witness: text(150) = Field(
        "",
        description="The username of another licensed member of staff (prescriber or nurse); "
        "may be left empty only where the clinic does not require a witness",
    )
    patient: UUID | None = Field(None, description="Whose dose it was left over from")
    note: Note = ""


class WasteOut(Schema):
    id: UUID
    container: UUID
    amount_mg: float
    remaining_mg: float
    witness: str | None
    witnessed: bool


def _witness(request, username: str) -> User | None:
    username = username.strip()
    if not username:
        return None
    user = User.objects.filter(username=username, memberships__clinic=request.auth.clinic).first()
    if user is None:
        raise InputError("witness", f"no member of staff at this clinic is called {username!r}")
    return user


@router.post(
    "/controlled/waste",
    response={201: WasteOut, **errors(403, 404, 409)},
    summary="Record waste of a remainder with its witness, who confirms it with their own "
    "token; 422 without a witness (where the clinic requires one) or with yourself as witness",
)
def create_waste(request, payload: WasteIn):
    actor = request.auth
    container = _container(request, payload.container)
    witness = _witness(request, payload.witness)
    patient = access.patient(actor, payload.patient) if payload.patient else None
    entry = services.record_waste(
        actor,
        container,
        payload.amount_mg,
        payload.method,
        witness,
        patient=patient,
        note=payload.note,
    )
    return Status(
        201,
        {
            "id": entry.pk,
            "container": container.pk,
            "amount_mg": balance.to_mg(-entry.amount_ug),
            "remaining_mg": balance.to_mg(entry.balance_after_ug),
            "witness": witness.username if witness is not None else None,
            "witnessed": False,
        },
    )


class WitnessOut(Schema):
    id: UUID
    witnessed: bool
    witnessed_at: datetime


@router.post(
    "/controlled/waste/{waste_id}/witness",
    response={200: WitnessOut, **errors(403, 409)},
    summary="The named witness confirms the waste with their own token; 403 for anyone else",
)
def witness_waste(request, waste_id: str):
    waste = access.load(
        request.auth,
        LedgerEntry.objects.filter(kind=EntryKind.WASTE).select_related("patient"),
        waste_id,
        Perm.CONTROLLED_READ,
    )
    confirmation = services.witness_waste(request.auth, waste)
    return {"id": waste.pk, "witnessed": True, "witnessed_at": confirmation.created_at}


class CountIn(Schema):
    container: UUID
    counted_mg: bounded(0, 1_000_000)
    note: Note = ""


class CountOut(Schema):
    id: UUID
    container: UUID
    expected_mg: float
    counted_mg: float
    discrepancy_mg: float
    alert: UUID | None


@router.post(
    "/controlled/counts",
    response={201: CountOut, **errors(403, 404)},
    summary="Count a container; a difference from the ledger raises a controlled_discrepancy "
    "safety alert",
)
def create_count(request, payload: CountIn):
    container = _container(request, payload.container)
    result = services.record_count(request.auth, container, payload.counted_mg, payload.note)
    return Status(
        201,
        {
            "id": result.entry.pk,
            "container": container.pk,
            "expected_mg": balance.to_mg(result.expected_ug),
            "counted_mg": balance.to_mg(result.counted_ug),
            "discrepancy_mg": balance.to_mg(result.discrepancy_ug),
            "alert": result.alert.pk if result.alert else None,
        },
    )


class ContainerOut(Schema):
    id: UUID
    substance: str
    form: str
    lot: str
    number: int
    expires_on: date
    quarantined: bool
    patient: UUID | None
    received_mg: float
    administered_mg: float
    wasted_mg: float
    adjusted_mg: float
    remaining_mg: float


@router.get(
    "/controlled/containers",
    response={200: list[ContainerOut], **errors(403)},
    summary="Your clinic's containers on hand, soonest expiry first: remaining = received − "
    "administered − wasted − adjusted",
)
def list_containers(
    request,
    substance: Literal["ketamine", "esketamine"] | None = None,
    include_empty: bool = False,
):
    found = selectors.stock(request.auth, substance or "", include_empty=include_empty)
    return [
        {
            "id": c.pk,
            "substance": c.substance,
            "form": c.form,
            "lot": c.lot,
            "number": c.number,
            "expires_on": c.expires_on,
            "quarantined": c.quarantined,
            "patient": c.patient_id,
            "received_mg": balance.to_mg(c.receipt_ug),
            "administered_mg": balance.to_mg(c.administered_ug),
            "wasted_mg": balance.to_mg(c.wasted_ug),
            "adjusted_mg": balance.to_mg(c.adjusted_ug),
            "remaining_mg": balance.to_mg(c.balance_ug),
        }
        for c in found
    ]
