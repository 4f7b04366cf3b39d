"""Reading what a clinic bills: the fee schedule, a patient's problem list and account, and the
clinic's takings and aged receivables (audited as queries)."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, OuterRef, QuerySet, Subquery, Sum

from trellis.accounts.access import require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.billing import coding, diagnoses, insurance_selectors, ledger
from trellis.billing import ndc as ndc_rules
from trellis.billing.models import Allocation, Charge, Diagnosis, Fee, Payment, PaymentMethod
from trellis.controlled.balance import UG_PER_MG
from trellis.controlled.models import SessionDraw
from trellis.patients.models import Patient


def fees(actor) -> QuerySet[Fee]:
    """The actor's clinic's fees, by code."""
    require(actor, Perm.FEE_READ)
    return Fee.objects.filter(clinic=actor.clinic).order_by("code")


@dataclass(frozen=True)
class FeeRow:
    """One code of the fee schedule page: its fee (None when not set) and the lines charged at
    $0.00 for want of one that no credit has corrected yet."""

    code: str
    label: str
    source: str
    fee: Fee | None
    unfeed: int


def fee_schedule(actor) -> list[FeeRow]:
    """Every code Trellis bills, in the coding rules' order, with the clinic's fee for it (two
    queries whatever the number of codes)."""
    by_code = {fee.code: fee for fee in fees(actor).select_related("updated_by")}
    unfeed = dict(
        Charge.objects.filter(
            clinic=actor.clinic, fee_missing=True, credits__isnull=True, credited_by__isnull=True
        )
        .values("code")
        .annotate(n=Count("id"))
        .values_list("code", "n")
    )
    return [
        FeeRow(code, label, source, by_code.get(code), unfeed.get(code, 0))
        for code, (label, source) in coding.CODES.items()
    ]


def payer_type(clinic) -> coding.PayerType:
    """The payer type the clinic bills unless told otherwise (setting ``billing_default_payer``)."""
    return PAYER_SETTING[clinic.setting("billing_default_payer")]


def session_payer_type(session) -> coding.PayerType:
    """How a session's codes are chosen: the payer of the patient's primary coverage on the
    session's day (its esketamine setting), else the clinic's ``billing_default_payer``."""
    coverage = insurance_selectors.coverage_on(session.patient, session.planned_date)
    if coverage is None:
        return payer_type(session.clinic)
    return coverage.payer.coding_payer_type


@dataclass(frozen=True)
class DrawnDrug:
    """What a drug line carries of the stock a session's dose was drawn from: the 11-digit NDC
    and the milligrams, or why there is no NDC."""

    ndc: str | None
    mg: Decimal | None
    problem: str | None = None


def drawn_drug(session) -> DrawnDrug:
    """The NDC of the containers chosen for ``session``'s dose in the controlled-substance
    ledger (drawn from at its signing) and the milligrams they gave [R127]. No container, or
    containers of different NDCs, or an NDC that cannot be written in 11 digits: no NDC, and
    the reason."""
    draws = list(
        SessionDraw.objects.filter(session=session)
        .order_by("chosen_at")
        .values_list("container__receipt__ndc", "amount_ug")
    )
    if not draws:
        return DrawnDrug(None, None, "no container of the ledger was drawn for the dose")
    codes = list(dict.fromkeys(code for code, _ in draws))
    mg = Decimal(sum(amount for _, amount in draws)) / UG_PER_MG
    if len(codes) > 1:
        return DrawnDrug(None, mg, f"the dose was drawn from stock of {len(codes)} NDCs")
    try:
        return DrawnDrug(ndc_rules.eleven_digits(codes[0]), mg)
    except ndc_rules.NdcError as error:
        return DrawnDrug(None, mg, str(error))


def visit_code(clinic) -> str:
    """The office visit billed with esketamine and psychotherapy (``billing_visit_code``)."""
    return str(clinic.setting("billing_visit_code"))


# The stored values of the ``billing_default_payer`` setting (trellis/accounts/clinic_settings.py).
PAYER_SETTING = {
    1: coding.PayerType.MEDICARE,
    2: coding.PayerType.COMMERCIAL,
    3: coding.PayerType.SELF_PAY,
}


# --- A patient's problem list and account -------------------------------------------------------


def diagnosis_card(actor, patient) -> dict:
    """The patient page's problem list (loaded by ``patients.panels``, which audited the read)."""
    rows = list(Diagnosis.objects.filter(patient=patient, clinic=patient.clinic))
    active = [row for row in rows if row.is_active]
    return {
        "patient": patient,
        "active": [(diagnoses.LETTERS[i] if i < 12 else "", row) for i, row in enumerate(active)],
        "resolved": [row for row in rows if not row.is_active][-10:],
        "can_change": actor.can(Perm.DIAGNOSIS_CHANGE),
        "suggestions": sorted(diagnoses.LABELS.items()),
    }


@dataclass
class Account:
    """A patient's charges (with credits), payments and what they come to."""

    charges: list
    payments: list
    charged: Decimal
    paid: Decimal
    balance: Decimal
    unapplied: Decimal


def account(patient, *, date_from: date | None = None, date_to: date | None = None) -> Account:
    """Every charge and payment of ``patient`` (or those from ``date_from`` to ``date_to``,
    by date of service and of receipt); the balance is always the whole account's."""
    charges = Charge.objects.filter(patient=patient).select_related("rendering_provider", "credits")
    payments = Payment.objects.filter(patient=patient).prefetch_related("allocations")
    all_charged = charges.aggregate(s=Sum("amount"))["s"] or ledger.ZERO
    all_paid = payments.aggregate(s=Sum("amount"))["s"] or ledger.ZERO
    applied = (
        Allocation.objects.filter(payment__patient=patient).aggregate(s=Sum("amount"))["s"]
        or ledger.ZERO
    )
    if date_from:
        charges = charges.filter(service_date__gte=date_from)
        payments = payments.filter(received_on__gte=date_from)
    if date_to:
        charges = charges.filter(service_date__lte=date_to)
        payments = payments.filter(received_on__lte=date_to)
    charge_rows = list(charges.order_by("service_date", "created_at", "line"))
    payment_rows = list(payments.order_by("received_on", "created_at"))
    applied_to: dict = {}
    for charge_id, part in Allocation.objects.filter(charge__patient=patient).values_list(
        "charge_id", "amount"
    ):
        applied_to[charge_id] = applied_to.get(charge_id, ledger.ZERO) + part
    credited = {row.credits_id for row in charge_rows if row.credits_id} | set(
        Charge.objects.filter(patient=patient, credits__isnull=False).values_list(
            "credits_id", flat=True
        )
    )
    for row in charge_rows:
        row.paid = applied_to.get(row.pk, ledger.ZERO)
        row.is_credited = row.pk in credited
    return Account(
        charges=charge_rows,
        payments=payment_rows,
        charged=ledger.money(sum((r.amount for r in charge_rows), ledger.ZERO)),
        paid=ledger.money(sum((p.amount for p in payment_rows), ledger.ZERO)),
        balance=ledger.money(all_charged - all_paid),
        unapplied=ledger.money(all_paid - applied),
    )


def billing_card(actor, patient) -> dict:
    """The patient page's account summary (loaded by ``patients.panels``): one query."""

    def total(model, **filters):
        rows = model.objects.filter(patient=OuterRef("pk"), **filters).values("patient")
        return Subquery(rows.annotate(s=Sum("amount")).values("s")[:1])

    row = (
        Patient.objects.filter(pk=patient.pk)
        .annotate(
            charged=total(Charge),
            paid=total(Payment),
            lines=Subquery(
                Charge.objects.filter(patient=OuterRef("pk"), credits__isnull=True)
                .values("patient")
                .annotate(n=Count("pk"))
                .values("n")[:1]
            ),
        )
        .values("charged", "paid", "lines")
        .get()
    )
    charged = ledger.money(row["charged"] or 0)
    paid = ledger.money(row["paid"] or 0)
    return {
        "patient": patient,
        "charged": charged,
        "paid": paid,
        "balance": ledger.money(charged - paid),
        "lines": row["lines"] or 0,
        "can_write": actor.can(Perm.BILLING_WRITE),
    }


def session_charges(session) -> list[Charge]:
    return list(Charge.objects.filter(session=session).order_by("created_at", "line"))


# --- The clinic's reports (audited as queries) --------------------------------------------------


@dataclass
class Takings:
    day: date
    payments: list
    by_method: list  # [(label, count, total)]
    total: Decimal


def takings(actor, day: date, *, export: bool = False) -> Takings:
    """The payments the clinic received on ``day``, by method."""
    require(actor, Perm.BILLING_REPORT)
    rows = list(
        Payment.objects.filter(clinic=actor.clinic, received_on=day)
        .select_related("patient", "received_by")
        .order_by("created_at")
    )
    methods = []
    for value, label in PaymentMethod.choices:
        mine = [p.amount for p in rows if p.method == value]
        if mine:
            methods.append((label, len(mine), ledger.money(sum(mine, ledger.ZERO))))
    record_for(
        actor,
        Action.EXPORT if export else Action.QUERY,
        object_type="billing.payment",
        detail={"report": "takings", "day": day.isoformat(), "results": len(rows)},
    )
    return Takings(day, rows, methods, ledger.money(sum((p.amount for p in rows), ledger.ZERO)))


@dataclass
class AgedRow:
    patient: object
    buckets: dict  # bucket name → Decimal, and "total"


def aged_receivables(actor, as_of: date, *, export: bool = False) -> tuple[list, dict]:
    """What each patient of the clinic still owes on ``as_of``, in ageing buckets by date of
    service (0–30, 31–60, 61–90, 90+ days), and the clinic's totals. Charges serviced after
    ``as_of`` and payments received after it are left out."""
    require(actor, Perm.BILLING_REPORT)
    charges = Charge.objects.filter(clinic=actor.clinic, service_date__lte=as_of)
    amounts: dict = {}
    for pk, patient_id, credits_id, service_date, amount in charges.values_list(
        "pk", "patient_id", "credits_id", "service_date", "amount"
    ):
        key = credits_id or pk
        entry = amounts.setdefault(key, [patient_id, service_date, ledger.ZERO])
        entry[2] += amount
        if credits_id is None:
            entry[1] = service_date
    for charge_id, amount in Allocation.objects.filter(
        charge__clinic=actor.clinic, payment__received_on__lte=as_of
    ).values_list("charge_id", "amount"):
        if charge_id in amounts:
            amounts[charge_id][2] -= amount
    by_patient: dict = {}
    for key, (patient_id, service_date, owing) in amounts.items():
        by_patient.setdefault(patient_id, []).append(ledger.Owing(key, service_date, owing))
    patients = {p.pk: p for p in Patient.objects.filter(pk__in=by_patient)}
    rows = []
    for patient_id, owing in by_patient.items():
        buckets = ledger.aged(owing, as_of)
        if buckets["total"] > 0:
            rows.append(AgedRow(patients[patient_id], buckets))
    rows.sort(key=lambda r: (r.patient.family_name, r.patient.given_name))
    totals = {name: ledger.ZERO for name, _ in ledger.BUCKETS}
    totals["total"] = ledger.ZERO
    for row in rows:
        for name, value in row.buckets.items():
            totals[name] += value
    record_for(
        actor,
        Action.EXPORT if export else Action.QUERY,
        object_type="billing.charge",
        detail={"report": "aged_receivables", "as_of": as_of.isoformat(), "results": len(rows)},
    )
    return rows, totals


def document(patient, *, date_from=None, date_to=None, today: date) -> dict:
    """What a statement or a superbill prints (DOMAIN.md §14 [R117]): the patient's identity and
    contact; the clinic (billing provider) with its address, tax id and NPI; each rendering
    provider with credentials and NPI; the lines with date and place of service, code,
    modifiers, units, fee and diagnosis pointers; the ICD-10-CM codes lettered A–L; what was
    charged and paid in the period, and the account's balance."""
    found = account(patient, date_from=date_from, date_to=date_to)
    codes = diagnoses.for_claim(
        [code for row in found.charges for code in (row.diagnosis_codes or [])]
    )
    labels = dict(diagnoses.LABELS)
    labels.update(
        Diagnosis.objects.filter(patient=patient, code__in=codes).values_list("code", "label")
    )
    letters = {code: diagnoses.letter(i) for i, code in enumerate(codes)}
    for row in found.charges:
        row.letters = "".join(letters[c] for c in (row.diagnosis_codes or []) if c in letters)[
            : diagnoses.POINTERS_PER_LINE
        ]
    providers = []
    for row in found.charges:
        if row.rendering_provider not in [p["user"] for p in providers]:
            providers.append(
                {
                    "user": row.rendering_provider,
                    "npi": row.rendering_npi or row.rendering_provider.npi,
                }
            )
    return {
        "patient": patient,
        "clinic": patient.clinic,
        "account": found,
        "diagnoses": [(letters[c], c, labels.get(c, "")) for c in codes],
        "providers": providers,
        "date_from": date_from,
        "date_to": date_to,
        "today": today,
    }


# --- The CMS-1500 claim -------------------------------------------------------------------------


def approved_authorisation(coverage, first: date, last: date):
    """Item 23: the approved prior authorisation of ``coverage``'s patient and payer whose
    dates cover every date of service from ``first`` to ``last`` (the latest approved if more
    than one does), or None [R124]."""
    from trellis.billing.models_insurance import AuthStatus, PriorAuthorization

    return (
        PriorAuthorization.objects.filter(
            patient_id=coverage.patient_id,
            payer_id=coverage.payer_id,
            status=AuthStatus.APPROVED,
            approved_from__lte=first,
            approved_to__gte=last,
        )
        .exclude(number="")
        .order_by("-decided_at", "-created_at")
        .first()
    )


def claim_coverages(patient) -> list:
    """The patient's coverages a claim can be made to (not self-pay), primary first."""
    from trellis.billing.models_insurance import Coverage, PayerType

    return list(
        Coverage.objects.filter(patient=patient)
        .exclude(payer__type=PayerType.SELF_PAY)
        .select_related("payer")
        .order_by("rank", "-effective_from")
    )


def claim_context(patient, coverage, *, date_from=None, date_to=None, today: date) -> dict:
    """What a CMS-1500 for ``patient``'s charges from ``date_from`` to ``date_to`` to
    ``coverage`` prints [R124]: the charges on the dates the coverage was in force, without
    credits or the lines they cancel, laid out on forms of six lines (``claim.forms``); item 23
    from an approved authorisation covering the dates; items 25, 32 and 33 from the clinic.
    ``problems`` lists what a payer would reject (a missing NPI or tax id)."""
    from trellis.billing import claim

    found = account(patient, date_from=date_from, date_to=date_to)
    start = coverage.effective_from
    end = coverage.effective_to
    rows = [
        c
        for c in claim.billable(found.charges)
        if c.service_date >= start and (end is None or c.service_date <= end)
    ]
    items = [
        claim.Item(
            service_date=c.service_date,
            place_of_service=c.place_of_service,
            code=c.code,
            modifiers=tuple(c.modifiers.split()),
            units=c.units,
            amount=c.amount,
            diagnosis_codes=tuple(c.diagnosis_codes or ()),
            rendering_npi=c.rendering_npi,
            paid=ledger.money(c.paid),
            key=c.pk,
            supplemental=c.ndc_line,
            participant_count=c.participant_count,
        )
        for c in rows
    ]
    forms = claim.forms(items)
    authorisation = (
        approved_authorisation(
            coverage, min(i.service_date for i in items), max(i.service_date for i in items)
        )
        if items
        else None
    )
    on = items[0].service_date if items else today
    others = [c for c in claim_coverages(patient) if c.pk != coverage.pk and c.is_active_on(on)]
    clinic = patient.clinic
    problems = []
    if not clinic.tax_id:
        problems.append("The clinic has no tax id (item 25): set it in the clinic settings.")
    if not clinic.billing_npi:
        problems.append("The clinic has no billing NPI (items 32a and 33a).")
    if any(not i.rendering_npi for i in items):
        problems.append("A line has no rendering provider NPI (item 24J).")
    for c in rows:
        if c.needs_ndc and not c.ndc_line:
            problems.append(
                f"The {c.code} line of {c.service_date:%b %-d, %Y} has no NDC (item 24's shaded "
                f"line): {c.ndc_problem or 'written before the NDC was carried'}."
            )
    if not items:
        problems.append("No charges in these dates while this coverage was in force.")
    return {
        "patient": patient,
        "clinic": clinic,
        "coverage": coverage,
        "payer": coverage.payer,
        "insurance_type": claim.insurance_type(coverage.payer.type),
        "insurance_types": claim.INSURANCE_TYPES,
        "other_coverage": others[0] if others else None,
        "icd_indicator": claim.ICD_INDICATOR,
        "forms": forms,
        "authorisation": authorisation,
        "problems": problems,
        "date_from": date_from,
        "date_to": date_to,
        "today": today,
    }
