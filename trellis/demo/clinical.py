"""Demo treatment courses: past sessions documented and signed, and PHQ-9/GAD-7 trajectories,
through the same services staff use, so every page of the demo shows a plausible history.
Deterministic for a seed."""

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from trellis.accounts.access import Actor
from trellis.demo import stock
from trellis.measures.demo import ITEM9_ALERT, add_demo_measures
from trellis.patients.modality import Modality
from trellis.patients.models import Patient
from trellis.treatments import services, sessions
from trellis.treatments.concomitant import Concomitant
from trellis.treatments.models import Course, Session

# Per clinic: (protocol, weeks ago the course started, PHQ-9 trajectory or None for any).
# At Riverside one patient answered PHQ-9 item 9 above 0 on their phone: an open safety alert.
PLANS = {
    "riverside": [
        ("ketamine-iv-induction", 1, None),
        ("ketamine-iv-induction", 3, None),
        ("ketamine-iv-maintenance", 2, None),
        ("esketamine-trd", 2, ITEM9_ALERT),
        ("esketamine-trd", 5, None),
        ("tms-10hz", 2, None),
        ("tms-10hz", 4, None),
        ("tms-itbs", 3, None),
        ("ketamine-sublingual-kap", 2, None),
    ],
    # A smaller centre: a finished IV series, esketamine, and TMS (iTBS and 10 Hz).
    "lakeshore": [
        ("ketamine-iv-induction", 4, "remitting"),
        ("esketamine-trd", 3, "responding"),
        ("tms-itbs", 2, None),
        ("tms-10hz", 5, "non_responding"),
    ],
}


def add_courses(
    patients: list[Patient],
    prescriber: Actor,
    nurse: Actor,
    tms: Actor,
    rng: random.Random,
    today: date,
) -> list[Course]:
    """Start a course for each eligible patient in the clinic's plan and document its past
    sessions: ``nurse`` documents ketamine and esketamine, ``tms`` TMS, ``prescriber`` signs
    infusions. A clinic with no plan gets none."""
    courses = []
    candidates = iter(patients)
    for protocol, weeks_ago, pattern in PLANS.get(prescriber.clinic.slug, []):
        modality = services.find_protocol(prescriber.clinic, protocol).modality
        patient = _eligible(candidates, modality)
        if patient is None:
            break
        start = today - timedelta(weeks=weeks_ago)
        start -= timedelta(days=start.weekday())  # a Monday
        course = services.start_course(
            prescriber,
            patient,
            protocol,
            start,
            payer=rng.choice(["Aetna", "Cigna", "Self-pay", "BCBS"]),
            authorized_units=36 if modality == Modality.TMS else None,
            with_antidepressant=(
                Concomitant(
                    name="Sertraline", dose="100 mg daily", started_on=start - timedelta(weeks=8)
                )
                if modality == Modality.ESKETAMINE
                else None
            ),
        )
        documenter = tms if modality == Modality.TMS else nurse
        for session in course.sessions.filter(planned_date__lt=today).order_by("number"):
            _document(session, documenter, prescriber, rng)
        add_demo_measures(prescriber, course, rng, pattern=pattern, today=today)
        courses.append(course)
    return courses


def _eligible(candidates, modality: str) -> Patient | None:
    for patient in candidates:
        screening = patient.screenings.current()
        if screening and screening.status(modality) in ("eligible", "caution"):
            return patient
    return None


def _at(session: Session, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(session.planned_date, time(hour, minute), session.clinic.tzinfo)


def _document(session: Session, documenter: Actor, prescriber: Actor, rng: random.Random) -> None:
    start = _at(session, 9, rng.choice([0, 15, 30]))
    sessions.begin_session(documenter, session, now=start)
    session = Session.objects.select_related("course__protocol", "clinic", "patient").get(
        pk=session.pk
    )
    modality = session.course.modality
    if modality == Modality.IV_KETAMINE:
        _infusion(session, documenter, start, rng)
    elif modality == Modality.ESKETAMINE:
        _esketamine(session, documenter, start, rng)
    elif modality == Modality.ORAL_KETAMINE:
        _oral(session, documenter, start, rng)
    else:
        _tms(session, documenter, start, rng)
    stock.choose_for_dose(session, documenter)
    signer = prescriber if modality == Modality.IV_KETAMINE else documenter
    sessions.sign_session(signer, session, now=start + timedelta(hours=2, minutes=30))


def _vitals(session, actor, when, rng, label="", rise=0):
    sessions.record_vitals(
        actor,
        session,
        {
            "bp_systolic": rng.randint(112, 134) + rise,
            "bp_diastolic": rng.randint(70, 84) + rise // 2,
            "heart_rate": rng.randint(62, 88),
            "spo2": rng.randint(96, 99),
            "respiratory_rate": rng.randint(12, 16),
        },
        taken_at=when,
        label=label,
    )


def _infusion(session, actor, start, rng):
    record = session.infusion
    weight = record.weight_kg or Decimal("75.0")
    sessions.save_infusion(
        actor,
        session,
        {
            "weight_kg": weight,
            "dose_mg_per_kg": Decimal("0.50"),
            "minutes": 40,
            "vial_mg_per_ml": Decimal("50.0"),
            "diluent_ml": Decimal("100.0"),
            "infusion_started_at": start + timedelta(minutes=10),
            "infusion_ended_at": start + timedelta(minutes=50),
            "cadss6": [rng.randint(0, 2) for _ in range(6)],
            "moaas_lowest": rng.choice([4, 5, 5]),
            "side_effects": rng.sample(
                ["dissociation", "nausea", "dizziness", "headache"], rng.randint(0, 2)
            ),
            "discharge_vitals_in_range": True,
            "discharge_moaas_5": True,
            "escort_present": True,
            "discharged_at": start + timedelta(minutes=110),
        },
    )
    for minute in (5, 20, 35, 50, 70, 95):
        _vitals(
            session,
            actor,
            start + timedelta(minutes=minute),
            rng,
            rise=12 if 20 <= minute <= 50 else 0,
        )


def _esketamine(session, actor, start, rng):
    first = session.esketamine.first_treatment
    sessions.save_esketamine(
        actor,
        session,
        {
            "dose_mg": 56 if first or rng.random() < 0.5 else 84,
            "lot_numbers": f"EK{rng.randint(10000, 99999)}",
            "first_device_at": start,
            "first_treatment": first,
            "co_medications": [],
            "vitals_acceptable_pre": True,
            "sedation": False,
            "dissociation": True,
            "dissociation_resolved_at": start + timedelta(minutes=rng.randint(45, 80)),
            "respiratory_depression": False,
            "ready_to_leave_at": start + timedelta(minutes=rng.randint(90, 115)),
            "monitoring_ended_at": start + timedelta(minutes=125),
            "vitals_acceptable_end": True,
            "side_effects": ["dizziness"],  # dissociation is asked on its own (REMS)
        },
    )
    _vitals(session, actor, start - timedelta(minutes=5), rng, "pre-dose")
    _vitals(session, actor, start + timedelta(minutes=40), rng, "40 min", rise=14)
    _vitals(session, actor, start + timedelta(minutes=120), rng, "pre-discharge")


def _oral(session, actor, start, rng):
    _vitals(session, actor, start, rng, "pre-dose")
    sessions.save_oral(
        actor,
        session,
        {
            "route": session.oral.route or "sublingual",
            "form": session.oral.form or "troche",
            "dose_mg": session.oral.dose_mg or Decimal("100"),
            "given_at": start + timedelta(minutes=10),
            "lot_number": f"TR{rng.randint(1000, 9999)}",
            "cadss6": [rng.randint(0, 2) for _ in range(6)],
            "moaas_lowest": rng.choice([4, 5, 5]),
            "side_effects": rng.sample(["dissociation", "nausea", "dizziness"], rng.randint(0, 2)),
            "discharge_vitals_in_range": True,
            "discharge_moaas_5": True,
            "escort_present": True,
            "escort_name": rng.choice(["Sam Lee", "Jordan Reyes", "Alex Kim"]),
            "discharged_at": start + timedelta(minutes=130),
        },
    )
    for minute in (40, 80, 120):
        _vitals(session, actor, start + timedelta(minutes=minute), rng)


def _tms(session, actor, start, rng):
    patient = session.patient
    threshold = patient.motor_thresholds.first()
    if threshold is None or (session.planned_date - threshold.measured_on).days >= 7:
        threshold = sessions.record_motor_threshold(
            actor,
            patient,
            measured_on=session.planned_date,
            percent_output=rng.randint(48, 62),
            method="emg",
            device="NeuroStar",
        )
    planned = session.course.protocol.defaults.get("pulses", 3000)
    sessions.save_tms(
        actor,
        session,
        {
            "device": "NeuroStar Advanced Therapy",
            "coil": "Figure-8",
            "motor_threshold": threshold,
            "intensity_pct_mt": session.course.protocol.defaults.get("intensity_pct_mt", 120),
            "target_method": "beam_f3",
            "tragus_tragus_cm": 36.0,
            "nasion_inion_cm": 37.5,
            "circumference_cm": 57.5,
            "pulses_planned": planned,
            "pulses_delivered": planned,
            "discomfort": rng.randint(1, 4),
            "seizure": False,
            "side_effects": rng.sample(["scalp pain", "headache"], rng.randint(0, 1)),
        },
    )
