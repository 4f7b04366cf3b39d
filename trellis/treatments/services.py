"""Named operations on courses and sessions. Each runs in one transaction and is audited."""

from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q

from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.lib.errors import Conflict, InputError
from trellis.patients.models import Patient
from trellis.patients.services import current_screening
from trellis.treatments import schedule
from trellis.treatments.models import ClosureDay, Course, Protocol, Session


def protocols_for(clinic) -> list[Protocol]:
    return list(Protocol.objects.filter(Q(clinic__isnull=True) | Q(clinic=clinic), is_active=True))


def find_protocol(clinic, code: str) -> Protocol:
    """The clinic's own protocol with this code, else the built-in one."""
    found = {p.clinic_id is not None: p for p in protocols_for(clinic) if p.code == code}
    protocol = found.get(True) or found.get(False)
    if protocol is None:
        raise InputError("protocol", f"unknown protocol {code!r}")
    return protocol


def closed_dates(clinic) -> set[date]:
    return set(ClosureDay.objects.filter(clinic=clinic).values_list("date", flat=True))


def start_course(
    actor,
    patient: Patient,
    protocol_code: str,
    start_date: date,
    *,
    override_reason: str = "",
    payer: str = "",
    authorization_ref: str = "",
    authorized_units: int | None = None,
) -> Course:
    """Start a course from the patient's current signed screening and plan its sessions.

    No signed screening: refused. A contraindication: refused unless a prescriber overrides it
    with a written reason, which is kept on the course and in the audit trail.
    """
    if actor is None or not actor.can(Perm.COURSE_CHANGE):
        raise PermissionDenied("Your role may not start a course.")
    protocol = find_protocol(actor.clinic, protocol_code)
    override_reason = override_reason.strip()
    with transaction.atomic():
        screening = current_screening(patient)
        if screening is None:
            raise Conflict(
                "There is no signed screening for this patient; a prescriber must "
                "sign one before a course can start.",
                code="no_signed_screening",
            )
        contraindicated = screening.status(protocol.modality) == "contraindicated"
        if contraindicated:
            if not override_reason:
                raise Conflict(
                    f"The signed screening contraindicates {protocol.get_modality_display()}; "
                    "a prescriber may override it with a written reason (override_reason).",
                    code="contraindicated",
                )
            if not actor.can(Perm.COURSE_OVERRIDE):
                raise PermissionDenied("Only a prescriber may override a contraindication.")
        elif override_reason:
            raise InputError("override_reason", "is only for overriding a contraindication")
        course = Course(
            clinic=actor.clinic,
            patient=patient,
            protocol=protocol,
            modality=protocol.modality,
            start_date=start_date,
            screening=screening,
            created_by=actor.user,
            override_reason=override_reason if contraindicated else "",
            override_by=actor.user if contraindicated else None,
            payer=payer,
            authorization_ref=authorization_ref,
            authorized_units=authorized_units,
        )
        course.full_clean()
        course.save(force_insert=True)
        planned = schedule.plan_sessions(protocol.schedule, start_date, closed_dates(actor.clinic))
        Session.objects.bulk_create(
            Session(
                clinic=actor.clinic,
                patient=patient,
                course=course,
                number=p.number,
                planned_date=p.planned_date,
                planned_time=p.planned_time,
                phase=p.phase,
            )
            for p in planned
        )
        detail = {"protocol": protocol.code, "sessions": len(planned)}
        if contraindicated:
            detail["override_reason"] = override_reason
        record_for(actor, Action.CREATE, patient=patient, obj=course, detail=detail)
    return course
