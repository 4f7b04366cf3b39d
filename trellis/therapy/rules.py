"""The rules of a progress note, pure: its minutes, the add-on code they give, its themes and
what signing needs (DOMAIN.md §11). The code itself is billing's one definition
(``billing.coding.psychotherapy_addon``, [R102]); this module only measures the time.
"""

from __future__ import annotations

from datetime import datetime

from trellis.billing.coding import PSYCHOTHERAPY_MAX_MINUTES, psychotherapy_addon
from trellis.lib.errors import InputError

THEME_MAX_CHARS = 60
THEMES_MAX = 12
# Risk levels at which the note must say what was found, and a safety alert may be raised.
RISK_TO_ALERT = {"moderate": "high", "high": "urgent"}  # risk level → alert severity


def minutes_between(started_at: datetime, ended_at: datetime) -> int:
    """Whole minutes of psychotherapy from start to end; refused unless end follows start and
    the span is one a session can have."""
    if ended_at <= started_at:
        raise InputError("ended_at", "must be after the start time")
    minutes = int((ended_at - started_at).total_seconds() // 60)
    if minutes > PSYCHOTHERAPY_MAX_MINUTES:
        raise InputError(
            "ended_at", f"must be at most {PSYCHOTHERAPY_MAX_MINUTES} minutes after the start"
        )
    return minutes


def addon(minutes: int) -> dict:
    """The add-on to a visit for ``minutes`` (+90833 / +90836 / +90838, or none under 16)."""
    lines = psychotherapy_addon(minutes)
    if not lines:
        return {"code": "", "label": "No add-on: under 16 minutes", "source": "[R102]"}
    line = lines[0]
    return {"code": f"+{line.code}", "label": line.label, "source": line.source}


def parse_themes(text: str | list[str]) -> list[str]:
    """Integration themes from "grief, self-compassion; work": trimmed, lower case, each once."""
    parts = text if isinstance(text, list) else text.replace(";", ",").split(",")
    themes: list[str] = []
    for part in parts:
        theme = " ".join(str(part).split()).lower()
        if not theme or theme in themes:
            continue
        if len(theme) > THEME_MAX_CHARS:
            raise InputError("themes", f"each theme must be at most {THEME_MAX_CHARS} characters")
        themes.append(theme)
    if len(themes) > THEMES_MAX:
        raise InputError("themes", f"at most {THEMES_MAX} themes on one note")
    return themes


def missing_for_signing(values: dict) -> list[str]:
    """What a progress note needs before it is signed, in words."""
    missing = []
    if not (values.get("focus") or "").strip():
        missing.append("the focus of the session")
    if not (values.get("interventions") or "").strip():
        missing.append("the interventions used")
    if not (values.get("response") or "").strip():
        missing.append("the patient's response")
    if values.get("risk_level") in RISK_TO_ALERT and not (values.get("risk_notes") or "").strip():
        missing.append("what the risk assessment found")
    return missing
