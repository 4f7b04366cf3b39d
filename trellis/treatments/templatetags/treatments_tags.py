"""Template tags for courses: the patient page's course panel and a session's status badge."""

from datetime import date

from django import template
from django.db.models import Count, Min, Q

from trellis.accounts.permissions import Perm
from trellis.treatments import services
from trellis.treatments.models import (
    Course,
    Session,
    SessionStatus,
    delivered_q,
    undelivered_q,
)

register = template.Library()


@register.inclusion_tag("treatments/includes/course_panel.html", takes_context=True)
def patient_courses_panel(context, patient) -> dict:
    """The patient's courses with their progress; nothing without ``Perm.COURSE_READ``."""
    request = context.get("request")
    actor = getattr(request, "actor", None)
    if actor is None or not actor.can(Perm.COURSE_READ):
        return {"visible": False}
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
    return {
        "visible": True,
        "patient": patient,
        "courses": courses,
        "can_start": actor.can(Perm.COURSE_CHANGE),
    }


# Words for a session over without treatment; the colour repeats them, never replaces them.
_UNDELIVERED_WORDS = {
    SessionStatus.CANCELLED: "✕ Cancelled",
    SessionStatus.NO_SHOW: "✕ No-show",
    SessionStatus.NOT_GIVEN: "✕ Not given",
}


def session_state(session: Session, today: date, closed_dates=frozenset()) -> tuple[str, str]:
    """A session's state for people: a key for the colour and words that carry the meaning."""
    if session.signed_at is not None:
        return "signed", "✓ Signed"
    if session.status == SessionStatus.IN_PROGRESS:
        return "in_progress", "● In progress"
    if session.status in _UNDELIVERED_WORDS:
        return session.status, _UNDELIVERED_WORDS[session.status]
    if session.status == SessionStatus.BOOKED and session.planned_date >= today:
        return "booked", "Booked"
    if session.planned_date in closed_dates:
        return "closed", "! On a closure day"
    if session.planned_date < today:
        return "overdue", "! Not started"
    return "planned", "Planned"


@register.inclusion_tag("treatments/includes/course_session_status.html")
def session_status(session: Session, today: date, closed_dates=frozenset()) -> dict:
    key, label = session_state(session, today, closed_dates)
    return {"key": key, "label": label}
