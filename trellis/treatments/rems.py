"""When a SPRAVATO REMS Patient Monitoring Form is due, and when it is overdue.

The form of every esketamine session is submitted within 7 days of the session [R30]. The
session's date is its date at the clinic, so is "today": both in the clinic's timezone. The
last day to submit is the due date itself; a form is overdue only from the day after.
"""

from datetime import date, timedelta
from enum import StrEnum

SUBMIT_WITHIN_DAYS = 7  # PMF submitted within 7 days of the session [R30]


class Deadline(StrEnum):
    SUBMITTED = "submitted"
    DUE = "due"
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"


def due_date(treatment_date: date) -> date:
    """The last day the form of a session on ``treatment_date`` may be submitted."""
    return treatment_date + timedelta(days=SUBMIT_WITHIN_DAYS)


def deadline(due: date, today: date, *, submitted: bool) -> Deadline:
    """Where a form stands on ``today`` (the clinic's date)."""
    if submitted:
        return Deadline.SUBMITTED
    if today > due:
        return Deadline.OVERDUE
    if today == due:
        return Deadline.DUE_TODAY
    return Deadline.DUE
