"""How to reach a patient with an automated message: the one answer, for appointment messages
(``scheduling.reminders``) and questionnaire links (``measures.services``) alike.

The patient's ``contact_channel`` decides; a patient not yet asked ("") gets the clinic's
usual way, which is what Trellis did before patients chose: by text when a phone number is on
file, else by e-mail, or by both when the clinic's default says so. Computing it here, rather
than writing a choice into every existing record, keeps it right when a phone number is added
or removed later.

No automated text goes to a patient whose agreement to texts is not recorded when the clinic
requires it (TCPA prior express consent, 47 CFR 64.1200(a)(1); clinic setting
``sms_consent_required``, on by default): such a patient is e-mailed instead when an address
is on file, so an appointment reminder still reaches them.
"""

from collections.abc import Callable

from trellis.patients.models import ContactChannel, Patient

# The outbox's channel names (``messaging.models.Channel``, which this layer cannot import).
SMS = "sms"
EMAIL = "email"

# The clinic's usual way for a patient not yet asked (``appointment_message_channels``).
TEXT_ELSE_EMAIL = 1
BOTH = 2


def channels(
    patient: Patient, clinic_default: int = TEXT_ELSE_EMAIL, *, consent_required: bool = True
) -> list[str]:
    """The outbox channels, text first, an automated message to ``patient`` goes by; empty
    when there is none (no automated messages wanted, or nothing usable on file)."""
    has_phone, has_email = bool(patient.phone.strip()), bool(patient.email.strip())
    may_text = has_phone and (patient.sms_consent_at is not None or not consent_required)
    choice = patient.contact_channel
    if choice == ContactChannel.NONE:
        return []
    if choice == ContactChannel.EMAIL:
        return [EMAIL] if has_email else []
    if choice == ContactChannel.BOTH or (choice == ContactChannel.USUAL and clinic_default == BOTH):
        return [c for c, usable in ((SMS, may_text), (EMAIL, has_email)) if usable]
    # TEXT, or not chosen with the clinic's text-else-e-mail default.
    if may_text:
        return [SMS]
    return [EMAIL] if has_email else []


# Another app's say on how one kind of automated message reaches a patient (the portal's
# notification settings): ``chooser(patient, purpose)`` answers the channels (maybe none), or
# None to leave it to ``channels``. Registered in that app's AppConfig.ready; this layer imports
# no app above it.
_CHOOSERS: list[Callable] = []

# The purposes asked about, besides appointment reminders (``scheduling.reminders``): a
# reminder with questionnaire links (``measures``) and a check-in's link (``aftercare``).
QUESTIONNAIRE = "questionnaire"
CHECK_IN = "check_in"


def on_choice(chooser: Callable) -> None:
    if chooser not in _CHOOSERS:
        _CHOOSERS.append(chooser)


def chosen(patient: Patient, purpose: str) -> list[str] | None:
    """The channels a registered chooser gives for ``purpose``, or None when none has a say."""
    for chooser in _CHOOSERS:
        found = chooser(patient, purpose)
        if found is not None:
            return found
    return None


def clinic_channels(
    patient: Patient, clinic_default: int = TEXT_ELSE_EMAIL, *, purpose: str = ""
) -> list[str]:
    """``channels`` with the patient's clinic's consent rule; for a ``purpose`` the patient
    has chosen a way for (``chosen``), that way, maybe none."""
    if purpose:
        found = chosen(patient, purpose)
        if found is not None:
            return list(found)
    return channels(
        patient,
        clinic_default,
        consent_required=bool(patient.clinic.setting("sms_consent_required")),
    )


def may_text(patient: Patient) -> bool:
    """Whether the clinic lets any text go to ``patient``: a phone number on file, and their
    recorded agreement where the clinic requires it."""
    if not patient.phone.strip():
        return False
    return patient.sms_consent_at is not None or not patient.clinic.setting("sms_consent_required")


def in_words(chosen: list[str]) -> str:
    """ "Text message", "E-mail", "Text message and e-mail", or "" for none."""
    words = {SMS: "text message", EMAIL: "e-mail"}
    if not chosen:
        return ""
    said = " and ".join(words[c] for c in chosen)
    return said[0].upper() + said[1:]
