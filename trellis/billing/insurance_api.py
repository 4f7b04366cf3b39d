"""JSON API for payers, coverage, prior authorisations and Good Faith Estimates (DESIGN.md §5,
§5.1). Thin: parse, call one service or selector, shape the answer. Bad input is an
``InputError`` naming the field (422); a missing fee a ``Conflict`` naming the code (409); a
role without the right 403; another clinic's record 404.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from django.urls import reverse
from ninja import Field, Router, Schema, Status

from trellis.accounts.permissions import Perm
from trellis.billing import insurance_selectors as selectors
from trellis.billing import insurance_services as services
from trellis.billing.models_insurance import (
    Coverage,
    CoverageRank,
    EsketamineCoding,
    GoodFaithEstimate,
    PayerType,
    PlanType,
    PriorAuthorization,
    Relationship,
)
from trellis.lib.apidoc import errors
from trellis.lib.schema import Boolean, Date, bounded, text
from trellis.patients import access
from trellis.treatments.models import Course

router = Router(tags=["insurance"])

AMOUNT = "US dollars as a decimal string with two places"

PayerTypeName = Literal[tuple(PayerType.values)]  # type: ignore[valid-type]


# --- Payers ------------------------------------------------------------------------------------


class PayerIn(Schema):
    name: text(120, required=True)
    payer_id: text(20) = ""
    type: PayerTypeName  # type: ignore[valid-type]
    esketamine_coding: Literal[tuple(EsketamineCoding.values)] | None = Field(  # type: ignore[valid-type]
        None,
        description="g_codes (G2082/G2083, Medicare [R71]) or j_code (J0013 per mg + a visit "
        "[R72]); default from the type: Medicare → g_codes, others → j_code",
    )
    requires_auth_tms: Boolean = True
    requires_auth_esketamine: Boolean = True
    requires_auth_iv_ketamine: Boolean = False


class PayerOut(Schema):
    id: str
    name: str
    payer_id: str
    type: str
    esketamine_coding: str
    coding_payer_type: str = Field(..., description="The payer type the coding rules use")
    requires_auth_tms: bool
    requires_auth_esketamine: bool
    requires_auth_iv_ketamine: bool
    is_active: bool


def _payer(payer) -> dict:
    return {
        "id": str(payer.id),
        "name": payer.name,
        "payer_id": payer.payer_id,
        "type": payer.type,
        "esketamine_coding": payer.esketamine_coding,
        "coding_payer_type": str(payer.coding_payer_type),
        "requires_auth_tms": payer.requires_auth_tms,
        "requires_auth_esketamine": payer.requires_auth_esketamine,
        "requires_auth_iv_ketamine": payer.requires_auth_iv_ketamine,
        "is_active": payer.is_active,
    }


@router.get(
    "/payers",
    response={200: list[PayerOut], **errors(403)},
    summary="The clinic's payers (administrator, front desk, prescriber)",
)
def list_payers(request):
    return [_payer(p) for p in selectors.payers(request.auth)]


@router.post(
    "/payers",
    response={201: PayerOut, **errors(403)},
    summary="Add a payer (clinic administrator); a name the clinic already has is a 422",
)
def create_payer(request, payload: PayerIn):
    payer = services.save_payer(request.auth, None, **payload.model_dump())
    return Status(201, _payer(payer))


# --- Coverage ----------------------------------------------------------------------------------


class CoverageIn(Schema):
    payer: UUID = Field(..., description="The id of one of the clinic's payers")
    rank: Literal[tuple(CoverageRank.values)] = "primary"  # type: ignore[valid-type]
    member_id: text(40, required=True)
    group_number: text(40) = ""
    plan_type: Literal[tuple(["", *PlanType.values])] = ""  # type: ignore[valid-type]
    relationship: Literal[tuple(Relationship.values)] = "self"  # type: ignore[valid-type]
    subscriber_name: text(200) = Field("", description="Required unless relationship is self")
    subscriber_birth_date: Date | None = None
    copay: bounded(0, 99999.99) | None = Field(None, description="US dollars a visit")
    coinsurance_pct: bounded(0, 100, whole=True) | None = None
    effective_from: Date
    effective_to: Date | None = None


class CoverageOut(Schema):
    id: str
    patient: str
    payer: PayerOut
    rank: str
    member_id: str
    group_number: str
    plan_type: str
    relationship: str
    subscriber_name: str
    subscriber_birth_date: date | None
    copay: str | None = Field(None, description=AMOUNT)
    coinsurance_pct: int | None
    effective_from: date
    effective_to: date | None
    active: bool = Field(..., description="In force today at the clinic")


def _coverage(coverage: Coverage, today: date) -> dict:
    return {
        "id": str(coverage.id),
        "patient": str(coverage.patient_id),
        "payer": _payer(coverage.payer),
        "rank": coverage.rank,
        "member_id": coverage.member_id,
        "group_number": coverage.group_number,
        "plan_type": coverage.plan_type,
        "relationship": coverage.relationship,
        "subscriber_name": coverage.subscriber_name,
        "subscriber_birth_date": coverage.subscriber_birth_date,
        "copay": None if coverage.copay is None else f"{coverage.copay:.2f}",
        "coinsurance_pct": coverage.coinsurance_pct,
        "effective_from": coverage.effective_from,
        "effective_to": coverage.effective_to,
        "active": coverage.is_active_on(today),
    }


@router.get(
    "/patients/{patient_id}/coverage",
    response={200: list[CoverageOut], **errors(403)},
    summary="A patient's insurance coverage, in force first",
)
def list_coverage(request, patient_id: str):
    patient = access.patient(request.auth, patient_id, Perm.COVERAGE_READ)
    today = request.auth.clinic.today()
    return [_coverage(c, today) for c in selectors.coverages(request.auth, patient)]


@router.post(
    "/patients/{patient_id}/coverage",
    response={201: CoverageOut, **errors(403)},
    summary="Add a patient's coverage (front desk, administrator); one primary and one "
    "secondary at a time — an overlapping one is a 422 naming effective_from",
)
def create_coverage(request, patient_id: str, payload: CoverageIn):
    patient = access.patient(request.auth, patient_id, Perm.COVERAGE_CHANGE)
    values = payload.model_dump()
    if values["copay"] is not None:
        values["copay"] = str(values["copay"])
    coverage = services.add_coverage(request.auth, patient, **values)
    return Status(201, _coverage(coverage, request.auth.clinic.today()))


# --- Prior authorisation -----------------------------------------------------------------------


class AuthorizationIn(Schema):
    coverage: UUID | None = Field(
        None, description="The patient's coverage to request from; default the one in force"
    )
    urgent: Boolean = False
    units_requested: bounded(1, 500, whole=True) | None = Field(
        None, description="Default: the protocol's sessions"
    )


class CriterionOut(Schema):
    key: str
    label: str
    status: Literal["met", "not_met", "unknown"]
    evidence: str
    source: str
    attested: bool


class UsageOut(Schema):
    approved: int
    used: int = Field(..., description="Signed sessions of the course inside the window")
    remaining: int
    warnings: list[str]


class AuthorizationOut(Schema):
    id: str
    patient: str
    course: str
    service: str
    payer: str
    payer_name: str
    status: Literal["draft", "submitted", "approved", "denied"]
    number: str = Field(..., description="CMS-1500 item 23 [R124]")
    urgent: bool
    units_requested: int | None
    approved_units: int | None
    approved_from: date | None
    approved_to: date | None
    submitted_at: datetime | None
    decision_due_at: datetime | None = Field(
        None, description="CMS-0057-F: 72 h urgent / 7 days standard [R128]"
    )
    criteria: list[CriterionOut]
    criteria_met: Literal["met", "not_met", "unknown"]
    usage: UsageOut | None


def _authorization(auth: PriorAuthorization, today: date) -> dict:
    info = selectors.describe(auth, today, with_criteria=True)
    usage = info["usage"]
    return {
        "id": str(auth.id),
        "patient": str(auth.patient_id),
        "course": str(auth.course_id),
        "service": auth.service,
        "payer": str(auth.payer_id),
        "payer_name": auth.payer.name,
        "status": auth.status,
        "number": auth.number,
        "urgent": auth.urgent,
        "units_requested": auth.units_requested,
        "approved_units": auth.approved_units,
        "approved_from": auth.approved_from,
        "approved_to": auth.approved_to,
        "submitted_at": auth.submitted_at,
        "decision_due_at": auth.decision_due_at,
        "criteria": [row.as_dict() for row in info["criteria"]],
        "criteria_met": str(info["overall"]),
        "usage": None
        if usage is None
        else {
            "approved": usage.approved,
            "used": usage.used,
            "remaining": usage.remaining,
            "warnings": usage.messages(),
        },
    }


def _load_auth(request, auth_id: str) -> PriorAuthorization:
    rows = PriorAuthorization.objects.select_related(
        "patient", "payer", "clinic", "course__protocol"
    )
    return access.load(request.auth, rows, auth_id, Perm.PRIOR_AUTH_READ)


@router.get(
    "/courses/{course_id}/prior-authorizations",
    response={200: list[AuthorizationOut], **errors(403)},
    summary="A course's prior authorisations with their criteria checklist and sessions used",
)
def list_authorizations(request, course_id: str):
    course = access.load(
        request.auth,
        Course.objects.select_related("patient", "clinic"),
        course_id,
        Perm.PRIOR_AUTH_READ,
    )
    today = request.auth.clinic.today()
    return [_authorization(a, today) for a in selectors.course_authorisations(course)]


@router.post(
    "/courses/{course_id}/prior-authorizations",
    response={201: AuthorizationOut, **errors(403)},
    summary="Draft a prior authorisation request for a course (front desk, prescriber, "
    "administrator); 422 naming payer when the patient has no insurance in force",
)
def create_authorization(request, course_id: str, payload: AuthorizationIn):
    course = access.load(
        request.auth,
        Course.objects.select_related("patient", "protocol", "clinic"),
        course_id,
        Perm.PRIOR_AUTH_CHANGE,
    )
    auth = services.request_authorisation(
        request.auth,
        course,
        coverage=payload.coverage,
        urgent=payload.urgent,
        units_requested=payload.units_requested,
    )
    auth = _load_auth(request, auth.id)
    return Status(201, _authorization(auth, request.auth.clinic.today()))


@router.get(
    "/prior-authorizations/{auth_id}",
    response={200: AuthorizationOut, **errors(403)},
    summary="One prior authorisation with its criteria checklist and sessions used",
)
def get_authorization(request, auth_id: str):
    return _authorization(_load_auth(request, auth_id), request.auth.clinic.today())


# --- Good Faith Estimates ----------------------------------------------------------------------


class EstimateIn(Schema):
    protocol: text(60, required=True) = Field(..., description="A protocol code")
    self_pay: Literal[True] = Field(
        ..., description="Must be true: estimates are for uninsured or self-pay patients [R121]"
    )
    basis: Literal["scheduled", "requested"] = Field(
        "requested",
        description="scheduled: the first session was booked (service_date required); "
        "requested: the patient asked",
    )
    requested_on: Date | None = Field(
        None, description="The day it was scheduled or asked for; default today"
    )
    service_date: Date | None = None
    diagnosis_codes: list[text(10)] = Field(
        default_factory=list, max_length=12, description="ICD-10-CM, e.g. F33.1"
    )
    course: UUID | None = Field(None, description="The patient's course of that protocol")


class EstimateLineOut(Schema):
    code: str
    label: str
    units: int
    unit_price: str = Field(..., description=AMOUNT)
    amount: str = Field(..., description=AMOUNT)


class EstimateOut(Schema):
    id: str
    number: str
    patient: str
    protocol: str
    lines: list[EstimateLineOut]
    total: str = Field(..., description=AMOUNT)
    dispute_threshold: str = Field(..., description="total + 400 [R122]; " + AMOUNT)
    diagnosis_codes: list[str]
    issued_at: datetime
    expires_on: date
    due_on: date | None = Field(None, description="The deadline to give it [R121]")
    keep_until: date
    pdf_url: str


def _estimate(gfe: GoodFaithEstimate) -> dict:
    return {
        "id": str(gfe.id),
        "number": gfe.number,
        "patient": str(gfe.patient_id),
        "protocol": gfe.protocol.code,
        "lines": gfe.lines,
        "total": f"{gfe.total:.2f}",
        "dispute_threshold": f"{gfe.dispute_threshold:.2f}",
        "diagnosis_codes": gfe.diagnosis_codes,
        "issued_at": gfe.issued_at,
        "expires_on": gfe.expires_on,
        "due_on": gfe.due_on,
        "keep_until": gfe.keep_until,
        "pdf_url": reverse("estimate_pdf", args=[gfe.id]),
    }


@router.post(
    "/patients/{patient_id}/estimates",
    response={201: EstimateOut, **errors(403, 409)},
    summary="Issue a Good Faith Estimate of a protocol's course for a self-pay patient "
    "(45 CFR 149.610 [R121]); 409 when the fee schedule lacks a code the course needs",
)
def create_estimate(request, patient_id: str, payload: EstimateIn):
    patient = access.patient(request.auth, patient_id, Perm.ESTIMATE_CHANGE)
    course = None
    if payload.course:
        course = access.load(
            request.auth,
            Course.objects.select_related("patient", "clinic"),
            payload.course,
            Perm.ESTIMATE_CHANGE,
        )
    gfe = services.issue_estimate(
        request.auth,
        patient,
        protocol=payload.protocol,
        self_pay=payload.self_pay,
        basis=payload.basis,
        requested_on=payload.requested_on,
        service_date=payload.service_date,
        diagnosis_codes=payload.diagnosis_codes,
        course=course,
    )
    return Status(201, _estimate(gfe))


@router.get(
    "/estimates/{estimate_id}",
    response={200: EstimateOut, **errors(403)},
    summary="One Good Faith Estimate as issued",
)
def get_estimate(request, estimate_id: str):
    rows = GoodFaithEstimate.objects.select_related("patient", "clinic", "protocol").defer("pdf")
    return _estimate(access.load(request.auth, rows, estimate_id, Perm.ESTIMATE_READ))
