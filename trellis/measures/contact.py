"""How Trellis reaches people: absolute links for messages, crisis lines, words for patients."""

import logging

from django.conf import settings

from trellis.measures import instruments

logger = logging.getLogger(__name__)

# Crisis resources shown to a patient and printed in every message to one (US): the 988
# Suicide & Crisis Lifeline, by call or text, and 911. Any PHQ-9 item 9 above 0 needs
# follow-up [R51]; the patient must not wait for it.
CRISIS_LINE = "988"
EMERGENCY_NUMBER = "911"

PATIENT_WORDS = {
    instruments.PHQ9.code: "Mood questionnaire (PHQ-9)",
    instruments.GAD7.code: "Anxiety questionnaire (GAD-7)",
}


def site_url(path: str, request=None) -> str:
    """An absolute URL for a message: ``TRELLIS_BASE_URL``, else the request's own host.

    Messages written by the worker have no request; without ``TRELLIS_BASE_URL`` they point at
    the development server, and say so in the log.
    """
    base = (getattr(settings, "TRELLIS_BASE_URL", "") or "").rstrip("/")
    if base:
        return base + path
    if request is not None:
        return request.build_absolute_uri(path)
    logger.warning("TRELLIS_BASE_URL is not set: links in messages point at 127.0.0.1:8000")
    return "http://127.0.0.1:8000" + path
