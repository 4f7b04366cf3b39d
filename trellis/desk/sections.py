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
from django.urls import reverse

from trellis.accounts.access import Actor
from trellis.accounts.permissions import Role
from trellis.billing import insurance_selectors as insurance
from trellis.measures import selectors as measures
from trellis.patients import selectors as patients
from trellis.patients.modality import KETAMINE_FAMILY, Modality
from trellis.plans import selectors as plans
from trellis.portal import message_selectors as portal_messages
from trellis.portal import request_selectors as portal_requests
from trellis.safety import selectors as safety
from trellis.scheduling import kinds
from trellis.scheduling import selectors as scheduling
from trellis.treatments import selectors as treatments
from trellis.treatments.models import SessionStatus


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
        """The full list's address, or "" when it has none."""
        return reverse(self.see_all) + self.see_all_query if self.see_all else ""


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
PORTAL_REQUESTS = Section(
    "portal-requests",
    "Requests from the patient portal",
    portal_requests.open_requests_page,
    "desk/rows/portal_request.html",
    "No patient has asked anything from the portal.",
    see_all="portal_request_queue",
    note="To cancel, to change a time or for a new appointment; answer each. Oldest first.",
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
ARRIVALS = Section(
    "arrivals",
    "Today's arrivals",
    scheduling.arrivals,
    "desk/rows/arrival.html",
    "No appointments today.",
    see_all="calendar_day",
    note="Every appointment today in start order; check patients in as they arrive.",
)
UNBOOKED_TODAY = Section(
    "unbooked-today",
    "Sessions planned today without an appointment",
    partial(treatments.day_list, status=SessionStatus.PLANNED, name="unbooked-today"),
    "desk/rows/day_session.html",
    "Every session planned today has an appointment.",
    see_all="sessions_today",
    note="A course planned these for today; give each a time and a chair, room or device.",
)
UNCONFIRMED_TOMORROW = Section(
    "unconfirmed",
    "Unconfirmed tomorrow",
    scheduling.unconfirmed_tomorrow,
    "desk/rows/unconfirmed.html",
    "Every appointment tomorrow is confirmed.",
    note="Booked and not yet confirmed: call to confirm.",
)
TODAY_CHAIRS = Section(
    "chairs",
    "Today's chairs",
    partial(scheduling.today_by_resource, of_kinds=kinds.KETAMINE_FAMILY, name="chairs-today"),
    "desk/rows/by_resource.html",
    "No ketamine or esketamine appointments today.",
    see_all="calendar_day",
    note="IV ketamine, esketamine and oral ketamine, chair by chair.",
)
TODAY_DEVICES = Section(
    "devices",
    "Today's devices",
    partial(
        scheduling.today_by_resource, of_kinds=[kinds.AppointmentKind.TMS], name="devices-today"
    ),
    "desk/rows/by_resource.html",
    "No TMS appointments today.",
    see_all="calendar_day",
    note="TMS appointments, device by device.",
)
MY_THERAPY_TODAY = Section(
    "therapy",
    "Today's therapy and groups",
    scheduling.my_therapy_today,
    "desk/rows/arrival.html",
    "You have no therapy, group or coaching appointments today.",
    see_all="calendar_day",
    note="Your own therapy, group and coaching appointments.",
)
NO_SHOWS_WEEK = Section(
    "no-shows",
    "No-shows this week",
    scheduling.no_shows_this_week,
    "desk/rows/no_show.html",
    "Nobody missed an appointment this week.",
    note="Since Monday, the latest first.",
)

PRIOR_AUTHORISATIONS = Section(
    "prior-auth",
    "Prior authorisations to renew or chase",
    insurance.authorisations_to_watch,
    "desk/rows/prior_auth.html",
    "No prior authorisation is running low, ending soon or waiting past its decision date.",
    see_all="authorisation_list",
    note="Few sessions left, dates ending within 2 weeks, or a payer's decision due within a day.",
)

RELAPSE_WATCH = Section(
    "relapse",
    "Relapse watch",
    plans.relapse_watch,
    "desk/rows/relapse.html",
    "No patient who responded has a PHQ-9 past the relapse rule.",
    note="Responded, then the PHQ-9 rose past the clinic's rule; with the maintenance session "
    "proposed.",
)

BILLS_OVER_ESTIMATE = Section(
    "over-estimate",
    "Bills over their Good Faith Estimate",
    insurance.estimates_over,
    "desk/rows/over_estimate.html",
    "No patient has been billed $400 or more over an estimate.",
    see_all="billing_over_estimate",
    note="Billed at least $400 over the estimate: the patient may dispute the bill.",
)

PATIENT_MESSAGES = Section(
    "patient-messages",
    "Patient messages to read",
    portal_messages.awaiting_reply,
    "desk/rows/patient_message.html",
    "No patient message is waiting to be read.",
    see_all="portal_inbox",
    note="Open conversations with a message nobody has opened, the longest waiting first.",
)

# Each role's sections, the most pressing first.
BY_ROLE: dict[str, tuple[Section, ...]] = {
    Role.FRONT_DESK: (
        ARRIVALS,
        NEW_REQUESTS,
        CANCEL_REQUESTS,
        PORTAL_REQUESTS,
        PATIENT_MESSAGES,
        UNCONFIRMED_TOMORROW,
        UNBOOKED_TODAY,
        PRIOR_AUTHORISATIONS,
    ),
    Role.NURSE: (TODAY_CHAIRS, TO_SIGN_KETAMINE, OPEN_ALERTS, PATIENT_MESSAGES, RELAPSE_WATCH),
    Role.TMS_TECHNICIAN: (TODAY_DEVICES, TO_SIGN_TMS, OPEN_ALERTS, RELAPSE_WATCH),
    Role.PRESCRIBER: (
        SCREENINGS_TO_SIGN,
        TO_SIGN,
        OPEN_ALERTS,
        PATIENT_MESSAGES,
        RELAPSE_WATCH,
        RECENT_OVERRIDES,
        REMS_DUE,
        PRIOR_AUTHORISATIONS,
    ),
    Role.THERAPIST: (
        MY_THERAPY_TODAY,
        QUESTIONNAIRES_DUE,
        OPEN_ALERTS,
        PATIENT_MESSAGES,
        RELAPSE_WATCH,
    ),
    Role.CLINIC_ADMIN: (
        ALERTS_PAST_ESCALATION,
        UNSIGNED_PAST_DAY,
        REMS_OVERDUE,
        NO_SHOWS_WEEK,
        NEW_REQUESTS,
        PRIOR_AUTHORISATIONS,
        BILLS_OVER_ESTIMATE,
    ),
}


def sections_for(roles: Iterable[str]) -> list[Section]:
    """The sections of every role in ``roles``, in the roles' order, each section once."""
    chosen: dict[str, Section] = {}
    for role in roles:
        for section in BY_ROLE.get(role, ()):
            chosen.setdefault(section.key, section)
    return list(chosen.values())
