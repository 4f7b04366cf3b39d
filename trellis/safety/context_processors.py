"""The safety app's part of every page: the open-alert count for the top bar."""

from functools import cache

from django.http import HttpRequest

from trellis.safety import selectors


def nav(request: HttpRequest) -> dict:
    """``open_alert_count``: counted once, and only when a page shows the top bar (templates
    call a callable when they read it; pages without the bar run no query)."""
    actor = getattr(request, "actor", None)
    return {"open_alert_count": cache(lambda: selectors.open_alert_count(actor))}
