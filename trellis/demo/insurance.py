"""Demo payers, coverage, prior authorisations and a Good Faith Estimate at Riverside, through
the services staff use: a TMS patient with an approved authorisation running its course, an
esketamine patient whose request a Medicare Advantage plan has yet to decide, and a self-pay IV
patient's estimate. Once per clinic: a clinic with an estimate already is left alone."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from trellis.accounts.access import Actor
from trellis.accounts.models import Clinic, Membership
from trellis.billing import insurance_services
from trellis.billing.models import Fee
from trellis.billing.models_insurance import GoodFaithEstimate, Payer, PriorAuthorization
from trellis.patients.modality import Modality
from trellis.treatments.models import Course

# Cash prices a clinic might set, within the ranges DOMAIN.md §14 reports (not norms): IV
# ketamine $400–800 an infusion [R118], the seed's $25 for the drug [R99]; TMS $200–500 a
# session [R120]; esketamine $590–885 a session at launch, i.e. about $10.50 a mg [R119]. The
# office visit is the clinic's own price.
FEES = {
    "96365": "450.00",
    "96366": "120.00",
    "96374": "150.00",
    "J3490": "25.00",
    "90867": "450.00",
    "90868": "300.00",
    "90869": "350.00",
    "J0013": "10.50",
    "99213": "150.00",
}


def add_insurance(clinic: Clinic, admin: Membership, front: Membership, prescriber: Membership):
    if clinic.slug != "riverside" or GoodFaithEstimate.objects.filter(clinic=clinic).exists():
        return
    admin_actor = Actor(admin.user, admin, "demo-loader")
    front_actor = Actor(front.user, front, "demo-loader")
    prescriber_actor = Actor(prescriber.user, prescriber, "demo-loader")
    for code, amount in FEES.items():
        Fee.objects.get_or_create(
            clinic=clinic, code=code, defaults={"amount": Decimal(amount), "updated_by": admin.user}
        )
    aetna = _payer(admin_actor, "Aetna", "commercial", payer_id="60054")
    advantage = _payer(admin_actor, "Sunrise Medicare Advantage", "medicare_advantage")
    _payer(admin_actor, "Medicare Part B", "medicare")
    today = clinic.today()
    courses = Course.objects.filter(clinic=clinic).select_related("patient", "protocol")
    tms = courses.filter(modality=Modality.TMS).order_by("start_date").first()
    if tms is not None:
        _approved_tms(front_actor, prescriber_actor, tms, aetna, today)
    esketamine = courses.filter(modality=Modality.ESKETAMINE).order_by("-start_date").first()
    if esketamine is not None:
        _pending_esketamine(front_actor, esketamine, advantage, today)
    iv = courses.filter(modality=Modality.IV_KETAMINE).order_by("-start_date").first()
    if iv is not None:
        # Asked for today by a self-pay patient: due within 3 business days [R121].
        insurance_services.issue_estimate(
            front_actor,
            iv.patient,
            protocol=iv.protocol.code,
            basis="requested",
            requested_on=today,
            service_date=iv.start_date,
            diagnosis_codes=["F33.1"],
            course=iv,
        )


def _payer(actor: Actor, name: str, kind: str, payer_id: str = "") -> Payer:
    found = Payer.objects.filter(clinic=actor.clinic, name=name).first()
    if found is not None and found.type == kind:
        return found
    return insurance_services.save_payer(
        actor, found, name=name, type=kind, payer_id=payer_id, requires_auth_tms=True
    )


def _cover(actor: Actor, patient, payer: Payer, member_id: str, start: date) -> None:
    if not patient.coverages.exists():
        insurance_services.add_coverage(
            actor,
            patient,
            payer=payer,
            member_id=member_id,
            group_number="G-1042",
            plan_type="ppo" if payer.type == "commercial" else "hmo",
            copay="30.00" if payer.type == "commercial" else "0.00",
            coinsurance_pct=20,
            effective_from=date(start.year, 1, 1),
        )


def _approved_tms(front: Actor, prescriber: Actor, course: Course, payer: Payer, today: date):
    _cover(front, course.patient, payer, "W123456789", course.start_date)
    PriorAuthorization.objects.filter(course=course).delete()  # the course form's figure
    auth = insurance_services.request_authorisation(front, course)
    insurance_services.attest_criterion(
        prescriber, auth, "psychotherapy", "met", "12 sessions of CBT, 2025"
    )
    insurance_services.attest_criterion(
        prescriber, auth, "device", "met", "NeuroStar, FDA-cleared for MDD"
    )
    insurance_services.submit_authorisation(
        front, auth, number="REQ-TMS-001", submitted_at=_day_before(course)
    )
    # Approved for the course's sessions, for six weeks: it runs out before the taper.
    insurance_services.record_decision(
        front,
        auth,
        approved=True,
        number="A7730215",
        approved_units=30,
        approved_from=course.start_date,
        approved_to=max(course.start_date + timedelta(weeks=6), today + timedelta(days=10)),
    )


def _pending_esketamine(front: Actor, course: Course, payer: Payer, today: date):
    _cover(front, course.patient, payer, "MA884120", course.start_date)
    auth = insurance_services.request_authorisation(front, course, units_requested=12)
    # Sent the day before the first session; the plan has not answered in its 7 days [R128].
    insurance_services.submit_authorisation(
        front, auth, number="SR-55102", submitted_at=_day_before(course)
    )


def _day_before(course: Course):
    """Noon the day before the first session, at the clinic: after the baseline PHQ-9."""
    from datetime import datetime, time

    day = course.start_date - timedelta(days=1)
    return datetime.combine(day, time(12), tzinfo=course.clinic.tzinfo)
