"""The rules of a group's size, calendar and late joining (DOMAIN.md §12). Pure: no database.

- At most 12 members: NGS LCD L33632 describes 90853 groups of at most 12 participants
  [R103]; AAPC gives 8-10 as typical and 12 as the maximum [R104].
- The participant count is the number who took part (present, late or left early); the record
  of a 90853 group must hold it [R103], and each of them is billed one 90853 [R104].
- Late joining, absence limits and waitlists are clinic policy (§12): a cohort says until which
  session a patient may still join.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from trellis.lib.errors import InputError

MAX_CAPACITY = 12  # [R103, R104]
TYPICAL_CAPACITY = (8, 10)  # [R104]
MAX_SESSIONS = 52
MIN_MINUTES, MAX_MINUTES = 30, 240  # as the clinic's group appointment length setting
ATTENDED = frozenset({"present", "late", "left_early"})


def _whole(field: str, value, low: int, high: int, rule: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(field, "must be a whole number")
    if not low <= value <= high:
        raise InputError(field, f"must be between {low} and {high}{rule}")
    return value


def check_capacity(value) -> int:
    """1 to 12 members [R103, R104]."""
    return _whole("capacity", value, 1, MAX_CAPACITY, " (groups billed as 90853 have at most 12)")


def check_sessions(value) -> int:
    return _whole("sessions", value, 1, MAX_SESSIONS)


def check_minutes(value) -> int:
    return _whole("minutes", value, MIN_MINUTES, MAX_MINUTES)


def check_late_join(value, sessions: int) -> int:
    return _whole("late_join_until", value, 1, sessions, f" (the program has {sessions} sessions)")


def meeting_dates(start: date, sessions: int) -> list[date]:
    """The cohort's weekly dates from ``start``: one a week, ``sessions`` of them."""
    return [start + timedelta(weeks=n) for n in range(sessions)]


def joining_open(late_join_until: int, begun: int) -> bool:
    """Whether a patient may still join when ``begun`` sessions have begun: until session
    ``late_join_until`` begins (1: before the first session only)."""
    return begun < late_join_until


def participant_count(statuses: Iterable[str]) -> int:
    """Members who took part: present, late or left early [R103]."""
    return sum(1 for status in statuses if status in ATTENDED)


def places_left(capacity: int, enrolled: int) -> int:
    return max(capacity - enrolled, 0)
