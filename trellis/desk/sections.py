"""The work lists of each role's home page: one ``Section`` per list, and which roles see which.

A section is a title, the selector of the app that owns its rows (clinic-scoped, permission
checked, one page read in two queries and audited as one query event, see
``audit.selectors.audited_page``), the template of one row, the sentence shown when it is
empty, and the full list page, if there is one. To add a list, write its selector in the owning
app, a row template under ``templates/desk/rows/``, a ``Section`` below, and name it in
``BY_ROLE`` for the roles it serves.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

from django.core.paginator import Page
from django.urls import NoReverseMatch, reverse

from trellis.accounts.access import Actor
from trellis.accounts.permissions import Role
from trellis.measures import selectors as measures
from trellis.patients import selectors as patients
from trellis.patients.modality import KETAMINE_FAMILY, Modality
from trellis.safety import selectors as safety
from trellis.scheduling import selectors as scheduling
from trellis.treatments import selectors as treatments


@dataclass(frozen=True)
class Section:
    key: str  # in the page's query string (``?<key>-page=2``) and the section's HTML id
    title: str
    select: Callable[[Actor, int], Page]  # (actor, page number) → the audited page of rows
    row_template: str  # renders one ``<tr>`` for ``row``
    empty: str  # a sentence for when there is nothing to do
    see_all: str = ""  # URL name of the full list, if there is one
    see_all_query: str = ""  # e.g. "?status=new"
    note: str = ""  # one line under the title saying what the list holds

    @property
    def page_param(self) -> str:
        return f"{self.key}-page"

    def see_all_url(self) -> str:
        """The full list's address, or "" when it has none (or its page does not exist)."""
        return safe_reverse(self.see_all) + self.see_all_query if self.see_all else ""


def safe_reverse(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


# --- The sections ------------------------------------------------------------------------------

NEW_REQUESTS = Section(
    "requests",
    "New assessment requests",
    patients.new_requests,
    "desk/rows/request.html",
    "No assessment requests waiting.",
    see_all="request_queue",
    see_all_query="?status=new",
    note="From the website and the phone, oldest first.",
)
CANCEL_REQUESTS = Section(
    "cancel-requests",
    "Patients asking to cancel or reschedule",
    scheduling.cancel_requests_page,
    "desk/rows/cancel_request.html",
    "No patient has asked to cancel or reschedule.",
    see_all="calendar_day",
    note="Answered by their appointment link; call them, then move or cancel. Soonest first.",
)
TODAY_ALL = Section(
    "today",
    "Today's sessions",
    treatments.day_list,
    "desk/rows/day_session.html",
    "No sessions are planned today.",
    see_all="sessions_today",
    note="Who is coming, when, and for which treatment.",
)
TODAY_KETAMINE = Section(
    "today-ketamine",
    "Today's ketamine and esketamine sessions",
    partial(treatments.day_list, modalities=KETAMINE_FAMILY),
    "desk/rows/day_session.html",
    "No ketamine or esketamine sessions are planned today.",
    see_all="sessions_today",
)
TODAY_TMS = Section(
    "today-tms",
    "Today's TMS sessions",
    partial(treatments.day_list, modalities=[Modality.TMS]),
    "desk/rows/day_session.html",
    "No TMS sessions are planned today.",
    see_all="sessions_today",
)
TO_SIGN = Section(
    "to-sign",
    "Sessions to document and sign",
    treatments.sessions_to_sign,
    "desk/rows/session_to_sign.html",
    "Every session begun has been signed.",
    note="Begun and not yet signed, oldest first.",
)
TO_SIGN_KETAMINE = Section(
    "to-sign-ketamine",
    "Ketamine and esketamine sessions to document and sign",
    partial(treatments.sessions_to_sign, modalities=KETAMINE_FAMILY),
    "desk/rows/session_to_sign.html",
    "Every ketamine and esketamine session begun has been signed.",
    note="Begun and not yet signed, oldest first.",
)
TO_SIGN_TMS = Section(
    "to-sign-tms",
    "TMS sessions to document and sign",
    partial(treatments.sessions_to_sign, modalities=[Modality.TMS]),
    "desk/rows/session_to_sign.html",
    "Every TMS session begun has been signed.",
    note="Begun and not yet signed, oldest first.",
)
OPEN_ALERTS = Section(
    "alerts",
    "Open safety alerts",
    safety.open_alerts,
    "desk/rows/alert.html",
    "No open safety alerts.",
    see_all="alert_queue",
    note="Vital signs, questionnaire answers and events; most severe first.",
)
SCREENINGS_TO_SIGN = Section(
    "screenings",
    "Screenings to sign",
    patients.screenings_to_sign,
    "desk/rows/screening.html",
    "No screenings are waiting for a signature.",
)
RECENT_OVERRIDES = Section(
    "overrides",
    "Safety overrides this week",
    treatments.recent_overrides,
    "desk/rows/override.html",
    "No safety stop was overridden in the last 7 days.",
    note="Each stop a prescriber let a session pass, and why: for review.",
)
REMS_DUE = Section(
    "rems",
    "REMS forms due",
    treatments.rems_due,
    "desk/rows/rems.html",
    "No REMS form is due in the next 7 days.",
    see_all="rems_list",
    note="Not yet submitted and due within 7 days; overdue first.",
)
QUESTIONNAIRES_DUE = Section(
    "questionnaires",
    "Questionnaires due",
    measures.questionnaires_due,
    "desk/rows/questionnaire.html",
    "No questionnaires are due today.",
    see_all="measures_due",
    note="Open today and not yet answered, earliest due first.",
)
ALERTS_PAST_ESCALATION = Section(
    "alerts-escalating",
    "Alerts open past the escalation time",
    safety.alerts_past_escalation,
    "desk/rows/alert.html",
    "Every alert was acknowledged within the clinic's escalation time.",
    see_all="alert_queue",
    note="Nobody acknowledged these within the clinic's alert escalation time.",
)
UNSIGNED_PAST_DAY = Section(
    "unsigned-overdue",
    "Sessions unsigned past their day",
    treatments.unsigned_past_day,
    "desk/rows/session_overdue.html",
    "No session begun on an earlier day is left unsigned.",
    note="Ask whoever began them to document and sign.",
)
REMS_OVERDUE = Section(
    "rems-overdue",
    "REMS forms overdue",
    treatments.rems_overdue,
    "desk/rows/rems_overdue.html",
    "No REMS form is overdue.",
    note="Past the 7 days the REMS program allows.",
)

# Each role's sections, the most pressing first.
BY_ROLE: dict[str, tuple[Section, ...]] = {
    Role.FRONT_DESK: (NEW_REQUESTS, CANCEL_REQUESTS, TODAY_ALL),
    Role.NURSE: (TODAY_KETAMINE, TO_SIGN_KETAMINE, OPEN_ALERTS),
    Role.TMS_TECHNICIAN: (TODAY_TMS, TO_SIGN_TMS, OPEN_ALERTS),
    Role.PRESCRIBER: (SCREENINGS_TO_SIGN, TO_SIGN, OPEN_ALERTS, RECENT_OVERRIDES, REMS_DUE),
    Role.THERAPIST: (QUESTIONNAIRES_DUE, OPEN_ALERTS),
    Role.CLINIC_ADMIN: (ALERTS_PAST_ESCALATION, UNSIGNED_PAST_DAY, REMS_OVERDUE, NEW_REQUESTS),
}


def sections_for(roles: Iterable[str]) -> list[Section]:
    """The sections of every role in ``roles``, in the roles' order, each section once."""
    chosen: dict[str, Section] = {}
    for role in roles:
        for section in BY_ROLE.get(role, ()):
            chosen.setdefault(section.key, section)
    return list(chosen.values())
