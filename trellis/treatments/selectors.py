"""Reads of courses and sessions for pages: the clinic's lists, each audited here as one query
(never in the view), and the course card of the patient's page."""

from datetime import date

from django.db.models import Count, F, Min, OuterRef, Q, Subquery

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.patients.models import Patient
from trellis.treatments import services
from trellis.treatments.models import (
    OPEN_STATUSES,
    Course,
    RemsForm,
    Session,
    SessionStatus,
    delivered_q,
    undelivered_q,
)


def course_card(actor: Actor, patient: Patient) -> dict:
    """The patient's courses with their progress and authorisation, in one query.

    Registered as a patient-page card (``patients.panels``), which has checked the clinic and
    ``course.read`` and audited the patient."""
    today = services.clinic_today(actor.clinic)
    courses = list(
        Course.objects.filter(clinic=actor.clinic, patient=patient)
        .select_related("clinic", "protocol")
        .annotate(
            total=Count("sessions"),
            delivered=Count("sessions", filter=delivered_q("sessions__")),
            undelivered=Count("sessions", filter=undelivered_q("sessions__")),
            next_date=Min(
                "sessions__planned_date",
                filter=Q(sessions__status=SessionStatus.PLANNED, sessions__planned_date__gte=today),
            ),
        )
    )
    for course in courses:
        course.auth = services.authorisation(
            course, used=course.delivered, planned=course.total - course.undelivered
        )
    return {"patient": patient, "courses": courses, "can_start": actor.can(Perm.COURSE_CHANGE)}


def sessions_on(actor: Actor, day: date) -> list[Session]:
    """The clinic's sessions planned on ``day`` (not cancelled), timed ones first, each with its
    course's length and the earlier session of its course still open (audited as a query)."""
    require(actor, Perm.SESSION_READ)
    total = (
        Session.objects.filter(course=OuterRef("course"))
        .values("course")
        .annotate(n=Count("pk"))
        .values("n")
    )
    earlier_open = Session.objects.filter(
        course=OuterRef("course"), number__lt=OuterRef("number"), status__in=OPEN_STATUSES
    ).order_by("-number")
    rows = list(
        Session.objects.filter(clinic=actor.clinic, planned_date=day)
        .exclude(status=SessionStatus.CANCELLED)
        .select_related("patient", "course__protocol")
        .annotate(
            course_total=Subquery(total),
            waiting_id=Subquery(earlier_open.values("id")[:1]),
            waiting_number=Subquery(earlier_open.values("number")[:1]),
            waiting_status=Subquery(earlier_open.values("status")[:1]),
            waiting_date=Subquery(earlier_open.values("planned_date")[:1]),
        )
        .order_by(
            F("planned_time").asc(nulls_last=True),  # timed sessions first, on every database
            "patient__family_name",
            "patient__given_name",
            "number",
        )
    )
    record_for(
        actor,
        Action.QUERY,
        object_type="treatments.session",
        detail={"planned_date": day.isoformat(), "results": len(rows)},
    )
    return rows


def rems_forms(actor: Actor) -> list[RemsForm]:
    """The clinic's esketamine REMS forms by due date (audited as a query)."""
    require(actor, Perm.SESSION_READ)
    forms = list(
        RemsForm.objects.filter(clinic=actor.clinic)
        .select_related("patient", "session")
        .order_by("due_date")
    )
    record_for(
        actor, Action.QUERY, object_type="treatments.remsform", detail={"results": len(forms)}
    )
    return forms


def patient_courses(patient: Patient) -> list[Course]:
    """The patient's courses, newest first, for choosing one on a form (the page loaded, and
    audited, the patient)."""
    return list(
        Course.objects.filter(patient=patient).select_related("protocol").order_by("-start_date")
    )


def patient_course(patient: Patient, pk) -> Course | None:
    """One of the patient's courses by its id, or ``None`` when it is not one of theirs (the
    caller loaded, checked and audited the patient)."""
    return Course.objects.filter(pk=pk, patient=patient).first()


def course_sessions(course: Course) -> list[Session]:
    """The course's sessions in order (the caller loaded, checked and audited the course)."""
    return list(Session.objects.filter(course=course).order_by("number"))
