"""FHIR Bulk Data ``$export``: a clinic's resources as NDJSON files, built in the background
(Bulk Data Access IG [R136]; docs/fhir.md).

- ``EXPORTABLE`` is the one table of what an export can hold: each FHIR type with its sources,
  each one the rows it is built from, the permission that reads it, how ``_since`` applies to it
  (as the resource's ``meta.lastUpdated``) and the builder of ``trellis.fhir.resources`` or
  ``resources_clinical`` that turns a row into resources. A type built from several tables
  (Observation: questionnaires and vital signs; Encounter: sessions and appointments; CarePlan:
  courses and combined plans) has one source per table, exported in turn into files of that
  type. A new type or source joins exports by ``register`` (the same builders and row queries
  its reads and searches use, so a chunk costs a fixed number of queries). AuditEvent is not
  exported.
- ``GROUPS`` are the groups of patients Trellis offers for ``Group/[id]/$export``: the patients
  with an active course of one modality.
- ``request_export`` and ``cancel_export`` are the services behind the kick-off and DELETE;
  ``run_pending`` is the worker's job: it advances each export a chunk at a time (``CHUNK``
  rows read by key, never the whole table), each chunk one file and one transaction, so memory
  stays bounded and a cancelled export stops at the next chunk; ``expire_exports`` deletes the
  files after the clinic's ``bulk_export_hours``.
"""

from __future__ import annotations

import gzip
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time

import orjson
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone
from fhir.resources.R4B.group import Group

from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.fhir import resources, selectors_clinical
from trellis.fhir import resources_clinical as clinical
from trellis.fhir.models import ExportFile, ExportJob, ExportKind, ExportStatus
from trellis.lib import replica
from trellis.measures.models import Measure
from trellis.patients import access
from trellis.patients.modality import Modality
from trellis.patients.models import Patient
from trellis.plans.models import TreatmentPlan
from trellis.safety.models import AlertStatus, SafetyAlert
from trellis.treatments.models import Course, CourseStatus, Session, VitalSign

# Source rows read (and one file written) at a time.
CHUNK = 2_000
OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
RETRY_AFTER_SECONDS = 5

logger = logging.getLogger(__name__)


class ExportError(ValueError):
    """A kick-off parameter the server does not take (a 400 naming it)."""

    def __init__(self, param: str, rule: str):
        super().__init__(f"{param}: {rule}")
        self.param = param


@dataclass(frozen=True)
class Exportable:
    kind: str
    perm: Perm
    rows: Callable[[object], QuerySet]  # clinic → its rows of this type
    build: Callable[[object], Iterable[dict]]  # one row → its resources
    since: Callable[[datetime], Q]  # rows whose resources changed at or after the instant
    patient_field: str = "patient_id"


# FHIR type → the sources of its resources, in the order they are exported (a type built from
# more than one Trellis record has one per table: Observation, Encounter, CarePlan).
EXPORTABLE: dict[str, list[Exportable]] = {}


def register(exportable: Exportable) -> None:
    EXPORTABLE.setdefault(exportable.kind, []).append(exportable)


def type_perms(kind: str) -> list[Perm]:
    """What reading every resource of the type takes (as its search: each source's)."""
    return list(dict.fromkeys(part.perm for part in EXPORTABLE[kind]))


# What a session's Encounter reads (``resources.encounter``), and no other column.
ENCOUNTER_FIELDS = (
    "id",
    "patient_id",
    "course_id",
    "number",
    "status",
    "planned_date",
    "started_at",
    "ended_at",
    "signed_at",
    "course__protocol__name",
)


def _session_since(moment: datetime) -> Q:
    # As Encounter.meta.lastUpdated: signed, else started, else the planned day.
    return (
        Q(signed_at__gte=moment)
        | Q(signed_at__isnull=True, started_at__gte=moment)
        | Q(signed_at__isnull=True, started_at__isnull=True, planned_date__gte=moment.date())
    )


def _begun_since(moment: datetime) -> Q:
    # As Procedure.meta.lastUpdated: signed, else started.
    return Q(signed_at__gte=moment) | Q(signed_at__isnull=True, started_at__gte=moment)


def _dose_since(moment: datetime) -> Q:
    # As MedicationAdministration.meta.lastUpdated: signed, else started, else midnight (UTC)
    # of the planned day.
    utc = moment.astimezone(UTC)
    first_day = utc.date() if utc.time() == dt_time.min else utc.date() + timedelta(days=1)
    return _begun_since(moment) | Q(
        signed_at__isnull=True, started_at__isnull=True, planned_date__gte=first_day
    )


def _appointment_since(moment: datetime) -> Q:
    # As the appointment Encounter's meta.lastUpdated: the latest of its stamps.
    stamps = ("created", "confirmed", "checked_in", "completed", "cancelled", "no_show")
    return Q(*[Q(**{f"{stamp}_at__gte": moment}) for stamp in stamps], _connector=Q.OR)


def _courses(clinic) -> QuerySet:
    """The clinic's courses with their sessions (prefetched) and the combined plan each belongs
    to (``plan_id``), so a chunk of CarePlans costs a fixed number of queries."""
    plan = TreatmentPlan.objects.filter(
        Q(tms_course=OuterRef("pk")) | Q(dose_course=OuterRef("pk"))
    ).values("pk")[:1]
    return selectors_clinical._courses().filter(clinic=clinic).annotate(plan_id=Subquery(plan))


def _course_care_plan(course) -> list[dict]:
    return [clinical.care_plan(course, list(course.sessions.all()), course.plan_id)]


register(
    Exportable(
        "Patient",
        Perm.PATIENT_READ,
        lambda clinic: Patient.objects.filter(clinic=clinic),
        lambda row: [resources.patient(row)],
        lambda moment: Q(updated_at__gte=moment),
        patient_field="pk",
    )
)
register(
    Exportable(
        "Observation",
        Perm.MEASURE_READ,
        lambda clinic: Measure.objects.filter(clinic=clinic),
        resources.observations,
        lambda moment: Q(created_at__gte=moment),
    )
)
# Vital signs join the questionnaires' Observations, after them (as the search pages them).
register(
    Exportable(
        "Observation",
        Perm.SESSION_READ,
        lambda clinic: VitalSign.objects.filter(clinic=clinic),
        clinical.vital_observations,
        lambda moment: Q(recorded_at__gte=moment),
    )
)
register(
    Exportable(
        "QuestionnaireResponse",
        Perm.MEASURE_READ,
        lambda clinic: Measure.objects.filter(clinic=clinic),
        lambda row: [resources.questionnaire_response(row)],
        lambda moment: Q(created_at__gte=moment),
    )
)
register(
    Exportable(
        "Encounter",
        Perm.SESSION_READ,
        lambda clinic: (
            Session.objects.filter(clinic=clinic)
            .select_related("course__protocol")
            .only(*ENCOUNTER_FIELDS)
        ),
        lambda row: [resources.encounter(row)],
        _session_since,
    )
)
# Appointments that are no treatment session are Encounters too, after the sessions.
register(
    Exportable(
        "Encounter",
        Perm.SESSION_READ,
        lambda clinic: selectors_clinical._appointments().filter(clinic=clinic),
        lambda row: [clinical.appointment_encounter(row)],
        _appointment_since,
    )
)
register(
    Exportable(
        "Flag",
        Perm.ALERT_READ,
        lambda clinic: SafetyAlert.objects.filter(
            clinic=clinic, patient__isnull=False, status=AlertStatus.OPEN
        ),
        lambda row: [resources.flag(row)],
        lambda moment: Q(created_at__gte=moment) | Q(acknowledged_at__gte=moment),
    )
)
register(
    Exportable(
        "Procedure",
        Perm.SESSION_READ,
        lambda clinic: selectors_clinical._tms_sessions().filter(clinic=clinic),
        lambda row: [selectors_clinical._procedure(row)],
        _begun_since,
    )
)
register(
    Exportable(
        "MedicationAdministration",
        Perm.SESSION_READ,
        lambda clinic: selectors_clinical._dosed_sessions().filter(clinic=clinic),
        lambda row: [clinical.medication_administration(row)],
        _dose_since,
    )
)
# A course's CarePlan, then the combined plans (TMS with a ketamine-family course).
register(
    Exportable(
        "CarePlan",
        Perm.COURSE_READ,
        _courses,
        _course_care_plan,
        lambda moment: Q(ended_at__gte=moment) | Q(ended_at__isnull=True, created_at__gte=moment),
    )
)
register(
    Exportable(
        "CarePlan",
        Perm.COURSE_READ,
        lambda clinic: selectors_clinical._plans().filter(clinic=clinic),
        lambda row: [clinical.combined_care_plan(row)],
        lambda moment: Q(created_at__gte=moment),
    )
)
register(
    Exportable(
        "Coverage",
        Perm.COVERAGE_READ,
        lambda clinic: selectors_clinical._coverages().filter(clinic=clinic),
        lambda row: [clinical.coverage(row)],
        lambda moment: Q(updated_at__gte=moment),
    )
)
# AuditEvent is not exported: the audit trail is read by the clinic's administrators alone.


# Groups -----------------------------------------------------------------------------------------

GROUPS: dict[str, Modality] = {
    f"active-{modality.value.replace('_', '-')}": modality for modality in Modality
}


def _group_modality(group_id: str) -> Modality:
    if group_id not in GROUPS:
        raise Http404("No such Group.")
    return GROUPS[group_id]


def group_members(clinic, group_id: str) -> QuerySet:
    """The ids of the clinic's patients with an active course of the group's modality."""
    return (
        Course.objects.filter(
            clinic=clinic, modality=_group_modality(group_id), status=CourseStatus.ACTIVE
        )
        .values("patient_id")
        .distinct()
    )


def read_group(actor, group_id: str) -> dict:
    """``Group/[id]``: an actual group of persons, with its members (base R4 Group [R135])."""
    access.require(actor, Perm.PATIENT_READ)
    modality = _group_modality(group_id)
    members = sorted(
        str(pk) for pk in group_members(actor.clinic, group_id).values_list("patient_id", flat=True)
    )
    record_for(
        actor,
        Action.QUERY,
        object_type="fhir.group",
        object_id=group_id,
        detail={"results": len(members)},
    )
    data = {
        "resourceType": "Group",
        "id": group_id,
        "type": "person",
        "actual": True,
        "name": f"Patients with an active {modality.label} course",
        "quantity": len(members),
        "characteristic": [
            {
                "code": {"text": "active course of"},
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": "urn:trellis:modality",
                            "code": modality.value,
                            "display": modality.label,
                        }
                    ]
                },
                "exclude": False,
            }
        ],
    }
    if members:
        data["member"] = [{"entity": {"reference": f"Patient/{pk}"}} for pk in members]
    return Group.model_validate(data).model_dump(mode="json", exclude_none=True)


# Kick-off ---------------------------------------------------------------------------------------


def parse_types(value: str | None) -> list[str] | None:
    if value is None or value.strip() == "":
        return None
    types = []
    for kind in value.split(","):
        kind = kind.strip()
        if kind not in EXPORTABLE:
            raise ExportError(
                "_type", f"{kind!r} is not a type this server exports; use {', '.join(EXPORTABLE)}"
            )
        if kind not in types:
            types.append(kind)
    return types


def parse_since(value: str | None) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ExportError("_since", "must be a FHIR instant, e.g. 2026-01-01T00:00:00Z") from None
    if moment.tzinfo is None:
        raise ExportError("_since", "an instant needs its offset (Z or ±hh:mm)")
    return moment


def _types_for(actor, kind: str, types: list[str] | None) -> list[str]:
    """System level: every type (the administrator's hand-over of the clinic's records).
    Patient and Group level: the types asked for, each one the role may read; without ``_type``
    the types the role may read. A system client (SMART Backend Services [R137]) exports only
    the types its scopes name, at any level."""
    scope = actor.scope_types

    def may(t: str) -> bool:
        in_scope = scope is None or t in scope
        return in_scope and (kind == ExportKind.SYSTEM or _may_read(actor, t))

    if kind == ExportKind.SYSTEM:
        access.require(actor, Perm.BULK_EXPORT)
    else:
        access.require(actor, Perm.PATIENT_READ)
    if types is None:
        return [t for t in EXPORTABLE if may(t)]
    refused = [t for t in types if not may(t)]
    if refused and scope is not None:
        raise PermissionDenied(f"This system client's scopes do not include {refused[0]}.")
    if refused:
        raise PermissionDenied(
            f"Your role ({actor.membership.get_role_display()}) may not read {refused[0]}."
        )
    return types


def _may_read(actor, kind: str) -> bool:
    return all(actor.can(perm) for perm in type_perms(kind))


@transaction.atomic
def request_export(
    actor,
    kind: str,
    *,
    request_url: str,
    group: str = "",
    types: list[str] | None = None,
    since: datetime | None = None,
) -> ExportJob:
    """Accept an export; the worker builds it. Audited as an export of the clinic's records."""
    if kind == ExportKind.GROUP:
        _group_modality(group)
    chosen = _types_for(actor, kind, types)
    job = ExportJob.objects.create(
        clinic=actor.clinic,
        requested_by=actor.user,
        kind=kind,
        group=group,
        params={
            "request": request_url,
            "types": chosen,
            "since": since.isoformat() if since else None,
        },
    )
    record_for(
        actor,
        Action.EXPORT,
        obj=job,
        object_type="fhir.export",
        detail={"fhir_export": kind, "group": group, "types": chosen, "since": job.params["since"]},
    )
    return job


def job_for(actor, pk) -> ExportJob:
    """The actor's own export at their clinic; anyone else's is 404."""
    job = ExportJob.objects.filter(pk=pk, clinic=actor.clinic, requested_by=actor.user).first()
    if job is None:
        raise Http404("No such export.")
    return job


@transaction.atomic
def cancel_export(actor, job: ExportJob) -> None:
    """DELETE on the status URL: stop the export and delete what it made."""
    job = ExportJob.objects.select_for_update().get(pk=job.pk)
    if job.status in (ExportStatus.CANCELLED, ExportStatus.EXPIRED):
        raise Http404("No such export.")
    job.files.all().delete()
    job.status = ExportStatus.CANCELLED
    job.completed_at = timezone.now()
    job.save(update_fields=["status", "completed_at"])
    record_for(actor, Action.DELETE, obj=job, object_type="fhir.export")


def is_expired(job: ExportJob, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return job.status == ExportStatus.EXPIRED or (
        job.expires_at is not None and job.expires_at <= now
    )


def file_for(actor, pk) -> ExportFile:
    row = (
        ExportFile.objects.select_related("job")
        .filter(pk=pk, job__clinic=actor.clinic, job__requested_by=actor.user)
        .first()
    )
    if row is None or row.job.status != ExportStatus.COMPLETE or is_expired(row.job):
        raise Http404("No such file.")
    record_for(
        actor,
        Action.EXPORT,
        obj=row.job,
        object_type="fhir.export",
        detail={"file": row.resource_type, "seq": row.seq, "resources": row.count},
    )
    return row


def manifest(job: ExportJob, file_url: Callable[[ExportFile], str]) -> dict:
    files = job.files.order_by("resource_type", "seq").only("id", "resource_type", "count", "seq")
    return {
        "transactionTime": resources.instant(job.transaction_time or job.created_at),
        "request": job.params["request"],
        "requiresAccessToken": True,
        "output": [{"type": f.resource_type, "url": file_url(f), "count": f.count} for f in files],
        "error": [],
    }


def progress_text(job: ExportJob) -> str:
    cursor = job.params.get("cursor") or {}
    doing = f", {cursor['type']}" if cursor.get("type") else ""
    return f"{job.progress}%{doing}"


# The worker ------------------------------------------------------------------------------------


def _rows(job: ExportJob, exportable: Exportable) -> QuerySet:
    rows = exportable.rows(job.clinic)
    if job.kind == ExportKind.GROUP:
        rows = rows.filter(
            **{f"{exportable.patient_field}__in": group_members(job.clinic, job.group)}
        )
    since = job.params.get("since")
    if since:
        rows = rows.filter(exportable.since(datetime.fromisoformat(since)))
    return rows


def _begin(job: ExportJob) -> None:
    with replica.from_replica():
        transaction_time = replica.complete_up_to()
        totals = {
            kind: sum(_rows(job, part).count() for part in EXPORTABLE[kind])
            for kind in job.params["types"]
        }
    job.params = {
        **job.params,
        "totals": totals,
        "done": 0,
        "cursor": {
            "type": job.params["types"][0] if job.params["types"] else None,
            "part": 0,
            "after": None,
        },
    }
    job.status = ExportStatus.IN_PROGRESS
    job.transaction_time = transaction_time
    job.save(update_fields=["params", "status", "transaction_time"])


def _finish(job: ExportJob, now: datetime) -> None:
    hours = job.clinic.setting("bulk_export_hours")
    job.status = ExportStatus.COMPLETE
    job.progress = 100
    job.completed_at = now
    job.expires_at = now + timedelta(hours=hours)
    job.params = {**job.params, "cursor": {"type": None, "part": 0, "after": None}}
    job.save(update_fields=["status", "progress", "completed_at", "expires_at", "params"])


def _chunk(job: ExportJob) -> bool:
    """Write the next chunk of the export as one file; True when the export is complete. The
    cursor names the type, which of its sources (``part``) and the last row written."""
    types = job.params["types"]
    cursor = job.params["cursor"]
    kind = cursor["type"]
    if kind is None:
        return True
    part = cursor.get("part", 0)
    exportable = EXPORTABLE[kind][part]
    rows = _rows(job, exportable)
    if cursor["after"] is not None:
        rows = rows.filter(pk__gt=cursor["after"])
    build = exportable.build
    # Read from the replica when there is one. The first row of each chunk is checked by the
    # fhir.resources models; the rest are built the same way without them
    # (``resources.unchecked``), which is most of an export's cost.
    with replica.from_replica():
        batch = list(rows.order_by("pk")[:CHUNK])
        built = list(build(batch[0])) if batch else []
        with resources.unchecked():
            for row in batch[1:]:
                built.extend(build(row))
    lines = [orjson.dumps(r) for r in built]
    with transaction.atomic():
        current = ExportJob.objects.select_for_update().get(pk=job.pk)
        if current.status != ExportStatus.IN_PROGRESS:
            job.status = current.status
            return True
        if lines:
            seq = ExportFile.objects.filter(job=job, resource_type=kind).count() + 1
            ExportFile.objects.create(
                job=job,
                resource_type=kind,
                seq=seq,
                count=len(lines),
                content=gzip.compress(b"\n".join(lines) + b"\n", compresslevel=1),
            )
        done = job.params["done"] + len(batch)
        if len(batch) == CHUNK:
            cursor = {"type": kind, "part": part, "after": str(batch[-1].pk)}
        elif part + 1 < len(EXPORTABLE[kind]):
            cursor = {"type": kind, "part": part + 1, "after": None}
        else:
            following = types[types.index(kind) + 1 :]
            cursor = {"type": following[0] if following else None, "part": 0, "after": None}
        total = sum(job.params["totals"].values()) or 1
        job.params = {**job.params, "done": done, "cursor": cursor}
        job.progress = min(99, done * 100 // total)
        job.save(update_fields=["params", "progress"])
        if cursor["type"] is None:
            _finish(job, timezone.now())
            return True
    return False


def run_pending(
    now: datetime | None = None, *, seconds: float | None = None, max_chunks: int | None = None
) -> int:
    """The worker's job: advance every accepted or running export, oldest first, a chunk at a
    time, until each is complete or ``seconds`` (or ``max_chunks``) run out; the next pass
    resumes where this one stopped. Returns how many exports were completed."""
    deadline = time.monotonic() + seconds if seconds is not None else None
    chunks = 0
    completed = 0
    pending = (
        ExportJob.objects.filter(status__in=[ExportStatus.ACCEPTED, ExportStatus.IN_PROGRESS])
        .select_related("clinic")
        .order_by("created_at")
    )
    for job in pending:
        try:
            if job.status == ExportStatus.ACCEPTED:
                _begin(job)
            while True:
                if (deadline and time.monotonic() > deadline) or (
                    max_chunks is not None and chunks >= max_chunks
                ):
                    return completed
                chunks += 1
                if _chunk(job):
                    completed += job.status == ExportStatus.COMPLETE
                    break
        except DatabaseError:
            raise  # the worker reports it and tries again on its next pass
        except Exception as error:  # a failed export is reported, the next still runs
            logger.exception("FHIR export %s failed", job.pk)
            job.files.all().delete()
            ExportJob.objects.filter(pk=job.pk).update(
                status=ExportStatus.FAILED, error=str(error)[:500], completed_at=timezone.now()
            )
    return completed


def expire_exports(now: datetime | None = None) -> int:
    """Delete the files of exports past their clinic's ``bulk_export_hours``."""
    now = now or timezone.now()
    expired = 0
    for job in ExportJob.objects.filter(status=ExportStatus.COMPLETE, expires_at__lte=now):
        with transaction.atomic():
            job.files.all().delete()
            job.status = ExportStatus.EXPIRED
            job.save(update_fields=["status"])
        expired += 1
    return expired
