"""What a patient reads about an appointment: each kind in plain words, and what to arrange.

Pure: the one definition of the words in reminders, booking messages and the confirmation page.
No diagnosis and no dose: a phone's screen is seen by others. The calendar file and the public
page say only "Appointment at <clinic>" (``calendar_files``, ``public_views``).
"""

from __future__ import annotations

from trellis.scheduling.kinds import AppointmentKind as K

PLAIN_WORDS: dict[str, str] = {
    K.ASSESSMENT: "assessment visit",
    K.IV_KETAMINE: "ketamine infusion",
    K.ESKETAMINE: "Spravato treatment",
    K.ORAL_KETAMINE: "ketamine treatment",
    K.TMS: "TMS session",
    K.THERAPY: "therapy session",
    K.GROUP: "group session",
    K.FOLLOW_UP: "follow-up visit",
    K.COACHING: "coaching session",
}

# Esketamine: the Spravato label — patients must not drive or operate machinery until the next
# day after a restful sleep, and must plan how to get home [R22] (DOMAIN.md §2.2).
ESKETAMINE_TRAVEL = (
    "Do not drive or operate machinery until the next day, after a restful sleep. "
    "Arrange a ride home."
)
# IV ketamine: outpatients are released only after full recovery and with a responsible adult
# [R10] (DOMAIN.md §1.2).
IV_KETAMINE_TRAVEL = "A responsible adult must take you home. Do not drive yourself."

TRAVEL: dict[str, str] = {
    K.ESKETAMINE: ESKETAMINE_TRAVEL,
    K.IV_KETAMINE: IV_KETAMINE_TRAVEL,
}


def plain(kind: str) -> str:
    """The kind as a patient says it: "TMS session"; "appointment" for a kind not listed."""
    return PLAIN_WORDS.get(kind, "appointment")


def travel(kind: str) -> str:
    """What the patient must arrange to get home, or "" when nothing."""
    return TRAVEL.get(kind, "")


def one_line(address: str) -> str:
    """A clinic's address on one line: "12 Main St, Springfield, MA 01101"."""
    return ", ".join(part.strip() for part in address.splitlines() if part.strip())
