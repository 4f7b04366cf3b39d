"""Shared test personas: every role at clinic A, and a prescriber at clinic B who must get 404.

Test-only, and so allowed to import every app (it is not part of lib, which imports none)."""

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import TestCase
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from trellis.accounts.access import Actor
from trellis.accounts.models import Clinic, Membership, User
from trellis.accounts.permissions import Role
from trellis.patients.models import Patient, Sex
from trellis.patients.services import register_patient

PASSWORD = "correct horse battery staple"

# A complete intake with nothing that contraindicates or calls for caution (DESIGN.md §6).
SAFE_ANSWERS = {
    "pregnant": False,
    "breastfeeding": False,
    "psychosis": "none",
    "mania_current": False,
    "substance_use_disorder": "none",
    "ketamine_misuse": False,
    "bp_systolic": 122,
    "bp_diastolic": 78,
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
    "benzodiazepine_mg_lorazepam_eq": 0,
    "maoi_or_psychostimulant": False,
}

# Appending an audit event takes the chain's advisory lock on PostgreSQL: one more query.
AUDIT_LOCK_QUERIES = 1 if connection.vendor == "postgresql" else 0


def restore_builtin_protocols() -> None:
    """Put back the built-in protocols a data migration wrote. A transactional test (every
    browser test) empties the tables after it, and the next one that starts a course needs
    them again."""
    from trellis.treatments.models import Protocol
    from trellis.treatments.protocols import BUILTIN

    for spec in BUILTIN:
        Protocol.objects.update_or_create(clinic=None, code=spec["code"], defaults=spec)


def make_clinic(slug: str, name: str, prefix: str, tz: str = "America/New_York") -> Clinic:
    return Clinic.objects.create(slug=slug, name=name, mrn_prefix=prefix, timezone=tz)


def make_staff(username: str, clinic: Clinic, role: Role) -> User:
    user = User.objects.create_user(username, password=PASSWORD, first_name=username.title())
    Membership.objects.create(user=user, clinic=clinic, role=role)
    return user


def actor_for(user: User, clinic: Clinic) -> Actor:
    membership = Membership.objects.select_related("clinic").get(user=user, clinic=clinic)
    return Actor(user, membership, "127.0.0.1")


def make_patient(
    actor: Actor,
    given: str = "Ada",
    family: str = "Lovelace",
    birth_date: date = date(1980, 5, 17),
    sex: str = Sex.FEMALE,
) -> Patient:
    return register_patient(
        actor, given_name=given, family_name=family, birth_date=birth_date, sex=sex
    )


@contextmanager
def migration_database() -> Iterator[BaseDatabaseWrapper]:
    """An empty database of the test database's kind, standing in as the default one while the
    block runs.

    A test of one migration applies there only what its story needs (the migration, its
    ancestors and what it is checked against), instead of taking the whole test database back
    past every app that depends on it and forward again. Historical models and the migration's
    own code read and write through the default alias, so they reach this database.
    """
    real = connections[DEFAULT_DB_ALIAS]
    settings_dict = copy.deepcopy(real.settings_dict)
    postgres = real.vendor == "postgresql"
    if postgres:
        settings_dict["NAME"] = f"{real.settings_dict['NAME']}_migrations"
        quoted = real.ops.quote_name(settings_dict["NAME"])
        with real._nodb_cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quoted}")
            cursor.execute(f"CREATE DATABASE {quoted}")
    else:
        settings_dict["NAME"] = ":memory:"
    scratch = type(real)(settings_dict, DEFAULT_DB_ALIAS)
    connections[DEFAULT_DB_ALIAS] = scratch
    try:
        yield scratch
    finally:
        connections[DEFAULT_DB_ALIAS] = real
        if scratch.connection is not None:
            scratch.connection.close()
        if postgres:
            with real._nodb_cursor() as cursor:
                cursor.execute(f"DROP DATABASE {quoted}")


class TrellisTestCase(TestCase):
    """Clinic A with one member of staff per role and two patients; clinic B with its own."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.clinic_a = make_clinic("alpha", "Alpha Clinic", "ALP")
        cls.clinic_b = make_clinic("beta", "Beta Clinic", "BET", tz="America/Chicago")
        cls.admin = make_staff("admin", cls.clinic_a, Role.CLINIC_ADMIN)
        cls.prescriber = make_staff("prescriber", cls.clinic_a, Role.PRESCRIBER)
        cls.nurse = make_staff("nurse", cls.clinic_a, Role.NURSE)
        cls.tms = make_staff("tms", cls.clinic_a, Role.TMS_TECHNICIAN)
        cls.therapist = make_staff("therapist", cls.clinic_a, Role.THERAPIST)
        cls.front_desk = make_staff("frontdesk", cls.clinic_a, Role.FRONT_DESK)
        cls.prescriber_b = make_staff("prescriber_b", cls.clinic_b, Role.PRESCRIBER)
        cls.staff_a = {
            Role.CLINIC_ADMIN: cls.admin,
            Role.PRESCRIBER: cls.prescriber,
            Role.NURSE: cls.nurse,
            Role.TMS_TECHNICIAN: cls.tms,
            Role.THERAPIST: cls.therapist,
            Role.FRONT_DESK: cls.front_desk,
        }
        front = actor_for(cls.front_desk, cls.clinic_a)
        cls.patient = make_patient(front)
        cls.other_patient = make_patient(front, "Grace", "Hopper", date(1956, 12, 9))
        cls.patient_b = make_patient(
            actor_for(cls.prescriber_b, cls.clinic_b), "Alan", "Turing", date(1972, 6, 23), Sex.MALE
        )

    def sign_in(self, user: User) -> None:
        """Sign in with a verified second factor, as a member of staff would be."""
        self.client.force_login(user)
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, name="test", defaults={"confirmed": True}
        )
        session = self.client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
