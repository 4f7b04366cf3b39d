"""Template tags for courses: the patient page's course panel and a session's status badge."""

from datetime import date

from django import template
from django.db.models import Count, Min, Q

from trellis.accounts.permissions import Perm
from trellis.treatments import services
from trellis.treatments.models import Course, Session, SessionStatus

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
            delivered=Count(
                "sessions",
                filter=Q(sessions__status=SessionStatus.COMPLETED)
                | Q(sessions__signed_at__isnull=False),
            ),
            cancelled=Count("sessions", filter=Q(sessions__status=SessionStatus.CANCELLED)),
            next_date=Min(
                "sessions__planned_date",
                filter=Q(sessions__status=SessionStatus.PLANNED, sessions__planned_date__gte=today),
            ),
        )
    )
    for course in courses:
        course.auth = services.authorisation(
            course, used=course.delivered, planned=course.total - course.cancelled
        )
    return {
        "visible": True,
        "patient": patient,
        "courses": courses,
        "can_start": actor.can(Perm.COURSE_CHANGE),
    }


def session_state(session: Session, today: date, closed_dates=frozenset()) -> tuple[str, str]:
    """A session's state for people: a key for the colour and words that carry the meaning."""
    if session.signed_at is not None:
        return "signed", "✓ Signed"
    if session.status == SessionStatus.COMPLETED:
        return "completed", "Awaiting signature"
    if session.status == SessionStatus.IN_PROGRESS:
        return "in_progress", "● In progress"
    if session.status == SessionStatus.CANCELLED:
        return "cancelled", "Cancelled"
    if session.planned_date in closed_dates:
        return "closed", "! On a closure day"
    if session.planned_date < today:
        return "overdue", "! Not started"
    return "planned", "Planned"


@register.inclusion_tag("treatments/includes/course_session_status.html")
def session_status(session: Session, today: date, closed_dates=frozenset()) -> dict:
    key, label = session_state(session, today, closed_dates)
    return {"key": key, "label": label}
