"""Reads of courses for pages that belong to other apps (the patient's page)."""

from django.db.models import Count, Min, Q

from trellis.accounts.access import Actor
from trellis.accounts.permissions import Perm
from trellis.patients.models import Patient
from trellis.treatments import services
from trellis.treatments.models import Course, SessionStatus, delivered_q, undelivered_q


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
