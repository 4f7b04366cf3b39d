"""How Trellis reaches people: absolute links for messages, crisis lines, words for patients."""

from datetime import datetime

from django.utils import timezone

from trellis.lib.http import site_url as site_url  # where it lives; used here by its old name
from trellis.measures import instruments
from trellis.patients import contact

# Crisis resources shown to a patient and printed in every message to one (US): the 988
# Suicide & Crisis Lifeline, by call or text, and 911. Any PHQ-9 item 9 above 0 needs
# follow-up [R51]; the patient must not wait for it.
CRISIS_LINE = "988"
EMERGENCY_NUMBER = "911"

PATIENT_WORDS = {
    instruments.PHQ9.code: "Mood questionnaire (PHQ-9)",
    instruments.GAD7.code: "Anxiety questionnaire (GAD-7)",
}


def link_until(expires_at: datetime, clinic) -> str:
    """When a link stops working, in the clinic's timezone and named so: "Mar 3, 5:00 PM EST".

    The one wording of a link's expiry on every page and in every message, whoever reads it
    and wherever the server's clock is.
    """
    local = timezone.localtime(expires_at, clinic.tzinfo)
    return f"{local:%b %-d, %-I:%M %p} {local.tzname()}"


def link_channel(patient, purpose: str = "") -> str | None:
    """The ``LinkChannel`` value (sms, email, both; models import this module, so named here)
    a questionnaire link to ``patient`` goes by without staff choosing: the way they are
    reached (``patients.contact``, asked for ``purpose`` when the patient may have chosen a
    way for it), or None when there is none."""
    return {
        (contact.SMS,): "sms",
        (contact.EMAIL,): "email",
        (contact.SMS, contact.EMAIL): "both",
    }.get(tuple(contact.clinic_channels(patient, purpose=purpose)))
