"""What can be booked, on what, for how long: the one definition of appointment kinds.

Pure: Django's enums only, no settings and no database. The appointment book, the calendar
pages, reminders and the API all read these; a rule about kinds is changed here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models.enums import TextChoices

from trellis.lib.errors import Conflict, InputError
from trellis.patients.modality import KETAMINE_FAMILY as KETAMINE_MODALITIES
from trellis.patients.modality import Modality


class AppointmentKind(TextChoices):
    ASSESSMENT = "assessment", "Assessment"
    IV_KETAMINE = "iv_ketamine", "IV ketamine"
    ESKETAMINE = "esketamine", "Esketamine (Spravato)"
    ORAL_KETAMINE = "oral_ketamine", "Oral ketamine"
    TMS = "tms", "TMS"
    THERAPY = "therapy", "Therapy"
    GROUP = "group", "Group"
    FOLLOW_UP = "follow_up", "Follow-up"
    COACHING = "coaching", "Health coaching"


class ResourceKind(TextChoices):
    CHAIR = "chair", "Infusion chair"
    ROOM = "room", "Room"
    TMS_DEVICE = "tms_device", "TMS device"


class AppointmentStatus(TextChoices):
    BOOKED = "booked", "Booked"
    CONFIRMED = "confirmed", "Confirmed"
    CHECKED_IN = "checked_in", "Checked in"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


K = AppointmentKind
S = AppointmentStatus

# The treatment a kind gives, where it is one of the modalities documented as sessions.
MODALITY: dict[str, str] = {
    K.IV_KETAMINE: Modality.IV_KETAMINE,
    K.ESKETAMINE: Modality.ESKETAMINE,
    K.TMS: Modality.TMS,
    K.ORAL_KETAMINE: Modality.ORAL_KETAMINE,
}

# Ketamine-family doses: never two for one patient on one clinic day without a prescriber's
# override (DOMAIN.md §8.14, and "block a second ketamine/esketamine dose the same day"): the
# kinds that give a modality of ``patients.modality.KETAMINE_FAMILY``.
KETAMINE_FAMILY: frozenset[str] = frozenset(
    kind for kind, modality in MODALITY.items() if modality in KETAMINE_MODALITIES
)

# Kinds a therapist books (with Perm.APPOINTMENT_THERAPY); every other kind needs
# Perm.APPOINTMENT_CHANGE.
THERAPY_KINDS: frozenset[str] = frozenset({K.THERAPY, K.GROUP, K.COACHING})

# Statuses that hold their time: a cancelled or no-show appointment frees its slot, the
# resource and the patient's ketamine day.
ACTIVE_STATUSES: tuple[str, ...] = (S.BOOKED, S.CONFIRMED, S.CHECKED_IN, S.COMPLETED)

# status → the statuses it may move to. Confirming is optional (a patient may be checked in
# without having confirmed); cancelling needs a reason (``REASON_REQUIRED``).
TRANSITIONS: dict[str, frozenset[str]] = {
    S.BOOKED: frozenset({S.CONFIRMED, S.CHECKED_IN, S.CANCELLED, S.NO_SHOW}),
    S.CONFIRMED: frozenset({S.CHECKED_IN, S.CANCELLED, S.NO_SHOW}),
    S.CHECKED_IN: frozenset({S.COMPLETED, S.CANCELLED, S.NO_SHOW}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.NO_SHOW: frozenset(),
}
REASON_REQUIRED: frozenset[str] = frozenset({S.CANCELLED})

# Which resources suit a kind. A TMS session needs a TMS device; a dose is given in an infusion
# chair or a treatment room; the talking kinds need a room.
SUITABLE_RESOURCES: dict[str, frozenset[str]] = {
    K.ASSESSMENT: frozenset({ResourceKind.ROOM}),
    K.IV_KETAMINE: frozenset({ResourceKind.CHAIR, ResourceKind.ROOM}),
    K.ESKETAMINE: frozenset({ResourceKind.CHAIR, ResourceKind.ROOM}),
    K.ORAL_KETAMINE: frozenset({ResourceKind.CHAIR, ResourceKind.ROOM}),
    K.TMS: frozenset({ResourceKind.TMS_DEVICE}),
    K.THERAPY: frozenset({ResourceKind.ROOM}),
    K.GROUP: frozenset({ResourceKind.ROOM}),
    K.FOLLOW_UP: frozenset({ResourceKind.ROOM}),
    K.COACHING: frozenset({ResourceKind.ROOM}),
}

# An appointment lasts at least this long and at most this long (a whole clinic day).
MIN_MINUTES = 5
MAX_MINUTES = 12 * 60

# The clinic setting (accounts.clinic_settings) giving each kind's default length. TMS depends
# on the protocol: see ``DURATION_SETTING_FOR_TMS_PROTOCOL``.
DURATION_SETTING: dict[str, str] = {
    K.ASSESSMENT: "appointment_minutes_assessment",
    K.IV_KETAMINE: "appointment_minutes_iv_ketamine",
    K.ESKETAMINE: "appointment_minutes_esketamine",
    K.ORAL_KETAMINE: "appointment_minutes_oral_ketamine",
    K.TMS: "appointment_minutes_tms_10hz",
    K.THERAPY: "appointment_minutes_therapy",
    K.GROUP: "appointment_minutes_group",
    K.FOLLOW_UP: "appointment_minutes_follow_up",
    K.COACHING: "appointment_minutes_coaching",
}
# Treatment-protocol schedule codes (treatments.schedule) whose TMS sessions last otherwise.
DURATION_SETTING_FOR_TMS_PROTOCOL: dict[str, str] = {
    "tms-10hz": "appointment_minutes_tms_10hz",
    "tms-itbs": "appointment_minutes_tms_itbs",
    "tms-accelerated-itbs": "appointment_minutes_tms_itbs",
}


def check_kind(kind: str) -> str:
    if kind not in AppointmentKind.values:
        raise InputError("kind", f"must be one of {', '.join(AppointmentKind.values)}")
    return kind


def default_minutes(
    kind: str, setting: Callable[[str], int | float], *, protocol_schedule: str = ""
) -> int:
    """The clinic's default length of ``kind``; ``setting`` reads a clinic setting by key
    (``Clinic.setting``), ``protocol_schedule`` is the course's schedule code for a session."""
    check_kind(kind)
    key = DURATION_SETTING[kind]
    if kind == K.TMS:
        key = DURATION_SETTING_FOR_TMS_PROTOCOL.get(protocol_schedule, key)
    return int(setting(key))


def check_minutes(minutes) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise InputError("minutes", "must be a whole number of minutes")
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise InputError("minutes", f"must be between {MIN_MINUTES} and {MAX_MINUTES}")
    return minutes


def first_kind_for(resource_kind: str) -> str:
    """The first appointment kind (in the book's order) a resource of ``resource_kind`` takes:
    what a booking begun from that resource's column starts as."""
    return next(k for k in AppointmentKind.values if resource_kind in SUITABLE_RESOURCES[k])


def check_resource_kind(kind: str, resource_kind: str) -> None:
    """A ``resource`` error when a resource of ``resource_kind`` cannot take ``kind``."""
    suitable = SUITABLE_RESOURCES[kind]
    if resource_kind not in suitable:
        names = " or ".join(sorted(_noun(ResourceKind(r).label) for r in suitable))
        raise InputError(
            "resource",
            f"{_article(_noun(ResourceKind(resource_kind).label))} cannot take "
            f"{AppointmentKind(kind).label} appointments; choose {_article(names)}",
        )


def _noun(label: str) -> str:
    """A label inside a sentence: "Infusion chair" → "infusion chair", "TMS device" kept."""
    return label if label[:2].isupper() else label[0].lower() + label[1:]


def _article(words: str) -> str:
    return f"{'an' if words[0] in 'aeiou' else 'a'} {words}"


def check_transition(current: str, new: str) -> None:
    """An ``InputError`` for an unknown status; a ``Conflict`` (code ``transition``) unless an
    appointment may move from ``current`` to ``new``."""
    if new not in AppointmentStatus.values:
        raise InputError("status", f"must be one of {', '.join(AppointmentStatus.values)}")
    if new not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing: it is over"
        raise Conflict(
            f"A {AppointmentStatus(current).label.lower()} appointment may become {allowed}, "
            f"not {new}.",
            code="transition",
        )


# Statuses that wait for the appointment's clinic day: a patient is checked in, seen or missed
# on the day, never ahead of it.
NOT_BEFORE_THE_DAY: frozenset[str] = frozenset({S.CHECKED_IN, S.COMPLETED, S.NO_SHOW})
# What may still be done once the day is over: close what was left open.
AFTER_THE_DAY: frozenset[str] = frozenset({S.COMPLETED, S.NO_SHOW})
# Moving an appointment to another time or resource (not a status): before it is under way.
MOVE = "move"
MOVABLE: frozenset[str] = frozenset({S.BOOKED, S.CONFIRMED})
# The order the calendar offers them in: the next step first.
ACTION_ORDER: tuple[str, ...] = (
    S.CHECKED_IN,
    S.COMPLETED,
    S.CONFIRMED,
    MOVE,
    S.NO_SHOW,
    S.CANCELLED,
)


def allowed_actions(status: str, day, today) -> tuple[str, ...]:
    """What can succeed on an appointment in ``status`` on clinic ``day`` when the clinic's
    date is ``today``, the next step first: the new statuses ``TRANSITIONS`` allows, without
    those that wait for the day (``NOT_BEFORE_THE_DAY``) before it, only completing and no-show
    after it, and ``MOVE`` while it is booked or confirmed and not past. Confirming is offered
    before the day only: on the day the next step is checking in."""
    possible = set(TRANSITIONS[status])
    if status in MOVABLE:
        possible.add(MOVE)
    if day > today:
        possible -= NOT_BEFORE_THE_DAY
    elif day == today:
        possible.discard(S.CONFIRMED)
    else:
        possible &= AFTER_THE_DAY
    return tuple(action for action in ACTION_ORDER if action in possible)
