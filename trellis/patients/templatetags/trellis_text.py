from django import template

register = template.Library()


@register.filter
def words(value: str) -> str:
    """A code such as ``inadequate_response`` as words: "Inadequate response"."""
    text = str(value).replace("_", " ")
    return text[:1].upper() + text[1:]


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key, "")
