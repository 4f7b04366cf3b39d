from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def patient_alert_banner(context, patient) -> str:
    return ""


@register.simple_tag(takes_context=True)
def patient_measures_panel(context, patient) -> str:
    return ""
