"""Reads behind the FHIR types built in ``resources_clinical``: vital signs, Procedure,
MedicationAdministration, CarePlan, Coverage, appointment Encounters and AuditEvent.

As in ``selectors``: a read goes through ``patients.access.load`` (another clinic's row is 404,
the role is checked, the read is audited), a search is scoped to the actor's clinic, checks the
role first and is audited as one query. AuditEvent is the clinic's administrators' alone.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404

from trellis.accounts.permissions import Perm
from trellis.audit.models import Action, AuditEvent
from trellis.audit.services import record_for
from trellis.billing import coding
from trellis.billing.models import Coverage
from trellis.fhir import resources, search
from trellis.fhir import resources_clinical as clinical
from trellis.fhir.reading import (
    Params,
    Part,
    audit_search,
    built_by,
    dates,
    page,
    patient_filter,
    union_page,
)
from trellis.patients import access
from trellis.patients.modality import KETAMINE_FAMILY, Modality
from trellis.plans.models import TreatmentPlan
from trellis.scheduling.models import Appointment
from trellis.treatments.models import Course, Session, VitalSign, delivered_q

# Vital signs (Observation) ----------------------------------------------------------------------


def read_vital_observation(actor, vital_id: str, suffix: str) -> dict:
    vital = access.load(actor, VitalSign.objects.all(), vital_id, Perm.SESSION_READ)
    try:
        return clinical.vital_observation(vital, suffix)
    except KeyError:
        raise Http404("No such Observation.") from None


def _vital_suffixes(params: Params) -> list[str]:
    """The vital signs a search's ``category`` and ``code`` ask for."""
    for value in params.all("category"):
        if not any(
            t.code == "vital-signs" and t.system in (None, resources.OBSERVATION_CATEGORY)
            for t in search.tokens("category", value)
        ):
            return []
    wanted = list(clinical.VITAL_KINDS)
    codes = clinical.vital_codes()
    for value in params.all("code"):
        tokens = search.tokens("code", value)
        wanted = [
            suffix
            for suffix in wanted
            if any(t.system in (None, resources.LOINC) and t.code in codes[suffix] for t in tokens)
        ]
    return wanted


def vital_observations(actor, params: Params, start: int, count: int) -> tuple[int, list]:
    """One page of vital-sign Observations (not audited: the Observation search is, once)."""
    access.require(actor, Perm.SESSION_READ)
    wanted = _vital_suffixes(params)
    rows = patient_filter(VitalSign.objects.filter(clinic=actor.clinic), params)
    rows = dates(actor, rows, params, "date", "taken_at")
    rows = dates(actor, rows, params, "_lastUpdated", "recorded_at")
    if not wanted:
        return 0, []
    fields = {suffix: clinical.VITAL_KINDS[suffix].field for suffix in wanted}
    rows = rows.filter(
        Q(*[Q(**{f"{field}__isnull": False}) for field in fields.values()], _connector=Q.OR)
    )
    total = sum(rows.filter(**{f"{field}__isnull": False}).count() for field in fields.values())
    found, position = [], 0
    if count <= 0:
        return total, found
    for vital in rows.order_by("taken_at", "recorded_at", "pk").iterator(chunk_size=200):
        present = [s for s in clinical.vital_suffixes(vital) if s in fields]
        if position + len(present) <= start:
            position += len(present)
            continue
        for suffix in present:
            if position >= start and len(found) < count:
                found.append(clinical.vital_observation(vital, suffix))
            position += 1
        if len(found) >= count:
            break
    return total, found


# Procedure (TMS sessions that began) -----------------------------------------------------------


# What a Procedure reads (``resources_clinical.procedure``, ``tms_parameters``): a bulk export
# builds tens of thousands, and the rest of these rows' columns would only be converted.
_PROCEDURE_FIELDS = (
    "id",
    "clinic_id",
    "patient_id",
    "course_id",
    "number",
    "status",
    "planned_date",
    "started_at",
    "ended_at",
    "signed_at",
    "course__protocol__name",
    "course__protocol__defaults",
    "tms__session_id",
    "tms__device",
    "tms__coil",
    "tms__intensity_pct_mt",
    "tms__intensity_pct_output",
    "tms__pulses_delivered",
    "tms__pulses_planned",
    "tms__target_method",
    "tms__seizure",
    "tms__motor_threshold__percent_output",
    "tms__motor_threshold__method",
    "tms__motor_threshold__measured_on",
    *(
        f"{who}__{field}"
        for who in ("signed_by", "documented_by")
        for field in ("first_name", "last_name", "username")
    ),
)


def _tms_sessions() -> QuerySet:
    # A delivered session earlier in the course: this one is not the first (90867) [R50].
    earlier = Session.objects.filter(
        delivered_q(), course_id=OuterRef("course_id"), number__lt=OuterRef("number")
    )
    return (
        Session.objects.filter(
            course__modality=Modality.TMS,
            tms__isnull=False,
            status__in=list(clinical.PROCEDURE_STATUS),
        )
        .select_related("course__protocol", "tms__motor_threshold", "signed_by", "documented_by")
        .only(*_PROCEDURE_FIELDS)
        .annotate(after_first=Exists(earlier))
    )


def _procedure(session) -> dict:
    """The session's CPT code by the billing rule (as ``billing.services.session_codes``
    gives it): 90867 first, 90869 with the motor threshold measured that day, else 90868 [R50]."""
    threshold = session.tms.motor_threshold
    line = coding.tms_codes(
        first_in_course=not session.after_first,
        motor_threshold_redetermined=threshold is not None
        and threshold.measured_on == session.planned_date,
    )[0]
    return clinical.procedure(session, (line.code, line.label))


def read_procedure(actor, pk) -> dict:
    return _procedure(access.load(actor, _tms_sessions(), pk, Perm.SESSION_READ))


def _session_search(actor, rows: QuerySet, params: Params, date_name: str) -> QuerySet:
    rows = patient_filter(rows.filter(clinic=actor.clinic), params)
    values = params.all(date_name)
    if values:
        rows = rows.filter(
            search.day_filter(date_name, values, "planned_date", actor.clinic.tzinfo)
        )
    rows = rows.annotate(last_updated=Coalesce("signed_at", "started_at"))
    return dates(actor, rows, params, "_lastUpdated", "last_updated")


def search_procedures(actor, params: Params, start: int, count: int):
    access.require(actor, Perm.SESSION_READ)
    rows = _session_search(actor, _tms_sessions(), params, "date")
    rows = rows.order_by("planned_date", "number", "pk")
    total = rows.count()
    found = [_procedure(s) for s in page(rows, start, count)]
    audit_search(actor, "Procedure", params, total)
    return total, found


# MedicationAdministration (ketamine-family doses given in sessions) ----------------------------


def _dosed_sessions() -> QuerySet:
    return Session.objects.filter(
        Q(infusion__dose_mg__isnull=False)
        | Q(esketamine__dose_mg__isnull=False)
        | Q(oral__dose_mg__isnull=False),
        course__modality__in=list(KETAMINE_FAMILY),
        status__in=list(clinical.ADMINISTRATION_STATUS),
    ).select_related("course", "infusion", "esketamine", "oral", "signed_by", "documented_by")


def read_medication_administration(actor, pk) -> dict:
    session = access.load(actor, _dosed_sessions(), pk, Perm.SESSION_READ)
    return clinical.medication_administration(session)


def search_medication_administrations(actor, params: Params, start: int, count: int):
    access.require(actor, Perm.SESSION_READ)
    rows = _session_search(actor, _dosed_sessions(), params, "effective-time")
    rows = rows.order_by("planned_date", "number", "pk")
    total = rows.count()
    found = [clinical.medication_administration(s) for s in page(rows, start, count)]
    audit_search(actor, "MedicationAdministration", params, total)
    return total, found


# CarePlan (courses, and combined plans of two courses) -----------------------------------------


# What a CarePlan's activities read of each session: its own fields below, whether a TMS record
# exists, and the dose of its dosing record (``resources_clinical.care_plan``).
_ACTIVITY_FIELDS = (
    "id",
    "course_id",
    "patient_id",
    "number",
    "phase",
    "status",
    "planned_date",
    "started_at",
    "signed_at",
    "tms__session_id",
    "infusion__dose_mg",
    "esketamine__dose_mg",
    "oral__dose_mg",
)


def _courses() -> QuerySet:
    sessions = (
        Session.objects.select_related("tms", "infusion", "esketamine", "oral")
        .only(*_ACTIVITY_FIELDS)
        .order_by("number")
    )
    return Course.objects.select_related("protocol", "clinic").prefetch_related(
        Prefetch("sessions", queryset=sessions)
    )


def _plans() -> QuerySet:
    return TreatmentPlan.objects.select_related("tms_course__protocol", "dose_course__protocol")


def _course_care_plans(courses: list) -> list[dict]:
    ids = [c.pk for c in courses]
    plan_of = {}
    for plan_id, tms_id, dose_id in TreatmentPlan.objects.filter(
        Q(tms_course__in=ids) | Q(dose_course__in=ids)
    ).values_list("pk", "tms_course_id", "dose_course_id"):
        plan_of[tms_id] = plan_of[dose_id] = plan_id
    return [clinical.care_plan(c, list(c.sessions.all()), plan_of.get(c.pk)) for c in courses]


def read_care_plan(actor, pk) -> dict:
    try:
        course = access.load(actor, _courses(), pk, Perm.COURSE_READ)
    except Http404:
        return clinical.combined_care_plan(access.load(actor, _plans(), pk, Perm.COURSE_READ))
    return _course_care_plans([course])[0]


def search_care_plans(actor, params: Params, start: int, count: int):
    access.require(actor, Perm.COURSE_READ)
    tz = actor.clinic.tzinfo
    courses = patient_filter(Course.objects.filter(clinic=actor.clinic), params)
    plans = patient_filter(TreatmentPlan.objects.filter(clinic=actor.clinic), params)
    for value in params.all("category"):
        if not any(
            t.code == "assess-plan" and t.system in (None, clinical.CARE_PLAN_CATEGORY)
            for t in search.tokens("category", value)
        ):
            courses, plans = courses.none(), plans.none()
    values = params.all("date")
    if values:
        # The day the plan starts: a course's first day; a combined plan's, either course's.
        courses = courses.filter(search.day_filter("date", values, "start_date", tz))
        plans = plans.filter(
            search.day_filter("date", values, "tms_course__start_date", tz)
            | search.day_filter("date", values, "dose_course__start_date", tz)
        )
    courses = courses.annotate(last_updated=Coalesce("ended_at", "created_at"))
    courses = dates(actor, courses, params, "_lastUpdated", "last_updated")
    plans = dates(actor, plans, params, "_lastUpdated", "created_at")
    total, found = union_page(
        [
            Part(
                courses,
                ("start_date", "created_at"),
                lambda pks: {
                    r["id"]: r for r in _course_care_plans(list(_courses().filter(pk__in=pks)))
                },
            ),
            Part(
                plans,
                ("created_at",),
                built_by(lambda pks: _plans().filter(pk__in=pks), clinical.combined_care_plan),
            ),
        ],
        start,
        count,
    )
    audit_search(actor, "CarePlan", params, total)
    return total, found


# Coverage -------------------------------------------------------------------------------------


def _coverages() -> QuerySet:
    return Coverage.objects.select_related("payer")


def read_coverage(actor, pk) -> dict:
    return clinical.coverage(access.load(actor, _coverages(), pk, Perm.COVERAGE_READ))


def search_coverages(actor, params: Params, start: int, count: int):
    access.require(actor, Perm.COVERAGE_READ)
    rows = patient_filter(_coverages().filter(clinic=actor.clinic), params)
    rows = dates(actor, rows, params, "_lastUpdated", "updated_at")
    rows = rows.order_by("effective_from", "created_at", "pk")
    total = rows.count()
    found = [clinical.coverage(c) for c in page(rows, start, count)]
    audit_search(actor, "Coverage", params, total)
    return total, found


# Encounter: treatment sessions and the appointments that are no session -------------------------


def _sessions() -> QuerySet:
    return Session.objects.select_related("course__protocol")


def _appointments() -> QuerySet:
    return Appointment.objects.filter(session__isnull=True).select_related("staff")


def read_encounter(actor, pk) -> dict:
    try:
        return resources.encounter(access.load(actor, _sessions(), pk, Perm.SESSION_READ))
    except Http404:
        appointment = access.load(actor, _appointments(), pk, Perm.SESSION_READ)
        return clinical.appointment_encounter(appointment)


def search_encounters(actor, params: Params, start: int, count: int):
    access.require(actor, Perm.SESSION_READ)
    tz = actor.clinic.tzinfo
    sessions = patient_filter(Session.objects.filter(clinic=actor.clinic), params)
    appointments = patient_filter(
        Appointment.objects.filter(clinic=actor.clinic, session__isnull=True), params
    )
    values = params.all("date")
    if values:
        # The session's day (planned, and the day it ran), the appointment's clinic day.
        sessions = sessions.filter(search.day_filter("date", values, "planned_date", tz))
        appointments = appointments.filter(search.day_filter("date", values, "day", tz))
    total, found = union_page(
        [
            Part(
                sessions,
                ("planned_date", "number"),
                built_by(lambda pks: _sessions().filter(pk__in=pks), resources.encounter),
            ),
            Part(
                appointments,
                ("day", "start"),
                built_by(
                    lambda pks: _appointments().filter(pk__in=pks),
                    clinical.appointment_encounter,
                ),
            ),
        ],
        start,
        count,
    )
    audit_search(actor, "Encounter", params, total)
    return total, found


# AuditEvent (the clinic's audit trail: its administrators only) --------------------------------


def read_audit_event(actor, pk) -> dict:
    event = AuditEvent.objects.filter(seq=int(pk)).first() if str(pk).isdigit() else None
    if event is None:
        raise Http404("No such AuditEvent.")
    if event.clinic_id != actor.clinic.pk:
        raise Http404("No such AuditEvent.")
    if not actor.can(Perm.AUDIT_READ):
        raise PermissionDenied("Only the clinic's administrators may read its audit trail.")
    record_for(actor, Action.READ, object_type="audit.auditevent", object_id=str(event.seq))
    return clinical.audit_event(event)


def search_audit_events(actor, params: Params, start: int, count: int):
    if not actor.can(Perm.AUDIT_READ):
        raise PermissionDenied("Only the clinic's administrators may read its audit trail.")
    rows = patient_filter(AuditEvent.objects.filter(clinic=actor.clinic), params)
    rows = dates(actor, rows, params, "date", "occurred_at")
    rows = dates(actor, rows, params, "_lastUpdated", "occurred_at")
    rows = rows.order_by("seq")
    total = rows.count()
    found = [clinical.audit_event(e) for e in page(rows, start, count)]
    audit_search(actor, "AuditEvent", params, total)
    return total, found
