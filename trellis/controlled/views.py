"""The ledger's pages: the stock a nurse opens at the start of the day, receiving from an
invoice, counting, the witness's confirmations, the dosing step's stock on the session page,
records for inspection, the reconciliation, and reports of theft or loss."""

import io
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from trellis.accounts.models import User
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.controlled import (
    balance,
    counting,
    inventory_rules,
    records,
    selectors,
    services,
    session_stock,
)
from trellis.controlled.forms import (
    AdjustmentForm,
    FiledForm,
    LossReportForm,
    NoticeForm,
    QuarantineForm,
    RangeForm,
    ReceiveForm,
    ReleaseForm,
)
from trellis.controlled.models import (
    Container,
    EntryKind,
    InventoryKind,
    LedgerEntry,
    LossReport,
    SessionDraw,
    Substance,
    TimeOfDay,
)
from trellis.lib import csvfile
from trellis.lib.errors import Conflict, InputError
from trellis.lib.pdf import pdf_response, render_pdf
from trellis.patients import access
from trellis.treatments.models import Session


def _need(request, perm: Perm) -> None:
    if not request.actor.can(perm):
        raise PermissionDenied


@login_required
def stock(request: HttpRequest) -> HttpResponse:
    substance = request.GET.get("substance", "")
    if substance not in Substance.values:
        substance = ""
    containers = selectors.stock(request.actor, substance)
    totals: dict[str, int] = {}
    for container in containers:
        container.remaining_text = balance.mg_text(container.balance_ug)
        container.received_text = balance.mg_text(container.receipt_ug)
        container.used_text = balance.mg_text(container.administered_ug + container.wasted_ug)
        totals[container.substance] = totals.get(container.substance, 0) + container.balance_ug
    labels = dict(Substance.choices)
    clinic = request.actor.clinic
    return render(
        request,
        "controlled/stock.html",
        {
            "containers": containers,
            "lots": _by_lot(containers),
            "substance": substance,
            "substances": Substance.choices,
            "totals": [(labels[key], balance.mg_text(ug)) for key, ug in sorted(totals.items())],
            "expiring_count": sum(1 for c in containers if c.expiring_soon),
            "soon_days": selectors.EXPIRING_SOON_DAYS,
            "can_change": request.actor.can(Perm.CONTROLLED_CHANGE),
            "can_correct": request.actor.can(Perm.CONTROLLED_CHANGE)
            and request.actor.role in services.ADJUSTMENT_ROLES,
            "to_witness": _to_witness(request).count(),
            "losses": counting.open_loss_reports(clinic)
            if request.actor.can(Perm.CONTROLLED_REPORT)
            else [],
            "inventory_due": counting.inventory_due(clinic),
            "today": clinic.today(),
        },
    )


_UNITS = {
    "vial": ("vial", "vials"),
    "nasal_device": ("device", "devices"),
    "tablets": (
        "bottle",
        "bottles",
    ),
}


_LABELS = {"vial": "Ketamine vial", "nasal_device": "Spravato device", "tablets": "Ketamine bottle"}


def _by_lot(containers: list) -> list[dict]:
    """The stock page's summary: one row per lot (and expiry), soonest expiry first."""
    lots: dict = {}
    for c in containers:
        row = lots.setdefault(
            (c.substance, c.form, c.lot, c.expires_on),
            {
                "substance": c.get_substance_display(),
                "form": c.get_form_display(),
                "lot": c.lot,
                "expires_on": c.expires_on,
                "count": 0,
                "opened": 0,
                "quarantined": 0,
                "kits": set(),
                "remaining": 0,
                "expired": c.expired,
                "expiring_soon": c.expiring_soon,
                "unit": _UNITS.get(c.form, ("container", "containers")),
            },
        )
        row["count"] += 1
        row["opened"] += c.balance_ug < c.received_ug
        row["quarantined"] += c.quarantined
        row["remaining"] += c.balance_ug
        if c.kit:
            row["kits"].add(c.kit)
    found = sorted(lots.values(), key=lambda r: (r["expires_on"], r["substance"], r["lot"]))
    for row in found:
        row["unit_text"] = row["unit"][row["count"] != 1]
        row["remaining_text"] = balance.mg_text(row["remaining"])
        row["kit_count"] = len(row["kits"])
    return found


# --- Receiving ----------------------------------------------------------------------------------


@login_required
def receive(request: HttpRequest) -> HttpResponse:
    _need(request, Perm.CONTROLLED_CHANGE)
    today = request.actor.clinic.today()
    form = ReceiveForm(request.POST or None, initial={"received_on": today})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            receipt = services.receive(
                request.actor,
                substance=data["substance"],
                form=data["form"],
                ndc=data["ndc"],
                lot=data["lot"],
                expires_on=data["expires_on"],
                containers=data["containers"],
                amount_per_container_mg=data["amount_per_container_mg"],
                volume_per_container_ml=data["volume_per_container_ml"],
                supplier=services.Supplier(
                    data["supplier_name"], data["supplier_address"], data["supplier_dea"]
                ),
                invoice_number=data["invoice_number"],
                invoice_date=data["invoice_date"],
                received_on=data["received_on"],
            )
        except InputError as error:
            _field_error(form, error)
        else:
            messages.success(
                request,
                f"Received {receipt.containers} × "
                f"{balance.mg_text(receipt.amount_per_container_ug)} of "
                f"{receipt.get_substance_display()}, lot {receipt.lot}.",
            )
            return redirect("controlled_stock")
    return render(request, "controlled/receive.html", {"form": form})


_FORM_FIELDS = {
    "supplier.name": "supplier_name",
    "supplier.address": "supplier_address",
    "invoice.number": "invoice_number",
    "invoice.date": "invoice_date",
}


def _field_error(form, error: InputError) -> None:
    name = _FORM_FIELDS.get(error.field, error.field)
    form.add_error(name if name in form.fields else None, error.message)


# --- Corrections and quarantine -----------------------------------------------------------------

_CORRECTION_STEPS = {"adjust": AdjustmentForm, "quarantine": QuarantineForm, "release": ReleaseForm}


@login_required
def container(request: HttpRequest, container_id: UUID) -> HttpResponse:
    """A prescriber's page for one container: its entries, a correction of its balance that
    refers to the count or entry it corrects, and setting it aside or back into use."""
    actor = request.actor
    item = (
        Container.objects.filter(pk=container_id, clinic=actor.clinic)
        .select_related("receipt")
        .first()
    )
    if item is None:
        raise Http404("No such record.")
    _need(request, Perm.CONTROLLED_CHANGE)
    if actor.role not in services.ADJUSTMENT_ROLES:
        raise PermissionDenied("Only a prescriber corrects a balance or quarantines a container.")
    entries = list(
        LedgerEntry.objects.filter(container=item)
        .select_related("actor", "witness")
        .order_by("-seq")[:200]
    )
    chosen = request.GET.get("corrects") or next(
        (str(e.pk) for e in entries if e.kind == EntryKind.COUNT), ""
    )
    alert_id = _uuid(request.POST.get("alert") or request.GET.get("alert"))
    step = request.POST.get("step") if request.method == "POST" else None
    forms = {
        name: form_class(
            request.POST if step == name else None,
            prefix=name,
            initial={"corrects": chosen} if name == "adjust" else None,
        )
        for name, form_class in _CORRECTION_STEPS.items()
    }
    forms["adjust"].fields["corrects"].choices = [("", "Choose the entry")] + [
        (str(e.pk), _entry_label(e)) for e in entries if e.kind != EntryKind.WITNESS
    ]
    form = forms.get(step)
    if form is not None and form.is_valid():
        data = form.cleaned_data
        try:
            if step == "adjust":
                corrects = next(e for e in entries if str(e.pk) == data["corrects"])
                entry = services.record_adjustment(
                    actor, item, data["amount_mg"], data["reason"], corrects=corrects
                )
                done = (
                    f"Correction of {balance.mg_text(entry.amount_ug)} recorded; the balance is "
                    f"now {balance.mg_text(entry.balance_after_ug)}."
                )
            elif step == "quarantine":
                services.quarantine(actor, item, data["reason"])
                done = (
                    f"Lot {item.lot} #{item.number} is quarantined: nothing may be given from it."
                )
            else:
                services.release_quarantine(actor, item, data["reason"])
                done = f"Lot {item.lot} #{item.number} is back in use."
        except InputError as error:
            name = {"change_mg": "amount_mg"}.get(error.field, error.field)
            label = form.fields[name].label if name in form.fields else ""
            message = f"{label}: {error.message}." if label else _message(error)
            form.add_error(name if name in form.fields else None, message)
        except Conflict as error:
            messages.error(request, error.message)
            return redirect("controlled_container", item.id)
        else:
            messages.success(request, done)
            if alert_id is not None and step == "adjust":
                return redirect("alert_detail", alert_id)
            return redirect("controlled_container", item.id)
    for entry in entries:
        entry.amount_text = balance.mg_text(entry.amount_ug) if entry.amount_ug else ""
        entry.balance_text = balance.mg_text(entry.balance_after_ug)
        entry.counted_text = (
            balance.mg_text(entry.counted_ug) if entry.counted_ug is not None else ""
        )
    record_for(actor, Action.READ, patient=item.patient, obj=item)
    return render(
        request,
        "controlled/container.html",
        {
            "container": item,
            "entries": entries,
            "remaining_text": balance.mg_text(item.balance_ug),
            "received_text": balance.mg_text(item.received_ug),
            "expired": item.is_expired(actor.clinic.today()),
            "adjust_form": forms["adjust"],
            "quarantine_form": forms["quarantine"],
            "release_form": forms["release"],
            "alert_id": alert_id,
        },
    )


def _entry_label(entry: LedgerEntry) -> str:
    when = timezone.localtime(entry.created_at)
    text = f"#{entry.seq} {entry.get_kind_display().lower()}, {when:%b %-d, %H:%M}"
    if entry.kind == EntryKind.COUNT:
        return (
            f"{text}: counted {balance.mg_text(entry.counted_ug)}, the ledger expected "
            f"{balance.mg_text(entry.balance_after_ug)}"
        )
    if entry.amount_ug:
        return f"{text}: {balance.mg_text(entry.amount_ug)}"
    return text


# --- Counting -----------------------------------------------------------------------------------


@login_required
def count(request: HttpRequest) -> HttpResponse:
    """One page for a shift or daily count and for the initial and biennial inventories."""
    _need(request, Perm.CONTROLLED_CHANGE)
    actor = request.actor
    clinic = actor.clinic
    containers = list(
        Container.objects.filter(clinic=clinic, balance_ug__gt=0)
        .select_related("receipt")
        .order_by("substance", "expires_on", "lot", "number")
    )
    for container in containers:
        container.opened = container.balance_ug < container.received_ug
    kind = request.POST.get("kind", InventoryKind.SHIFT)
    error = None
    values = {}
    if request.method == "POST":
        counts = []
        try:
            for container in containers:
                key = f"counted-{container.pk}"
                value = request.POST.get(key, "").strip()
                values[key] = value
                if value == "":
                    continue
                counts.append(
                    counting.Counted(
                        container, value, bool(request.POST.get(f"estimated-{container.pk}"))
                    )
                )
            inventory = counting.take_inventory(
                actor,
                kind,
                counts,
                time_of_day=request.POST.get("time_of_day", TimeOfDay.OPENING),
                note=request.POST.get("note", ""),
            )
        except InputError as refused:
            error = f"{refused.field.replace('_', ' ').capitalize()}: {refused.message}"
        else:
            differ = [
                line for line in inventory.lines.all() if line.discrepancy_ug and not line.estimated
            ]
            if differ:
                messages.warning(
                    request,
                    f"{inventory.get_kind_display()} saved. "
                    + (
                        "1 container differs"
                        if len(differ) == 1
                        else f"{len(differ)} containers differ"
                    )
                    + " from the ledger: a prescriber resolves each discrepancy alert.",
                )
            else:
                messages.success(
                    request,
                    f"{inventory.get_kind_display()} saved: every count matches the ledger.",
                )
            return redirect("controlled_stock")
    for container in containers:
        container.value = values.get(f"counted-{container.pk}", "")
        container.expected_text = balance.mg_text(container.balance_ug)
        container.per_container_text = balance.mg_text(container.received_ug)
        container.label = _LABELS.get(container.form, container.get_form_display())
    return render(
        request,
        "controlled/count.html",
        {
            "containers": containers,
            "kinds": InventoryKind.choices,
            "kind": kind,
            "times": TimeOfDay.choices,
            "error": error,
            "exact_required": counting.exact_counts_required(clinic),
            "inventory_due": counting.inventory_due(clinic),
            "inventory_every": inventory_rules.interval_text(
                clinic.setting("controlled_inventory_months")
            ),
            "last_inventory": counting.last_full_inventory(clinic),
        },
    )


# --- The witness's confirmation ------------------------------------------------------------------


def _to_witness(request):
    return LedgerEntry.objects.filter(
        clinic=request.actor.clinic, kind=EntryKind.WASTE, witness=request.actor.user
    ).exclude(
        pk__in=LedgerEntry.objects.filter(
            clinic=request.actor.clinic, kind=EntryKind.WITNESS
        ).values("refers_to")
    )


@login_required
def witness(request: HttpRequest) -> HttpResponse:
    """Waste naming the signed-in member of staff as its witness, waiting for them to confirm
    it with their own sign-in."""
    _need(request, Perm.CONTROLLED_CHANGE)
    waiting = list(
        _to_witness(request).select_related("container", "actor", "patient").order_by("seq")
    )
    for entry in waiting:
        entry.amount_text = balance.mg_text(-entry.amount_ug)
    return render(request, "controlled/witness.html", {"waiting": waiting})


@require_POST
@login_required
def witness_confirm(request: HttpRequest, entry_id: UUID) -> HttpResponse:
    entry = LedgerEntry.objects.filter(
        pk=entry_id, clinic=request.actor.clinic, kind=EntryKind.WASTE
    ).first()
    if entry is None:
        raise Http404("No such record.")
    try:
        services.witness_waste(request.actor, entry)
    except Conflict as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, f"You confirmed the waste of {balance.mg_text(-entry.amount_ug)}."
        )
    return redirect(request.POST.get("next") or "controlled_witness")


# --- The dosing step on the session page ---------------------------------------------------------

_SESSIONS = Session.objects.select_related("course__protocol", "patient", "clinic")


def _session(request, session_id) -> Session:
    return access.load(request.actor, _SESSIONS, session_id, Perm.SESSION_READ)


@require_POST
@login_required
def session_choose(request: HttpRequest, session_id: UUID) -> HttpResponse:
    session = _session(request, session_id)
    container = Container.objects.filter(
        pk=_uuid(request.POST.get("container")), clinic=request.actor.clinic
    ).first()
    try:
        if container is None:
            raise InputError("container", "choose a container from the list")
        draw = session_stock.choose(
            request.actor, session, container, request.POST.get("amount_mg", "").strip() or None
        )
    except (InputError, Conflict) as error:
        messages.error(request, _message(error))
    else:
        messages.success(
            request,
            f"{balance.mg_text(draw.amount_ug)} from lot {container.lot} #{container.number}: "
            "drawn from it when the session is signed.",
        )
    return redirect("session_detail", session.id)


@require_POST
@login_required
def session_unchoose(request: HttpRequest, session_id: UUID, draw_id: UUID) -> HttpResponse:
    session = _session(request, session_id)
    draw = SessionDraw.objects.filter(pk=draw_id, session=session).first()
    if draw is None:
        raise Http404("No such record.")
    try:
        session_stock.unchoose(request.actor, draw)
    except (InputError, Conflict) as error:
        messages.error(request, _message(error))
    return redirect("session_detail", session.id)


@require_POST
@login_required
def session_waste(request: HttpRequest, session_id: UUID) -> HttpResponse:
    """The unused remainder wasted right after dosing, naming the witness who confirms it."""
    session = _session(request, session_id)
    container = Container.objects.filter(
        clinic=request.actor.clinic, pk=_uuid(request.POST.get("container"))
    ).first()
    witness_user = User.objects.filter(pk=_int(request.POST.get("witness"))).first()
    try:
        session_stock.record_session_waste(
            request.actor,
            session,
            container,
            request.POST.get("amount_mg", "").strip(),
            request.POST.get("method", ""),
            witness_user,
        )
    except (InputError, Conflict) as error:
        messages.error(request, _message(error))
    else:
        messages.success(
            request,
            f"Waste recorded. {witness_user.get_full_name() or witness_user.username} confirms it "
            "by signing in and opening Witness."
            if witness_user is not None
            else "Waste recorded without a witness: this clinic does not require one.",
        )
    return redirect("session_detail", session.id)


def _uuid(value):
    try:
        return UUID(str(value))
    except ValueError:
        return None


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _message(error) -> str:
    if isinstance(error, InputError):
        return f"{error.field.replace('_', ' ').capitalize()}: {error.message}"
    return error.message


# --- Records for inspection ---------------------------------------------------------------------

REPORTS = {
    "administrations": "Administration and waste log",
    "receipts": "Receipt log",
    "inventories": "Inventories and counts",
    "lot": "Lot history",
}


def _span(request) -> tuple[RangeForm, records.Range | None, str | None]:
    today = request.actor.clinic.today()
    form = RangeForm(request.GET or None)
    if request.GET and not form.is_valid():
        return form, None, "Dates must be written YYYY-MM-DD."
    data = form.cleaned_data if form.is_bound else {}
    try:
        span = records.date_range(data.get("start"), data.get("end"), today)
    except InputError as error:
        return form, None, f"{error.field.capitalize()}: {error.message}"
    # The form shows the range the report covers, the defaults filled in.
    return RangeForm(initial={"start": span.start, "end": span.end}), span, None


@login_required
def inspection(request: HttpRequest) -> HttpResponse:
    _need(request, Perm.CONTROLLED_READ)
    report = request.GET.get("report", "administrations")
    if report not in REPORTS:
        report = "administrations"
    form, span, error = _span(request)
    lot = request.GET.get("lot", "").strip()
    rows = []
    if span is not None:
        try:
            if report == "administrations":
                rows = records.administration_log(request.actor, span)
            elif report == "receipts":
                rows = records.receipt_log(request.actor, span)
            elif report == "inventories":
                rows = records.inventory_records(request.actor, span)
            elif lot:
                rows = records.lot_history(request.actor, lot, span)
        except InputError as refused:
            error = f"{refused.field.capitalize()}: {refused.message}"
    context = {
        "report": report,
        "reports": REPORTS,
        "title": REPORTS[report] + (f" {lot}" if report == "lot" and lot else ""),
        "form": form,
        "span": span,
        "rows": rows,
        "lot": lot,
        "error": error,
        "clinic": request.actor.clinic,
        "lots": sorted(
            set(Container.objects.filter(clinic=request.actor.clinic).values_list("lot", flat=True))
        ),
    }
    fmt = request.GET.get("format")
    if span is not None and error is None and fmt in ("csv", "pdf"):
        name = f"{report}-{span.start}-{span.end}"
        if fmt == "csv":
            return _csv(request, name, *_table(report, rows))
        _printed(request, report, span)
        return pdf_response(render_pdf("controlled/pdf/inspection.html", context), f"{name}.pdf")
    return render(request, "controlled/inspection.html", context)


def _table(report: str, rows) -> tuple[list[str], list[list]]:
    """The report as a header and rows of plain values, for CSV."""
    if report == "administrations":
        return (
            [
                "date",
                "time",
                "entry",
                "substance",
                "NDC",
                "lot",
                "container",
                "patient",
                "patient address",
                "amount",
                "by",
                "witness",
                "detail",
            ],
            [
                [
                    r.when.date().isoformat(),
                    r.when.strftime("%H:%M"),
                    r.kind,
                    r.substance,
                    r.ndc,
                    r.lot,
                    r.container,
                    r.patient,
                    r.address,
                    r.amount,
                    r.by,
                    r.witness,
                    r.detail,
                ]
                for r in rows
            ],
        )
    if report == "receipts":
        return (
            [
                "received on",
                "substance",
                "NDC",
                "form",
                "per container",
                "containers",
                "total",
                "lot",
                "expires",
                "supplier",
                "supplier address",
                "supplier DEA",
                "invoice",
                "invoice date",
                "received by",
            ],
            [
                [
                    r.received_on.isoformat(),
                    r.get_substance_display(),
                    r.ndc,
                    r.get_form_display(),
                    r.per_container_text,
                    r.containers,
                    r.total_text,
                    r.lot,
                    r.expires_on.isoformat(),
                    r.supplier_name,
                    " ".join(r.supplier_address.split()),
                    r.supplier_dea,
                    r.invoice_number,
                    r.invoice_date.isoformat(),
                    r.received_by.get_full_name() or r.received_by.username,
                ]
                for r in rows
            ],
        )
    if report == "inventories":
        return (
            [
                "taken on",
                "kind",
                "time",
                "substance",
                "form",
                "units per container",
                "lot",
                "container",
                "opened",
                "estimated",
                "expected",
                "counted",
                "difference",
                "by",
            ],
            [
                [
                    inv.taken_on.isoformat(),
                    inv.get_kind_display(),
                    inv.get_time_of_day_display(),
                    line.get_substance_display(),
                    line.get_form_display(),
                    line.units_text,
                    line.container.lot,
                    f"#{line.container.number}",
                    "yes" if line.opened else "no",
                    "yes" if line.estimated else "no",
                    line.expected_text,
                    line.counted_text,
                    line.difference_text,
                    inv.taken_by.get_full_name() or inv.taken_by.username,
                ]
                for inv in rows
                for line in inv.rows
            ],
        )
    return (
        [
            "seq",
            "date",
            "time",
            "entry",
            "container",
            "patient",
            "amount",
            "balance after",
            "counted",
            "by",
            "witness",
            "note",
        ],
        [
            [
                e.seq,
                e.when.date().isoformat(),
                e.when.strftime("%H:%M"),
                e.get_kind_display(),
                f"#{e.container.number}",
                e.patient.full_name if e.patient else "",
                e.amount_text,
                e.balance_text,
                e.counted_text,
                e.actor.get_full_name() or e.actor.username,
                (e.witness.get_full_name() or e.witness.username) if e.witness else "",
                e.method or e.note,
            ]
            for e in rows
        ],
    )


def _printed(request, report: str, span) -> None:
    record_for(
        request.actor,
        Action.PRINT,
        object_type="controlled.ledgerentry",
        detail={"report": report, "format": "pdf", "start": str(span.start), "end": str(span.end)},
    )


def _csv(request, name: str, header: list[str], rows: list[list]) -> HttpResponse:
    buffer = io.StringIO()
    writer = csvfile.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    record_for(
        request.actor,
        Action.EXPORT,
        object_type="controlled.ledgerentry",
        detail={"report": name, "format": "csv", "rows": len(rows)},
    )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response["Cache-Control"] = "no-store"
    return response


# --- Reconciliation -----------------------------------------------------------------------------


@login_required
def reconciliation(request: HttpRequest) -> HttpResponse:
    """The administrator's reconciliation: each substance, every container, every milligram."""
    _need(request, Perm.CONTROLLED_READ)
    substance = request.GET.get("substance", Substance.KETAMINE)
    if substance not in Substance.values:
        substance = Substance.KETAMINE
    form, span, error = _span(request)
    report = records.reconciliation(request.actor, substance, span) if span else None
    lines = report.lines if report else []
    for line in lines:
        line.texts = [
            balance.mg_text(value)
            for value in (
                line.opening,
                line.received,
                line.administered,
                line.wasted,
                line.adjusted,
                line.closing,
            )
        ]
        line.remaining_text = balance.mg_text(line.container.balance_ug)
    totals = (
        [
            balance.mg_text(report.total(name))
            for name in ("opening", "received", "administered", "wasted", "adjusted", "closing")
        ]
        if report
        else []
    )
    context = {
        "substance": substance,
        "substance_label": Substance(substance).label,
        "substances": Substance.choices,
        "form": form,
        "span": span,
        "error": error,
        "report": report,
        "lines": lines,
        "totals": totals,
        "problems": report.problems if report else [],
        "clinic": request.actor.clinic,
        "losses": counting.open_loss_reports(request.actor.clinic)
        if request.actor.can(Perm.CONTROLLED_REPORT)
        else [],
    }
    fmt = request.GET.get("format")
    if report is not None and fmt == "csv":
        header = [
            "lot",
            "container",
            "expires",
            "opening",
            "received",
            "administered",
            "wasted",
            "adjusted",
            "closing",
            "remaining now",
            "adds up",
        ]
        rows = [
            [
                line.container.lot,
                f"#{line.container.number}",
                line.container.expires_on.isoformat(),
                *line.texts,
                line.remaining_text,
                "yes" if line.adds_up else "no",
            ]
            for line in lines
        ]
        rows.append(["Total", "", "", *totals, "", "yes" if not report.problems else "no"])
        return _csv(request, f"reconciliation-{substance}-{span.start}-{span.end}", header, rows)
    if report is not None and fmt == "pdf":
        _printed(request, f"reconciliation-{substance}", span)
        return pdf_response(
            render_pdf("controlled/pdf/reconciliation.html", context),
            f"reconciliation-{substance}-{span.start}-{span.end}.pdf",
        )
    return render(request, "controlled/reconciliation.html", context)


# --- Theft or significant loss ------------------------------------------------------------------


@login_required
def losses(request: HttpRequest) -> HttpResponse:
    _need(request, Perm.CONTROLLED_REPORT)
    actor = request.actor
    clinic = actor.clinic
    containers = list(
        Container.objects.filter(clinic=clinic).order_by("substance", "lot", "number")[:300]
    )
    form = LossReportForm(request.POST or None, initial={"discovered_on": clinic.today()})
    form.fields["container"].choices = [("", "Not one container")] + [
        (str(c.pk), f"{c.get_substance_display()} lot {c.lot} #{c.number}") for c in containers
    ]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        container = next((c for c in containers if str(c.pk) == data["container"]), None)
        try:
            report = counting.report_loss(
                actor,
                kind=data["kind"],
                discovered_on=data["discovered_on"],
                registrant_dea=data["registrant_dea"],
                description=data["description"],
                amount_mg=data["amount_mg"],
                container=container,
                police_notified=data["police_notified"],
                police_report=data["police_report"],
            )
        except InputError as error:
            _field_error(form, error)
        else:
            messages.warning(
                request,
                f"Reported. Written notice to the DEA is due by {report.notice_due:%a %b %-d}; "
                f"Form 106 by {report.form_due:%b %-d, %Y}.",
            )
            return redirect("controlled_loss", report.id)
    today = clinic.today()
    reports = list(LossReport.objects.filter(clinic=clinic).order_by("-discovered_on"))
    for report in reports:
        report.standing = counting.standing_of(report, today)
        report.amount_text = balance.mg_text(report.amount_ug)
    record_for(
        actor, Action.QUERY, object_type="controlled.lossreport", detail={"results": len(reports)}
    )
    return render(request, "controlled/losses.html", {"form": form, "reports": reports})


@login_required
def loss(request: HttpRequest, report_id: UUID) -> HttpResponse:
    _need(request, Perm.CONTROLLED_REPORT)
    report = (
        LossReport.objects.filter(pk=report_id, clinic=request.actor.clinic)
        .select_related("container__receipt", "clinic")
        .first()
    )
    if report is None:
        raise Http404("No such record.")
    today = request.actor.clinic.today()
    notice_form = NoticeForm(initial={"sent_on": today})
    filed_form = FiledForm(initial={"filed_on": today})
    if request.method == "POST":
        try:
            if request.POST.get("step") == "notice":
                notice_form = NoticeForm(request.POST)
                if notice_form.is_valid():
                    counting.record_notice_sent(
                        request.actor, report, notice_form.cleaned_data["sent_on"]
                    )
                    return redirect("controlled_loss", report.id)
            else:
                filed_form = FiledForm(request.POST)
                if filed_form.is_valid():
                    counting.record_form_filed(
                        request.actor,
                        report,
                        filed_form.cleaned_data["filed_on"],
                        filed_form.cleaned_data["reference"],
                    )
                    return redirect("controlled_loss", report.id)
        except InputError as error:
            messages.error(request, _message(error))
        except Conflict as error:
            messages.error(request, error.message)
    record_for(request.actor, Action.READ, obj=report)
    return render(
        request,
        "controlled/loss.html",
        {
            "report": report,
            "facts": counting.form106_facts(report),
            "standing": counting.standing_of(report, today),
            "notice_form": notice_form,
            "filed_form": filed_form,
        },
    )
