"""Counts and inventories, and reports of theft or significant loss (DOMAIN.md §5, §15).

A shift or daily count, the initial inventory and the biennial one all count containers; each
counted container is a count entry on the ledger, and an exact count that differs from the
ledger raises a ``controlled_discrepancy`` alert in the same transaction. In a full inventory an
opened container may be estimated unless the clinic or state wants exact counts [R67, R63]. A
suspected theft or significant loss becomes a report with the facts of DEA Form 106 and its two
deadlines [R70].
"""

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Q

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.controlled import balance, dea, form106, inventory_rules, services
from trellis.controlled.models import (
    Container,
    EntryKind,
    Inventory,
    InventoryKind,
    InventoryLine,
    LedgerEntry,
    LossKind,
    LossReport,
    TimeOfDay,
)
from trellis.lib.errors import Conflict, InputError
from trellis.safety.models import AlertKind, AlertSeverity
from trellis.safety.services import raise_alert

FULL_INVENTORIES = (InventoryKind.INITIAL, InventoryKind.BIENNIAL)


@dataclass(frozen=True)
class Counted:
    """One container as counted: ``counted_mg``, and whether it is an estimate."""

    container: Container
    counted_mg: object
    estimated: bool = False


def exact_counts_required(clinic) -> bool:
    return bool(clinic.setting("controlled_exact_counts"))


def take_inventory(
    actor: Actor,
    kind: str,
    counts: list[Counted],
    *,
    taken_on: date | None = None,
    time_of_day: str = TimeOfDay.OPENING,
    note: str = "",
) -> Inventory:
    """Count containers: a shift or daily count of some or all of them, or a full inventory
    (initial or biennial) of every container on hand [R67, R132]. Exact counts that differ from
    the ledger raise a discrepancy alert each; estimates (opened containers in a full inventory,
    where the clinic allows them) never do. One transaction."""
    require(actor, Perm.CONTROLLED_CHANGE)
    clinic = actor.clinic
    today = clinic.today()
    if kind not in InventoryKind.values:
        raise InputError("kind", f"must be one of {', '.join(InventoryKind.values)}")
    if time_of_day not in TimeOfDay.values:
        raise InputError("time_of_day", f"must be one of {', '.join(TimeOfDay.values)}")
    taken_on = taken_on or today
    if taken_on > today:
        raise InputError("taken_on", "must not be in the future")
    note = services._text("note", note, 2000, required=False, multiline=True)
    if not counts:
        raise InputError("counts", "count at least one container")
    seen = set()
    exact_required = exact_counts_required(clinic)
    for item in counts:
        services._own_container(actor, item.container)
        if item.container.pk in seen:
            raise InputError("counts", f"lot {item.container.lot} #{item.container.number} twice")
        seen.add(item.container.pk)
        if item.estimated:
            if kind not in FULL_INVENTORIES:
                raise InputError(
                    "counts",
                    "a shift or daily count is exact; estimates are for "
                    "opened containers in an inventory [R67]",
                )
            opened = item.container.balance_ug < item.container.received_ug
            if not inventory_rules.estimate_allowed(opened=opened, exact_required=exact_required):
                why = (
                    "this clinic counts exactly (clinic or state rule [R63])"
                    if exact_required
                    else "only an opened container may be estimated [R67]"
                )
                raise InputError(
                    "counts",
                    f"lot {item.container.lot} #{item.container.number}: {why}",
                )
    if kind in FULL_INVENTORIES:
        on_hand = set(
            Container.objects.filter(clinic=clinic, balance_ug__gt=0).values_list("pk", flat=True)
        )
        left_out = on_hand - seen
        if left_out:
            raise InputError(
                "counts",
                f"an inventory counts every container on hand; {len(left_out)} not counted",
            )
    with transaction.atomic():
        inventory = Inventory.objects.create(
            clinic=clinic,
            kind=kind,
            taken_on=taken_on,
            time_of_day=time_of_day,
            taken_by=actor.user,
            note=note,
        )
        for item in counts:
            counted_ug = balance.to_ug(
                f"counted_mg ({item.container.lot} #{item.container.number})",
                item.counted_mg,
                allow_zero=True,
            )
            _count_line(actor, inventory, item.container, counted_ug, estimated=item.estimated)
        record_for(
            actor,
            Action.CREATE,
            obj=inventory,
            detail={"kind": kind, "containers": len(counts), "taken_on": taken_on.isoformat()},
        )
    return inventory


def _count_line(actor, inventory, container, counted_ug, *, estimated: bool) -> InventoryLine:
    locked = Container.objects.select_for_update().get(pk=container.pk)
    expected = locked.balance_ug
    entry = services._append(
        actor.clinic,
        locked,
        EntryKind.COUNT,
        amount_ug=0,
        balance_after_ug=expected,
        counted_ug=counted_ug,
        actor=actor.user,
        note=f"{inventory.get_kind_display()}{' (estimate)' if estimated else ''}",
    )
    line = InventoryLine.objects.create(
        inventory=inventory,
        container=locked,
        substance=locked.substance,
        form=locked.form,
        units_per_container_ug=locked.received_ug,
        opened=expected < locked.received_ug,
        estimated=estimated,
        expected_ug=expected,
        counted_ug=counted_ug,
        entry=entry,
    )
    if not estimated and counted_ug != expected:
        difference = counted_ug - expected
        raise_alert(
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
    return line


def last_full_inventory(clinic) -> Inventory | None:
    return (
        Inventory.objects.filter(clinic=clinic, kind__in=FULL_INVENTORIES)
        .order_by("-taken_on")
        .first()
    )


def inventory_due(clinic) -> date | None:
    """The last day for the next full inventory, or None before the initial one."""
    last = last_full_inventory(clinic)
    return inventory_rules.next_inventory_due(
        last.taken_on if last else None, clinic.setting("controlled_inventory_months")
    )


# --- Theft or significant loss ------------------------------------------------------------------


def report_loss(
    actor: Actor,
    *,
    kind: str,
    discovered_on: date,
    registrant_dea: str,
    description: str,
    amount_mg,
    container: Container | None = None,
    count: LedgerEntry | None = None,
    police_notified: bool = False,
    police_report: str = "",
) -> LossReport:
    """A suspected theft or significant loss, with the deadlines of its written notice (one
    business day) and DEA Form 106 (45 days) from the day it was discovered [R70]."""
    require(actor, Perm.CONTROLLED_REPORT)
    clinic = actor.clinic
    if kind not in LossKind.values:
        raise InputError("kind", f"must be one of {', '.join(LossKind.values)}")
    if discovered_on > clinic.today():
        raise InputError("discovered_on", "must not be in the future")
    problem = dea.dea_number_problem(registrant_dea)
    if problem:
        raise InputError("registrant_dea", problem)
    description = services._text("description", description, 4000, multiline=True)
    police_report = services._text("police_report", police_report, 100, required=False)
    amount_ug = balance.to_ug("amount_mg", amount_mg)
    if container is not None:
        services._own_container(actor, container)
    if count is not None:
        if count.clinic_id != clinic.pk or count.kind != EntryKind.COUNT:
            raise InputError("count", "must be one of this clinic's counts")
        container = container or count.container
    with transaction.atomic():
        report = LossReport.objects.create(
            clinic=clinic,
            kind=kind,
            discovered_on=discovered_on,
            registrant_dea=dea.normalise(registrant_dea),
            description=description,
            police_notified=police_notified,
            police_report=police_report,
            count=count,
            container=container,
            amount_ug=amount_ug,
            notice_due=form106.notice_due(discovered_on),
            form_due=form106.form_due(discovered_on),
            reported_by=actor.user,
        )
        record_for(
            actor,
            Action.CREATE,
            obj=report,
            detail={"kind": kind, "mg": balance.to_mg(amount_ug)},
        )
    return report


def record_notice_sent(actor: Actor, report: LossReport, sent_on: date) -> LossReport:
    """The written notice to the DEA Field Division was sent [R70]."""
    require(actor, Perm.CONTROLLED_REPORT)
    if report.clinic_id != actor.clinic.pk:
        raise InputError("report", "is another clinic's")
    if sent_on > actor.clinic.today() or sent_on < report.discovered_on:
        raise InputError("sent_on", "must be between the discovery and today")
    with transaction.atomic():
        locked = LossReport.objects.select_for_update().get(pk=report.pk)
        if locked.notice_sent_on is not None:
            raise Conflict("The notice is already recorded as sent.", code="already_sent")
        locked.notice_sent_on = sent_on
        locked.notice_sent_by = actor.user
        locked.save(update_fields=["notice_sent_on", "notice_sent_by"])
        record_for(actor, Action.UPDATE, obj=locked, detail={"notice_sent_on": str(sent_on)})
    return locked


def record_form_filed(actor: Actor, report: LossReport, filed_on: date, reference: str):
    """DEA Form 106 was filed online, with its confirmation number [R70]."""
    require(actor, Perm.CONTROLLED_REPORT)
    if report.clinic_id != actor.clinic.pk:
        raise InputError("report", "is another clinic's")
    reference = services._text("reference", reference, 60)
    if filed_on > actor.clinic.today() or filed_on < report.discovered_on:
        raise InputError("filed_on", "must be between the discovery and today")
    with transaction.atomic():
        locked = LossReport.objects.select_for_update().get(pk=report.pk)
        if locked.form_filed_on is not None:
            raise Conflict("Form 106 is already recorded as filed.", code="already_filed")
        locked.form_filed_on = filed_on
        locked.form_reference = reference
        locked.form_filed_by = actor.user
        locked.save(update_fields=["form_filed_on", "form_reference", "form_filed_by"])
        record_for(actor, Action.UPDATE, obj=locked, detail={"form_filed_on": str(filed_on)})
    return locked


def open_loss_reports(clinic) -> list[LossReport]:
    """Reports whose notice or form is still to do, each with its ``standing``."""
    today = clinic.today()
    reports = list(
        LossReport.objects.filter(clinic=clinic)
        .filter(Q(notice_sent_on__isnull=True) | Q(form_filed_on__isnull=True))
        .select_related("container")
        .order_by("discovered_on")
    )
    for report in reports:
        report.standing = standing_of(report, today)
    return reports


def standing_of(report: LossReport, today: date) -> form106.Standing:
    return form106.standing(
        report.discovered_on,
        today,
        notice_sent=report.notice_sent_on is not None,
        form_filed=report.form_filed_on is not None,
    )


def form106_facts(report: LossReport) -> list[tuple[str, str]]:
    """What DEA Form 106 asks for, from the report and the ledger, as (label, value) rows."""
    clinic = report.clinic
    rows = [
        ("Registrant", clinic.name),
        ("Registrant's address", clinic.address or "—"),
        ("Registrant's DEA number", report.registrant_dea),
        ("Date of theft or loss (discovered)", f"{report.discovered_on:%b %-d, %Y}"),
        ("Type of theft or loss", report.get_kind_display()),
        ("Police notified", "Yes" if report.police_notified else "No"),
        ("Police report number", report.police_report or "—"),
        ("Quantity lost", balance.mg_text(report.amount_ug)),
        ("What happened", report.description),
    ]
    container = report.container
    if container is not None:
        receipt = container.receipt
        rows += [
            ("Substance", container.get_substance_display()),
            ("NDC", receipt.ndc),
            ("Dosage form", container.get_form_display()),
            ("Strength per container", balance.mg_text(container.received_ug)),
            ("Lot and container", f"lot {container.lot} #{container.number}"),
            ("Expires", f"{container.expires_on:%b %-d, %Y}"),
        ]
    return rows
