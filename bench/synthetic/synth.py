"""The synthetic clinic network: a realistic, deterministic history written in bulk.

``generate(clinics, patients, seed)`` fills an empty database (after ``migrate``) with ``clinics``
clinics (slugs ``synth-001`` …), each with staff of every role, and ``patients`` patients spread
evenly over them — the network's total, not per clinic. Each patient has a weight and height and
a screening (nearly always signed); most have a treatment course of IV ketamine, esketamine or
TMS started in the last ``days`` days (two years by default), some a second one after a relapse
or a switch of treatment. A course has its sessions (documented and signed when past: vital
signs, the infusion, esketamine (with its REMS form) or TMS record, weekly motor thresholds),
the questionnaire schedule of ``trellis.measures.schedule.plan``, and PHQ-9/GAD-7 answers along
a trajectory that responds, remits, relapses or not at the rates of DOMAIN.md §7, with
follow-ups 1, 3 and 6 months after the course. Every PHQ-9 item 9 above 0, every vital sign at
an alert level and every TMS seizure has its safety alert, as the services would raise it.

Deterministic: the same seed, size and ``now`` give the same rows, UUIDs included. Each patient
draws from a generator seeded by the network's, so patient *n* is the same person whatever
history the others got.

It is a test-data generator run by an operator: it writes no audit events and does not go
through the services; it inserts with ``bench.synthetic.bulk`` in one transaction per chunk of
patients, with ordered ids (``bulk.IdRandom``), the rows made in a second process while this one
writes (``_Producer``), and the tables' secondary indexes (and on PostgreSQL their foreign keys)
dropped for the load and put back once at the end (``bulk.deferred_schema``).
"""

from __future__ import annotations

import json
import marshal
import math
import multiprocessing
import os
import pickle
import queue
import random
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import connection, transaction
from django.utils import timezone

from bench.synthetic import bulk
from bench.synthetic import population as pop
from bench.synthetic.books import GROUP_SHARE, KETAMINE_NDC_11, ClinicBooks
from bench.synthetic.bulk import Clock, IdRandom, Table, day_number, hyphenated, to_date
from trellis.accounts.models import Clinic, Membership, User
from trellis.audit.models import AuditEvent
from trellis.billing import coding
from trellis.billing import selectors as billing_selectors
from trellis.billing.models import Charge, Diagnosis, Fee
from trellis.controlled.models import Container, LedgerEntry, Receipt, SessionDraw
from trellis.groups.models import (
    Attendance,
    Cohort,
    Enrolment,
    GroupNote,
    GroupProgram,
    Meeting,
    MeetingBooking,
    MemberSection,
)
from trellis.measures import instruments
from trellis.measures import schedule as measure_schedule
from trellis.measures.models import Measure, ScheduledMeasure
from trellis.measures.services import schedule_policy
from trellis.patients.models import BodyMeasurement, Patient, Screening
from trellis.patients.services import clinic_thresholds
from trellis.reports import outcomes
from trellis.reports.models import CourseOutcome
from trellis.safety.models import SafetyAlert
from trellis.scheduling.models import Appointment, Resource, ResourceBlock
from trellis.treatments import documentation as doc
from trellis.treatments import dosing
from trellis.treatments import schedule as session_schedule
from trellis.treatments.models import (
    Course,
    EsketamineRecord,
    InfusionRecord,
    MotorThreshold,
    Protocol,
    RemsForm,
    Session,
    TmsRecord,
    VitalSign,
)

SLUG_PREFIX = "synth-"
DEFAULT_DAYS = 730
PATIENTS_PER_CHUNK = 200  # small enough that the last chunk, written alone, is short
FIRST_CHUNK = 50  # small, so that writing starts at once
# SQLite triggers that search their own table on each insert (scheduling migration 0002):
# dropped for the load, whose appointments are free by construction (``books._free``).
SEARCHING_TRIGGERS = frozenset({"appointment_no_overlap_insert"})


class SynthError(Exception):
    """The network cannot be generated into this database; the message says why."""


@dataclass
class SynthResult:
    rows: int
    seconds: float
    rows_per_second: float
    rebuild_seconds: float = 0.0  # of ``seconds``, putting back what was dropped for the load
    indexes: int = 0  # indexes built at the end
    foreign_keys: int = 0  # foreign keys added at the end (PostgreSQL)
    tables: dict[str, int] = field(default_factory=dict)  # "app.model" -> rows written
    clinics: list[str] = field(default_factory=list)  # their slugs


# --- Contexts -----------------------------------------------------------------------------------


@dataclass
class _ClinicContext:
    number: int  # 1 for synth-001
    id: str
    slug: str
    name: str
    tz: str
    address: str
    phone: str
    prefix: str
    today: int  # the clinic's local day number
    staff: dict[str, list[tuple[int, str]]]  # role -> [(user id, full name)]
    protocols: dict[str, tuple[str, dict]]  # code -> (id as stored, defaults)
    policy: measure_schedule.Policy
    escalation_minutes: int
    opened: int  # when the clinic's books were set up (seconds)
    days: int  # of history
    visit_code: str
    payer_type: str


@dataclass
class _PatientContext:
    id: str
    name: str
    birth: str
    sex: str
    weight: Decimal
    intake: int
    prescriber: tuple[int, str]
    nurse: int
    screening: str
    allowed: tuple[str, ...]
    bp: tuple[int, int]
    heart_rate: int
    head: tuple[str, ...]
    motor_threshold: int
    slot: int  # local seconds of the patient's usual appointment
    had_esketamine: bool = False
    diagnoses: str = "[]"  # the problem list's codes, as a charge carries them


@dataclass
class _CourseContext:
    id: str
    modality: str
    code: str
    documenter: tuple[int, str]
    signer: tuple[int, str]
    created: int = 0
    booked: list[tuple] = field(default_factory=list)  # every session, for its appointment


def _tables() -> dict[str, Table]:
    """Every table filled per patient, parents first."""
    spec = {
        "fee": (Fee, "id clinic code amount updated_by updated_at"),
        "resource": (Resource, "id clinic kind name make model coil ordering"),
        "patient": (
            Patient,
            "id clinic mrn given_name family_name birth_date sex phone email created_at updated_at",
        ),
        "measurement": (
            BodyMeasurement,
            "id clinic patient measured_on weight_kg height_cm recorded_by recorded_at",
        ),
        "screening": (
            Screening,
            "id clinic patient answers trials age_years thresholds trd findings created_by "
            "created_at updated_at signed_by signed_at cautions_acknowledged",
        ),
        "course": (
            Course,
            "id clinic patient protocol modality start_date status screening payer "
            "authorization_ref authorized_units created_by created_at ended_at end_reason",
        ),
        "session": (
            Session,
            "id clinic patient course number planned_date planned_time phase status started_at "
            "ended_at documented_by signed_by signed_at",
        ),
        "threshold": (
            MotorThreshold,
            "id clinic patient measured_on percent_output method device measured_by recorded_at",
        ),
        "vital": (
            VitalSign,
            "id clinic patient session taken_at label bp_systolic bp_diastolic heart_rate spo2 "
            "respiratory_rate flags recorded_by recorded_at",
        ),
        "infusion": (
            InfusionRecord,
            "session weight_kg weight_measured_on dose_mg_per_kg minutes vial_mg_per_ml "
            "diluent_ml dose_mg drug_ml total_ml bag_mg_per_ml rate_ml_per_h "
            "infusion_started_at infusion_ended_at cadss6 moaas_lowest side_effects "
            "discharge_vitals_in_range discharge_moaas_5 escort_present discharged_at",
        ),
        "esketamine": (
            EsketamineRecord,
            "session dose_mg lot_numbers first_device_at first_treatment co_medications "
            "vitals_acceptable_pre sedation sedation_resolved_at dissociation "
            "dissociation_resolved_at respiratory_depression ready_to_leave_at "
            "monitoring_ended_at vitals_acceptable_end side_effects",
        ),
        "tms": (
            TmsRecord,
            "session device coil motor_threshold intensity_pct_mt intensity_pct_output "
            "target_method tragus_tragus_cm nasion_inion_cm circumference_cm beam_x_cm beam_y_cm "
            "neuronav_coordinates pulses_planned pulses_delivered interruptions discomfort "
            "side_effects seizure",
        ),
        "rems": (
            RemsForm,
            "id clinic patient session due_date status fields signed_by signed_at submitted_by "
            "submitted_at submission_reference",
        ),
        "measure": (
            Measure,
            "id clinic patient course instrument answers difficulty total severity suicide_item "
            "observed_at entered_via recorded_by created_at",
        ),
        "scheduled": (
            ScheduledMeasure,
            "id clinic patient course key occasion label instrument opens_on due_on closes_on "
            "measure",
        ),
        "alert": (
            SafetyAlert,
            "id clinic patient kind severity summary source_type source_id status raised_by "
            "created_at acknowledged_by acknowledged_at actions note next_escalation_at",
        ),
        "diagnosis": (Diagnosis, "id clinic patient code label added_by added_at"),
        "receipt": (
            Receipt,
            "id clinic substance ndc form amount_per_container_ug volume_per_container_ml lot "
            "expires_on containers supplier_name supplier_address supplier_dea invoice_number "
            "invoice_date received_on received_by created_at",
        ),
        "container": (
            Container,
            "id clinic receipt number substance form lot expires_on received_ug balance_ug "
            "administered_ug wasted_ug kit",
        ),
        "ledger": (
            LedgerEntry,
            "id seq clinic container kind amount_ug balance_after_ug patient session actor "
            "witness method note refers_to created_at prev_hash hash",
        ),
        "draw": (SessionDraw, "id clinic session container amount_ug chosen_by chosen_at entry"),
        "program": (
            GroupProgram,
            "id clinic name sessions minutes description created_by created_at",
        ),
        "cohort": (
            Cohort,
            "id clinic program start_date start_time room capacity created_by created_at",
        ),
        "facilitator": (Cohort.facilitators.through, "cohort user"),
        "enrolment": (
            Enrolment,
            "id clinic cohort patient status joined_at enrolled_at created_by",
        ),
        "block": (
            ResourceBlock,
            "id clinic resource start end kind note created_by created_at",
        ),
        "meeting": (
            Meeting,
            "id clinic cohort number start end day room_block attendance_taken_at "
            "attendance_taken_by",
        ),
        "note": (
            GroupNote,
            "id clinic meeting author topic interventions participant_count status signed_at "
            "signed_by created_at",
        ),
        "appointment": (
            Appointment,
            "id clinic patient kind start end day resource staff session status status_reason "
            "created_by created_at confirmed_at checked_in_at completed_at cancelled_at "
            "no_show_at",
        ),
        "booking": (MeetingBooking, "id clinic meeting enrolment appointment"),
        "attendance": (
            Attendance,
            "id clinic meeting enrolment patient status recorded_by recorded_at billing_code "
            "billing_units participant_count",
        ),
        "section": (
            MemberSection,
            "id clinic note attendance patient participation response",
        ),
        "charge": (
            Charge,
            "id clinic patient source source_id line session service_date place_of_service code "
            "units unit_fee amount diagnosis_codes participant_count ndc ndc_quantity "
            "rendering_provider created_by created_at",
        ),
    }
    return {name: Table(model, columns.split()) for name, (model, columns) in spec.items()}


def _hhmmss(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:00"


# --- The generator ------------------------------------------------------------------------------


class _Network:
    def __init__(self, seed: int, now: datetime, days: int) -> None:
        self.master = random.Random(seed)  # noqa: S311 (test data)
        self.now = int(now.timestamp())
        self.days = days
        self.vendor = connection.vendor
        self.clock = Clock(self.vendor)
        self.t = _tables()
        self.by_label = {table.label: table for table in self.t.values()}
        self.counts: dict[str, int] = {}
        self.severity = {
            code: [
                instruments.severity_band(code, total).code
                for total in range(instruments.get_instrument(code).max_total + 1)
            ]
            for code in ("phq9", "gad7")
        }
        pools = random.Random("synth-pools")  # noqa: S311 (test data)
        self.answers = pop.answer_pool(pools)
        self.cadss6 = [json.dumps([pools.randint(0, 2) for _ in range(6)]) for _ in range(24)]
        self.effects = {
            pop.IV: pop.effect_pool(pools, pop.KETAMINE_EFFECTS),
            pop.ESK: pop.effect_pool(pools, pop.ESKETAMINE_EFFECTS),
            pop.TMS: pop.effect_pool(pools, pop.TMS_EFFECTS),
        }
        self.heads = pop.heads()
        self.infusions: dict[Decimal, dosing.Infusion] = {}
        self.iv_doses: dict[Decimal, tuple[int, str]] = {}
        # A 40-minute infusion [R126, R127]: (code, units) as ``billing.coding`` gives them.
        self.iv_lines = tuple((ln.code, ln.units) for ln in coding.infusion_codes(minutes=40))
        self.books: ClinicBooks | None = None
        self.session_plans: dict[tuple[str, int], list[tuple]] = {}
        self.measure_plans: dict[tuple, list[tuple]] = {}

    # -- plans, cached: thousands of patients share a start day --------------------------------

    def _sessions(self, code: str, start: int) -> list[tuple[int, int, int | None, str]]:
        """(number, day, planned local seconds or None, phase) of a protocol from ``start``."""
        key = (code, start)
        plan = self.session_plans.get(key)
        if plan is None:
            plan = self.session_plans[key] = [
                (
                    p.number,
                    day_number(p.planned_date),
                    p.planned_time.hour * 3600 + p.planned_time.minute * 60
                    if p.planned_time
                    else None,
                    str(p.phase),
                )
                for p in session_schedule.plan_sessions(code, to_date(start))
            ]
        return plan

    def _measure_plan(self, ctx: _ClinicContext, modality: str, kept: list[tuple]) -> list[tuple]:
        """The questionnaires ``trellis.measures.schedule.plan`` asks for, with day numbers."""
        key = (modality, ctx.policy, tuple(kept))
        plan = self.measure_plans.get(key)
        if plan is None:
            sessions = [measure_schedule.PlannedSession(n, to_date(d)) for n, d in kept]
            plan = self.measure_plans[key] = [
                (
                    due.key,
                    due.occasion.value,
                    due.label,
                    due.instrument,
                    day_number(due.opens_on),
                    day_number(due.due_on),
                    day_number(due.closes_on),
                    due.session_number,
                )
                for due in measure_schedule.plan(modality, sessions, ctx.policy)
            ]
        return plan

    def _infusion(self, weight: Decimal) -> dosing.Infusion:
        found = self.infusions.get(weight)
        if found is None:
            # 0.5 mg/kg over 40 minutes; a 50 mg/mL vial into 100 mL [R1, R10, R11].
            found = self.infusions[weight] = dosing.calculate_infusion(
                weight, Decimal("0.5"), 40, Decimal("50"), Decimal("100")
            )
        return found

    def _iv_dose(self, weight: Decimal) -> tuple[int, str]:
        """An infusion's dose in micrograms, and in mg as a charge's NDC quantity holds it."""
        found = self.iv_doses.get(weight)
        if found is None:
            dose = self._infusion(weight).dose_mg
            found = self.iv_doses[weight] = (int(dose * 1000), f"{dose:.3f}")
        return found

    # -- clinics and staff: a few rows, through the ORM ----------------------------------------

    def clinics(self, count: int) -> list[_ClinicContext]:
        rng = self.master
        slugs = [f"{SLUG_PREFIX}{n:03d}" for n in range(1, count + 1)]
        taken = sorted(Clinic.objects.filter(slug__in=slugs).values_list("slug", flat=True))
        if taken:
            raise SynthError(
                f"clinic {taken[0]} already exists ({len(taken)} of the {count} synth clinic "
                "slugs are taken). synth fills an empty network: run it into a fresh database "
                "after migrate."
            )
        protocols = {
            p.code: (p.id.hex, p.defaults) for p in Protocol.objects.filter(clinic__isnull=True)
        }
        wanted = {*pop.PROTOCOL_FOR.values(), *(code for code, _ in pop.TMS_PROTOCOLS)}
        missing = wanted - set(protocols)
        if missing:
            raise SynthError(f"built-in protocols missing ({', '.join(sorted(missing))}): migrate")
        joined = datetime.fromtimestamp(self.now - (self.days + 60) * 86400, UTC)
        clinics, users, memberships, staff_of = [], [], [], []
        for n, slug in enumerate(slugs, start=1):
            city, tz, area = pop.CITIES[(n - 1) % len(pop.CITIES)]
            suffix = "" if n <= len(pop.CITIES) else f" {n}"
            clinic = Clinic(
                id=bulk.version_8(rng.getrandbits(128)),
                slug=slug,
                name=f"{city}{suffix} Clinic (synthetic)",
                timezone=tz,
                address=f"{100 + n} Main Street, {city}",
                phone=f"+1 {area} 555 {n:04d}",
                mrn_prefix=f"S{n:03d}",
            )
            clinics.append(clinic)
            staff: dict[str, list[tuple[User, str]]] = {}
            for role, how_many in pop.STAFF:
                for k in range(1, how_many + 1):
                    first = rng.choice(pop.GIVEN_F if rng.random() < 0.6 else pop.GIVEN_M)
                    last = rng.choice(pop.FAMILY)
                    user = User(
                        username=f"{slug}-{role.value.replace('_', '-')}-{k}",
                        first_name=first,
                        last_name=last,
                        email=f"{role.value}{k}@{slug}.example",
                        password=f"{UNUSABLE_PASSWORD_PREFIX}{rng.getrandbits(160):040x}",
                        date_joined=joined,
                    )
                    users.append(user)
                    memberships.append(
                        Membership(user=user, clinic=clinic, role=role, created_at=joined)
                    )
                    staff.setdefault(role.value, []).append((user, f"{first} {last}"))
            staff_of.append(staff)
        taken_user = User.objects.filter(username__in=[u.username for u in users]).first()
        if taken_user is not None:
            raise SynthError(
                f"user {taken_user.username} already exists: synth fills an empty network; "
                "run it into a fresh database after migrate."
            )
        with transaction.atomic():
            Clinic.objects.bulk_create(clinics)
            User.objects.bulk_create(users)
            for membership in memberships:
                membership.user_id = membership.user.pk
            Membership.objects.bulk_create(memberships)
        self.counts.update(
            {
                "accounts.clinic": len(clinics),
                "accounts.membership": len(memberships),
                "accounts.user": len(users),
            }
        )
        thresholds = clinic_thresholds(clinics[0])
        self.profiles = pop.profiles(thresholds)
        self.thresholds = json.dumps(asdict(thresholds))
        return [
            _ClinicContext(
                number=number,
                id=clinic.id.hex,
                slug=clinic.slug,
                name=clinic.name,
                tz=clinic.timezone,
                address=clinic.address,
                phone=clinic.phone,
                prefix=clinic.mrn_prefix,
                today=self.clock.local_day(clinic.timezone, self.now),
                staff={
                    role: [(user.pk, full) for user, full in members]
                    for role, members in staff.items()
                },
                protocols=protocols,
                policy=schedule_policy(clinic),
                escalation_minutes=clinic.setting("alert_escalation_minutes"),
                opened=int(joined.timestamp()),
                days=self.days,
                visit_code=billing_selectors.visit_code(clinic),
                payer_type=billing_selectors.payer_type(clinic),
            )
            for number, (clinic, staff) in enumerate(zip(clinics, staff_of, strict=True), start=1)
        ]

    # -- one patient ---------------------------------------------------------------------------

    def patient(self, ctx: _ClinicContext, number: int, seed: int) -> None:
        r = IdRandom(seed, ctx.number, number)
        clock, t = self.clock, self.t
        pid = r.uuid()
        roll = r.random()
        sex = "female" if roll < 0.6 else "male" if roll < 0.99 else "other"
        given = r.choice(pop.GIVEN_M if sex == "male" else pop.GIVEN_F)
        family = r.choice(pop.FAMILY)
        age = 19 + int(r.random() * 58)
        birth = ctx.today - int(age * 365.25) - int(r.random() * 360)
        intake = ctx.today - 20 - int(r.random() * self.days)
        nurse = r.choice(ctx.staff["nurse"])[0]
        prescriber = r.choice(ctx.staff["prescriber"])
        registered = clock.utc(ctx.tz, intake, 9 * 3600 + int(r.random() * 28800))
        t["patient"].rows.append(
            (
                pid,
                ctx.id,
                f"{ctx.prefix}-{number:06d}",
                given,
                family,
                clock.day(birth),
                sex,
                f"+1 555 01{int(r.random() * 100):02d} {1000 + int(r.random() * 9000)}",
                f"{given.lower()}.{family.lower()}.{number}@example.com",
                clock.ts(registered),
                clock.ts(registered),
            )
        )
        female = sex == "female"
        kg = r.gauss(72, 14) if female else r.gauss(86, 15)
        weight = Decimal(f"{min(160.0, max(45.0, kg)):.1f}")
        height = 152 + int(r.random() * 24) if female else 165 + int(r.random() * 28)
        t["measurement"].rows.append(
            (
                r.uuid(),
                ctx.id,
                pid,
                clock.day(intake),
                str(weight),
                f"{height}.0",
                nurse,
                clock.ts(registered + 1200),
            )
        )
        profile = r.choice(self.profiles)
        screened = registered + 1800
        signed = r.random() < 0.95
        signed_at = clock.utc(ctx.tz, intake + int(r.random() * 3), 16 * 3600) if signed else None
        screening = r.uuid()
        t["screening"].rows.append(
            (
                screening,
                ctx.id,
                pid,
                profile.answers,
                profile.trials,
                age,
                self.thresholds,
                profile.trd,
                profile.findings,
                r.choice((nurse, prescriber[0])),
                clock.ts(screened),
                clock.ts(signed_at or screened),
                prescriber[0] if signed else None,
                clock.ts(signed_at) if signed else None,
                profile.needs_ack and signed,
            )
        )
        if not signed or not profile.allowed or r.random() < 0.06:
            return  # screened, not treated (declined, contraindicated, still deciding)
        patient = _PatientContext(
            id=pid,
            name=f"{given} {family}",
            birth=clock.day(birth),
            sex=sex.title(),
            weight=weight,
            intake=intake,
            prescriber=prescriber,
            nurse=nurse,
            screening=screening,
            allowed=profile.allowed,
            bp=(108 + int(r.random() * 28), 66 + int(r.random() * 18)),
            heart_rate=60 + int(r.random() * 26),
            head=r.choice(self.heads),
            motor_threshold=45 + int(r.random() * 24),
            slot=8 * 3600 + int(r.random() * 16) * 1800,
        )
        modality = _pick(r, profile.allowed)
        start = intake + 7 + int(r.random() * 21)
        if start > ctx.today + 10:
            return
        # The prescriber puts depression on the problem list before the course.
        self.books.diagnosis(patient, r, signed_at + 600)
        if modality != pop.TMS and r.random() < GROUP_SHARE:
            self.books.members.append((start, pid, patient.diagnoses))
        end_day, relapsed, responded = self.course(ctx, patient, r, modality, start)
        if end_day is None:
            return
        # A second course: the same treatment after a relapse, another after no response.
        again = relapsed and r.random() < 0.5
        switch = not responded and r.random() < 0.3
        if switch:
            others = [m for m in patient.allowed if m != modality]
            if not others:
                return
            modality = r.choice(others)
        if again or switch:
            start = end_day + (120 if again else 30) + int(r.random() * 60)
            if start <= ctx.today:
                self.course(ctx, patient, r, modality, start)

    # -- one course ----------------------------------------------------------------------------

    def course(self, ctx, patient, r, modality: str, start: int):
        """Write a course from day ``start``; return (its last session's day if it has ended,
        whether a responder relapsed, whether it responded)."""
        clock, t, now = self.clock, self.t, self.now
        code = pop.PROTOCOL_FOR.get(modality) or _pick_protocol(r)
        protocol_id, defaults = ctx.protocols[code]
        planned = self._sessions(code, start)
        documenter = r.choice(ctx.staff["tms_technician" if modality == pop.TMS else "nurse"])
        course = _CourseContext(
            id=r.uuid(),
            modality=modality,
            code=code,
            documenter=documenter,
            signer=patient.prescriber if modality == pop.IV else documenter,
        )
        # Sessions before today were held; a stopped course ends after some of them.
        held = sum(1 for s in planned if s[1] < ctx.today)
        stop_after = None
        if r.random() < pop.STOP_SHARE[modality]:
            candidate = max(1, int(len(planned) * (0.2 + 0.5 * r.random())))
            if candidate < len(planned) and candidate <= held:
                stop_after = held = candidate
        slot = patient.slot if modality != pop.ESK else 9 * 3600 + int(r.random() * 8) * 1800
        minutes = {pop.IV: 110, pop.ESK: 125}.get(modality, 40 if code == "tms-10hz" else 10)
        # Started (and its schedule planned) before the baseline questionnaire is answered.
        created = clock.utc(ctx.tz, start - 8 - int(r.random() * 6), 15 * 3600)
        course.created = min(created, now - 60)
        sessions = self._write_sessions(
            ctx, patient, r, course, planned, held, stop_after, slot, minutes, defaults
        )
        if stop_after is not None:
            # Stopped a few days after the last session held.
            stopped = clock.utc(ctx.tz, sessions[-1][2] + 1 + int(r.random() * 3), 11 * 3600)
            ended_at = min(stopped, now - 3600)
            status, reason = "stopped", r.choice(pop.STOP_REASONS)
        elif held == len(planned):
            ended_at, status, reason = sessions[-1][5], "completed", ""
        else:
            ended_at, status, reason = None, "active", ""
        # IV ketamine for depression is off-label and mostly self-pay [R73].
        payer = "Self-pay" if modality == pop.IV else r.choice(pop.PAYERS)
        insured = payer != "Self-pay"
        self.books.appointments(patient, r, course, minutes, ended_at)
        t["course"].rows.append(
            (
                course.id,
                ctx.id,
                patient.id,
                protocol_id,
                modality,
                clock.day(start),
                status,
                patient.screening,
                payer,
                f"PA-{int(r.random() * 1e7):07d}" if insured else "",
                (36 if modality == pop.TMS else 12) if insured else None,
                patient.prescriber[0],
                clock.ts(course.created),
                clock.ts(ended_at) if ended_at is not None else None,
                reason,
            )
        )
        kept = [(n, d) for n, d, *_ in (planned if stop_after is None else planned[:held])]
        rates = pop.RATES[code] if stop_after is None else pop.STOPPED_RATES
        relapsed, responded = self._questionnaires(ctx, patient, r, course, kept, sessions, rates)
        if ended_at is None or not sessions:
            return None, False, responded
        return sessions[-1][2], relapsed, responded

    def _write_sessions(
        self, ctx, patient, r, course, planned, held, stop_after, slot, minutes, defaults
    ):
        """The course's sessions; the held ones documented and signed. Returns the held ones as
        (id, number, day, started, ended, signed)."""
        clock, t, books = self.clock, self.t, self.books
        sessions, booked = [], course.booked
        later_dose = 84 if r.random() < 0.6 else 56
        threshold = (None, None, patient.motor_threshold)  # id, day measured, % output
        had_seizure = False
        for index, (number, day, planned_time, phase) in enumerate(planned):
            sid = r.uuid()
            local = planned_time if planned_time is not None else slot
            if index >= held:
                status = "cancelled" if stop_after is not None else "planned"
                t["session"].rows.append(
                    (sid, ctx.id, patient.id, course.id, number, clock.day(day), _hhmmss(local),
                     phase, status, None, None, None, None, None)
                )  # fmt: skip
                booked.append((sid, day, local, status, None, None))
                continue
            started = clock.utc(ctx.tz, day, local)
            ended = started + minutes * 60
            signed = ended + 300 + int(r.random() * 900)
            t["session"].rows.append(
                (sid, ctx.id, patient.id, course.id, number, clock.day(day), _hhmmss(local),
                 phase, "signed", clock.ts(started), clock.ts(ended), course.documenter[0],
                 course.signer[0], clock.ts(signed))
            )  # fmt: skip
            sessions.append((sid, number, day, started, ended, signed))
            booked.append((sid, day, local, "signed", started, ended))
            nurse = course.documenter[0]
            if course.modality == pop.IV:
                self._infusion_record(ctx, patient, r, course, (sid, number), started)
                # Signing draws the dose chosen at the dosing step and writes the charges.
                ug, mg = self._iv_dose(patient.weight)
                books.dose(signed, sid, patient.id, pop.IV, ug, nurse, started + 300)
                books.session_charges(
                    patient, r, course, (sid, day, signed), self.iv_lines, (KETAMINE_NDC_11, mg)
                )
            elif course.modality == pop.ESK:
                first = number == 1 and not patient.had_esketamine
                # Day 1 56 mg, then 56 or 84 mg [R22].
                dose = 56 if number < 3 else later_dose
                self._esketamine_record(
                    ctx, patient, r, course, (sid, number, day), started, signed, dose, first
                )
                books.dose(signed, sid, patient.id, pop.ESK, dose * 1000, nurse, started - 600)
                books.session_charges(
                    patient, r, course, (sid, day, signed), books.esketamine_lines(dose)
                )
            else:
                if threshold[1] is None or day - threshold[1] >= 7:
                    # Re-measured weekly: it moves by more than 5 % in half of sessions [R40].
                    percent = patient.motor_threshold + int(r.random() * 5) - 2
                    threshold = (r.uuid(), day, percent)
                    t["threshold"].rows.append(
                        (threshold[0], ctx.id, patient.id, clock.day(day), threshold[2],
                         "emg" if r.random() < 0.85 else "visual", "NeuroStar Advanced Therapy",
                         course.documenter[0], clock.ts(started - 600))
                    )  # fmt: skip
                # 90867 the first session, 90869 when the threshold was measured that day [R50].
                code = "90867" if index == 0 else "90869" if threshold[1] == day else "90868"
                books.session_charges(patient, r, course, (sid, day, signed), ((code, 1),))
                seizure = not had_seizure and r.random() < pop.TMS_SEIZURE_PER_SESSION
                had_seizure = had_seizure or seizure
                self._tms_record(
                    ctx, patient, r, course, (sid, number), defaults, threshold, started, seizure,
                    index / len(planned),
                )  # fmt: skip
        if course.modality == pop.ESK and sessions:
            patient.had_esketamine = True
        return sessions

    # -- session records -----------------------------------------------------------------------

    def _vital(self, ctx, patient, r, session, taken, label, rise, recorder):
        """One set of vitals. Readings stay under the default flag levels, except the rare
        hypertensive peak at a ``rise`` [R6, R7], flagged (with an alert past the alert level)
        as ``record_vitals`` would."""
        sid, number = session
        systolic = patient.bp[0] + rise + int(r.random() * 9) - 4
        diastolic = patient.bp[1] + rise // 2 + int(r.random() * 7) - 3
        heart = patient.heart_rate + rise // 2 + int(r.random() * 9) - 4
        spo2 = 95 + int(r.random() * 5)
        breaths = 12 + int(r.random() * 6)
        flags = "[]"
        vid = r.uuid()
        if rise and r.random() < pop.BP_PEAK_PER_READING:
            systolic += 24 + int(r.random() * 16)
            diastolic += 12 + int(r.random() * 12)
            reading = {
                "bp_systolic": systolic,
                "bp_diastolic": diastolic,
                "heart_rate": heart,
                "spo2": spo2,
                "respiratory_rate": breaths,
            }
            found = doc.flag_reading(reading, doc.VitalLimits())
            flags = json.dumps([f.as_dict() for f in found])
            alerts = [f.message for f in found if f.level == doc.ALERT]
            if alerts:
                summary = "; ".join(alerts) + f" (session {number})"
                self._alert(
                    ctx, patient, r, ("vital_sign", "high", summary),
                    ("treatments.vitalsign", hyphenated(vid)), recorder, taken + 60, pop.VITAL_ACK,
                )  # fmt: skip
        self.t["vital"].rows.append(
            (vid, ctx.id, patient.id, sid, self.clock.ts(taken), label, systolic, diastolic,
             heart, spo2, breaths, flags, recorder, self.clock.ts(taken + 60))
        )  # fmt: skip
        return systolic, diastolic

    def _infusion_record(self, ctx, patient, r, course, session, started):
        clock = self.clock
        infusion = self._infusion(patient.weight)
        # BP every 10-15 minutes during and after; the rise peaks at 30-40 minutes [R5, R6].
        for minutes, label, rise in (
            (5, "pre-dose", 0),
            (25, "15 min", 6),
            (40, "30 min", 10),
            (55, "45 min", 8),
            (75, "post-infusion", 3),
            (100, "pre-discharge", 0),
        ):
            taken = started + minutes * 60
            self._vital(ctx, patient, r, session, taken, label, rise, course.documenter[0])
        self.t["infusion"].rows.append(
            (session[0], str(patient.weight), clock.day(patient.intake), "0.50", 40, "50.0",
             "100.0", str(infusion.dose_mg), str(infusion.drug_ml), str(infusion.total_ml),
             str(infusion.bag_mg_per_ml), str(infusion.rate_ml_per_h), clock.ts(started + 600),
             clock.ts(started + 3000), r.choice(self.cadss6), r.choice((3, 4, 4, 5, 5, 5)),
             r.choice(self.effects[pop.IV]), True, True, True,
             clock.ts(started + 6000 + int(r.random() * 600)))
        )  # fmt: skip

    def _esketamine_record(self, ctx, patient, r, course, session, started, signed, dose, first):
        clock, tz, nurse = self.clock, ctx.tz, course.documenter[0]
        sid, number, day = session
        # BP before dosing, at 40 minutes (the peak) and before discharge [R16, R22].
        pre = self._vital(ctx, patient, r, (sid, number), started - 300, "pre-dose", 0, nurse)
        peak = self._vital(ctx, patient, r, (sid, number), started + 2400, "40 min", 12, nurse)
        end = self._vital(ctx, patient, r, (sid, number), started + 7080, "pre-discharge", 2, nurse)
        sedation = r.random() < 0.5  # 48-61 % [R16]
        dissociation = r.random() < 0.68  # 61-75 % [R16]
        sedation_end = started + 1800 + int(r.random() * 2400) if sedation else None
        dissociation_end = started + 2400 + int(r.random() * 3000) if dissociation else None
        ready = started + 5100 + int(r.random() * 1800)
        monitored = started + 7200 + int(r.random() * 900)  # at least 2 hours [R28]
        lot = f"EK{10000 + int(r.random() * 90000)}"
        self.t["esketamine"].rows.append(
            (sid, dose, lot, clock.ts(started), first, "[]", True, sedation,
             clock.ts(sedation_end) if sedation else None, dissociation,
             clock.ts(dissociation_end) if dissociation else None, False, clock.ts(ready),
             clock.ts(monitored), True, r.choice(self.effects[pop.ESK]))
        )  # fmt: skip
        fields = {  # as trellis.treatments.sessions.rems_fields writes them
            "patient_name": patient.name,
            "patient_birth_date": patient.birth,
            "patient_sex": patient.sex,
            "first_treatment": first,
            "co_medications": [],
            "monitoring_hcp": course.documenter[1],
            "setting_name": ctx.name,
            "setting_address": ctx.address,
            "setting_phone": ctx.phone,
            "treatment_date": clock.day(day),
            "dose": f"{dose} mg",
            "devices": dose // 28,
            "lot_numbers": lot,
            "first_device_at": clock.local_text(tz, started),
            "monitoring_ended_at": clock.local_text(tz, monitored),
            "total_monitoring_minutes": (monitored - started) // 60,
            "ready_to_leave_at": clock.local_text(tz, ready),
            "vitals_acceptable_pre": True,
            "vitals_acceptable_end": True,
            "bp_pre_dose": f"{pre[0]}/{pre[1]}",
            "bp_40_min": f"{peak[0]}/{peak[1]}",
            "bp_pre_discharge": f"{end[0]}/{end[1]}",
            "sedation": sedation,
            "sedation_resolved_at": clock.local_text(tz, sedation_end) if sedation else "",
            "dissociation": dissociation,
            "dissociation_resolved_at": (
                clock.local_text(tz, dissociation_end) if dissociation else ""
            ),
            "respiratory_depression": False,
            "respiratory_depression_resolved_at": "",
        }
        # Filed when the session is signed and due within 7 days [R30]: older ones are in.
        days_ago = (self.now - signed) // 86400
        if days_ago >= 7 or (days_ago >= 2 and r.random() < 0.5):
            status = "submitted"
        elif days_ago >= 2 or r.random() < 0.5:
            status = "signed"
        else:
            status = "draft"
        form_signed = signed + 1800 if status != "draft" else None
        submitted = None
        if status == "submitted":
            submitted = min(form_signed + 86400 * (1 + int(r.random() * 4)), self.now - 60)
        self.t["rems"].rows.append(
            (r.uuid(), ctx.id, patient.id, sid, clock.day(day + 7), status, json.dumps(fields),
             course.signer[0] if form_signed else None,
             clock.ts(form_signed) if form_signed else None, nurse if submitted else None,
             clock.ts(submitted) if submitted else None,
             f"PMF-{int(r.random() * 1e8):08d}" if submitted else "")
        )  # fmt: skip

    def _tms_record(
        self, ctx, patient, r, course, session, defaults, threshold, started, seizure, progress
    ):
        pct = defaults.get("intensity_pct_mt", 120)
        pulses = defaults.get("pulses", 3000)
        navigated = course.code == "tms-accelerated-itbs"  # SAINT: neuronavigation [R36]
        tt, ni, cf, x, y = (None,) * 5 if navigated else patient.head
        interrupted = r.random() < 0.02
        delivered = pulses - int(r.random() * pulses * 0.3) if interrupted else pulses
        self.t["tms"].rows.append(
            (session[0], "MagVenture MagPro X100" if navigated else "NeuroStar Advanced Therapy",
             "Figure-8", threshold[0], pct, min(100, doc.intensity_pct_output(threshold[2], pct)),
             "neuronavigation" if navigated else "beam_f3", tt, ni, cf, x, y,
             "MNI −38, 44, 26" if navigated else "", pulses, delivered,
             "Paused for scalp discomfort, resumed" if interrupted else "",
             max(0, int((1 - progress) * 5 + r.random() * 3) - 1), r.choice(self.effects[pop.TMS]),
             seizure)
        )  # fmt: skip
        if seizure:
            self._alert(
                ctx, patient, r, ("seizure", "urgent", f"Seizure during TMS session {session[1]}"),
                ("treatments.session", hyphenated(session[0])), course.documenter[0],
                started + 900, pop.SEIZURE_ACK,
            )  # fmt: skip

    def _alert(self, ctx, patient, r, what, source, raised_by, created, acknowledgement):
        """A safety alert; those of the last two days may still be open, every other one was
        acknowledged by a prescriber with an action note."""
        clock = self.clock
        kind, severity, summary = what
        created = min(created, self.now - 60)
        is_open = self.now - created < 2 * 86400 and r.random() < 0.6
        note, actions = acknowledgement
        acknowledged = min(created + 600 + int(r.random() * 3000), self.now - 30)
        self.t["alert"].rows.append(
            (r.uuid(), ctx.id, patient.id, kind, severity, summary[:300], source[0], source[1],
             "open" if is_open else "acknowledged", raised_by, clock.ts(created),
             None if is_open else patient.prescriber[0],
             None if is_open else clock.ts(acknowledged), "[]" if is_open else actions,
             "" if is_open else note,
             clock.ts(created + ctx.escalation_minutes * 60) if is_open else None)
        )  # fmt: skip

    # -- questionnaires ------------------------------------------------------------------------

    def _questionnaires(self, ctx, patient, r, course, kept, sessions, rates: pop.Rates):
        """The course's schedule and the answers given to it; returns (a responder relapsed
        within 6 months, the course responded)."""
        plan = self._measure_plan(ctx, course.modality, kept)
        if not plan:
            return False, False
        baseline = min(27, max(11, round(r.gauss(18.5, 3.5))))
        roll = r.random()
        if roll < rates.remission:
            final = int(r.random() * 5)  # below 5: remission [R59]
        elif roll < rates.response:
            final = 5 + int(r.random() * (baseline // 2 - 4))  # 5 up to half the baseline
        elif roll < rates.response + (1 - rates.response) * 0.45:
            low = baseline // 2 + 1  # a partial response: a fall of 25-49 %
            final = low + int(r.random() * max(1, baseline * 3 // 4 - low + 1))
        else:
            low = baseline * 3 // 4 + 1  # a fall under 25 %, or worse
            final = min(27, low + int(r.random() * max(1, baseline - low + 3)))
        responded = 2 * final <= baseline
        durable = r.random()
        relapsed_by = {
            months: responded and durable > share
            for months, share in zip((1, 3, 6), rates.durable, strict=True)
        }
        gad_baseline = 8 + int(r.random() * 11)
        first_day = kept[0][1]
        span = max(1, kept[-1][1] - first_day)
        started = {s[1]: s[3] for s in sessions}
        answered: dict[tuple[str, str], str] = {}
        for key, occasion, _label, instrument, opens, due, _closes, number in plan:
            at = self._answered_at(ctx, patient, r, occasion, key, opens, due, started.get(number))
            if at is None or at >= self.now - 3600:
                continue
            if occasion == "follow_up":
                if relapsed_by.get(int(key.split("-")[-1].rstrip("m"))):
                    phq = round(baseline * (0.55 + 0.4 * r.random()))
                else:
                    ceiling = baseline // 2 if responded else 27
                    phq = min(ceiling, max(0, final + int(r.random() * 5) - 2))
            elif occasion == "baseline":
                phq = baseline
            elif occasion == "end_of_course":
                phq = final
            else:
                share = min(1.0, (due - first_day) / span)
                phq = _along(baseline, final, share, rates.fall_speed, r)
            answered[key, instrument] = self._measure(
                ctx, patient, r, course, instrument, occasion, phq, baseline, gad_baseline, at
            )
        for key, occasion, label, instrument, opens, due, closes, _number in plan:
            self.t["scheduled"].rows.append(
                (r.uuid(), ctx.id, patient.id, course.id, key, occasion, label, instrument,
                 self.clock.day(opens), self.clock.day(due), self.clock.day(closes),
                 answered.get((key, instrument)))
            )  # fmt: skip
        return any(relapsed_by.values()), responded

    def _answered_at(self, ctx, patient, r, occasion, key, opens, due, session_start):
        """When a scheduled questionnaire is answered (None: missed), inside its window."""
        clock, tz = self.clock, ctx.tz
        if occasion == "follow_up":
            if r.random() >= pop.FOLLOW_UP_ANSWERED.get(int(key.split("-")[-1].rstrip("m")), 0.6):
                return None
            # Never inside the 21-day end-of-course window of a course stopped a few days
            # after its last session: at least 25 days after that session.
            day = due - 3 + int(r.random() * 17)
            return clock.utc(tz, day, 9 * 3600 + int(r.random() * 36000))
        if r.random() >= pop.ANSWERED[occasion]:
            return None
        if occasion == "before_session":
            start = session_start or clock.utc(tz, due, patient.slot)
            return start - 900 - int(r.random() * 2700)
        if occasion == "baseline":
            day = due - 1 - int(r.random() * 6)
        elif occasion == "weekly":
            day = due - 2 + int(r.random() * 5)
        else:  # end of course: in the week and a bit after the last session
            day = opens + 1 + int(r.random() * 9)
        return clock.utc(tz, day, 9 * 3600 + int(r.random() * 32400))

    def _measure(self, ctx, patient, r, course, instrument, occasion, phq, baseline, gad0, at):
        """One answered questionnaire (and its alert when PHQ-9 item 9 is above 0); its id."""
        if instrument == "gad7":
            total = min(21, max(0, round(gad0 * phq / baseline) + int(r.random() * 3) - 1))
            item9 = None
        else:
            total = phq
            if occasion == "baseline":
                chance = pop.ITEM9_BASELINE
            else:
                chance = 0.04 if phq >= 15 else 0.012 if phq >= 10 else 0.002
            item9 = 0
            if r.random() < chance:
                item9 = 1 if r.random() < 0.8 else 2 if r.random() < 0.8 else 3
            item9 = max(min(item9, total), total - 24)
        mid = r.uuid()
        via = r.random()
        entered = "patient_link" if via < 0.55 else "staff" if via < 0.96 else "api"
        recorder = None if entered == "patient_link" else course.documenter[0]
        created = at if entered == "patient_link" else at + 300
        self.t["measure"].rows.append(
            (mid, ctx.id, patient.id, course.id, instrument,
             r.choice(self.answers[instrument, total, item9 or 0]),
             int(r.random() * 4) if instrument == "phq9" else None, total,
             self.severity[instrument][total], item9, self.clock.ts(at), entered, recorder,
             self.clock.ts(created))
        )  # fmt: skip
        if item9:
            band = self.severity["phq9"][total].replace("_", " ")
            summary = (
                f"Answered “{pop.ITEM9_WORDS[item9]}” ({item9} of 3) · PHQ-9 total {total}, "
                f"{band} · {pop.ENTERED_WORDS[entered]}"
            )
            severity = instruments.SUICIDE_ITEM_ALERT_SEVERITIES[item9]
            self._alert(
                ctx, patient, r, ("suicide_item", severity, summary),
                ("measures.measure", hyphenated(mid)), recorder, created, pop.ITEM9_ACK,
            )  # fmt: skip
        return mid

    # -- writing ---------------------------------------------------------------------------------

    def take(self) -> list[tuple[str, list[tuple]]]:
        """The rows generated since the last call, table by table: (label, rows)."""
        return [(table.label, table.take()) for table in self.t.values()]

    def write(self, batch: list[tuple[str, list[tuple]]]) -> int:
        """Insert one batch (as ``take`` gives it) in one transaction; return the rows written."""
        written = 0
        tables = self.by_label
        with transaction.atomic(), connection.cursor() as wrapper:
            for label, rows in batch:
                count = tables[label].write(wrapper.cursor, rows)
                self.counts[label] = self.counts.get(label, 0) + count
                written += count
        return written

    def chunks(self, contexts: list[_ClinicContext], per_clinic: list[int]) -> Iterator[tuple]:
        """Generate the patients chunk by chunk, yielding (patients done, ``take()``) at the end
        of each: ``FIRST_CHUNK`` patients (small, so that writing starts at once), then every
        ``PATIENTS_PER_CHUNK``, and the rest (an empty network is one empty chunk)."""
        total = sum(per_clinic)
        ends = {min(FIRST_CHUNK, total), *range(PATIENTS_PER_CHUNK, total, PATIENTS_PER_CHUNK)}
        done = 0
        for ctx, count in zip(contexts, per_clinic, strict=True):
            self.books = ClinicBooks(self, ctx, count, self.master.getrandbits(64))
            for number in range(1, count + 1):
                self.patient(ctx, number, self.master.getrandbits(64))
                done += 1
                if number == count:  # the clinic's own rows go with its last patients
                    self.books.finish()
                if done in ends:
                    yield done, self.take()
            if count == 0:
                self.books.finish()
        if done == 0 or done not in ends or any(table.rows for table in self.t.values()):
            yield done, self.take()


class _Producer:
    """The patients' rows, made in a child process while this one writes them.

    Making rows and inserting them each take about a core's worth of Python; in two threads
    they would share one core (the GIL), so the rows are made in a forked process (which
    inherits the network as it stands, and never touches the database) and come back through
    a queue, ``marshal``-ed (the rows hold only str, int, bool and None). The child may run
    ``AHEAD`` chunks ahead, so that neither waits for the other while their pace varies. (A
    second child was measured slower: three busy processes on two cores slow the writer more
    than they feed it.) Where ``fork`` is missing the rows are made in this process, between
    writes.

    Messages: ``R`` + a marshalled (done, batch); ``E`` + a pickled exception raised in the
    child; ``.`` at the end.
    """

    AHEAD = 3

    def __init__(self, network: _Network, contexts: list[_ClinicContext], per_clinic: list[int]):
        self.args = (network, contexts, per_clinic)
        self.child = None

    def __enter__(self) -> Iterator[tuple[int, list]]:
        network, contexts, per_clinic = self.args
        if "fork" not in multiprocessing.get_all_start_methods():
            return network.chunks(contexts, per_clinic)
        fork = multiprocessing.get_context("fork")
        self.queue = fork.Queue(maxsize=self.AHEAD)
        self.child = fork.Process(
            target=_produce,
            args=(*self.args, self.queue, os.getpid()),
            name="synth-producer",
            daemon=True,
        )
        self.child.start()
        return self._received()

    def _received(self) -> Iterator[tuple[int, list]]:
        while True:
            try:
                message = self.queue.get(timeout=1)
            except queue.Empty:
                if self.child.is_alive():
                    continue
                raise SynthError(
                    f"the process making the rows stopped (exit code {self.child.exitcode})"
                ) from None
            kind = message[:1]
            if kind == b"R":
                yield marshal.loads(message[1:])  # noqa: S302 (from our own child process)
            elif kind == b"E":
                raise pickle.loads(message[1:])  # noqa: S301 (from our own child process)
            else:
                return

    def __exit__(self, *exc) -> None:
        if self.child is None:
            return
        self.child.join(timeout=5 if exc[0] is None else 0)
        if self.child.is_alive():  # the writer failed: what the child makes is not wanted
            self.child.kill()
            self.child.join()
        self.queue.close()


def _produce(network: _Network, contexts, per_clinic, out, parent: int) -> None:
    """The child process of ``_Producer``."""

    def put(message: bytes) -> None:
        while True:
            try:
                out.put(message, timeout=1)
                return
            except queue.Full:
                if os.getppid() != parent:  # the writer is gone
                    os._exit(1)

    try:
        for item in network.chunks(contexts, per_clinic):
            put(b"R" + marshal.dumps(item))
        put(b".")
    except BaseException as error:  # handed to the writer, which raises it
        error.add_note("".join(traceback.format_exception(error)).rstrip())
        try:
            body = pickle.dumps(error)
        except Exception:
            body = pickle.dumps(RuntimeError(f"{type(error).__name__}: {error}"))
        put(b"E" + body)


def _pick(r: random.Random, allowed: tuple[str, ...]) -> str:
    roll = r.random() * sum(pop.MODALITY_WEIGHTS[m] for m in allowed)
    for modality in allowed:
        roll -= pop.MODALITY_WEIGHTS[modality]
        if roll < 0:
            return modality
    return allowed[-1]


def _pick_protocol(r: random.Random) -> str:
    roll = r.random()
    for code, share in pop.TMS_PROTOCOLS:
        roll -= share
        if roll < 0:
            return code
    return pop.TMS_PROTOCOLS[-1][0]


def _along(start: int, final: int, share: float, speed: float, r: random.Random) -> int:
    """The score ``share`` of the way through the course: most of the fall early for fast
    treatments, a point of noise either way."""
    eased = (1 - math.exp(-speed * share)) / (1 - math.exp(-speed))
    return min(27, max(0, round(start - (start - final) * eased) + int(r.random() * 3) - 1))


def refuse_real_data() -> None:
    """Raise ``SynthError`` unless every clinic in the database is synth's and nobody has used it.

    Real means made by Trellis itself: a clinic whose id is not a version 8 UUID (synth marks
    its clinics and patients so; Trellis makes random version 4 ids), or any audit event (synth
    writes none, and everything people do in Trellis is audited, the demo's loader included).
    Patients belong to clinics, so a real patient means a real clinic or an audit event. A
    database with no clinic at all (freshly migrated, perhaps an administrator account) is
    empty and accepted.
    """
    real = [
        name for pk, name in Clinic.objects.values_list("pk", "name") if not bulk.is_synthetic(pk)
    ]
    if real:
        listed = ", ".join(sorted(real)[:3]) + (" …" if len(real) > 3 else "")
        raise SynthError(
            f"this database holds {len(real)} real clinic{'s' if len(real) > 1 else ''} "
            f"({listed}): synth writes unaudited test data with its indexes dropped, so it "
            "refuses any database with clinics it did not write. Run it into a fresh database "
            "after migrate."
        )
    if AuditEvent.objects.exists():
        raise SynthError(
            "this database has an audit trail, so people have used it: synth writes unaudited "
            "test data and refuses such a database. Run it into a fresh database after migrate."
        )


def generate(
    clinics: int,
    patients: int,
    seed: int,
    *,
    progress: Callable[[int, int, int], None] | None = None,
    stage: Callable[[str], None] | None = None,
    now: datetime | None = None,
    days: int = DEFAULT_DAYS,
) -> SynthResult:
    """Write a synthetic network of ``clinics`` clinics and ``patients`` patients in all.

    ``progress(done, total, rows)`` is called after each chunk of patients, ``stage(text)`` when
    the work turns to something else (building the indexes). ``now`` (default:
    the current time) ends the history, which covers ``days`` days. Raises ``SynthError`` when
    the database holds real data (``refuse_real_data``), when a synth clinic or account already
    exists, or when the built-in protocols are missing.
    """
    if not 1 <= clinics <= 999:
        raise SynthError("--clinics must be from 1 to 999")
    if patients < 0:
        raise SynthError("--patients must be 0 or more")
    if days < 60:
        raise SynthError("--days must be at least 60")
    refuse_real_data()
    began = time.perf_counter()
    bulk.restore_schema()  # a killed run's, before anything else
    network = _Network(seed, (now or timezone.now()).replace(microsecond=0), days)
    per_clinic = [patients // clinics + (i < patients % clinics) for i in range(clinics)]
    if per_clinic[0] > bulk.MAX_PATIENT:
        raise SynthError(f"at most {bulk.MAX_PATIENT:,} patients a clinic: add clinics")
    contexts = network.clinics(clinics)
    rows = sum(network.counts.values())
    loaded = rebuilt = time.perf_counter()
    with (
        bulk.deferred_schema(
            [table.model for table in network.t.values()], SEARCHING_TRIGGERS
        ) as deferred,
        _bulk_settings([table.model._meta.db_table for table in network.t.values()]),
    ):
        with _Producer(network, contexts, per_clinic) as chunks:
            for done, batch in chunks:
                rows += network.write(batch)
                if progress is not None:
                    progress(done, patients, rows)
        loaded = time.perf_counter()
        if stage is not None and (deferred.indexes or deferred.foreign_keys):
            stage(f"putting back {deferred}")
        deferred.rebuild()
        if stage is not None:
            stage("computing each course's outcome facts")
        # The load wrote around the models, so the outcome facts they keep are computed here.
        outcomes.rebuild([ctx.id for ctx in contexts])
        rebuilt = time.perf_counter()
    for ctx, count in zip(contexts, per_clinic, strict=True):
        Clinic.objects.filter(slug=ctx.slug).update(next_mrn=count + 1)
    if connection.vendor == "postgresql":
        # Fresh statistics, or the planner takes the new tables for nearly empty ones until
        # autovacuum comes round (SQLite keeps none unless asked).
        with connection.cursor() as cursor:
            for table in network.t.values():
                cursor.execute(f"ANALYZE {table.quoted}")
            # And the outcome facts computed above, which the dashboard groups.
            cursor.execute(f"ANALYZE {connection.ops.quote_name(CourseOutcome._meta.db_table)}")
    seconds = time.perf_counter() - began
    return SynthResult(
        rows=rows,
        seconds=seconds,
        rows_per_second=rows / seconds if seconds > 0 else 0.0,
        rebuild_seconds=rebuilt - loaded,
        indexes=deferred.indexes,
        foreign_keys=deferred.foreign_keys,
        tables=dict(sorted(network.counts.items())),
        clinics=[ctx.slug for ctx in contexts],
    )


@contextmanager
def _bulk_settings(tables: list[str]):
    """On SQLite, a bigger page cache for this connection while synth writes (its indexes
    outgrow the default 2 MB at once), the foreign keys of ``tables`` checked once at the end
    rather than a lookup per reference per row, and no wait for the disk at each commit
    (``synchronous = OFF``): synth writes only into a database it has found empty of real
    data (``refuse_real_data``), which a crash mid-load leaves to be made again anyway. Both
    are put back as settings.py sets them."""
    if connection.vendor != "sqlite":
        yield
        return
    # Inside a transaction (a test's) SQLite refuses to change ``synchronous`` and keeps
    # checking foreign keys row by row.
    outside = not connection.in_atomic_block
    unchecked = outside and connection.disable_constraint_checking()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (previous,) = cursor.fetchone()
        cursor.execute("PRAGMA synchronous")
        (synchronous,) = cursor.fetchone()
        cursor.execute("PRAGMA cache_size = -1048576")  # KiB: 1 GiB
        if outside:
            cursor.execute("PRAGMA synchronous = OFF")
    try:
        yield
        if unchecked:
            # Every row against its foreign keys once, with the indexes back, as adding them
            # back does on PostgreSQL; an IntegrityError names the first that fails.
            connection.check_constraints(table_names=tables)
    finally:
        if unchecked:
            connection.enable_constraint_checking()
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")
            if outside:
                cursor.execute(f"PRAGMA synchronous = {int(synchronous)}")
