"""How the outcomes page writes its figures: rates as percentages and in words."""

from django import template

register = template.Library()

# Plain fractions a rate is read as ("about 3 in 5"), tried in this order.
_FRACTIONS = [(1, 10), (1, 5), (1, 4), (1, 3), (2, 5), (1, 2), (3, 5), (2, 3), (3, 4), (4, 5)]
_FRACTIONS += [(9, 10)]


@register.filter
def percent(rate: float | None) -> str:
    """0.617 -> "62 %"; no rate (nothing assessed) -> "—"."""
    if rate is None:
        return "—"
    return f"{round(rate * 100)} %"


@register.filter
def in_words(rate: float | None) -> str:
    """0.617 -> "about 3 in 5": the rate as a plain fraction, for reading aloud."""
    if rate is None:
        return "none assessed"
    if rate == 0:
        return "none"
    if rate == 1:
        return "all"
    if rate < 0.05:
        return "almost none"
    if rate > 0.95:
        return "almost all"
    top, bottom = min(_FRACTIONS, key=lambda f: abs(rate - f[0] / f[1]))
    return f"about {top} in {bottom}"


@register.filter
def count(value: int | None) -> str:
    """2316 -> "2,316"."""
    return "—" if value is None else f"{value:,}"


@register.filter
def weeks(value: float | None) -> str:
    """1.25 -> "1.3 weeks"; none -> "—"."""
    if value is None:
        return "—"
    return f"{value:.1f} week" + ("" if round(value, 1) == 1 else "s")


@register.filter
def quarter_label(code: str) -> str:
    """ "2026-Q1" -> "Q1 2026"."""
    year, _, quarter = code.partition("-")
    return f"{quarter} {year}" if quarter else code
