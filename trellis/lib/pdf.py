"""Documents as PDF: an HTML template with print CSS, laid out by WeasyPrint.

Superbills, claim forms, estimates and controlled-substance records are rendered here, so each
is an ordinary Django template a clinic's staff can read and a test can check. WeasyPrint is
never allowed to fetch from the network: a stylesheet or image may only come from the
product's own static files (``/static/...``) or be inlined in the template.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

PDF_CONTENT_TYPE = "application/pdf"


class RefusedResource(ValueError):
    """A document asked for a resource outside the product's static files."""


def _static_file(url: str) -> Path:
    parsed = urlparse(url)
    prefix = "/" + settings.STATIC_URL.strip("/") + "/"
    if parsed.scheme in ("", "file") and parsed.path.startswith(prefix):
        found = finders.find(parsed.path[len(prefix) :])
        if found:
            return Path(found)
    raise RefusedResource(f"A document may only use the product's static files, not {url!r}.")


def _fetcher():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnly(URLFetcher):
        def fetch(self, url, headers=None):
            path = _static_file(url)
            return URLFetcherResponse(url, body=path.read_bytes())

    return StaticOnly(fail_on_errors=True)


def html_to_pdf(html: str) -> bytes:
    """Lay out ``html`` as a PDF (its ``@page`` rules set size and margins)."""
    from weasyprint import HTML  # imported here: loading Pango costs ~0.3 s, only for PDFs
    from weasyprint.urls import FatalURLFetchingError

    try:
        return HTML(string=html, base_url="/", url_fetcher=_fetcher()).write_pdf()
    except FatalURLFetchingError as error:
        if isinstance(error.__cause__, RefusedResource):
            raise error.__cause__ from None
        raise


def render_pdf(template_name: str, context: dict | None = None, request=None) -> bytes:
    """Render a template to HTML, then to PDF bytes."""
    return html_to_pdf(render_to_string(template_name, context or {}, request=request))


def pdf_response(content: bytes, filename: str, *, inline: bool = True):
    """An HTTP response carrying a PDF: shown in the browser, or downloaded as ``filename``."""
    from django.http import HttpResponse

    response = HttpResponse(content, content_type=PDF_CONTENT_TYPE)
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
