"""Reading payers, coverage, prior authorisations and estimates.

Lists are clinic-scoped and permission-checked; a work list is read as one audited page. The
criteria checklist reads the patient's record (age, latest PHQ-9, latest signed screening, the
course's plan) and hands it to the pure rules in ``trellis.billing.authorisation``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.paginator import Page
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.selectors import audited_page
from trellis.billing import authorisation, coding
from trellis.billing import estimate as estimate_rules
from trellis.billing.models import Charge
from trellis.billing.models_insurance import (
    AuthStatus,
    Coverage,
    GoodFaithEstimate,
    Payer,
    PayerType,
    PriorAuthorization,
)
from trellis.measures.models import Instrument, Measure
from trellis.patients.eligibility import Thresholds, failed_antidepressants
from trellis.patients.models import Patient, Screening
from trellis.treatments.models import (
    OPEN_STATUSES,
    Course,
    CourseStatus,
    Session,
    delivered_q,
)

# --- Payers and coverage -----------------------------------------------------------------------


def payers(actor: Actor, *, active_only: bool = False) -> QuerySet[Payer]:
    if not (actor.can(Perm.COVERAGE_READ) or actor.can(Perm.PAYER_CHANGE)):
        require(actor, Perm.COVERAGE_READ)
    rows = Payer.objects.filter(clinic=actor.clinic)
    return rows.filter(is_active=True) if active_only else rows


def coverages(actor: Actor, patient: Patient) -> list[Coverage]:
    """The patient's coverages, those in force first (primary before secondary), then ended."""
    require(actor, Perm.COVERAGE_READ)
    today = actor.clinic.today()
    rows = list(
        Coverage.objects.filter(clinic=actor.clinic, patient=patient).select_related("payer")
    )
    for row in rows:
        row.active = row.is_active_on(today)
        row.future = row.effective_from > today
    rows.sort(key=lambda c: (not c.active, c.future, c.rank, -c.effective_from.toordinal()))
    return rows


def coverage_on(patient: Patient, day: date, rank: str = "primary") -> Coverage | None:
    """The patient's coverage of ``rank`` in force on ``day``, if any."""
    rows = Coverage.objects.filter(
        patient=patient, rank=rank, effective_from__lte=day
    ).select_related("payer")
    return (
        rows.filter(Q(effective_to__isnull=True) | Q(effective_to__gte=day))
        .order_by("-effective_from")
        .first()
    )


def coding_payer_type(patient: Patient, day: date) -> coding.PayerType:
    """The payer type the coding rules use for ``patient``'s service on ``day``: their primary
    coverage's payer setting (G-codes → Medicare's codes), else self-pay. The charges captured
    at signing and the calculator read it here."""
    coverage = coverage_on(patient, day)
    if coverage is None:
        return coding.PayerType.SELF_PAY
    return coverage.payer.coding_payer_type


def is_self_pay(patient: Patient, day: date) -> bool:
    """Uninsured, or insured only through a self-pay arrangement, on ``day``."""
    coverage = coverage_on(patient, day)
    return coverage is None or coverage.payer.type == PayerType.SELF_PAY


# --- Prior authorisation -----------------------------------------------------------------------


def criteria_facts(auth: PriorAuthorization, today: date) -> authorisation.Facts:
    """What the record holds for ``auth``'s criteria."""
    patient = auth.patient
    birth = patient.birth_date
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    # The record as it stood when the request went to the payer (a draft: as it stands now),
    # so a course's later improvement does not unmeet what was met when it was asked.
    measures = Measure.objects.filter(patient=patient, instrument=Instrument.PHQ9)
    if auth.submitted_at is not None:
        measures = measures.filter(observed_at__lte=auth.submitted_at)
    phq9 = measures.order_by("-observed_at").only("total", "observed_at").first()
    screening = Screening.objects.filter(patient=patient).current()
    failed: list[str] | None = None
    if screening is not None:
        thresholds = Thresholds(**screening.thresholds) if screening.thresholds else Thresholds()
        failed = failed_antidepressants(screening.trials, thresholds)
    tz = auth.clinic.tzinfo
    return authorisation.Facts(
        age_years=age,
        phq9_total=None if phq9 is None else phq9.total,
        phq9_on=None if phq9 is None else timezone.localdate(phq9.observed_at, tz),
        failed_trials=None if failed is None else len(failed),
        failed_drugs=tuple(failed or ()),
        sessions_planned=auth.course.protocol.sessions if auth.course_id else None,
        attestations=auth.attestations,
    )


def checklist(auth: PriorAuthorization, today: date) -> list[authorisation.Criterion]:
    service = auth.service if auth.service in authorisation.CRITERIA else "iv_ketamine"
    return authorisation.checklist(service, criteria_facts(auth, today))


def usage(auth: PriorAuthorization, today: date) -> authorisation.Usage | None:
    """Sessions used (the course's signed sessions inside the window) against those approved;
    None unless the request was approved with a number of sessions. A row annotated with
    ``used`` and ``to_come`` (``authorisations_to_watch``) is not counted again."""
    if auth.status != AuthStatus.APPROVED or auth.approved_units is None:
        return None
    sessions = Session.objects.filter(course_id=auth.course_id)
    used = getattr(auth, "used", None)
    if used is None:
        window = _in_window(auth.approved_from, auth.approved_to)
        used = sessions.filter(delivered_q()).filter(window).count()
    to_come = getattr(auth, "to_come", None)
    if to_come is None:
        to_come = sessions.filter(status__in=OPEN_STATUSES).count()
    return authorisation.Usage(
        approved=auth.approved_units,
        used=used,
        to_come=to_come,
        starts_on=auth.approved_from,
        ends_on=auth.approved_to,
        today=today,
        warn_remaining=int(auth.clinic.setting("authorization_warn_remaining")),
    )


def _in_window(start: date | None, end: date | None, prefix: str = "") -> Q:
    q = Q()
    if start is not None:
        q &= Q(**{f"{prefix}planned_date__gte": start})
    if end is not None:
        q &= Q(**{f"{prefix}planned_date__lte": end})
    return q


def course_authorisations(course: Course) -> list[PriorAuthorization]:
    return list(
        PriorAuthorization.objects.filter(course=course)
        .select_related("payer", "clinic", "patient", "course__protocol")
        .order_by("-created_at")
    )


def authorised_units(courses) -> dict:
    """For ``treatments.hooks.on_authorised_units``: the sessions approved by the course's
    approved prior authorisations, summed (a renewal adds to the first), None when none is."""
    ids = [course.pk for course in courses]
    totals = dict(
        PriorAuthorization.objects.filter(
            course_id__in=ids, status=AuthStatus.APPROVED, approved_units__isnull=False
        )
        .values("course_id")
        .annotate(units=Sum("approved_units"))
        .values_list("course_id", "units")
    )
    return {pk: totals.get(pk) for pk in ids}


def with_usage(rows: QuerySet[PriorAuthorization]) -> QuerySet[PriorAuthorization]:
    """``rows`` annotated with ``used`` (the course's signed sessions inside the window) and
    ``to_come`` (its sessions not yet over), counted in the same query."""
    window = Q(course__sessions__planned_date__gte=F("approved_from")) | Q(
        approved_from__isnull=True
    )
    window &= Q(course__sessions__planned_date__lte=F("approved_to")) | Q(approved_to__isnull=True)
    return rows.annotate(
        used=Count("course__sessions", filter=delivered_q("course__sessions__") & window),
        to_come=Count("course__sessions", filter=Q(course__sessions__status__in=OPEN_STATUSES)),
    )


def describe(auth: PriorAuthorization, today: date, *, with_criteria: bool = False) -> dict:
    """One request with everything its card shows."""
    info = {
        "auth": auth,
        "usage": usage(auth, today),
        "decision_overdue": auth.status == AuthStatus.SUBMITTED
        and auth.decision_due_at is not None
        and auth.decision_due_at < timezone.now(),
        "deadline_caveat": authorisation.deadline_caveat(auth.service)
        if auth.decision_due_at
        else "",
    }
    if with_criteria:
        rows = checklist(auth, today)
        info["criteria"] = rows
        info["overall"] = authorisation.overall(rows)
    return info


def course_part(actor: Actor, course: Course, today: date) -> dict | None:
    """The prior authorisation card on the course's page (``treatments.hooks.on_course_page``)."""
    if not actor.can(Perm.PRIOR_AUTH_READ):
        return None
    if course.modality not in authorisation.SERVICES:
        return None
    auths = course_authorisations(course)
    return {
        "template": "billing/includes/course_authorisations.html",
        "course": course,
        "items": [describe(auth, today) for auth in auths],
        "can_request": actor.can(Perm.PRIOR_AUTH_CHANGE) and course.status == CourseStatus.ACTIVE,
    }


def patient_card(actor: Actor, patient: Patient) -> dict:
    """Coverage, prior authorisations and estimates on the patient's page (``patients.panels``,
    which checked ``coverage.read`` and audited the patient)."""
    today = actor.clinic.today()
    auths = []
    if actor.can(Perm.PRIOR_AUTH_READ):
        # Most patients have no request: the sessions are counted only for those that do.
        ids = list(
            PriorAuthorization.objects.filter(clinic=actor.clinic, patient=patient)
            .exclude(course__status__in=[CourseStatus.COMPLETED, CourseStatus.STOPPED])
            .order_by()
            .values_list("pk", flat=True)
        )
        if ids:
            rows = (
                with_usage(PriorAuthorization.objects.filter(pk__in=ids))
                .select_related("payer", "course__protocol")
                .order_by("-created_at")
            )
            for auth in rows:
                auth.clinic = actor.clinic
                auths.append(describe(auth, today))
    estimates = []
    if actor.can(Perm.ESTIMATE_READ):
        estimates = list(
            GoodFaithEstimate.objects.filter(clinic=actor.clinic, patient=patient)
            .select_related("protocol")
            .defer("pdf")[:5]
        )
    found = coverages(actor, patient)
    insured = any(c.active and c.payer.type != PayerType.SELF_PAY for c in found)
    return {
        "patient": patient,
        "coverages": found,
        "authorisations": auths,
        "estimates": estimates,
        "self_pay": not insured,
        "can_change": actor.can(Perm.COVERAGE_CHANGE),
        "can_estimate": actor.can(Perm.ESTIMATE_CHANGE),
    }


EXPIRY_WARN = timedelta(days=authorisation.EXPIRY_WARN_DAYS)


def authorisations_to_watch(actor: Actor, page=1) -> Page:
    """Prior authorisations that need someone to act, for the home pages: approved ones of
    active courses whose sessions run low or whose window ends within two weeks (or has
    ended) with sessions still to come, and submitted ones whose decision is due within a day
    or overdue [R128]. Soonest first."""
    require(actor, Perm.PRIOR_AUTH_READ)
    today = actor.clinic.today()
    # Counting each request's sessions is the costly part (milliseconds to build, even with
    # nothing to find): a clinic with no approved or submitted request for an active course,
    # as one whose patients pay for themselves, leaves it out.
    candidates = PriorAuthorization.objects.filter(
        clinic=actor.clinic,
        status__in=[AuthStatus.APPROVED, AuthStatus.SUBMITTED],
        course__status=CourseStatus.ACTIVE,
    )
    rows = _to_watch(actor.clinic, today) if candidates.exists() else candidates.none()
    found = audited_page(
        actor,
        rows,
        object_type="billing.priorauthorization",
        name="authorisations_to_watch",
        page=page,
    )
    for auth in found.object_list:
        auth.info = describe(auth, today)
    return found


def _to_watch(clinic, today: date) -> QuerySet[PriorAuthorization]:
    warn = int(clinic.setting("authorization_warn_remaining"))
    return (
        with_usage(PriorAuthorization.objects.filter(clinic=clinic))
        .filter(course__status=CourseStatus.ACTIVE)
        .filter(
            Q(
                status=AuthStatus.APPROVED,
                to_come__gt=0,
                approved_units__isnull=False,
            )
            & (Q(approved_units__lte=F("used") + warn) | Q(approved_to__lte=today + EXPIRY_WARN))
            | Q(
                status=AuthStatus.SUBMITTED,
                decision_due_at__lte=timezone.now() + timedelta(days=1),
            )
        )
        .select_related("patient", "payer", "clinic", "course__protocol")
        .order_by(F("approved_to").asc(nulls_last=True), "decision_due_at", "created_at")
    )


def authorisation_list(actor: Actor) -> list[PriorAuthorization]:
    require(actor, Perm.PRIOR_AUTH_READ)
    return list(
        PriorAuthorization.objects.filter(clinic=actor.clinic)
        .select_related("patient", "payer", "course__protocol")
        .order_by("-created_at")[:200]
    )


# --- Bills against their Good Faith Estimate ---------------------------------------------------

# A bill may be disputed within 120 days of receiving it [R122]: an estimate stays on the watch
# list that long after its dates end.
DISPUTE_DAYS = 120


@dataclass(frozen=True)
class BilledAgainst:
    """The charges billed for what one estimate covered, and how they compare with it."""

    estimate: GoodFaithEstimate
    since: date  # the day the estimate was issued
    until: date  # its expiry, or the day before a later estimate replaced it
    codes: tuple[str, ...]  # the codes the estimate listed
    replaced_by: GoodFaithEstimate | None
    comparison: estimate_rules.Comparison
    # Codes billed in the period that the estimate did not list (counted all the same).
    unestimated: tuple[str, ...] = ()

    @property
    def flagged(self) -> bool:
        return self.comparison.disputable


def _compare(estimates: list, candidates: list) -> list[BilledAgainst]:
    """``estimates`` (of one clinic) against their bills, in two queries whatever their number:
    ``candidates`` are the estimates that may have replaced them (issued later for the same
    patient and protocol)."""
    if not estimates:
        return []
    tz = estimates[0].clinic.tzinfo
    periods = []
    for gfe in estimates:
        later = [
            c
            for c in candidates
            if c.patient_id == gfe.patient_id
            and c.protocol_id == gfe.protocol_id
            and c.issued_at > gfe.issued_at
        ]
        replaced_by = min(later, key=lambda c: c.issued_at) if later else None
        until = gfe.expires_on
        if replaced_by is not None:
            until = min(until, timezone.localdate(replaced_by.issued_at, tz) - timedelta(days=1))
        codes = tuple(dict.fromkeys(str(line["code"]) for line in gfe.lines))
        periods.append((gfe, timezone.localdate(gfe.issued_at, tz), until, codes, replaced_by))
    charges = list(
        Charge.objects.filter(
            clinic_id=estimates[0].clinic_id,
            patient_id__in={gfe.patient_id for gfe in estimates},
            session__isnull=False,
            service_date__gte=min(period[1] for period in periods),
            service_date__lte=max(period[2] for period in periods),
        ).values_list(
            "patient_id",
            "code",
            "service_date",
            "amount",
            "session__course_id",
            "session__course__protocol_id",
        )
    )
    found = []
    for gfe, since, until, codes, replaced_by in periods:
        counted = [
            (code, amount)
            for patient_id, code, day, amount, course_id, protocol_id in charges
            if patient_id == gfe.patient_id
            and since <= day <= until
            and (
                course_id == gfe.course_id
                if gfe.course_id is not None
                else course_id is not None and protocol_id == gfe.protocol_id
            )
        ]
        billed = sum((amount for _, amount in counted), Decimal("0"))
        unestimated = tuple(dict.fromkeys(code for code, _ in counted if code not in codes))
        comparison = estimate_rules.compare(gfe.total, billed)
        found.append(BilledAgainst(gfe, since, until, codes, replaced_by, comparison, unestimated))
    return found


def billed_against(gfe: GoodFaithEstimate) -> BilledAgainst:
    """Compare a bill with its estimate [R122]. The provider is the clinic (the estimate names
    it, and it is the billing provider of every charge). Billed is the sum, credits included,
    of the patient's charges at the clinic — whatever their code, listed on the estimate or
    not (an added hour of infusion, an extra visit): 149.620 compares the total billed with
    the total expected — that
    - belong to a session of the estimate's course (of any course of its protocol when the
      estimate named none), and
    - were for a day from the estimate's issue through its expiry, or to the day before a
      later estimate for the same patient and protocol replaced it."""
    later = list(
        GoodFaithEstimate.objects.filter(
            clinic_id=gfe.clinic_id,
            patient_id=gfe.patient_id,
            protocol_id=gfe.protocol_id,
            issued_at__gt=gfe.issued_at,
        )
        .defer("pdf")
        .order_by("issued_at")[:1]
    )
    return _compare([gfe], later)[0]


def estimates_over(actor: Actor, page=1) -> Page:
    """Estimates whose bill is at least $400 over them [R122], for the administrator: of
    estimates whose dates ended at most 120 days ago (the patient's time to dispute), the most
    over first. Each row is a ``BilledAgainst``."""
    require(actor, Perm.BILLING_REPORT)
    since = actor.clinic.today() - timedelta(days=DISPUTE_DAYS)
    rows = (
        GoodFaithEstimate.objects.filter(clinic=actor.clinic, expires_on__gte=since)
        .select_related("patient", "clinic", "protocol", "course")
        .defer("pdf")
        .order_by("issued_at")
    )
    candidates = list(rows)
    flagged = [found for found in _compare(candidates, candidates) if found.flagged]
    flagged.sort(key=lambda found: found.comparison.over, reverse=True)
    return audited_page(
        actor, flagged, object_type="billing.goodfaithestimate", name="estimates_over", page=page
    )
