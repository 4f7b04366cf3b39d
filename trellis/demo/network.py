"""The demo clinic network: two clinics, one account per role, synthetic patients and their
first steps on the pathway (requests, weights, screenings). Deterministic and idempotent."""

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction

from trellis.accounts.access import Actor
from trellis.accounts.models import Clinic, Membership, User
from trellis.accounts.permissions import Role
from trellis.demo import (
    aftercare,
    appointments,
    billing,
    book,
    clinical,
    education,
    groups,
    insurance,
    oral_home,
    stock,
    therapy,
)
from trellis.demo import plans as demo_plans
from trellis.demo import portal as demo_portal
from trellis.patients import services as patients
from trellis.patients.models import Patient, RequestSource, RequestStatus, Sex
from trellis.treatments.models import Course

DEMO_PASSWORD = "trellis-demo-2026"  # noqa: S105 (published in README for the demo only)
PATIENTS_PER_CLINIC = 30

CLINICS = [
    {
        "slug": "riverside",
        "name": "Riverside Interventional Psychiatry",
        "mrn_prefix": "RIV",
        "timezone": "America/New_York",
        "country": "US",
        "subdivision": "CT",
        "address": "120 River Street, Hartford, CT 06103",
        "phone": "+1 860 555 0100",
    },
    {
        "slug": "lakeshore",
        "name": "Lakeshore Ketamine & TMS Center",
        "mrn_prefix": "LAK",
        "timezone": "America/Chicago",
        "country": "US",
        "subdivision": "IL",
        "address": "44 Shoreline Drive, Chicago, IL 60601",
        "phone": "+1 312 555 0199",
    },
]

# (username, first name, last name, role, clinic slug)
STAFF = [
    ("admin", "Alex", "Morgan", Role.CLINIC_ADMIN, "riverside"),
    ("prescriber", "Priya", "Raman", Role.PRESCRIBER, "riverside"),
    ("nurse", "Noah", "Bennett", Role.NURSE, "riverside"),
    ("tms", "Tessa", "Moreau", Role.TMS_TECHNICIAN, "riverside"),
    ("therapist", "Theo", "Okafor", Role.THERAPIST, "riverside"),
    ("frontdesk", "Fiona", "Delgado", Role.FRONT_DESK, "riverside"),
    ("lakeshore", "Lena", "Kowalski", Role.PRESCRIBER, "lakeshore"),
    # The administrator runs both clinics, which shows the clinic switcher.
    ("admin", "Alex", "Morgan", Role.CLINIC_ADMIN, "lakeshore"),
]

# Who treats at each clinic (prescriber, nurse, TMS technician): Lakeshore's prescriber
# documents every session herself.
DOCUMENTERS = {
    "riverside": ("prescriber", "nurse", "tms"),
    "lakeshore": ("lakeshore", "lakeshore", "lakeshore"),
}

GIVEN = {
    Sex.FEMALE: "Amelia Grace Hannah Isabel Julia Maya Nora Olivia Rosa Sofia Tara Vera Wendy "
    "Zoe Claire Diane".split(),
    Sex.MALE: "Aaron Ben Carlos Daniel Elijah Felix George Henry Ivan Jonah Kevin Liam Marcus "
    "Omar Peter Samuel".split(),
}
FAMILY = (
    "Anderson Brooks Castillo Dawson Ellis Fischer Garcia Hughes Iverson Jensen Khan Lopez "
    "Mitchell Nguyen Ortiz Patel Quinn Reyes Schmidt Turner Underwood Vasquez Walsh "
    "Young"
).split()
DRUGS = (
    "sertraline escitalopram fluoxetine venlafaxine duloxetine bupropion mirtazapine "
    "vortioxetine".split()
)

# A clinically ordinary intake: nothing that contraindicates or calls for caution.
ORDINARY = {
    "pregnant": False,
    "breastfeeding": False,
    "psychosis": "none",
    "mania_current": False,
    "substance_use_disorder": "none",
    "ketamine_misuse": False,
    "hypertension_uncontrolled": False,
    "aneurysmal_vascular_disease": False,
    "arteriovenous_malformation": False,
    "intracerebral_hemorrhage": False,
    "ketamine_hypersensitivity": False,
    "head_metal_implant": False,
    "cochlear_implant": False,
    "implanted_neurostimulator": False,
    "cardiac_device": False,
    "seizure_history": False,
    "maoi_or_psychostimulant": False,
}
# What makes some demo screenings interesting: (share of patients, change to the answers).
VARIATIONS = [
    (0.08, {"seizure_history": True}),
    (0.06, {"cardiac_device": True}),
    (0.05, {"head_metal_implant": True}),
    (0.05, {"psychosis": "past"}),
    (0.04, {"substance_use_disorder": "past"}),
    (0.04, {"maoi_or_psychostimulant": True}),
    (0.03, {"breastfeeding": True}),
]

REQUESTS = [
    ("Ruth", "Abbott", "+1 860 555 0142", "", "weekday mornings", RequestStatus.NEW),
    ("Colin", "Barker", "", "colin.barker@example.com", "after 5 pm", RequestStatus.NEW),
    ("Leah", "Cohen", "+1 860 555 0177", "leah.c@example.com", "any time", RequestStatus.NEW),
    ("Tomas", "Duarte", "+1 860 555 0108", "", "Tuesdays", RequestStatus.CONTACTED),
    ("Ingrid", "Eklund", "", "ingrid.e@example.com", "lunchtime", RequestStatus.DECLINED),
]


@dataclass
class Summary:
    clinics: int = 0
    staff: int = 0
    patients: int = 0
    screenings: int = 0
    requests: int = 0
    courses: int = 0
    resources: int = 0
    appointments: int = 0


def build(today: date | None = None) -> Summary:
    """Create whatever part of the demo network is missing; return what was added. Ages count
    from ``today``, else each clinic's own today."""
    summary = Summary()
    with transaction.atomic():
        clinics = {spec["slug"]: _clinic(spec, summary) for spec in CLINICS}
        members = {
            (username, slug): _staff(username, first, last, role, clinics[slug], summary)
            for username, first, last, role, slug in STAFF
        }
        for slug, clinic in clinics.items():
            registrar = members[("frontdesk", slug) if slug == "riverside" else ("lakeshore", slug)]
            prescriber = members[
                ("prescriber", slug) if slug == "riverside" else ("lakeshore", slug)
            ]
            if Patient.objects.filter(clinic=clinic).exists():
                continue
            rng = random.Random(slug)
            actor = Actor(registrar.user, registrar, "demo-loader")
            signer = Actor(prescriber.user, prescriber, "demo-loader")
            registered = []
            for number in range(PATIENTS_PER_CLINIC):
                patient = _patient(actor, rng, today or clinic.today(), number)
                registered.append(patient)
                summary.patients += 1
                if rng.random() < 0.75:
                    _screening(signer, patient, rng, sign=rng.random() < 0.9)
                    summary.screenings += 1
            if slug == "riverside":
                for row in REQUESTS:
                    _request(clinic, actor, row)
                    summary.requests += 1
        for clinic in clinics.values():
            billing.prepare(clinic)  # fees and problem lists before sessions are signed
            summary.courses += _courses(clinic, members, today or clinic.today())
            summary.resources += book.add_resources(clinic)
            summary.appointments += appointments.add_appointments(clinic, today)
            therapy.add_progress_notes(clinic)
            aftercare.add_aftercare(clinic)
            if clinic.slug == "riverside":
                demo_portal.add_portal_account(clinic, DEMO_PASSWORD)
            oral_home.add_home_prescription(clinic)
            if clinic.slug == "riverside":
                insurance.add_insurance(
                    clinic,
                    members[("admin", "riverside")],
                    members[("frontdesk", "riverside")],
                    members[("prescriber", "riverside")],
                )
            billing.add_payments(clinic)
            groups.add_groups(clinic, today)
            demo_plans.add_plans(clinic, today)
            education.add_education(clinic)
    return summary


def _courses(clinic: Clinic, members: dict, today: date) -> int:
    """Treatment courses with documented sessions and questionnaires, once per clinic: a
    clinic that has any course already is left alone (so a demo loaded before Lakeshore had
    courses gets them on the next run, and nothing changes after that)."""
    if Course.objects.filter(clinic=clinic).exists():
        return 0
    patients = list(Patient.objects.filter(clinic=clinic).order_by("mrn"))
    if not patients:
        return 0
    prescriber, nurse, tms = (
        Actor(members[username, clinic.slug].user, members[username, clinic.slug], "demo-loader")
        for username in DOCUMENTERS[clinic.slug]
    )
    rng = random.Random(f"{clinic.slug}-courses")
    stock.add_stock(clinic, nurse, today)
    courses = clinical.add_courses(patients, prescriber, nurse, tms, rng, today)
    stock.closing_count(clinic, nurse)
    return len(courses)


def _clinic(spec: dict, summary: Summary) -> Clinic:
    clinic, created = Clinic.objects.get_or_create(slug=spec["slug"], defaults=spec)
    summary.clinics += created
    return clinic


def _staff(username, first, last, role, clinic, summary: Summary) -> Membership:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(
            username,
            email=f"{username}@{clinic.slug}.example",
            password=DEMO_PASSWORD,
            first_name=first,
            last_name=last,
        )
        summary.staff += 1
    membership, _ = Membership.objects.get_or_create(
        user=user, clinic=clinic, defaults={"role": role}
    )
    return membership


def _patient(actor: Actor, rng: random.Random, today: date, number: int) -> Patient:
    sex = rng.choice([Sex.FEMALE, Sex.MALE])
    given, family = rng.choice(GIVEN[sex]), rng.choice(FAMILY)
    birth_date = today - timedelta(days=rng.randint(20 * 365, 72 * 365))
    rng.randint(0, 99), rng.randint(1000, 9999)  # the old phone numbers' draws: the same demo
    patient = patients.register_patient(
        actor,
        given_name=given,
        family_name=family,
        birth_date=birth_date,
        sex=sex,
        # 555-0100 to 555-0199 are the numbers set aside for fiction, in the clinic's area code.
        phone=f"+1 {actor.clinic.phone.split()[1]} 555 01{number:02d}",
        email=f"{given.lower()}.{family.lower()}{number}@example.com",  # two may share a name
        # Agreed to automated texts on the intake form, ten weeks ago.
        sms_consent_at=datetime.combine(
            today - timedelta(days=70), time(10), tzinfo=actor.clinic.tzinfo
        ),
    )
    # Weighed at the intake visit, before any course started.
    patients.record_measurement(
        actor,
        patient,
        measured_on=today - timedelta(days=rng.randint(40, 70)),
        weight_kg=round(rng.gauss(72 if sex == Sex.FEMALE else 84, 12), 1),
        height_cm=rng.randint(155, 175) if sex == Sex.FEMALE else rng.randint(168, 190),
    )
    return patient


def _screening(actor: Actor, patient: Patient, rng: random.Random, *, sign: bool) -> None:
    answers = dict(ORDINARY)
    for share, change in VARIATIONS:
        if rng.random() < share and not (patient.sex == Sex.MALE and "breastfeeding" in change):
            answers.update(change)
    answers["bp_systolic"] = rng.randint(108, 152)
    answers["bp_diastolic"] = rng.randint(66, 94)
    answers["benzodiazepine_mg_lorazepam_eq"] = rng.choice([0, 0, 0, 0.5, 1, 2, 4])
    if rng.random() < 0.1:
        answers.pop("seizure_history", None)  # not yet asked: needs information
    failed = rng.choice([1, 2, 2, 3, 3, 4])
    trials = [
        {
            "drug": drug,
            "weeks": rng.choice([6, 8, 10, 12]),
            "adequate_dose": True,
            "outcome": "inadequate_response",
        }
        for drug in rng.sample(DRUGS, failed)
    ]
    screening = patients.create_screening(actor, patient, answers, trials)
    if sign:
        patients.sign_screening(actor, screening, acknowledge_cautions=True)


def _request(clinic: Clinic, actor: Actor, row: tuple) -> None:
    given, family, phone, email, times, status = row
    request = patients.submit_request(
        clinic,
        {
            "given_name": given,
            "family_name": family,
            "phone": phone,
            "email": email,
            "preferred_times": times,
            "reason": "Depression that has not responded to medication.",
            "consent_to_contact": True,
        },
        address="demo-loader",
        source=RequestSource.WEB,
    )
    if status != RequestStatus.NEW:
        patients.set_request_status(actor, request, status)
