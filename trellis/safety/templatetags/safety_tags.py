"""The safety-alert banner on the patient's page and "Alerts" in the top bar.

The banner renders the data the patient's view loaded; the link renders the count the safety
app's context processor read (``selectors.open_alert_count``). Both render nothing for a role
without ``alert.read``.
"""

from django import template

register = template.Library()


@register.filter
def tel(number: str) -> str:
    """A phone number as a tel: link target: "+1 860 555 0100" -> "+18605550100"."""
    return "".join(c for c in str(number) if c.isdigit() or c == "+")


@register.inclusion_tag("safety/includes/alert_banner.html")
def patient_alert_banner(banner: dict | None) -> dict:
    """The banner from the data the patient's view loaded (``selectors.alert_banner``); nothing
    when the role may not see alerts or none is open."""
    if not banner:
        return {"show": False}
    return {**banner, "show": bool(banner["alerts"])}


@register.inclusion_tag("includes/nav_link.html", takes_context=True)
def alert_nav_link(context, count: int | None) -> dict:
    """ "Alerts" in the top bar with the clinic's open-alert count read for the request
    (``selectors.open_alert_count``); nothing when the count is ``None`` (no ``alert.read``)."""
    if count is None:
        return {"show": False}
    match = getattr(context.get("request"), "resolver_match", None)
    return {
        "show": True,
        "url_name": "alert_queue",
        "label": "Alerts",
        "count": count,
        "count_label": f"{count} open safety alert{'s' if count != 1 else ''}",
        "urgent": count > 0,
        "current": (match.url_name if match else "") in ("alert_queue", "alert_detail"),
    }
