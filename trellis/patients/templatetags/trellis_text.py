from django import template

from trellis.patients import eligibility

register = template.Library()


@register.filter
def words(value: str) -> str:
    """A code such as ``inadequate_response`` as words: "Inadequate response"."""
    text = str(value).replace("_", " ")
    return text[:1].upper() + text[1:]


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key, "")


@register.filter
def rule_label(rule_id: str) -> str:
    """What an eligibility rule looks at, in plain words ("History of seizures")."""
    return eligibility.rule_label(rule_id)


@register.filter
def reason_message(message: str) -> str:
    """An eligibility reason's sentence, with any answer named in words."""
    return eligibility.plain_message(message)
