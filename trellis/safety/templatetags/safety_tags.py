"""The safety-alert banner on the patient's page, from the data the patient's view loaded; it
renders nothing for a role without ``alert.read``. ("Alerts" in the top bar is ``trellis.menu``.)
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
