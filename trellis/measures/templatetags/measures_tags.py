"""The questionnaire card on the patient's page: it renders the data the patient's view loaded
(nothing for a role without ``measure.read``). The alert banner is the safety app's
(``safety_tags``); the top bar's links are ``trellis.menu``.
"""

from django import template

from trellis.measures import services
from trellis.measures.outcomes import OUTCOME_WINDOW_TEXT

register = template.Library()

CARD_HISTORY = 10

SEVERITY_BADGES = {
    "minimal": "badge-ok",
    "mild": "badge-info",
    "moderate": "badge-warn",
    "moderately_severe": "badge-danger",
    "severe": "badge-danger",
}


@register.filter
def severity_badge(code: str) -> str:
    """The badge class for a severity band; the band's words always go inside it."""
    return SEVERITY_BADGES.get(code, "")


@register.filter
def tel(number: str) -> str:
    """A phone number as a tel: link target: "+1 860 555 0100" -> "+18605550100"."""
    return "".join(c for c in str(number) if c.isdigit() or c == "+")


def _signed(value: int) -> str:
    return f"+{value}" if value > 0 else f"\N{MINUS SIGN}{-value}" if value < 0 else "0"


def outcome_row(course_outcome: services.CourseOutcome) -> dict:
    """A course's outcome in words for the table (signs and thresholds spelled out)."""
    outcome = course_outcome.outcome
    row = {"course": course_outcome.course, "outcome": outcome, "judged": False}
    if outcome.measurement_count == 0:
        return row
    row["change"] = f"{_signed(outcome.change)} point{'s' if abs(outcome.change) != 1 else ''}"
    if outcome.change_pct is not None:
        pct = outcome.change_pct
        row["change_pct"] = f"{abs(pct):g} % {'fall' if pct >= 0 else 'rise'}"
    row["judged"] = outcome.measurement_count > 1
    return row


@register.inclusion_tag("measures/includes/patient_panel.html")
def patient_measures_panel(card: dict | None) -> dict:
    """The questionnaire card from the data the patient's view loaded (``selectors.patient_card``);
    nothing when the role may not see it."""
    if not card:
        return {"show": False}
    summary = card["summary"]
    return {
        **card,
        "show": True,
        # The latest few: a patient in maintenance answers one or two a week for years; the
        # whole list is a page of its own (``patient_measure_list``).
        "history": summary.measures[: -CARD_HISTORY - 1 : -1],
        "history_count": len(summary.measures),
        "due": [{"row": row, "status": row.status(summary.today)} for row in summary.due],
        "outcome_rows": [outcome_row(o) for o in summary.outcomes],
        "outcome_window": OUTCOME_WINDOW_TEXT,
    }
