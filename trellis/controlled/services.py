"""Named operations on the controlled-substance ledger. Each runs in one transaction: the
container's balance, the hash-chained entry, the audit event and any safety alert commit together.

Receiving stock, administering it, wasting the remainder with a witness, the witness's own
confirmation, and counts (DOMAIN.md §5, §15 [R66, R69, R70]).
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from trellis.accounts import clinic_settings
from trellis.accounts.access import Actor, require
from trellis.accounts.models import Clinic, Membership, User
from trellis.accounts.permissions import Perm, Role
from trellis.audit import chain
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.controlled import balance, dea, inventory_rules
from trellis.controlled.models import (
    CHAIN_FIELDS,
    Container,
    DosageForm,
    EntryKind,
    LedgerEntry,
    Receipt,
    Substance,
)
from trellis.lib import text
from trellis.lib.errors import Conflict, InputError
from trellis.patients.models import Patient
from trellis.safety.models import AlertKind, AlertSeverity, SafetyAlert
from trellis.safety.services import raise_alert
from trellis.safety.sources import Source

# Spravato: 28 mg per device (two sprays) [R130].
ESKETAMINE_DEVICE_MG = 28
# Who may witness waste: another licensed member of staff [R69]; a clinic's or state's own rule
# may be stricter (DOMAIN.md §8).
WITNESS_ROLES = frozenset({Role.PRESCRIBER, Role.NURSE})
MAX_CONTAINERS_PER_RECEIPT = 500
# Who corrects a balance with an adjustment, and so who resolves a count discrepancy.
ADJUSTMENT_ROLES = frozenset({Role.PRESCRIBER})
DISCREPANCY_RULE = "A count discrepancy is resolved only by a prescriber, with an explanation"

# Any constant will do: with the clinic it names the PostgreSQL advisory lock that serialises
# appends to that clinic's chain. On SQLite the transaction already holds the write lock.
_PG_LOCK_CLASS = 0x4C_44_47  # "LDG"

_NDC = re.compile(r"\d{4}-\d{4}-\d{2}|\d{5}-\d{3}-\d{2}|\d{5}-\d{4}-\d{1,2}|\d{10,11}")


def _text(
    field: str, value: str, max_length: int, *, required: bool = True, multiline: bool = False
) -> str:
    value = (value or "").strip()
    problem = text.text_problem(value, multiline=multiline, name=False)
    if problem:
        raise InputError(field, problem)
    if required and not value:
        raise InputError(field, "is required")
    if len(value) > max_length:
        raise InputError(field, f"must be at most {max_length} characters")
    return value


def _own_container(actor: Actor, container: Container) -> None:
    if container.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")


# --- The chain ----------------------------------------------------------------------------------


def _lock_chain(clinic: Clinic) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_PG_LOCK_CLASS, str(clinic.pk)]
            )


def _append(clinic: Clinic, container: Container, kind: str, **fields) -> LedgerEntry:
    """Write one entry at the end of the clinic's chain (inside the caller's transaction)."""
    _lock_chain(clinic)
    tail = (
        LedgerEntry.objects.filter(clinic=clinic)
        .order_by("-seq")
        .values_list("seq", "hash")
        .first()
    )
    seq, prev_hash = (tail[0] + 1, tail[1]) if tail else (1, chain.GENESIS)
    entry = LedgerEntry(
        seq=seq,
        clinic=clinic,
        container=container,
        kind=kind,
        created_at=timezone.now(),
        prev_hash=prev_hash,
        **fields,
    )
    entry.hash = chain.event_hash(entry.chain_fields(), prev_hash, CHAIN_FIELDS)
    entry.save(force_insert=True)
    return entry


def verify_chain(clinic: Clinic) -> chain.Result:
    """Walk the clinic's ledger in order; ``first_break`` names the first entry that does not
    fit (changed, removed or reordered after it was written)."""
    entries = LedgerEntry.objects.filter(clinic=clinic).order_by("seq").iterator()
    return chain.verify(
        ({**e.chain_fields(), "prev_hash": e.prev_hash, "hash": e.hash} for e in entries),
        CHAIN_FIELDS,
    )


def verify_container(container: Container) -> list[str]:
    """What does not add up for one container: its balance against its entries, a running
    balance below zero, an entry's recorded balance. Empty when everything does."""
    rows = list(
        LedgerEntry.objects.filter(container=container)
        .order_by("seq")
        .values_list("kind", "amount_ug", "balance_after_ug")
    )
    problems = []
    totals = balance.totals((kind, amount) for kind, amount, _ in rows)
    derived = totals.remaining
    container.refresh_from_db(
        fields=["balance_ug", "received_ug", "administered_ug", "wasted_ug", "adjusted_ug"]
    )
    for name in ("received", "administered", "wasted", "adjusted"):
        kept = getattr(container, f"{name}_ug")
        if kept != getattr(totals, name):
            problems.append(
                f"its {name} total is {balance.mg_text(kept)} but its entries add up to "
                f"{balance.mg_text(getattr(totals, name))}"
            )
    if derived != container.balance_ug:
        problems.append(
            f"its balance is {balance.mg_text(container.balance_ug)} but its entries add up to "
            f"{balance.mg_text(derived)}"
        )
    below = balance.balance_problem((kind, amount) for kind, amount, _ in rows)
    if below:
        problems.append(below)
    running = 0
    for number, (_kind, amount, after) in enumerate(rows, start=1):
        running += amount
        if after != running:
            problems.append(f"entry {number} records a balance of {balance.mg_text(after)}")
            break
    return problems


# --- Receiving stock ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Supplier:
    name: str
    address: str
    dea_number: str


def receive(
    actor: Actor,
    *,
    substance: str,
    ndc: str,
    lot: str,
    expires_on: date,
    containers: int,
    amount_per_container_mg,
    supplier: Supplier,
    invoice_number: str,
    invoice_date: date,
    form: str = "",
    volume_per_container_ml=None,
    received_on: date | None = None,
    patient: Patient | None = None,
) -> Receipt:
    """Stock received on an invoice: the receipt, one container per vial or device, and each
    container's receipt entry [R66, R68]. ``patient`` for Spravato devices labelled for one."""
    require(actor, Perm.CONTROLLED_CHANGE)
    clinic = actor.clinic
    today = clinic.today()
    if substance not in Substance.values:
        raise InputError("substance", f"must be one of {', '.join(Substance.values)}")
    form = form or (
        DosageForm.NASAL_DEVICE if substance == Substance.ESKETAMINE else DosageForm.VIAL
    )
    if form not in DosageForm.values:
        raise InputError("form", f"must be one of {', '.join(DosageForm.values)}")
    ndc = _text("ndc", ndc, 13)
    if not _NDC.fullmatch(ndc):
        raise InputError("ndc", "must be a National Drug Code, e.g. 0409-2053-10 or 50458-028-02")
    lot = _text("lot", lot, 40)
    received_on = received_on or today
    if received_on > today:
        raise InputError("received_on", "must not be in the future")
    if expires_on <= received_on:
        raise InputError("expires_on", "must be after the day it was received")
    if isinstance(containers, bool) or not isinstance(containers, int) or containers < 1:
        raise InputError("containers", "must be a whole number of at least 1")
    if containers > MAX_CONTAINERS_PER_RECEIPT:
        raise InputError("containers", f"must be at most {MAX_CONTAINERS_PER_RECEIPT}")
    amount_ug = balance.to_ug("amount_per_container_mg", amount_per_container_mg)
    if form == DosageForm.NASAL_DEVICE and amount_ug != ESKETAMINE_DEVICE_MG * balance.UG_PER_MG:
        raise InputError(
            "amount_per_container_mg",
            f"a Spravato device holds {ESKETAMINE_DEVICE_MG} mg (kits of 2 or 3 devices are "
            "received as 2 or 3 containers)",
        )
    volume = None
    if volume_per_container_ml is not None:
        try:
            volume = Decimal(str(volume_per_container_ml))
        except (InvalidOperation, ValueError):
            raise InputError("volume_per_container_ml", "must be a number of ml") from None
        if not volume.is_finite() or volume <= 0 or volume >= 10000:
            raise InputError("volume_per_container_ml", "must be more than 0 and under 10000 ml")
        volume = volume.quantize(Decimal("0.01"))
    name = _text("supplier.name", supplier.name, 200)
    address = _text("supplier.address", supplier.address, 500, multiline=True)
    problem = dea.dea_number_problem(supplier.dea_number)
    if problem:
        raise InputError("supplier_dea", problem)
    invoice_number = _text("invoice.number", invoice_number, 60)
    if invoice_date > today:
        raise InputError("invoice.date", "must not be in the future")
    if patient is not None:
        if patient.clinic_id != clinic.pk:
            raise InputError("patient", "is another clinic's")
        if substance != Substance.ESKETAMINE:
            raise InputError("patient", "only Spravato devices are labelled for one patient")
    per_kit = inventory_rules.devices_per_kit(ndc) if form == DosageForm.NASAL_DEVICE else None
    with transaction.atomic():
        receipt = Receipt.objects.create(
            clinic=clinic,
            substance=substance,
            ndc=ndc,
            form=form,
            amount_per_container_ug=amount_ug,
            volume_per_container_ml=volume,
            lot=lot,
            expires_on=expires_on,
            containers=containers,
            supplier_name=name,
            supplier_address=address,
            supplier_dea=dea.normalise(supplier.dea_number),
            invoice_number=invoice_number,
            invoice_date=invoice_date,
            received_on=received_on,
            received_by=actor.user,
        )
        items = Container.objects.bulk_create(
            Container(
                clinic=clinic,
                receipt=receipt,
                number=number,
                substance=substance,
                form=form,
                lot=lot,
                expires_on=expires_on,
                received_ug=amount_ug,
                balance_ug=amount_ug,
                patient=patient,
                kit=inventory_rules.kit_of(number, per_kit) if per_kit else None,
            )
            for number in range(1, containers + 1)
        )
        for item in items:
            _append(
                clinic,
                item,
                EntryKind.RECEIPT,
                amount_ug=amount_ug,
                balance_after_ug=amount_ug,
                patient=patient,
                actor=actor.user,
            )
        record_for(
            actor,
            Action.CREATE,
            patient=patient,
            obj=receipt,
            detail={"substance": substance, "lot": lot, "containers": containers},
        )
    receipt.created_items = items
    return receipt


# --- Taking stock out ---------------------------------------------------------------------------


def _draw(
    actor: Actor,
    container: Container,
    amount_ug: int,
    field: str,
    *,
    usable: bool,
    total: str,
) -> int:
    """Take ``amount_ug`` from the container in one conditional UPDATE (so two people drawing
    at once cannot overdraw it) and return its new balance; a Conflict when it cannot. The same
    UPDATE adds it to the running ``total`` (``administered_ug``, ``wasted_ug``,
    ``adjusted_ug``), so the balance always adds up (a CHECK in the database).

    ``usable``: also refuse an expired or quarantined container (administration; waste of what
    is left in one is allowed)."""
    today = actor.clinic.today()
    rows = Container.objects.filter(pk=container.pk, balance_ug__gte=amount_ug)
    if usable:
        rows = rows.filter(quarantined=False, expires_on__gte=today)
    moved = rows.update(balance_ug=F("balance_ug") - amount_ug, **{total: F(total) + amount_ug})
    if moved != 1:
        current = Container.objects.get(pk=container.pk)
        if usable and current.quarantined:
            reason = f" ({current.quarantine_reason})" if current.quarantine_reason else ""
            raise Conflict(
                f"container: lot {current.lot} #{current.number} is quarantined{reason}; "
                "nothing may be given from it",
                code="container_quarantined",
            )
        if usable and current.is_expired(today):
            raise Conflict(
                f"container: lot {current.lot} #{current.number} expired on "
                f"{current.expires_on:%b %-d, %Y}; nothing may be given from it",
                code="container_expired",
            )
        raise Conflict(
            f"{field}: {balance.mg_text(amount_ug)} would take the container below zero; "
            f"{balance.mg_text(current.balance_ug)} remains",
            code="insufficient_stock",
        )
    container.balance_ug = Container.objects.values_list("balance_ug", flat=True).get(
        pk=container.pk
    )
    return container.balance_ug


def administer(
    actor: Actor,
    container: Container,
    patient: Patient,
    amount_mg,
    session=None,
) -> LedgerEntry:
    """Record a dose given to ``patient`` from ``container`` [R66]. Conflict (409) when it
    would take the container below zero, or the container is expired or quarantined."""
    require(actor, Perm.CONTROLLED_CHANGE)
    _own_container(actor, container)
    if patient.clinic_id != actor.clinic.pk:
        raise InputError("patient", "is another clinic's")
    if container.patient_id is not None and container.patient_id != patient.pk:
        raise InputError("container", "is labelled for another patient")
    if session is not None and (
        session.clinic_id != actor.clinic.pk or session.patient_id != patient.pk
    ):
        raise InputError("session", "is not one of this patient's sessions")
    amount_ug = balance.to_ug("amount_mg", amount_mg)
    with transaction.atomic():
        after = _draw(
            actor, container, amount_ug, "amount_mg", usable=True, total="administered_ug"
        )
        entry = _append(
            actor.clinic,
            container,
            EntryKind.ADMINISTRATION,
            amount_ug=-amount_ug,
            balance_after_ug=after,
            patient=patient,
            session=session,
            actor=actor.user,
        )
        record_for(
            actor,
            Action.CREATE,
            patient=patient,
            obj=entry,
            detail={"kind": entry.kind, "mg": balance.to_mg(amount_ug), "lot": container.lot},
        )
    return entry


# What a waste recorded without a witness says, in its own entry (so it reads the same after the
# clinic's setting changes).
NO_WITNESS_NOTE = "No witness: this clinic does not require one for waste."


def witness_required(clinic: Clinic) -> bool:
    """Whether waste needs a witness here: a clinic or state rule, not a federal one [R66, R69];
    on unless the clinic switched it off (``controlled_waste_witness_required``)."""
    return bool(clinic.setting("controlled_waste_witness_required"))


def _check_witness(actor: Actor, witness: User | None) -> None:
    if witness is None:
        if not witness_required(actor.clinic):
            return
        raise InputError(
            "witness", "is required: another licensed member of staff who saw the waste"
        )
    if witness.pk == actor.user.pk:
        raise InputError("witness", "must be someone other than you")
    licensed = Membership.objects.filter(
        user=witness,
        clinic=actor.clinic,
        is_active=True,
        user__is_active=True,
        role__in=WITNESS_ROLES,
    ).exists()
    if not licensed:
        raise InputError(
            "witness", "must be an active prescriber or nurse at this clinic (licensed staff)"
        )


def record_waste(
    actor: Actor,
    container: Container,
    amount_mg,
    method: str,
    witness: User | None,
    *,
    patient: Patient | None = None,
    note: str = "",
    session=None,
) -> LedgerEntry:
    """Record the unused remainder wasted [R69], naming the witness, who confirms it by signing
    in themselves (``witness_waste``). ``session``: the dosing it was left over from. Where the
    clinic does not require a witness, ``witness`` may be None and the entry says so."""
    require(actor, Perm.CONTROLLED_CHANGE)
    _own_container(actor, container)
    _check_witness(actor, witness)
    method = _text("method", method, 200)
    note = _text("note", note, 2000 - len(NO_WITNESS_NOTE) - 1, required=False, multiline=True)
    if witness is None:
        note = f"{NO_WITNESS_NOTE} {note}".strip()
    if patient is not None and patient.clinic_id != actor.clinic.pk:
        raise InputError("patient", "is another clinic's")
    if session is not None and (
        session.clinic_id != actor.clinic.pk
        or (patient is not None and session.patient_id != patient.pk)
    ):
        raise InputError("session", "is not one of this patient's sessions")
    amount_ug = balance.to_ug("amount_mg", amount_mg)
    with transaction.atomic():
        after = _draw(actor, container, amount_ug, "amount_mg", usable=False, total="wasted_ug")
        entry = _append(
            actor.clinic,
            container,
            EntryKind.WASTE,
            amount_ug=-amount_ug,
            balance_after_ug=after,
            patient=patient,
            actor=actor.user,
            witness=witness,
            method=method,
            note=note,
            session=session,
        )
        record_for(
            actor,
            Action.CREATE,
            patient=patient,
            obj=entry,
            detail={
                "kind": entry.kind,
                "mg": balance.to_mg(amount_ug),
                "witness": witness.username if witness is not None else None,
            },
        )
    return entry


def witnessed_at(entry: LedgerEntry) -> datetime | None:
    """When the named witness confirmed this waste, or None while they have not."""
    return (
        LedgerEntry.objects.filter(kind=EntryKind.WITNESS, refers_to=entry)
        .values_list("created_at", flat=True)
        .first()
    )


def witness_waste(actor: Actor, waste: LedgerEntry) -> LedgerEntry:
    """The named witness confirms the waste with their own sign-in: a new entry referring to
    it. Only that witness may (PermissionDenied, 403); once (Conflict, 409)."""
    if waste.clinic_id != actor.clinic.pk or waste.kind != EntryKind.WASTE:
        raise Http404("No such record.")
    if waste.witness_id != actor.user.pk:
        raise PermissionDenied("Only the member of staff named as the witness may confirm it.")
    require(actor, Perm.CONTROLLED_CHANGE)
    try:
        with transaction.atomic():
            container = Container.objects.select_for_update().get(pk=waste.container_id)
            if witnessed_at(waste) is not None:
                raise Conflict("This waste was already witnessed.", code="already_witnessed")
            entry = _append(
                actor.clinic,
                container,
                EntryKind.WITNESS,
                amount_ug=0,
                balance_after_ug=container.balance_ug,
                patient=waste.patient,
                actor=actor.user,
                witness=actor.user,
                refers_to=waste,
            )
            record_for(
                actor, Action.UPDATE, patient=waste.patient, obj=waste, detail={"witnessed": True}
            )
    except IntegrityError:
        raise Conflict("This waste was already witnessed.", code="already_witnessed") from None
    return entry


def record_adjustment(
    actor: Actor,
    container: Container,
    change_mg,
    reason: str,
    *,
    corrects: LedgerEntry | None = None,
) -> LedgerEntry:
    """A prescriber corrects a container's balance, with the reason (a count's discrepancy
    explained, say): a new entry that refers to the one it corrects, never an edit [R70].
    ``change_mg`` is signed: negative takes stock away, positive adds it back."""
    _require_prescriber(actor, "adjust a controlled-substance balance")
    _own_container(actor, container)
    change_ug = balance.to_signed_ug("change_mg", change_mg)
    reason = _text("reason", reason, 2000, multiline=True)
    if corrects is not None and corrects.container_id != container.pk:
        raise InputError("corrects", "must be an entry of the same container")
    remaining, received = Container.objects.values_list("balance_ug", "received_ug").get(
        pk=container.pk
    )
    if change_ug > received:
        # Stock put back (an overfill found by a count) is never more than the container held.
        raise InputError(
            "change_mg",
            f"a correction of +{balance.mg_text(change_ug)} is more than the container was "
            f"received with ({balance.mg_text(received)})",
        )
    if -change_ug > remaining:
        # Said here for the form; the conditional UPDATE below still refuses a race.
        raise InputError(
            "change_mg",
            f"a correction of {balance.mg_text(change_ug)} would take the container below zero; "
            f"{balance.mg_text(remaining)} remains",
        )
    with transaction.atomic():
        if change_ug < 0:
            after = _draw(
                actor, container, -change_ug, "change_mg", usable=False, total="adjusted_ug"
            )
        else:
            Container.objects.filter(pk=container.pk).update(
                balance_ug=F("balance_ug") + change_ug, adjusted_ug=F("adjusted_ug") - change_ug
            )
            container.refresh_from_db(fields=["balance_ug"])
            after = container.balance_ug
        entry = _append(
            actor.clinic,
            container,
            EntryKind.ADJUSTMENT,
            amount_ug=change_ug,
            balance_after_ug=after,
            actor=actor.user,
            note=reason,
            refers_to=corrects,
        )
        record_for(
            actor,
            Action.CREATE,
            obj=entry,
            detail={"kind": entry.kind, "mg": balance.to_mg(change_ug)},
        )
    return entry


def _require_prescriber(actor: Actor, what: str) -> None:
    require(actor, Perm.CONTROLLED_CHANGE)
    if actor.role not in ADJUSTMENT_ROLES:
        raise PermissionDenied(f"Only a prescriber may {what}.")


def quarantine(actor: Actor, container: Container, reason: str) -> Container:
    """A prescriber sets a container aside (damaged, suspect, recalled, a count that does not
    add up): nothing may be given from it until it is released. Waste may still empty it."""
    return _set_quarantine(actor, container, reason, quarantined=True)


def release_quarantine(actor: Actor, container: Container, reason: str) -> Container:
    """A prescriber puts a quarantined container back into use, saying why (found intact,
    recall withdrawn). The reason it was set aside is kept in the audit trail."""
    return _set_quarantine(actor, container, reason, quarantined=False)


def _set_quarantine(
    actor: Actor, container: Container, reason: str, *, quarantined: bool
) -> Container:
    verb = "quarantine a container" if quarantined else "release a container from quarantine"
    _require_prescriber(actor, verb)
    _own_container(actor, container)
    reason = _text("reason", reason, 300)
    with transaction.atomic():
        locked = Container.objects.select_for_update().get(pk=container.pk)
        if locked.quarantined == quarantined:
            raise Conflict(
                f"container: lot {locked.lot} #{locked.number} is "
                f"{'already' if quarantined else 'not'} quarantined",
                code="already_quarantined" if quarantined else "not_quarantined",
            )
        detail = {"quarantined": quarantined, "reason": reason}
        if not quarantined:
            detail["was_quarantined_for"] = locked.quarantine_reason
        container.quarantined = quarantined
        container.quarantine_reason = reason if quarantined else ""
        container.save(update_fields=["quarantined", "quarantine_reason"])
        # On the hash-chained ledger too: when and why it was set aside, and put back.
        set_aside = (
            None
            if quarantined
            else LedgerEntry.objects.filter(container=locked, kind=EntryKind.QUARANTINE)
            .order_by("-seq")
            .first()
        )
        _append(
            actor.clinic,
            locked,
            EntryKind.QUARANTINE if quarantined else EntryKind.RELEASE,
            amount_ug=0,
            balance_after_ug=locked.balance_ug,
            patient=locked.patient,
            actor=actor.user,
            note=reason,
            refers_to=set_aside,
        )
        record_for(actor, Action.UPDATE, patient=container.patient, obj=container, detail=detail)
    return container


# --- Counts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountResult:
    entry: LedgerEntry
    expected_ug: int
    counted_ug: int
    alert: SafetyAlert | None

    @property
    def discrepancy_ug(self) -> int:
        return self.counted_ug - self.expected_ug


def record_count(actor: Actor, container: Container, counted_mg, note: str = "") -> CountResult:
    """A count of what is in the container against what the ledger expects. A difference
    raises a ``controlled_discrepancy`` safety alert in the same transaction, for a prescriber
    to resolve; the count itself never changes the balance [R70]."""
    require(actor, Perm.CONTROLLED_CHANGE)
    _own_container(actor, container)
    counted_ug = balance.to_ug("counted_mg", counted_mg, allow_zero=True)
    note = _text("note", note, 2000, required=False, multiline=True)
    with transaction.atomic():
        locked = Container.objects.select_for_update().get(pk=container.pk)
        expected = locked.balance_ug
        entry = _append(
            actor.clinic,
            locked,
            EntryKind.COUNT,
            amount_ug=0,
            balance_after_ug=expected,
            counted_ug=counted_ug,
            actor=actor.user,
            note=note,
        )
        record_for(
            actor,
            Action.CREATE,
            obj=entry,
            detail={
                "kind": entry.kind,
                "expected_mg": balance.to_mg(expected),
                "counted_mg": balance.to_mg(counted_ug),
            },
        )
        alert = None
        if counted_ug != expected:
            difference = counted_ug - expected
            alert = raise_alert(
                actor,
                None,
                AlertKind.CONTROLLED_DISCREPANCY,
                AlertSeverity.HIGH,
                f"{locked.get_substance_display()} lot {locked.lot} #{locked.number}: counted "
                f"{balance.mg_text(counted_ug)}, the ledger expects {balance.mg_text(expected)} "
                f"({'+' if difference > 0 else '−'}{balance.mg_text(abs(difference))})",
                source=entry,
                clinic=actor.clinic,
            )
    container.balance_ug = expected
    return CountResult(entry, expected, counted_ug, alert)


# --- Waste left unwitnessed ---------------------------------------------------------------------

UNWITNESSED_SOURCE = "controlled.ledgerentry"


def alert_unwitnessed_waste(*, now: datetime | None = None, limit: int = 200) -> int:
    """Raise one alert for each waste its witness has not confirmed within the clinic's
    ``controlled_waste_witness_minutes``; returns how many were raised. Run by the outbox
    worker on every pass."""
    now = now or timezone.now()
    # No clinic allows less than the setting's minimum, so nothing younger is looked at.
    shortest = clinic_settings.DEFINITIONS["controlled_waste_witness_minutes"].minimum
    candidates = list(
        LedgerEntry.objects.filter(
            kind=EntryKind.WASTE,
            witness__isnull=False,  # none is named where the clinic does not require one
            created_at__lte=now - timedelta(minutes=shortest),
        )
        .exclude(pk__in=LedgerEntry.objects.filter(kind=EntryKind.WITNESS).values("refers_to"))
        .select_related("clinic", "container", "witness")
        .order_by("created_at")[:limit]
    )
    if not candidates:
        return 0
    alerted = set(
        SafetyAlert.objects.filter(
            kind=AlertKind.CONTROLLED_WASTE_UNWITNESSED,
            source_type=UNWITNESSED_SOURCE,
            source_id__in=[str(e.pk) for e in candidates],
        ).values_list("source_id", flat=True)
    )
    raised = 0
    for entry in candidates:
        minutes = entry.clinic.setting("controlled_waste_witness_minutes")
        if str(entry.pk) in alerted or entry.created_at > now - timedelta(minutes=minutes):
            continue
        with transaction.atomic():
            container = entry.container
            raise_alert(
                None,
                None,
                AlertKind.CONTROLLED_WASTE_UNWITNESSED,
                AlertSeverity.ELEVATED,
                f"Waste of {balance.mg_text(-entry.amount_ug)} from "
                f"{container.get_substance_display()} lot {container.lot} #{container.number} "
                f"not yet witnessed by {entry.witness.get_full_name() or entry.witness.username} "
                f"({minutes} minutes allowed)",
                source=entry,
                now=now,
                clinic=entry.clinic,
            )
        raised += 1
    return raised


def describe_alert_source(alert, actor):
    """The count or waste that raised ``alert``, in words, for the alert's page."""
    entry = (
        LedgerEntry.objects.filter(pk=alert.source_id, clinic=alert.clinic_id)
        .select_related("container", "actor")
        .first()
    )
    if entry is None:
        return None
    container = entry.container
    when = timezone.localtime(entry.created_at)
    url = ""
    if (
        entry.kind == EntryKind.COUNT
        and actor.can(Perm.CONTROLLED_CHANGE)
        and actor.role in ADJUSTMENT_ROLES
    ):
        # A prescriber goes from the discrepancy to the page that corrects it.
        url = (
            f"{reverse('controlled_container', args=[container.pk])}"
            f"?corrects={entry.pk}&alert={alert.pk}"
        )
    return Source(
        f"{entry.get_kind_display()} of {container.get_substance_display()} lot {container.lot} "
        f"#{container.number} by {entry.actor.get_full_name() or entry.actor.username}, "
        f"{when:%b %-d, %H:%M}",
        url,
        action="Correct the balance or quarantine the container" if url else "",
    )
