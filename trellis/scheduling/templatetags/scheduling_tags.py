"""Template tags of the appointment book: the patient page's card of upcoming appointments."""

from django import template

register = template.Library()


@register.inclusion_tag("scheduling/includes/patient_card.html")
def patient_appointments_card(card: dict | None) -> dict:
    """The card from the data the patient's view loaded (``selectors.patient_card``); nothing
    without ``Perm.APPOINTMENT_READ``."""
    if not card:
        return {"visible": False}
    return {**card, "visible": True}
