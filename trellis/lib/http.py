from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The address a request came from, as the audit trail records it.

    Behind a trusted reverse proxy (``TRELLIS_BEHIND_PROXY``) that is the last address the proxy
    appended to X-Forwarded-For; otherwise the socket's peer.
    """
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.rsplit(",", 1)[-1].strip()[:64]
    return request.META.get("REMOTE_ADDR", "")[:64]


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def site_url(path: str) -> str:
    """An absolute URL for a message, on ``TRELLIS_BASE_URL``: the address patients reach
    Trellis at, whichever host the member of staff who sent it was using (production requires
    it; development defaults it to the development server, ``make run`` to its own port)."""
    return settings.TRELLIS_BASE_URL.rstrip("/") + path
