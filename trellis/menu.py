"""The staff top bar's menu (``templates/base.html``): each page in the order staff meet them in
a day, what a role needs to see it, and the pages under it that mark it as the current one.

Every staff page draws the bar, so it costs one pass over this table: the links are reversed
once a process (for each script prefix), and the open-alert count is read only for a role that
sees "Alerts".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache

from django.http import HttpRequest
from django.urls import get_script_prefix, reverse

from trellis.accounts.access import Actor
from trellis.accounts.permissions import Perm
from trellis.safety import selectors as safety


@dataclass(frozen=True)
class Entry:
    label: str
    url_name: str
    needs: tuple[Perm, ...] = ()  # every one of them
    also_current: tuple[str, ...] = ()  # the other pages under this entry
    current_prefix: str = ""  # every page whose name begins so
    counts_alerts: bool = False  # shows the clinic's open safety alerts

    def is_current(self, here: str) -> bool:
        return (
            here == self.url_name
            or here in self.also_current
            or bool(self.current_prefix and here.startswith(self.current_prefix))
        )


MENU: tuple[Entry, ...] = (
    Entry("Today", "sessions_today", (Perm.COURSE_READ,)),
    Entry("Calendar", "calendar_day", (Perm.APPOINTMENT_READ,), ("calendar_week", "calendar_book")),
    Entry("Patients", "patient_list"),
    Entry("Groups", "group_list", (Perm.GROUP_READ,), current_prefix="group_"),
    Entry("Requests", "request_queue", (Perm.REQUEST_READ,)),
    Entry("Messages", "portal_inbox", (Perm.PORTAL_MESSAGE_REPLY,), ("portal_inbox_thread",)),
    Entry("Questionnaires", "measures_due", (Perm.MEASURE_READ,)),
    Entry("Alerts", "alert_queue", (Perm.ALERT_READ,), ("alert_detail",), counts_alerts=True),
    Entry("REMS", "rems_list", (Perm.SESSION_READ,)),
    Entry("Stock", "controlled_stock", (Perm.CONTROLLED_READ,)),
    Entry(
        "Insurance",
        "authorisation_list",
        (Perm.PRIOR_AUTH_READ, Perm.COVERAGE_READ),
        ("payer_list",),
    ),
    Entry(
        "Billing",
        "billing_takings",
        (Perm.BILLING_REPORT,),
        ("billing_aged", "billing_over_estimate", "billing_fees"),
    ),
    Entry("Outcomes", "report_outcomes", (Perm.REPORT_READ,)),
    Entry("Research", "report_research", (Perm.RESEARCH_EXPORT,)),
    Entry("Audit", "audit_report", (Perm.AUDIT_READ,)),
    Entry("Clinic", "clinic", (Perm.CLINIC_CHANGE,)),
    Entry("Staff", "staff_list", (Perm.CLINIC_CHANGE,), ("staff_invite", "staff_member")),
)


@dataclass(frozen=True)
class Link:
    label: str
    href: str
    current: bool
    open_alerts: int | None = None  # "Alerts": the clinic's open alerts

    @property
    def open_alerts_label(self) -> str:
        n = self.open_alerts
        return f"{n} open safety alert{'' if n == 1 else 's'}"


@lru_cache(maxsize=8)
def _hrefs(script_prefix: str) -> tuple[str, ...]:
    return tuple(reverse(entry.url_name) for entry in MENU)


def links(actor: Actor | None, here: str, open_alerts: Callable[[], int | None]) -> list[Link]:
    """The entries ``actor``'s role may open, ``here`` (the page's URL name) marked current;
    ``open_alerts`` is called only when "Alerts" is among them."""
    if actor is None:
        return []
    hrefs = _hrefs(get_script_prefix())
    return [
        Link(
            entry.label,
            href,
            entry.is_current(here),
            open_alerts() if entry.counts_alerts else None,
        )
        for entry, href in zip(MENU, hrefs, strict=True)
        if all(actor.can(perm) for perm in entry.needs)
    ]


def nav(request: HttpRequest) -> dict:
    """``menu``: the bar's links, built when a page reads it (templates call a callable when
    they read it; a page without the bar builds nothing and counts no alert)."""
    actor = getattr(request, "actor", None)
    match = getattr(request, "resolver_match", None)
    here = (match.url_name or "") if match else ""
    return {"menu": cache(lambda: links(actor, here, lambda: safety.open_alert_count(actor)))}
