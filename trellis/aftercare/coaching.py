"""Health coaching codes (Category III CPT): recorded with each coaching session, never billed
by Trellis. Pure.

0591T is the initial assessment, 0592T an individual follow-up of at least 30 minutes and
0593T a group session of at least 30 minutes with two or more people [R108]. Category III codes
carry no RVUs and payers price them or not at all, so Trellis records the code a session would
carry and makes no charge.
"""

from __future__ import annotations

from dataclasses import dataclass

from trellis.lib.errors import InputError


@dataclass(frozen=True)
class CoachingCode:
    code: str
    label: str
    minimum_minutes: int  # 0: no minimum is published
    group: bool = False


CODES: dict[str, CoachingCode] = {
    c.code: c
    for c in (
        CoachingCode("0591T", "Initial assessment", 0),
        CoachingCode("0592T", "Individual follow-up", 30),
        CoachingCode("0593T", "Group session", 30, group=True),
    )
}


def check(code: str, minutes: int, participants: int | None = None) -> CoachingCode:
    """The code if the session meets it; raises InputError naming ``code``, ``minutes`` or
    ``participants`` [R108]."""
    definition = CODES.get(code)
    if definition is None:
        raise InputError("code", f"must be one of {', '.join(CODES)}")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 480:
        raise InputError("minutes", "must be a whole number of minutes from 1 to 480")
    if minutes < definition.minimum_minutes:
        raise InputError(
            "minutes",
            f"{definition.code} ({definition.label.lower()}) needs at least "
            f"{definition.minimum_minutes} minutes [R108]",
        )
    if definition.group and (participants is None or participants < 2):
        raise InputError("participants", "a group session (0593T) has two or more people [R108]")
    return definition
