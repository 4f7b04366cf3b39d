"""Template tags for courses: the patient page's course panel and a session's status badge."""

from datetime import date

from django import template

from trellis.treatments.models import Session, SessionStatus

register = template.Library()


@register.inclusion_tag("treatments/includes/course_panel.html")
def patient_courses_panel(card: dict | None) -> dict:
    """The course card from the data the patient's view loaded (``selectors.course_card``);
    nothing without ``Perm.COURSE_READ``."""
    if not card:
        return {"visible": False}
    return {**card, "visible": True}


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
