"""Records for inspection, for a date range: the administration log, the receipt log, the
inventory records, a lot's history, and the reconciliation of each substance (21 CFR 1304.22(c)
and 1304.11 [R66, R67]; kept two years and readily retrievable [R62]).

Every read is audited. Dates are the clinic's: a range runs from the start of ``start`` to the
end of ``end`` in the clinic's timezone. The reconciliation shows every milligram from receipt
to administration, waste or adjustment, and checks for every container that
``remaining = received − administered − wasted − adjusted``.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Sum
from django.utils import timezone

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.controlled import balance
from trellis.controlled.models import (
    Container,
    EntryKind,
    Inventory,
    LedgerEntry,
    Receipt,
    Substance,
)
from trellis.lib.errors import InputError

# Longest range one report covers: two years, the federal retention period [R62], and a day.
MAX_RANGE_DAYS = 731


@dataclass(frozen=True)
class Range:
    start: date
    end: date

    def bounds(self, tz) -> tuple[datetime, datetime]:
        return (
            datetime.combine(self.start, time.min, tz),
            datetime.combine(self.end + timedelta(days=1), time.min, tz),
        )

    def __str__(self) -> str:
        return f"{self.start:%b %-d, %Y} – {self.end:%b %-d, %Y}"


def date_range(start: date | None, end: date | None, today: date) -> Range:
    """The range asked for, defaulting to this month so far; refused when backwards or longer
    than two years."""
    end = end or today
    start = start or end.replace(day=1)
    if start > end:
        raise InputError("start", "must be on or before the end date")
    if (end - start).days > MAX_RANGE_DAYS:
        raise InputError("end", "a report covers at most two years")
    return Range(start, end)


def _audit(actor: Actor, report: str, span: Range, results: int, **extra) -> None:
    record_for(
        actor,
        Action.QUERY,
        object_type="controlled.ledgerentry",
        detail={
            "report": report,
            "start": span.start.isoformat(),
            "end": span.end.isoformat(),
            "results": results,
            **extra,
        },
    )


def _local(value: datetime, tz) -> datetime:
    return timezone.localtime(value, tz)


# The witness column of waste recorded where the clinic does not require a witness.
NO_WITNESS = "none (not required by the clinic)"


def _who(user) -> str:
    return user.get_full_name() or user.username if user else ""


# --- The administration log ---------------------------------------------------------------------


@dataclass
class LogRow:
    when: datetime
    kind: str
    substance: str
    lot: str
    container: str
    ndc: str
    patient: str
    address: str
    amount: str
    by: str
    witness: str
    detail: str


def administration_log(actor: Actor, span: Range) -> list[LogRow]:
    """Every dose given and every remainder wasted in the range [R66]: date, patient's name and
    address, amount, who gave it, the lot; waste with its manner and witness [R69]."""
    require(actor, Perm.CONTROLLED_READ)
    tz = actor.clinic.tzinfo
    since, until = span.bounds(tz)
    entries = (
        LedgerEntry.objects.filter(
            clinic=actor.clinic,
            kind__in=(EntryKind.ADMINISTRATION, EntryKind.WASTE),
            created_at__gte=since,
            created_at__lt=until,
        )
        .select_related("container__receipt", "patient", "actor", "witness", "session")
        .order_by("seq")
    )
    witnessed = set(
        LedgerEntry.objects.filter(
            clinic=actor.clinic, kind=EntryKind.WITNESS, refers_to__in=entries
        ).values_list("refers_to_id", flat=True)
    )
    rows = []
    for entry in entries:
        container = entry.container
        patient = entry.patient
        detail = ""
        if entry.kind == EntryKind.WASTE:
            waiting = entry.witness_id is not None and entry.pk not in witnessed
            detail = entry.method + (" (witness to confirm)" if waiting else "")
        elif entry.session_id:
            detail = f"session {entry.session.number} of {entry.session.planned_date:%b %-d}"
        rows.append(
            LogRow(
                when=_local(entry.created_at, tz),
                kind=entry.get_kind_display(),
                substance=container.get_substance_display(),
                lot=container.lot,
                container=f"#{container.number}",
                ndc=container.receipt.ndc,
                patient=patient.full_name if patient else "",
                address=_address(patient),
                amount=balance.mg_text(-entry.amount_ug),
                by=_who(entry.actor),
                witness=_who(entry.witness)
                or (NO_WITNESS if entry.kind == EntryKind.WASTE else ""),
                detail=detail,
            )
        )
    _audit(actor, "administrations", span, len(rows))
    return rows


def _address(patient) -> str:
    return " ".join(patient.address.split()) if patient is not None else ""


# --- The receipt log ----------------------------------------------------------------------------


def receipt_log(actor: Actor, span: Range) -> list[Receipt]:
    """Stock received in the range [R66, R68]: date, containers, form and units per container,
    the supplier's name, address and DEA number, the invoice."""
    require(actor, Perm.CONTROLLED_READ)
    receipts = list(
        Receipt.objects.filter(
            clinic=actor.clinic, received_on__gte=span.start, received_on__lte=span.end
        )
        .select_related("received_by")
        .order_by("received_on", "created_at")
    )
    for receipt in receipts:
        receipt.per_container_text = balance.mg_text(receipt.amount_per_container_ug)
        receipt.total_text = balance.mg_text(receipt.amount_per_container_ug * receipt.containers)
    _audit(actor, "receipts", span, len(receipts))
    return receipts


# --- Inventories --------------------------------------------------------------------------------


def inventory_records(actor: Actor, span: Range) -> list[Inventory]:
    """Inventories and counts taken in the range, each with its lines [R67, R132]."""
    require(actor, Perm.CONTROLLED_READ)
    inventories = list(
        Inventory.objects.filter(
            clinic=actor.clinic, taken_on__gte=span.start, taken_on__lte=span.end
        )
        .select_related("taken_by")
        .prefetch_related("lines__container")
        .order_by("taken_on", "created_at")
    )
    for inventory in inventories:
        inventory.rows = list(inventory.lines.all())
        for line in inventory.rows:
            line.units_text = balance.mg_text(line.units_per_container_ug)
            line.expected_text = balance.mg_text(line.expected_ug)
            line.counted_text = balance.mg_text(line.counted_ug)
            line.difference_text = (
                balance.mg_text(line.discrepancy_ug) if line.discrepancy_ug else ""
            )
    _audit(actor, "inventories", span, len(inventories))
    return inventories


# --- A lot's history ----------------------------------------------------------------------------


def lot_history(actor: Actor, lot: str, span: Range) -> list[LedgerEntry]:
    """Every entry of every container of ``lot`` in the range, in ledger order."""
    require(actor, Perm.CONTROLLED_READ)
    lot = (lot or "").strip()
    if not lot:
        raise InputError("lot", "is required")
    tz = actor.clinic.tzinfo
    since, until = span.bounds(tz)
    entries = list(
        LedgerEntry.objects.filter(
            clinic=actor.clinic,
            container__lot=lot,
            created_at__gte=since,
            created_at__lt=until,
        )
        .select_related("container", "patient", "actor", "witness")
        .order_by("seq")
    )
    for entry in entries:
        entry.when = _local(entry.created_at, tz)
        entry.amount_text = balance.mg_text(entry.amount_ug) if entry.amount_ug else ""
        entry.balance_text = balance.mg_text(entry.balance_after_ug)
        entry.counted_text = (
            balance.mg_text(entry.counted_ug) if entry.counted_ug is not None else ""
        )
    _audit(actor, "lot", span, len(entries), lot=lot)
    return entries


# --- Reconciliation -----------------------------------------------------------------------------


@dataclass
class Line:
    """One container over the range: its balance at the start, what moved, its balance at the
    end; and over its whole life, whether received − administered − wasted − adjusted is what
    remains."""

    container: Container
    opening: int = 0
    received: int = 0
    administered: int = 0
    wasted: int = 0
    adjusted: int = 0
    life: balance.Totals = field(default_factory=balance.Totals)

    @property
    def closing(self) -> int:
        return self.opening + self.received - self.administered - self.wasted - self.adjusted

    @property
    def adds_up(self) -> bool:
        return self.life.remaining == self.container.balance_ug


@dataclass
class Reconciliation:
    substance: str
    span: Range
    lines: list[Line]
    closing_now: dict = field(default_factory=dict)

    def total(self, name: str) -> int:
        return sum(getattr(line, name) for line in self.lines)

    @property
    def problems(self) -> list[str]:
        """Containers whose life does not add up; empty when every milligram is accounted for."""
        return [
            f"lot {line.container.lot} #{line.container.number}: received "
            f"{balance.mg_text(line.life.received)} − administered "
            f"{balance.mg_text(line.life.administered)} − wasted "
            f"{balance.mg_text(line.life.wasted)} − adjusted "
            f"{balance.mg_text(line.life.adjusted)} is {balance.mg_text(line.life.remaining)}, "
            f"but {balance.mg_text(line.container.balance_ug)} remains"
            for line in self.lines
            if not line.adds_up
        ]


_FIELDS = {
    EntryKind.RECEIPT: "received",
    EntryKind.ADMINISTRATION: "administered",
    EntryKind.WASTE: "wasted",
    EntryKind.ADJUSTMENT: "adjusted",
}


def reconciliation(actor: Actor, substance: str, span: Range) -> Reconciliation:
    """Every container of ``substance`` that held stock in the range: its balance at the
    start, received, administered, wasted and adjusted in the range, and at the end; plus the
    check of its whole life against its balance. Sums in SQL, one query per part."""
    require(actor, Perm.CONTROLLED_READ)
    if substance not in Substance.values:
        raise InputError("substance", f"must be one of {', '.join(Substance.values)}")
    tz = actor.clinic.tzinfo
    since, until = span.bounds(tz)
    entries = LedgerEntry.objects.filter(clinic=actor.clinic, container__substance=substance)
    before = {
        row["container_id"]: row["total"]
        for row in entries.filter(created_at__lt=since)
        .values("container_id")
        .annotate(total=Sum("amount_ug"))
    }
    during: dict = {}
    for row in (
        entries.filter(created_at__gte=since, created_at__lt=until)
        .values("container_id", "kind")
        .annotate(total=Sum("amount_ug"))
    ):
        during.setdefault(row["container_id"], {})[row["kind"]] = row["total"]
    life: dict = {}
    for row in entries.values("container_id", "kind").annotate(total=Sum("amount_ug")):
        life.setdefault(row["container_id"], []).append((row["kind"], row["total"]))
    containers = Container.objects.filter(clinic=actor.clinic, substance=substance).order_by(
        "expires_on", "lot", "number"
    )
    lines = []
    for container in containers:
        opening = before.get(container.pk, 0)
        moved = during.get(container.pk, {})
        if not opening and not moved:
            continue
        line = Line(
            container=container,
            opening=opening,
            life=balance.totals(life.get(container.pk, [])),
        )
        for kind, name in _FIELDS.items():
            amount = moved.get(kind, 0)
            setattr(line, name, amount if kind == EntryKind.RECEIPT else -amount)
        lines.append(line)
    report = Reconciliation(substance=substance, span=span, lines=lines)
    _audit(actor, "reconciliation", span, len(lines), substance=substance)
    return report
