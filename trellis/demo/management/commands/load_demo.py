"""A demo clinic network: two clinics, one account per role, a few dozen synthetic patients.

Idempotent: running it again finds everything in place and changes nothing.
"""

import random
from datetime import date, timedelta

from django.core.management.base import BaseCommand
from django.db import transaction

from trellis.accounts.access import Actor
from trellis.accounts.models import Clinic, Membership, User
from trellis.accounts.permissions import Role
from trellis.patients.models import Patient, Sex
from trellis.patients.services import register_patient

DEMO_PASSWORD = "trellis-demo-2026"  # noqa: S105 (published in README for the demo only)

CLINICS = [
    {
        "slug": "riverside",
        "name": "Riverside Interventional Psychiatry",
        "mrn_prefix": "RIV",
        "timezone": "America/New_York",
        "address": "120 River Street, Hartford, CT 06103",
        "phone": "+1 860 555 0100",
    },
    {
        "slug": "lakeshore",
        "name": "Lakeshore Ketamine & TMS Center",
        "mrn_prefix": "LAK",
        "timezone": "America/Chicago",
        "address": "44 Shoreline Drive, Chicago, IL 60601",
        "phone": "+1 312 555 0199",
    },
]

# (username, first, last, role, clinic slug)
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

GIVEN = {
    Sex.FEMALE: [
        "Amelia",
        "Grace",
        "Hannah",
        "Isabel",
        "Julia",
        "Maya",
        "Nora",
        "Olivia",
        "Rosa",
        "Sofia",
        "Tara",
        "Vera",
        "Wendy",
        "Zoe",
        "Claire",
        "Diane",
    ],
    Sex.MALE: [
        "Aaron",
        "Ben",
        "Carlos",
        "Daniel",
        "Elijah",
        "Felix",
        "George",
        "Henry",
        "Ivan",
        "Jonah",
        "Kevin",
        "Liam",
        "Marcus",
        "Omar",
        "Peter",
        "Samuel",
    ],
}
FAMILY = [
    "Anderson",
    "Brooks",
    "Castillo",
    "Dawson",
    "Ellis",
    "Fischer",
    "Garcia",
    "Hughes",
    "Iverson",
    "Jensen",
    "Khan",
    "Lopez",
    "Mitchell",
    "Nguyen",
    "Ortiz",
    "Patel",
    "Quinn",
    "Reyes",
    "Schmidt",
    "Turner",
    "Underwood",
    "Vasquez",
    "Walsh",
    "Young",
]

PATIENTS_PER_CLINIC = 30


class Command(BaseCommand):
    help = "Load the demo clinic network (safe to run again: it changes nothing the second time)."

    def handle(self, **options) -> None:
        with transaction.atomic():
            clinics = {spec["slug"]: self._clinic(spec) for spec in CLINICS}
            members = {
                (username, slug): self._staff(username, first, last, role, clinics[slug])
                for username, first, last, role, slug in STAFF
            }
            created = 0
            for slug, clinic in clinics.items():
                registrar = (
                    members["frontdesk", "riverside"]
                    if slug == "riverside"
                    else members["lakeshore", "lakeshore"]
                )
                created += self._patients(clinic, registrar, seed=slug)
        self.stdout.write(
            f"Demo network ready: {len(clinics)} clinics, {len(STAFF) - 1} staff accounts "
            f"(password {DEMO_PASSWORD!r}), {created} patients added."
        )

    def _clinic(self, spec: dict) -> Clinic:
        clinic, _ = Clinic.objects.get_or_create(slug=spec["slug"], defaults=spec)
        return clinic

    def _staff(self, username, first, last, role, clinic) -> Membership:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(
                username,
                email=f"{username}@{clinic.slug}.example",
                password=DEMO_PASSWORD,
                first_name=first,
                last_name=last,
            )
        membership, _ = Membership.objects.get_or_create(
            user=user, clinic=clinic, defaults={"role": role}
        )
        return membership

    def _patients(self, clinic: Clinic, registrar: Membership, seed: str) -> int:
        if Patient.objects.filter(clinic=clinic).exists():
            return 0
        rng = random.Random(seed)
        actor = Actor(registrar.user, registrar, "demo-loader")
        today = date(2026, 1, 1)
        for _ in range(PATIENTS_PER_CLINIC):
            sex = rng.choice([Sex.FEMALE, Sex.MALE])
            given = rng.choice(GIVEN[sex])
            family = rng.choice(FAMILY)
            register_patient(
                actor,
                given_name=given,
                family_name=family,
                birth_date=today - timedelta(days=rng.randint(19 * 365, 75 * 365)),
                sex=sex,
                phone=f"+1 555 01{rng.randint(0, 99):02d} {rng.randint(1000, 9999)}",
                email=f"{given.lower()}.{family.lower()}@example.com",
            )
        return PATIENTS_PER_CLINIC
