"""Payers, coverage, prior authorisations, Good Faith Estimates and the clinic's billing
identity: each change one named function in one transaction, audited.

Bad input is an ``InputError`` naming the field; a change the record's state forbids is a
``Conflict``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.billing import authorisation, estimate
from trellis.billing import selectors as fee_selectors
from trellis.billing.models import Fee
from trellis.billing.models_insurance import (
    AuthStatus,
    Coverage,
    CoverageRank,
    EsketamineCoding,
    GoodFaithEstimate,
    Payer,
    PayerType,
    PlanType,
    PriorAuthorization,
    Relationship,
)
from trellis.lib.errors import Conflict, InputError
from trellis.lib.pdf import render_pdf
from trellis.patients.models import Patient
from trellis.treatments.models import ClosureDay, Course
from trellis.treatments.public_holidays import public_holidays
from trellis.treatments.services import find_protocol

RETENTION_YEARS = 6  # "often quoted; not confirmed" (DOMAIN.md §14, §8)


# --- Payers ------------------------------------------------------------------------------------


def _choice(field: str, value, choices) -> str:
    text = str(value or "").strip()
    names = [str(choice.value) for choice in choices]
    if text not in names:
        raise InputError(field, f"must be one of {', '.join(names)}")
    return text


def _text(field: str, value, max_length: int, *, required: bool = False) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise InputError(field, "is required")
    if len(text) > max_length:
        raise InputError(field, f"must be at most {max_length} characters")
    return text


def default_esketamine_coding(payer_type: str) -> str:
    """Medicare pays esketamine with the G-codes [R71]; other payers J0013 + a visit [R72]."""
    if payer_type == PayerType.MEDICARE:
        return EsketamineCoding.G_CODES
    return EsketamineCoding.J_CODE


PAYER_FLAGS = ("requires_auth_tms", "requires_auth_esketamine", "requires_auth_iv_ketamine")


@transaction.atomic
def save_payer(actor: Actor, payer: Payer | None = None, **values) -> Payer:
    """Add a payer to the actor's clinic (``payer`` None) or change one. ``esketamine_coding``
    defaults from the type (Medicare → G-codes)."""
    require(actor, Perm.PAYER_CHANGE)
    name = _text("name", values.get("name"), 120, required=True)
    kind = _choice("type", values.get("type"), PayerType)
    coding_choice = values.get("esketamine_coding") or default_esketamine_coding(kind)
    coding_choice = _choice("esketamine_coding", coding_choice, EsketamineCoding)
    clash = Payer.objects.filter(clinic=actor.clinic, name__iexact=name)
    if payer is not None:
        clash = clash.exclude(pk=payer.pk)
    if clash.exists():
        raise InputError("name", f"the clinic already has a payer named {name!r}")
    created = payer is None
    if created:
        payer = Payer(clinic=actor.clinic)
    payer.name = name
    payer.payer_id = _text("payer_id", values.get("payer_id"), 20)
    payer.type = kind
    payer.esketamine_coding = coding_choice
    for flag in PAYER_FLAGS:
        if flag in values:
            setattr(payer, flag, bool(values[flag]))
    if "is_active" in values:
        payer.is_active = bool(values["is_active"])
    payer.save()
    record_for(
        actor,
        Action.CREATE if created else Action.UPDATE,
        obj=payer,
        detail={"name": name, "type": kind, "esketamine_coding": coding_choice},
    )
    return payer


# --- Coverage ----------------------------------------------------------------------------------

COVERAGE_FIELDS = (
    "payer",
    "rank",
    "member_id",
    "group_number",
    "plan_type",
    "subscriber_name",
    "subscriber_birth_date",
    "relationship",
    "copay",
    "coinsurance_pct",
    "effective_from",
    "effective_to",
)


def _money(field: str, value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise InputError(field, "must be an amount in US dollars") from None
    if not amount.is_finite() or amount < 0:
        raise InputError(field, "must be 0 or more US dollars")
    if amount != amount.quantize(Decimal("0.01")):
        raise InputError(field, "must have at most two decimal places (cents)")
    if amount > Decimal("99999.99"):
        raise InputError(field, "must be at most 99,999.99 US dollars")
    return amount


def _date(field: str, value, *, required: bool = False) -> date | None:
    if value in (None, ""):
        if required:
            raise InputError(field, "is required")
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InputError(field, "must be a date, YYYY-MM-DD") from None


def _clean_coverage(actor: Actor, patient: Patient, values: dict) -> dict:
    payer = values.get("payer")
    if isinstance(payer, Payer):
        pass
    else:
        payer = Payer.objects.filter(clinic=actor.clinic, pk=payer).first() if payer else None
    if payer is None or payer.clinic_id != actor.clinic.pk:
        raise InputError("payer", "must be one of the clinic's payers")
    if not payer.is_active:
        raise InputError("payer", f"{payer.name} is no longer active")
    relationship = _choice(
        "relationship", values.get("relationship") or Relationship.SELF, Relationship
    )
    plan_type = values.get("plan_type") or ""
    if plan_type:
        plan_type = _choice("plan_type", plan_type, PlanType)
    pct = values.get("coinsurance_pct")
    if pct in ("", None):
        pct = None
    else:
        if isinstance(pct, bool) or not str(pct).strip().isdigit():
            raise InputError("coinsurance_pct", "must be a whole percentage from 0 to 100")
        pct = int(str(pct).strip())
        if pct > 100:
            raise InputError("coinsurance_pct", "must be a whole percentage from 0 to 100")
    cleaned = {
        "payer": payer,
        "rank": _choice("rank", values.get("rank") or CoverageRank.PRIMARY, CoverageRank),
        "member_id": _text("member_id", values.get("member_id"), 40, required=True),
        "group_number": _text("group_number", values.get("group_number"), 40),
        "plan_type": plan_type,
        "relationship": relationship,
        "subscriber_name": _text("subscriber_name", values.get("subscriber_name"), 200),
        "subscriber_birth_date": _date(
            "subscriber_birth_date", values.get("subscriber_birth_date")
        ),
        "copay": _money("copay", values.get("copay")),
        "coinsurance_pct": pct,
        "effective_from": _date("effective_from", values.get("effective_from"), required=True),
        "effective_to": _date("effective_to", values.get("effective_to")),
    }
    if relationship != Relationship.SELF and not cleaned["subscriber_name"]:
        raise InputError("subscriber_name", "is required when the patient is not the subscriber")
    birth = cleaned["subscriber_birth_date"]
    if birth is not None and birth > actor.clinic.today():
        raise InputError("subscriber_birth_date", "must not be in the future")
    end = cleaned["effective_to"]
    if end is not None and end < cleaned["effective_from"]:
        raise InputError("effective_to", "must be on or after effective_from")
    return cleaned


def _check_overlap(patient: Patient, cleaned: dict, exclude=None) -> None:
    """One primary and one secondary coverage at a time."""
    others = Coverage.objects.filter(patient=patient, rank=cleaned["rank"])
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    start, end = cleaned["effective_from"], cleaned["effective_to"]
    for other in others:
        other_end = other.effective_to or date.max
        if start <= other_end and (end or date.max) >= other.effective_from:
            raise InputError(
                "effective_from",
                f"overlaps the {other.get_rank_display().lower()} coverage with {other.payer} "
                f"from {other.effective_from:%b %-d, %Y}; end that one first",
            )


@transaction.atomic
def add_coverage(actor: Actor, patient: Patient, **values) -> Coverage:
    require(actor, Perm.COVERAGE_CHANGE)
    if patient.clinic_id != actor.clinic.pk:
        raise InputError("patient", "is not a patient of this clinic")
    cleaned = _clean_coverage(actor, patient, values)
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    _check_overlap(patient, cleaned)
    coverage = Coverage.objects.create(
        clinic=actor.clinic, patient=patient, created_by=actor.user, **cleaned
    )
    record_for(
        actor,
        Action.CREATE,
        patient=patient,
        obj=coverage,
        detail={"payer": cleaned["payer"].name, "rank": cleaned["rank"]},
    )
    return coverage


@transaction.atomic
def update_coverage(actor: Actor, coverage: Coverage, **values) -> Coverage:
    require(actor, Perm.COVERAGE_CHANGE)
    cleaned = _clean_coverage(actor, coverage.patient, values)
    Patient.objects.select_for_update().filter(pk=coverage.patient_id).first()
    _check_overlap(coverage.patient, cleaned, exclude=coverage)
    changed = sorted(name for name, value in cleaned.items() if getattr(coverage, name) != value)
    for name, value in cleaned.items():
        setattr(coverage, name, value)
    coverage.save()
    record_for(
        actor, Action.UPDATE, patient=coverage.patient, obj=coverage, detail={"changed": changed}
    )
    return coverage


@transaction.atomic
def end_coverage(actor: Actor, coverage: Coverage, *, on: date | str, reason: str = "") -> Coverage:
    """The coverage lasts up to and including ``on``."""
    require(actor, Perm.COVERAGE_CHANGE)
    last = _date("effective_to", on, required=True)
    if last < coverage.effective_from:
        raise InputError("effective_to", "must be on or after the coverage's start")
    if coverage.effective_to is not None and coverage.effective_to < last:
        raise InputError("effective_to", "the coverage has already ended before that day")
    coverage.effective_to = last
    coverage.ended_reason = _text("reason", reason, 200)
    coverage.save(update_fields=["effective_to", "ended_reason", "updated_at"])
    record_for(
        actor,
        Action.UPDATE,
        patient=coverage.patient,
        obj=coverage,
        detail={"ended": last.isoformat(), "reason": coverage.ended_reason},
    )
    return coverage


# --- Prior authorisation -----------------------------------------------------------------------


def _pa_payer(actor: Actor, course: Course, payer=None, coverage=None):
    if coverage is not None and not isinstance(coverage, Coverage):
        coverage = Coverage.objects.filter(clinic=actor.clinic, pk=coverage).first()
        if coverage is None:
            raise InputError("coverage", "must be one of the patient's coverages")
    if coverage is not None and coverage.patient_id != course.patient_id:
        raise InputError("coverage", "must be one of the patient's coverages")
    if payer is not None and not isinstance(payer, Payer):
        payer = Payer.objects.filter(clinic=actor.clinic, pk=payer).first()
        if payer is None:
            raise InputError("payer", "must be one of the clinic's payers")
    if payer is None and coverage is not None:
        payer = coverage.payer
    if payer is None:
        today = actor.clinic.today()
        coverage = next(
            (
                c
                for c in Coverage.objects.filter(patient_id=course.patient_id).select_related(
                    "payer"
                )
                if c.is_active_on(today) and c.payer.type != PayerType.SELF_PAY
            ),
            None,
        )
        if coverage is None:
            raise InputError("payer", "is required: the patient has no insurance coverage today")
        payer = coverage.payer
    if payer.type == PayerType.SELF_PAY:
        raise InputError("payer", "a self-pay patient needs no prior authorisation")
    return payer, coverage


@transaction.atomic
def request_authorisation(
    actor: Actor,
    course: Course,
    *,
    payer=None,
    coverage=None,
    urgent: bool = False,
    units_requested: int | None = None,
) -> PriorAuthorization:
    """A draft request for ``course``'s sessions, to the payer of ``coverage`` (default: the
    patient's insurance in force today)."""
    require(actor, Perm.PRIOR_AUTH_CHANGE)
    if course.clinic_id != actor.clinic.pk:
        raise InputError("course", "is not a course of this clinic")
    if course.modality not in authorisation.SERVICES:
        raise InputError("course", f"{course.get_modality_display()} needs no prior authorisation")
    payer, coverage = _pa_payer(actor, course, payer, coverage)
    units = units_requested if units_requested not in (None, "") else course.protocol.sessions
    units = _units("units_requested", units)
    auth = PriorAuthorization.objects.create(
        clinic=actor.clinic,
        patient_id=course.patient_id,
        course=course,
        payer=payer,
        coverage=coverage,
        service=course.modality,
        urgent=bool(urgent),
        units_requested=units,
        created_by=actor.user,
    )
    record_for(
        actor,
        Action.CREATE,
        patient=course.patient,
        obj=auth,
        detail={"payer": payer.name, "units_requested": units},
    )
    return auth


def _units(field: str, value) -> int:
    if isinstance(value, bool):
        raise InputError(field, "must be a whole number of sessions")
    try:
        units = int(str(value).strip())
    except ValueError:
        raise InputError(field, "must be a whole number of sessions") from None
    if not 1 <= units <= 500:
        raise InputError(field, "must be from 1 to 500 sessions")
    return units


def _locked(auth: PriorAuthorization) -> PriorAuthorization:
    return PriorAuthorization.objects.select_for_update().select_related("payer").get(pk=auth.pk)


@transaction.atomic
def submit_authorisation(
    actor: Actor, auth: PriorAuthorization, *, number: str = "", submitted_at=None
) -> PriorAuthorization:
    """The request went to the payer: the CMS-0057-F decision deadline starts [R128]."""
    require(actor, Perm.PRIOR_AUTH_CHANGE)
    auth = _locked(auth)
    if auth.status != AuthStatus.DRAFT:
        raise Conflict(f"The request is already {auth.get_status_display().lower()}.")
    auth.status = AuthStatus.SUBMITTED
    auth.number = _text("number", number, 60) or auth.number
    auth.submitted_at = submitted_at or timezone.now()
    auth.decision_due_at = authorisation.decision_due(
        auth.payer.type, auth.submitted_at, urgent=auth.urgent
    )
    auth.save()
    record_for(
        actor,
        Action.UPDATE,
        patient=auth.patient,
        obj=auth,
        detail={"status": auth.status, "decision_due_at": _iso(auth.decision_due_at)},
    )
    return auth


def _iso(value) -> str | None:
    return None if value is None else value.isoformat()


@transaction.atomic
def record_decision(
    actor: Actor,
    auth: PriorAuthorization,
    *,
    approved: bool,
    number: str = "",
    approved_units=None,
    approved_from=None,
    approved_to=None,
    denial_reason: str = "",
) -> PriorAuthorization:
    """The payer's answer: approved (number, sessions and window required) or denied (reason)."""
    require(actor, Perm.PRIOR_AUTH_CHANGE)
    auth = _locked(auth)
    if auth.status not in (AuthStatus.DRAFT, AuthStatus.SUBMITTED):
        raise Conflict(f"The request is already {auth.get_status_display().lower()}.")
    if approved:
        number = _text("number", number or auth.number, 60, required=True)
        units = _units("approved_units", approved_units)
        start = _date("approved_from", approved_from, required=True)
        end = _date("approved_to", approved_to, required=True)
        if end < start:
            raise InputError("approved_to", "must be on or after approved_from")
        auth.status = AuthStatus.APPROVED
        auth.number, auth.approved_units = number, units
        auth.approved_from, auth.approved_to = start, end
    else:
        auth.status = AuthStatus.DENIED
        auth.number = _text("number", number, 60) or auth.number
        auth.denial_reason = _text("denial_reason", denial_reason, 300, required=True)
    auth.decided_at = timezone.now()
    auth.save()
    record_for(
        actor,
        Action.UPDATE,
        patient=auth.patient,
        obj=auth,
        detail={"status": auth.status, "approved_units": auth.approved_units},
    )
    return auth


@transaction.atomic
def attest_criterion(
    actor: Actor, auth: PriorAuthorization, key: str, status: str, note: str = ""
) -> PriorAuthorization:
    """A prescriber answers a criterion the record cannot hold (met or not met, with a note);
    ``status`` "unknown" withdraws the answer."""
    require(actor, Perm.PRIOR_AUTH_ATTEST)
    auth = _locked(auth)
    if key not in authorisation.attestable(auth.service):
        raise InputError("criterion", "is not a criterion a prescriber attests")
    if status not in ("met", "not_met", "unknown"):
        raise InputError("status", "must be met, not_met or unknown")
    if auth.status in (AuthStatus.APPROVED, AuthStatus.DENIED):
        raise Conflict("The payer has decided; the criteria sent stay as they were.")
    answers = dict(auth.attestations)
    if status == "unknown":
        answers.pop(key, None)
    else:
        answers[key] = {
            "status": status,
            "note": _text("note", note, 300),
            "by": actor.user.get_full_name() or actor.user.username,
            "at": timezone.now().isoformat(),
        }
    auth.attestations = answers
    auth.save(update_fields=["attestations", "updated_at"])
    record_for(
        actor,
        Action.UPDATE,
        patient=auth.patient,
        obj=auth,
        detail={"criterion": key, "status": status},
    )
    return auth


def authorisation_from_course(course: Course) -> None:
    """A course started with a payer's authorised sessions (the course form's fields) records
    them as an approved prior authorisation, once; registered with ``on_course_planned``."""
    if course.authorized_units is None and not course.authorization_ref:
        return
    if PriorAuthorization.objects.filter(course=course).exists():
        return
    name = (course.payer or "").strip()[:120] or "Payer not recorded"
    if is_self_pay_name(name):  # a self-pay course has no payer to authorise it
        return
    payer = Payer.objects.filter(clinic_id=course.clinic_id, name__iexact=name).first()
    if payer is None:
        payer = Payer.objects.create(
            clinic_id=course.clinic_id,
            name=name,
            type=PayerType.COMMERCIAL,
            esketamine_coding=EsketamineCoding.J_CODE,
        )
    PriorAuthorization.objects.create(
        clinic_id=course.clinic_id,
        patient_id=course.patient_id,
        course=course,
        payer=payer,
        service=course.modality,
        status=AuthStatus.APPROVED,
        number=course.authorization_ref,
        approved_units=course.authorized_units,
        approved_from=course.start_date,
        created_by_id=course.created_by_id,
        decided_at=timezone.now(),
    )


def is_self_pay_name(name: str) -> bool:
    return " ".join(name.replace("-", " ").split()).casefold() in ("self pay", "selfpay", "cash")


# --- Good Faith Estimates ----------------------------------------------------------------------


def closed_days(clinic, start: date, end: date):
    """A test for the days the clinic is closed between ``start`` and ``end``: its public
    holidays (country and state) and its closure days; weekends are not business days anyway."""
    holidays = {h.date for h in public_holidays(clinic.country, clinic.subdivision, start, end)}
    closures = set(
        ClosureDay.objects.filter(clinic=clinic, date__range=(start, end)).values_list(
            "date", flat=True
        )
    )
    shut = holidays | closures
    return lambda day: day in shut


def providers_of(clinic) -> list[dict]:
    """The providers of the estimate: the clinic, which furnishes every item (149.610 asks for
    each provider's name, NPI, TIN and location [R121])."""
    return [
        {
            "name": clinic.name,
            "npi": clinic.billing_npi,
            "tax_id": clinic.tax_id,
            "address": clinic.address,
            "phone": clinic.phone,
            "role": "Convening provider and facility",
        }
    ]


SEPARATELY_SCHEDULED = {
    "iv_ketamine": "Maintenance infusions after this series, if any, are estimated when they "
    "are planned. Follow-up visits and questionnaires are not charged.",
    "esketamine": "Maintenance sessions after week 8 (weekly or every two weeks) are estimated "
    "when they are planned.",
    "tms": "A repeat motor-threshold measurement (90869) is charged only when needed. "
    "Maintenance TMS after the course is estimated when it is planned.",
}


def _next_number(clinic) -> str:
    year = clinic.today().year
    count = GoodFaithEstimate.objects.filter(
        clinic=clinic, number__startswith=f"GFE-{year}-"
    ).count()
    return f"GFE-{year}-{count + 1:04d}"


@transaction.atomic
def issue_estimate(
    actor: Actor,
    patient: Patient,
    *,
    protocol: str,
    self_pay: bool = True,
    basis: str = estimate.Basis.REQUESTED,
    requested_on=None,
    service_date=None,
    diagnosis_codes=(),
    course: Course | None = None,
    separately_scheduled: str | None = None,
) -> GoodFaithEstimate:
    """A Good Faith Estimate for ``patient`` of a course of ``protocol`` (its code) priced from
    the clinic's fee schedule, with its deadline, the PDF the patient receives and the date it
    is kept until [R121, R122]."""
    require(actor, Perm.ESTIMATE_CHANGE)
    clinic = actor.clinic
    if patient.clinic_id != clinic.pk:
        raise InputError("patient", "is not a patient of this clinic")
    if self_pay is not True:
        raise InputError(
            "self_pay",
            "must be true: a Good Faith Estimate is for uninsured or self-pay patients [R121]",
        )
    found = find_protocol(clinic, str(protocol or "").strip())
    if course is not None and (course.patient_id != patient.pk or course.protocol_id != found.pk):
        raise InputError("course", "must be this patient's course of that protocol")
    codes = estimate.expected_codes(
        found.modality,
        found.sessions,
        found.defaults,
        visit_code=fee_selectors.visit_code(clinic),
    )
    fees = dict(Fee.objects.filter(clinic=clinic).values_list("code", "amount"))
    priced = estimate.price(codes, fees)
    diagnoses = estimate.clean_diagnoses(diagnosis_codes or [])
    now = timezone.now()
    today = clinic.today()
    requested = _date("requested_on", requested_on) or today
    service_day = _date("service_date", service_date)
    kind = _choice("basis", basis, estimate.Basis)
    if requested > today:
        raise InputError("requested_on", "must not be in the future")
    horizon = max(requested, service_day or requested) + timedelta(days=60)
    due = estimate.due_date(kind, requested, service_day, closed_days(clinic, requested, horizon))
    providers = providers_of(clinic)
    separately = (
        separately_scheduled
        if separately_scheduled is not None
        else SEPARATELY_SCHEDULED.get(found.modality, "")
    )
    gfe = GoodFaithEstimate(
        clinic=clinic,
        patient=patient,
        course=course,
        protocol=found,
        number=_next_number(clinic),
        basis=kind,
        requested_on=requested,
        service_date=service_day,
        due_on=due,
        issued_at=now,
        expires_on=estimate.expires_on(today),
        lines=[line.as_dict() for line in priced.lines],
        total=priced.total,
        dispute_threshold=priced.dispute_threshold,
        diagnosis_codes=diagnoses,
        providers=providers,
        separately_scheduled=_text("separately_scheduled", separately, 1000),
        keep_until=_years_after(today, RETENTION_YEARS),
        created_by=actor.user,
    )
    gfe.pdf = render_pdf("billing/estimate_pdf.html", estimate_context(gfe))
    gfe.save()
    record_for(
        actor,
        Action.CREATE,
        patient=patient,
        obj=gfe,
        detail={"number": gfe.number, "protocol": found.code, "total": str(gfe.total)},
    )
    return gfe


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def estimate_context(gfe: GoodFaithEstimate) -> dict:
    """What the estimate's PDF and page show."""
    return {
        "gfe": gfe,
        "patient": gfe.patient,
        "clinic": gfe.clinic,
        "lines": gfe.lines,
        "dispute_amount": estimate.DISPUTE_THRESHOLD,
        "issued_on": timezone.localdate(gfe.issued_at, gfe.clinic.tzinfo),
    }
