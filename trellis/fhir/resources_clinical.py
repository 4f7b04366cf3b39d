"""What is done and paid for at the clinic as FHIR R4 resources: vital signs, TMS sessions as
Procedures, ketamine and esketamine doses as MedicationAdministrations, courses and combined
plans as CarePlans, insurance as Coverage, appointments as Encounters and the audit trail as
AuditEvents [R133, R135].

Pure, as ``resources``: each function takes stored rows (with their relations loaded) and
returns the resource as a JSON-ready ``dict`` built and checked by the ``fhir.resources`` R4B
models (a bulk export builds most of them ``resources.unchecked()``, as the base types).
Nothing here queries the database or writes an audit event: the selectors do.

Codes: the vital signs carry the LOINC codes the US Core vital-sign profiles fix for them (the
profile requires that code, so it is the profile's, cited with it) [R133]; a TMS session carries
its CPT code, 90867, 90868 or 90869, by the billing rule [R50]. The drugs carry the product's own
code (``urn:trellis:medication``): the RxNorm codes DOMAIN.md gives for ketamine injection are
mapped to concentrations only by inference, and none is given for esketamine [R130] (docs/fhir.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from html import escape

from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.procedure import Procedure

from trellis.fhir.resources import (
    LOINC,
    OBSERVATION_CATEGORY,
    US_CORE,
    _checked,
    _reference,
    instant,
)

UCUM = "http://unitsofmeasure.org"
CPT = "http://www.ama-assn.org/go/cpt"
MEDICATION_SYSTEM = "urn:trellis:medication"
AUDIT_ACTION_SYSTEM = "urn:trellis:audit-action"
APPOINTMENT_KIND_SYSTEM = "urn:trellis:appointment-kind"
CARE_PLAN_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category"
XHTML = '<div xmlns="http://www.w3.org/1999/xhtml">{}</div>'

# Profiles claimed by the resources built here, by type (the first is the type's main one).
PROFILES = {
    "Observation": [
        US_CORE + "us-core-blood-pressure",
        US_CORE + "us-core-heart-rate",
        US_CORE + "us-core-pulse-oximetry",
        US_CORE + "us-core-respiratory-rate",
    ],
    "Procedure": [US_CORE + "us-core-procedure"],
    "CarePlan": [US_CORE + "us-core-careplan"],
    "Coverage": [US_CORE + "us-core-coverage"],
}


def _meta(updated: datetime, profile: str | None = None) -> dict:
    meta = {"lastUpdated": instant(updated)}
    if profile:
        meta["profile"] = [profile]
    return meta


def _staff(user) -> dict | None:
    """A member of staff by name: Practitioner is not served, so the reference is a display."""
    if user is None:
        return None
    return {"display": user.get_full_name() or user.username}


def _local_day(value: datetime, tz) -> str:
    return value.astimezone(tz).date().isoformat()


# Vital signs (treatments.VitalSign): one Observation per sign recorded ---------------------------


@dataclass(frozen=True)
class VitalKind:
    suffix: str
    profile: str
    codes: tuple[tuple[str, str], ...]  # LOINC code, display
    field: str
    unit: str
    ucum: str


# The codes and units each US Core vital-sign profile fixes [R133].
VITAL_KINDS = {
    kind.suffix: kind
    for kind in (
        VitalKind(
            "bp",
            US_CORE + "us-core-blood-pressure",
            (("85354-9", "Blood pressure panel"),),
            "bp_systolic",
            "mmHg",
            "mm[Hg]",
        ),
        VitalKind(
            "heart-rate",
            US_CORE + "us-core-heart-rate",
            (("8867-4", "Heart rate"),),
            "heart_rate",
            "beats/minute",
            "/min",
        ),
        VitalKind(
            "spo2",
            US_CORE + "us-core-pulse-oximetry",
            (
                ("59408-5", "Oxygen saturation by pulse oximetry"),
                ("2708-6", "Oxygen saturation"),
            ),
            "spo2",
            "%",
            "%",
        ),
        VitalKind(
            "resp-rate",
            US_CORE + "us-core-respiratory-rate",
            (("9279-1", "Respiratory rate"),),
            "respiratory_rate",
            "breaths/minute",
            "/min",
        ),
    )
}
BP_COMPONENTS = (("8480-6", "Systolic blood pressure"), ("8462-4", "Diastolic blood pressure"))


def vital_suffixes(vital) -> list[str]:
    """The Observations one set of vital signs yields: one per sign that was recorded."""
    return [s for s, kind in VITAL_KINDS.items() if getattr(vital, kind.field) is not None]


def vital_codes() -> dict[str, list[str]]:
    """Suffix → the LOINC codes its Observation carries (what ``code`` searches match)."""
    return {s: [code for code, _ in kind.codes] for s, kind in VITAL_KINDS.items()}


# The codings a profile fixes by pattern carry no display (the words are in ``text``): the
# offline validator compares a pattern exactly, display and all (docs/fhir.md).


def _quantity(value, kind: VitalKind) -> dict:
    return {"value": value, "unit": kind.unit, "system": UCUM, "code": kind.ucum}


def vital_observation(vital, suffix: str) -> dict:
    """One vital sign of a set taken during a session, on its US Core vital-sign profile:
    category ``vital-signs``, the profile's LOINC code and UCUM unit, the session as its
    encounter [R133]. Blood pressure is one panel with systolic and diastolic components."""
    kind = VITAL_KINDS.get(suffix)
    if kind is None or getattr(vital, kind.field) is None:
        raise KeyError(suffix)
    return _vital_observation(vital, suffix, kind, _vital_common(vital))


def vital_observations(vital) -> list[dict]:
    """Every Observation of one set of vital signs, in ``vital_suffixes`` order (a bulk
    export's rows): the parts they share are built once."""
    common = _vital_common(vital)
    return [
        _vital_observation(vital, suffix, VITAL_KINDS[suffix], common)
        for suffix in vital_suffixes(vital)
    ]


def _vital_common(vital) -> dict:
    return {
        "pk": str(vital.pk),
        "lastUpdated": instant(vital.recorded_at),
        "subject": _reference("Patient", vital.patient_id),
        "encounter": _reference("Encounter", vital.session_id),
        "effectiveDateTime": instant(vital.taken_at),
    }


_VITAL_CATEGORY = [
    {"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}]}
]


def _vital_code(kind: VitalKind) -> dict:
    return {
        "coding": [{"system": LOINC, "code": code} for code, _ in kind.codes],
        "text": kind.codes[0][1],
    }


# Each kind's code, built once (a bulk export writes hundreds of thousands of vital signs).
_VITAL_CODES = {suffix: _vital_code(kind) for suffix, kind in VITAL_KINDS.items()}


def _vital_observation(vital, suffix: str, kind: VitalKind, common: dict) -> dict:
    data = {
        "resourceType": "Observation",
        "id": f"{common['pk']}-{suffix}",
        "meta": {"lastUpdated": common["lastUpdated"], "profile": [kind.profile]},
        "status": "final",
        "category": _VITAL_CATEGORY,
        "code": _VITAL_CODES[suffix],
        "subject": common["subject"],
        "encounter": common["encounter"],
        "effectiveDateTime": common["effectiveDateTime"],
    }
    if vital.label:
        data["note"] = [{"text": vital.label}]
    if suffix == "bp":
        data["component"] = [
            {
                "code": {
                    "coding": [{"system": LOINC, "code": code}],
                    "text": text,
                },
                "valueQuantity": _quantity(value, kind),
            }
            for (code, text), value in zip(
                BP_COMPONENTS, (vital.bp_systolic, vital.bp_diastolic), strict=True
            )
        ]
    else:
        data["valueQuantity"] = _quantity(getattr(vital, kind.field), kind)
    return _checked(Observation, data)


# Procedure (a TMS session) --------------------------------------------------------------------

# Session status → Procedure.status, for sessions that began (the others did not happen yet, or
# never did, and are no Procedure).
PROCEDURE_STATUS = {"in_progress": "in-progress", "signed": "completed", "not_given": "not-done"}


def _period(start: datetime | None, end: datetime | None) -> dict | None:
    if start is None:
        return None
    return {"start": instant(start), **({"end": instant(end)} if end else {})}


def tms_parameters(session) -> str:
    """The session's parameters in words: device and coil, the resting motor threshold it used,
    the intensity, the pulses and the protocol's frequency [R50]."""
    tms = session.tms
    protocol = session.course.protocol
    parts = []
    device = ", ".join(p for p in (tms.device, tms.coil and f"coil {tms.coil}") if p)
    if device:
        parts.append(f"Device {device}")
    threshold = tms.motor_threshold
    if threshold is not None:
        parts.append(
            f"resting motor threshold {threshold.percent_output}% of output "
            f"({threshold.get_method_display()}, measured {threshold.measured_on.isoformat()})"
        )
    if tms.intensity_pct_mt is not None:
        output = (
            f" ({tms.intensity_pct_output}% of output)"
            if tms.intensity_pct_output is not None
            else ""
        )
        parts.append(f"intensity {tms.intensity_pct_mt}% MT{output}")
    frequency = (protocol.defaults or {}).get("frequency_hz")
    parts.append(f"{frequency} Hz ({protocol.name})" if frequency else protocol.name)
    if tms.pulses_delivered is not None or tms.pulses_planned is not None:
        delivered = "—" if tms.pulses_delivered is None else tms.pulses_delivered
        planned = "—" if tms.pulses_planned is None else tms.pulses_planned
        parts.append(f"pulses {delivered} delivered of {planned} planned")
    if tms.target_method:
        parts.append(f"target by {tms.get_target_method_display()}")
    return "; ".join(parts) + "."


def procedure(session, cpt: tuple[str, str]) -> dict:
    """US Core Procedure for a TMS session that began: its CPT code (``cpt``: code and label,
    from the billing rule) [R50], when it ran, who gave it, its encounter and course, and its
    parameters (coil, motor threshold, % MT, pulses, frequency) [R133]."""
    code, label = cpt
    tms = session.tms
    data = {
        "resourceType": "Procedure",
        "id": str(session.pk),
        "meta": _meta(session.signed_at or session.started_at, PROFILES["Procedure"][0]),
        "identifier": [{"system": "urn:trellis:session", "value": str(session.pk)}],
        "basedOn": [_reference("CarePlan", session.course_id)],
        "status": PROCEDURE_STATUS[session.status],
        "code": {
            "coding": [{"system": CPT, "code": code, "display": label}],
            "text": f"Transcranial magnetic stimulation, session {session.number}",
        },
        "subject": _reference("Patient", session.patient_id),
        "encounter": _reference("Encounter", session.pk),
        "performedPeriod": _period(session.started_at, session.ended_at),
        "note": [{"text": tms_parameters(session)}],
    }
    performer = _staff(session.signed_by or session.documented_by)
    if performer:
        data["performer"] = [{"actor": performer}]
    used = [text for text in (tms.device, tms.coil and f"Coil: {tms.coil}") if text]
    if used:
        data["usedCode"] = [{"text": text} for text in used]
    if tms.seizure:
        data["complication"] = [{"text": "Seizure"}]
    return _checked(Procedure, {k: v for k, v in data.items() if v is not None})


# MedicationAdministration (a ketamine or esketamine dose given in a session) -------------------

# Modality → the product's own medication code, its name, and the route of its dose.
MEDICATIONS = {
    "iv_ketamine": ("ketamine-iv", "Ketamine hydrochloride, intravenous infusion", "Intravenous"),
    "esketamine": ("esketamine-nasal", "Esketamine nasal spray (Spravato)", "Nasal"),
    "oral_ketamine": ("ketamine-oral", "Ketamine, compounded oral or sublingual", "Oral"),
}
ADMINISTRATION_STATUS = {
    "in_progress": "in-progress",
    "signed": "completed",
    "not_given": "not-done",
}
ORAL_ROUTES = {"oral": "Oral", "sublingual": "Sublingual"}


def dose_record(session):
    """The session's dosing record (infusion, esketamine or oral), or None."""
    related = {"iv_ketamine": "infusion", "esketamine": "esketamine", "oral_ketamine": "oral"}
    name = related.get(session.course.modality)
    return getattr(session, name, None) if name else None


def medication_administration(session) -> dict:
    """A dose given in a session (base R4: US Core has no MedicationAdministration profile):
    the drug, the dose in mg and its route, the IV pump rate, the lot, who gave it, and the
    session as its context [R135, R130]."""
    modality = session.course.modality
    record = dose_record(session)
    code, name, route = MEDICATIONS[modality]
    medication = {
        "coding": [{"system": MEDICATION_SYSTEM, "code": code, "display": name}],
        "text": name,
    }
    dosage = {"dose": {"value": float(record.dose_mg), "unit": "mg", "system": UCUM, "code": "mg"}}
    lot = words = ""
    when = None
    if modality == "iv_ketamine":
        when = _period(record.infusion_started_at, record.infusion_ended_at)
        if record.rate_ml_per_h is not None:
            dosage["rateQuantity"] = {
                "value": float(record.rate_ml_per_h),
                "unit": "mL/h",
                "system": UCUM,
                "code": "mL/h",
            }
        if record.dose_mg_per_kg is not None and record.minutes:
            words = f"{record.dose_mg_per_kg} mg/kg over {record.minutes} minutes"
    elif modality == "esketamine":
        lot = record.lot_numbers
        if record.first_device_at:
            when = {"dateTime": instant(record.first_device_at)}
        if record.devices:
            words = f"{record.devices} device(s) of 28 mg"  # 28 mg a device [R22]
    else:
        lot = record.lot_number
        route = ORAL_ROUTES.get(record.route, route)
        if record.given_at:
            when = {"dateTime": instant(record.given_at)}
    dosage["route"] = {"text": route}
    if when is None:
        when = _period(session.started_at, session.ended_at) or {
            "dateTime": session.planned_date.isoformat()
        }
    data = {
        "resourceType": "MedicationAdministration",
        "id": str(session.pk),
        "meta": _meta(session.signed_at or session.started_at or _midnight(session)),
        "status": ADMINISTRATION_STATUS[session.status],
        "subject": _reference("Patient", session.patient_id),
        "context": _reference("Encounter", session.pk),
        "dosage": dosage,
    }
    if "dateTime" in when:
        data["effectiveDateTime"] = when["dateTime"]
    else:
        data["effectivePeriod"] = when
    if words:
        data["note"] = [{"text": words}]
    if lot:
        # R4 keeps the lot on the Medication: a contained one, with the same code.
        data["contained"] = [
            {
                "resourceType": "Medication",
                "id": "medication",
                "code": medication,
                "batch": {"lotNumber": lot},
            }
        ]
        data["medicationReference"] = {"reference": "#medication", "display": name}
    else:
        data["medicationCodeableConcept"] = medication
    performer = _staff(session.signed_by or session.documented_by)
    if performer:
        data["performer"] = [{"actor": performer}]
    return _checked(MedicationAdministration, data)


def _midnight(session) -> datetime:
    return datetime.combine(session.planned_date, time.min, tzinfo=UTC)


# CarePlan (a course, and a combined plan of two courses) ----------------------------------------

CARE_PLAN_STATUS = {"active": "active", "completed": "completed", "stopped": "revoked"}
ACTIVITY_STATUS = {
    "planned": "not-started",
    "booked": "scheduled",
    "in_progress": "in-progress",
    "signed": "completed",
    "cancelled": "cancelled",
    "no_show": "cancelled",
    "not_given": "stopped",
}
ASSESS_PLAN = [
    {
        "coding": [
            {
                "system": CARE_PLAN_CATEGORY,
                "code": "assess-plan",
                "display": "Assessment and Plan of Treatment",
            }
        ]
    }
]


def has_procedure(session) -> bool:
    return session.status in PROCEDURE_STATUS and getattr(session, "tms", None) is not None


def has_administration(session) -> bool:
    record = dose_record(session) if session.status in ADMINISTRATION_STATUS else None
    return record is not None and record.dose_mg is not None


def care_plan(course, sessions: list, plan_id=None) -> dict:
    """US Core CarePlan for a course: its protocol, status and dates, and one activity per
    session (its status and day, and the Encounter, Procedure or MedicationAdministration it
    produced); ``partOf`` the combined plan it belongs to [R133]."""
    tz = course.clinic.tzinfo
    protocol = course.protocol
    delivered = sum(1 for s in sessions if s.status == "signed" or s.signed_at)
    summary = (
        f"{protocol.name}: course of {protocol.sessions} sessions from "
        f"{course.start_date.isoformat()}, {course.get_status_display().lower()}; "
        f"{delivered} given."
    )
    activities = []
    for session in sessions:
        outcomes = []
        if session.started_at or session.status not in ("planned", "booked"):
            outcomes.append(_reference("Encounter", session.pk))
        if has_procedure(session):
            outcomes.append(_reference("Procedure", session.pk))
        if has_administration(session):
            outcomes.append(_reference("MedicationAdministration", session.pk))
        activity = {
            "detail": {
                "kind": "Appointment",
                "status": ACTIVITY_STATUS.get(session.status, "unknown"),
                "description": f"Session {session.number} ({session.phase})",
                "scheduledString": session.planned_date.isoformat(),
            }
        }
        if outcomes:
            activity["outcomeReference"] = outcomes
        activities.append(activity)
    period = {"start": course.start_date.isoformat()}
    if course.ended_at:
        period["end"] = _local_day(course.ended_at, tz)
    data = {
        "resourceType": "CarePlan",
        "id": str(course.pk),
        "meta": _meta(course.ended_at or course.created_at, PROFILES["CarePlan"][0]),
        "text": {"status": "generated", "div": XHTML.format(escape(summary))},
        "identifier": [{"system": "urn:trellis:course", "value": str(course.pk)}],
        "status": CARE_PLAN_STATUS.get(course.status, "unknown"),
        "intent": "plan",
        "category": ASSESS_PLAN,
        "title": protocol.name,
        "description": summary,
        "subject": _reference("Patient", course.patient_id),
        "period": period,
        "created": instant(course.created_at),
        "activity": activities,
    }
    if plan_id:
        data["partOf"] = [_reference("CarePlan", plan_id)]
    return _checked(CarePlan, data)


def combined_care_plan(plan) -> dict:
    """US Core CarePlan for a combined plan: TMS with a ketamine-family course, the rule that
    shares the calendar, and the two courses' CarePlans as its supporting information [R133]."""
    courses = plan.courses
    statuses = {c.status for c in courses}
    if "active" in statuses:
        status = "active"
    elif statuses == {"stopped"}:
        status = "revoked"
    else:
        status = "completed"
    summary = (
        f"{plan.name}: {plan.get_sequencing_display()}. Courses: "
        + "; ".join(f"{c.protocol.name} from {c.start_date.isoformat()}" for c in courses)
        + "."
    )
    data = {
        "resourceType": "CarePlan",
        "id": str(plan.pk),
        "meta": _meta(plan.created_at, PROFILES["CarePlan"][0]),
        "text": {"status": "generated", "div": XHTML.format(escape(summary))},
        "identifier": [{"system": "urn:trellis:treatment-plan", "value": str(plan.pk)}],
        "status": status,
        "intent": "plan",
        "category": ASSESS_PLAN,
        "title": plan.name,
        "description": summary,
        "subject": _reference("Patient", plan.patient_id),
        "period": {"start": min(c.start_date for c in courses).isoformat()},
        "created": instant(plan.created_at),
        "supportingInfo": [_reference("CarePlan", c.pk) for c in courses],
        "activity": [
            {
                "detail": {
                    "status": "completed"
                    if c.status == "completed"
                    else ("stopped" if c.status == "stopped" else "in-progress"),
                    "description": f"{c.protocol.name} course (CarePlan/{c.pk})",
                }
            }
            for c in courses
        ],
    }
    return _checked(CarePlan, data)


# Coverage (billing.Coverage with its Payer) -------------------------------------------------

COVERAGE_RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
COVERAGE_CLASS = "http://terminology.hl7.org/CodeSystem/coverage-class"


def coverage(row) -> dict:
    """US Core Coverage: the member id, the payer (by name and payer id: Organization is not
    served), the patient's relationship to the subscriber, the dates, group and plan [R133]."""
    payer = row.payer
    payor = {"display": payer.name}
    if payer.payer_id:
        payor["identifier"] = {"system": "urn:trellis:payer-id", "value": payer.payer_id}
    period = {"start": row.effective_from.isoformat()}
    if row.effective_to:
        period["end"] = row.effective_to.isoformat()
    data = {
        "resourceType": "Coverage",
        "id": str(row.pk),
        "meta": _meta(row.updated_at, PROFILES["Coverage"][0]),
        "identifier": [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "MB",
                        }
                    ]
                },
                "system": f"urn:trellis:payer:{payer.pk}:member",
                "value": row.member_id,
            }
        ],
        "status": "active",
        "type": {"text": payer.get_type_display()},
        "subscriberId": row.member_id,
        "beneficiary": _reference("Patient", row.patient_id),
        "relationship": {
            "coding": [
                {
                    "system": COVERAGE_RELATIONSHIP,
                    "code": row.relationship,
                    "display": row.get_relationship_display(),
                }
            ]
        },
        "period": period,
        "payor": [payor],
        "order": 1 if row.rank == "primary" else 2,
    }
    classes = []
    if row.group_number:
        classes.append(
            {
                "type": {"coding": [{"system": COVERAGE_CLASS, "code": "group"}]},
                "value": row.group_number,
            }
        )
    if row.plan_type:
        classes.append(
            {
                "type": {"coding": [{"system": COVERAGE_CLASS, "code": "plan"}]},
                "value": row.plan_type,
                "name": row.get_plan_type_display(),
            }
        )
    if classes:
        data["class"] = classes
    return _checked(Coverage, data)


# Encounter for an appointment (one that is not a treatment session's) ------------------------

APPOINTMENT_ENCOUNTER_STATUS = {
    "booked": "planned",
    "confirmed": "planned",
    "checked_in": "arrived",
    "completed": "finished",
    "cancelled": "cancelled",
    "no_show": "cancelled",  # R4 has no no-show status
}


def appointment_encounter(appointment) -> dict:
    """US Core Encounter for an appointment that is no treatment session (an assessment,
    therapy, a follow-up…): ambulatory, typed by its kind, its booked time [R133]."""
    stamps = [
        appointment.created_at,
        appointment.confirmed_at,
        appointment.checked_in_at,
        appointment.completed_at,
        appointment.cancelled_at,
        appointment.no_show_at,
    ]
    data = {
        "resourceType": "Encounter",
        "id": str(appointment.pk),
        "meta": _meta(max(s for s in stamps if s), US_CORE + "us-core-encounter"),
        "identifier": [{"system": "urn:trellis:appointment", "value": str(appointment.pk)}],
        "status": APPOINTMENT_ENCOUNTER_STATUS.get(appointment.status, "unknown"),
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        },
        "type": [
            {
                "coding": [
                    {
                        "system": APPOINTMENT_KIND_SYSTEM,
                        "code": appointment.kind,
                        "display": appointment.get_kind_display(),
                    }
                ],
                "text": appointment.get_kind_display(),
            }
        ],
        "subject": _reference("Patient", appointment.patient_id),
        "period": {"start": instant(appointment.start), "end": instant(appointment.end)},
    }
    staff = _staff(appointment.staff)
    if staff:
        data["participant"] = [{"individual": staff}]
    return _checked(Encounter, data)


# AuditEvent (the clinic's audit trail, for its administrators) ---------------------------------

# Trellis's actions (ASTM E2147) → AuditEvent.action: C, R, U, D or E (execute) [R135].
AUDIT_ACTION = {
    "create": "C",
    "read": "R",
    "update": "U",
    "delete": "D",
    "query": "E",
    "print": "R",
    "export": "R",
    "login": "E",
    "logout": "E",
    "login_failed": "E",
}


def audit_event(event) -> dict:
    """One audit trail entry as an AuditEvent (IHE Basic Audit Log Patterns' elements) [R135]:
    what was done, when, by whom and from where, on which patient and record. The entry's
    free-form detail is not carried."""
    agent = {"who": {"display": event.username or "Trellis"}, "requestor": bool(event.username)}
    if event.source_address:
        agent["network"] = {"address": event.source_address, "type": "2"}  # 2: IP address
    entities = []
    if event.patient_id:
        entities.append({"what": _reference("Patient", event.patient_id)})
    if event.object_type:
        what = {"display": event.object_type}
        if event.object_id:
            what["identifier"] = {
                "system": f"urn:trellis:record:{event.object_type}",
                "value": event.object_id,
            }
        entities.append({"what": what})
    data = {
        "resourceType": "AuditEvent",
        "id": str(event.seq),
        "meta": _meta(event.occurred_at),
        "type": {
            "system": AUDIT_ACTION_SYSTEM,
            "code": event.action,
            "display": event.get_action_display(),
        },
        "action": AUDIT_ACTION.get(event.action, "E"),
        "recorded": instant(event.occurred_at),
        "outcome": "4" if event.action == "login_failed" else "0",
        "agent": [agent],
        "source": {"observer": {"display": "Trellis"}},
    }
    if entities:
        data["entity"] = entities
    return _checked(AuditEvent, data)
