"""Template filters for citations, available in every template (settings ``builtins``).

``{{ source|citation }}`` shows a citing text for a clinician: each ``[Rn]`` becomes its short
citation ("Spravato label 2019") linked to its entry on the Sources page, and developers'
pointers into the project notes are dropped (``trellis.lib.sources.pieces``).
"""

from functools import lru_cache

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeData, SafeString

from trellis.lib import sources

register = template.Library()


def citation_html(text) -> SafeString:
    """``text`` as HTML, each cited reference a link to its entry on the Sources page.

    Plain text is escaped; text already marked safe stays as it is around the links.
    """
    return _html(str(text or ""), isinstance(text, SafeData), get_script_prefix())


# The texts cited are the product's own (rules' sources, help texts, the outcome window), the
# same few on every page; working each out (the Sources page's address, the citations' parts,
# the links) cost about a quarter of a millisecond, eight times on a patient's page.
@lru_cache(maxsize=512)
def _html(text: str, safe: bool, script_prefix: str) -> SafeString:
    page = reverse("sources")
    html = []
    for piece in sources.pieces(text):
        if isinstance(piece, str):
            html.append(SafeString(piece) if safe else piece)
        elif piece.source is None:
            html.append(piece.text)
        else:
            html.append(
                format_html(
                    '<a class="cite" href="{}#{}" title="{}: {}">{}</a>',
                    page,
                    piece.source.anchor,
                    piece.source.key,
                    piece.source.description,
                    piece.text,
                )
            )
    return format_html_join("", "{}", ((part,) for part in html))


@register.filter
def citation(text) -> SafeString:
    """A citing text with its references as links to the Sources page."""
    return citation_html(text)


@register.filter
def citation_text(text) -> str:
    """A citing text with its references as short citations, without links (for text that is
    itself inside a link)."""
    return sources.short(str(text or ""))
