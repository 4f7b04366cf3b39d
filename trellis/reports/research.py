"""The de-identified research export (DOMAIN.md §17; docs/research-export.md).

A clinic administrator asks for it; the worker builds five CSV files from the clinic's records:
patients, courses, sessions, scores and a data dictionary. What leaves, and what never does:

- **Safe Harbor** (the default) [R138]: none of the 18 identifiers. Names, addresses, phone
  numbers, e-mail, MRNs, record ids, lot numbers and every free-text field are never read into
  a file; each patient and course is a random pseudonym new to this export; dates are years;
  ages over 89 are ``90+``; geography is the ZIP3, ``000`` for small areas [R139]; lot numbers
  and device serials stay out [R140].
- **Limited data set** (only with the data use agreement it is disclosed under recorded)
  [R141]: as above, but dates are given as dates, each patient's moved by one random offset
  kept for all of that patient's dates in the export, and ages are exact (90 and over too).
- Patients who opted out (``research_opt_out``) are left out entirely. Psychotherapy notes and
  every other note never enter it [R100].

Every request and every download is audited (EXPORT).

The files are read in one snapshot — one REPEATABLE READ transaction, so every file sees the
same moment and a course never names a patient its ``patients.csv`` lacks — on the streaming
replica when there is one (``trellis.lib.replica``), else on the primary; they are then written
to the primary in a transaction of their own (all of them, or none).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.exceptions import ObjectDoesNotExist
from django.db import DatabaseError, connections, transaction
from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone

from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.lib import replica
from trellis.lib.csvfile import SafeWriter
from trellis.lib.errors import InputError
from trellis.measures import services as measures
from trellis.measures.models import Measure
from trellis.patients import access
from trellis.patients.models import Patient
from trellis.reports import deidentify
from trellis.reports.models import ResearchExport, ResearchFile, ResearchStatus
from trellis.treatments.models import Course, Session

logger = logging.getLogger(__name__)

FILES = ("patients.csv", "courses.csv", "sessions.csv", "scores.csv", "data_dictionary.csv")
ROWS = 2_000  # rows read from the database at a time


@transaction.atomic
def request_research_export(
    actor, *, limited_data_set: bool = False, dua_reference: str = ""
) -> ResearchExport:
    """Record the request; the worker builds it. A limited data set needs its data use
    agreement [R141]."""
    access.require(actor, Perm.RESEARCH_EXPORT)
    dua_reference = (dua_reference or "").strip()
    if limited_data_set and not dua_reference:
        raise InputError(
            "dua_reference",
            "a limited data set is disclosed only under a data use agreement: name it",
        )
    if len(dua_reference) > 200:
        raise InputError("dua_reference", "at most 200 characters")
    export = ResearchExport.objects.create(
        clinic=actor.clinic,
        requested_by=actor.user,
        limited_data_set=limited_data_set,
        dua_reference=dua_reference if limited_data_set else "",
    )
    record_for(
        actor,
        Action.EXPORT,
        obj=export,
        object_type="reports.researchexport",
        detail={
            "research_export": "limited_data_set" if limited_data_set else "safe_harbor",
            "dua_reference": export.dua_reference,
        },
    )
    return export


def exports_for(actor) -> list[ResearchExport]:
    access.require(actor, Perm.RESEARCH_EXPORT)
    return list(
        ResearchExport.objects.filter(clinic=actor.clinic)
        .select_related("requested_by")
        .order_by("-created_at")[:50]
    )


def export_for(actor, pk) -> ResearchExport:
    """One of the clinic's exports: another clinic's is 404, a role without the right 403."""
    export = ResearchExport.objects.filter(pk=pk).first()
    if export is None or export.clinic_id != actor.clinic.pk:
        raise Http404("No such export.")
    access.require(actor, Perm.RESEARCH_EXPORT)
    return export


def file_for(actor, export: ResearchExport, name: str) -> ResearchFile:
    row = export.files.filter(name=name).first()
    if row is None or export.status != ResearchStatus.COMPLETE:
        raise Http404("No such file.")
    record_for(
        actor,
        Action.EXPORT,
        obj=export,
        object_type="reports.researchexport",
        detail={"file": name},
    )
    return row


# Building the files --------------------------------------------------------------------------


@dataclass
class _Context:
    today: date
    tz: object
    limited: bool
    taken: set[str] = field(default_factory=set)
    patients: dict = field(default_factory=dict)  # patient id → pseudonym
    offsets: dict = field(default_factory=dict)  # patient id → timedelta (limited data set)
    courses: dict = field(default_factory=dict)  # course id → (pseudonym, patient id)

    def day(self, patient_id, value) -> str:
        """A date or instant as the export gives it: the year, or the shifted date."""
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = timezone.localtime(value, self.tz).date()
        if self.limited:
            return (value + self.offsets[patient_id]).isoformat()
        return str(value.year)


def _writer() -> tuple[io.StringIO, SafeWriter]:
    buffer = io.StringIO()
    return buffer, SafeWriter(buffer)


def _patients(export: ResearchExport, ctx: _Context) -> str:
    buffer, out = _writer()
    out.writerow(["patient", "age" if ctx.limited else "age_group", "sex", "zip3"])
    rows = (
        Patient.objects.filter(clinic=export.clinic, research_opt_out=False)
        .order_by("pk")
        .only("pk", "birth_date", "sex", "address")
    )
    for patient in rows.iterator(chunk_size=ROWS):
        ctx.patients[patient.pk] = deidentify.pseudonym("P", ctx.taken)
        if ctx.limited:
            ctx.offsets[patient.pk] = deidentify.date_offset()
        age = deidentify.age_on(patient.birth_date, ctx.today)
        out.writerow(
            [
                ctx.patients[patient.pk],
                age if ctx.limited else deidentify.age_group(age),
                patient.sex,
                deidentify.zip3(patient.address),
            ]
        )
    return buffer.getvalue()


def _courses(export: ResearchExport, ctx: _Context) -> str:
    buffer, out = _writer()
    out.writerow(
        [
            "course",
            "patient",
            "modality",
            "protocol",
            "start_date" if ctx.limited else "start_year",
            "status",
            "baseline_phq9",
            "latest_phq9",
            "change_pct",
            "response",
            "remission",
        ]
    )
    rows = (
        Course.objects.filter(clinic=export.clinic, patient__research_opt_out=False)
        .select_related("protocol")
        .prefetch_related(
            Prefetch(
                "measures",
                Measure.objects.filter(instrument="phq9").only(
                    "pk", "course_id", "instrument", "total", "observed_at"
                ),
            )
        )
        .order_by("pk")
    )
    for course in rows.iterator(chunk_size=ROWS):
        pseudonym = deidentify.pseudonym("C", ctx.taken)
        ctx.courses[course.pk] = (pseudonym, course.patient_id)
        outcome = measures.course_outcome(course, course.measures.all())
        out.writerow(
            [
                pseudonym,
                ctx.patients[course.patient_id],
                course.modality,
                course.protocol.code,
                ctx.day(course.patient_id, course.start_date),
                course.status,
                "" if outcome.baseline is None else outcome.baseline,
                "" if outcome.latest is None else outcome.latest,
                "" if outcome.change_pct is None else round(outcome.change_pct, 1),
                int(outcome.response),
                int(outcome.remission),
            ]
        )
    return buffer.getvalue()


def _dose(session) -> str:
    """The dose given, in mg: IV infusion, esketamine or oral (never a lot number)."""
    for record in ("infusion", "esketamine", "oral"):
        try:
            dose = getattr(session, record).dose_mg
        except ObjectDoesNotExist:  # no record of that kind for this session
            dose = None
        if dose is not None:
            return str(dose)
    return ""


def _sessions(export: ResearchExport, ctx: _Context) -> str:
    buffer, out = _writer()
    out.writerow(["course", "number", "date" if ctx.limited else "year", "status", "dose_mg"])
    rows = (
        Session.objects.filter(clinic=export.clinic, patient__research_opt_out=False)
        .select_related("infusion", "esketamine", "oral")
        .only(
            "pk",
            "course_id",
            "patient_id",
            "number",
            "planned_date",
            "status",
            "infusion__dose_mg",
            "esketamine__dose_mg",
            "oral__dose_mg",
        )
        .order_by("course_id", "number", "pk")
    )
    for session in rows.iterator(chunk_size=ROWS):
        course, patient_id = ctx.courses[session.course_id]
        out.writerow(
            [
                course,
                session.number,
                ctx.day(patient_id, session.planned_date),
                session.status,
                _dose(session),
            ]
        )
    return buffer.getvalue()


def _scores(export: ResearchExport, ctx: _Context) -> str:
    buffer, out = _writer()
    out.writerow(["patient", "course", "instrument", "total", "date" if ctx.limited else "year"])
    rows = (
        Measure.objects.filter(clinic=export.clinic, patient__research_opt_out=False)
        .only("pk", "patient_id", "course_id", "instrument", "total", "observed_at")
        .order_by("patient_id", "observed_at", "pk")
    )
    for measure in rows.iterator(chunk_size=ROWS):
        course = ctx.courses.get(measure.course_id, ("", None))[0]
        out.writerow(
            [
                ctx.patients[measure.patient_id],
                course,
                measure.instrument,
                measure.total,
                ctx.day(measure.patient_id, measure.observed_at),
            ]
        )
    return buffer.getvalue()


def _dictionary(ctx: _Context) -> str:
    when = (
        "the date, moved by this patient's random offset (the same for all of the patient's "
        "dates in this export)"
        if ctx.limited
        else "the year only"
    )
    rows = [
        ("patients.csv", "patient", "a random pseudonym, new in this export"),
        (
            "patients.csv",
            "age" if ctx.limited else "age_group",
            "age in years on the export's day"
            if ctx.limited
            else "age on the export's day in ten-year groups; every age over 89 is 90+",
        ),
        ("patients.csv", "sex", "female, male, other or unknown"),
        (
            "patients.csv",
            "zip3",
            "first three digits of the ZIP code; 000 for areas of 20,000 people or fewer "
            "(2000 Census); empty when none is recorded",
        ),
        ("courses.csv", "course", "a random pseudonym, new in this export"),
        ("courses.csv", "patient", "the patient's pseudonym in patients.csv"),
        ("courses.csv", "modality", "iv_ketamine, esketamine, oral_ketamine or tms"),
        ("courses.csv", "protocol", "the protocol's code"),
        ("courses.csv", "start_date" if ctx.limited else "start_year", f"course start: {when}"),
        ("courses.csv", "status", "active, completed or stopped"),
        ("courses.csv", "baseline_phq9", "the earliest PHQ-9 total of the course"),
        ("courses.csv", "latest_phq9", "the latest PHQ-9 total in the outcome window"),
        ("courses.csv", "change_pct", "per cent change from baseline (negative: better)"),
        ("courses.csv", "response", "1: PHQ-9 fell by 50 % or more from baseline"),
        ("courses.csv", "remission", "1: latest PHQ-9 below 5"),
        ("sessions.csv", "course", "the course's pseudonym in courses.csv"),
        ("sessions.csv", "number", "the session's number in its course"),
        ("sessions.csv", "date" if ctx.limited else "year", f"the session's day: {when}"),
        (
            "sessions.csv",
            "status",
            "planned, booked, in_progress, signed, cancelled, no_show or not_given",
        ),
        ("sessions.csv", "dose_mg", "ketamine or esketamine given, mg (TMS: empty)"),
        ("scores.csv", "patient", "the patient's pseudonym in patients.csv"),
        ("scores.csv", "course", "the course's pseudonym, when the score belongs to one"),
        ("scores.csv", "instrument", "phq9 or gad7"),
        ("scores.csv", "total", "the questionnaire's total score"),
        ("scores.csv", "date" if ctx.limited else "year", f"when it was answered: {when}"),
    ]
    buffer, out = _writer()
    out.writerow(["file", "column", "meaning"])
    for row in rows:
        out.writerow(row)
    return buffer.getvalue()


@contextmanager
def _snapshot(alias: str) -> Iterator[None]:
    """One transaction on ``alias`` whose reads all see the same moment: REPEATABLE READ on
    PostgreSQL (a hot standby allows it); SQLite's transactions already do."""
    connection = connections[alias]
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=alias):
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def build_research_export(export: ResearchExport) -> ResearchExport:
    """Read the export's files in one snapshot (on the replica when there is one), then write
    them to the primary in one transaction: all of them, or none."""
    clinic = export.clinic
    ctx = _Context(
        today=timezone.localdate(timezone=clinic.tzinfo),
        tz=clinic.tzinfo,
        limited=export.limited_data_set,
    )
    with replica.from_replica(), _snapshot(replica.read_alias()):
        contents = {
            "patients.csv": _patients(export, ctx),
            "courses.csv": _courses(export, ctx),
            "sessions.csv": _sessions(export, ctx),
            "scores.csv": _scores(export, ctx),
            "data_dictionary.csv": _dictionary(ctx),
        }
    with transaction.atomic():
        ResearchFile.objects.bulk_create(
            ResearchFile(export=export, name=name, content=content)
            for name, content in contents.items()
        )
        export.status = ResearchStatus.COMPLETE
        export.patients = len(ctx.patients)
        export.completed_at = timezone.now()
        export.save(update_fields=["status", "patients", "completed_at"])
    return export


def run_pending(now: datetime | None = None) -> int:
    """The worker's job: build every export asked for, oldest first."""
    built = 0
    pending = ResearchExport.objects.filter(status=ResearchStatus.PENDING).select_related("clinic")
    for export in pending.order_by("created_at"):
        try:
            build_research_export(export)
            built += 1
        except DatabaseError:
            raise
        except Exception as error:
            logger.exception("Research export %s failed", export.pk)
            ResearchExport.objects.filter(pk=export.pk).update(
                status=ResearchStatus.FAILED, error=str(error)[:500], completed_at=timezone.now()
            )
    return built
