"""Template filters for citations, available in every template (settings ``builtins``).

``{{ source|citation }}`` shows a citing text for a clinician: each ``[Rn]`` becomes its short
citation ("Spravato label 2019") linked to its entry on the Sources page, and developers'
pointers into the project notes are dropped (``trellis.lib.sources.pieces``).
"""

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeData, SafeString

from trellis.lib import sources

register = template.Library()


def citation_html(text) -> SafeString:
    """``text`` as HTML, each cited reference a link to its entry on the Sources page.

    Plain text is escaped; text already marked safe stays as it is around the links.
    """
    page = reverse("sources")
    safe = isinstance(text, SafeData)
    html = []
    for piece in sources.pieces(str(text or "")):
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
