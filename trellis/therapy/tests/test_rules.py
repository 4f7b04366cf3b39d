"""The progress note's minutes, add-on code, themes and what signing needs (pure)."""

from datetime import datetime, timedelta

import pytest

from trellis.lib.errors import InputError
from trellis.therapy import rules

START = datetime(2026, 12, 7, 9, 0)


@pytest.mark.parametrize(
    ("minutes", "code"),
    [
        (1, ""),
        (15, ""),
        (16, "+90833"),
        (37, "+90833"),
        (38, "+90836"),
        (52, "+90836"),
        (53, "+90838"),
        (120, "+90838"),
    ],
)
def test_the_add_on_follows_the_minutes_through_billing(minutes, code):
    counted = rules.minutes_between(START, START + timedelta(minutes=minutes, seconds=30))
    assert counted == minutes
    assert rules.addon(counted)["code"] == code
    assert rules.addon(counted)["source"] == "[R102]"


@pytest.mark.parametrize(
    ("end", "message"),
    [
        (START, "must be after the start time"),
        (START - timedelta(minutes=5), "must be after the start time"),
        (START + timedelta(minutes=601), "at most 600 minutes"),
    ],
)
def test_impossible_times_are_refused_on_the_end_field(end, message):
    with pytest.raises(InputError) as error:
        rules.minutes_between(START, end)
    assert error.value.field == "ended_at"
    assert message in error.value.message


@pytest.mark.parametrize(
    ("text", "themes"),
    [
        ("", []),
        ("Grief, self-compassion", ["grief", "self-compassion"]),
        ("grief;  Grief , work   stress", ["grief", "work stress"]),
        (["Body", "body"], ["body"]),
    ],
)
def test_themes_are_tidied_and_kept_once(text, themes):
    assert rules.parse_themes(text) == themes


def test_too_long_or_too_many_themes_are_refused():
    with pytest.raises(InputError, match="at most 60"):
        rules.parse_themes("x" * 61)
    with pytest.raises(InputError, match="at most 12"):
        rules.parse_themes(",".join(f"t{i}" for i in range(13)))


COMPLETE = {"focus": "f", "interventions": "i", "response": "r", "risk_level": "none"}


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        ({}, []),
        ({"focus": " "}, ["the focus of the session"]),
        ({"interventions": ""}, ["the interventions used"]),
        ({"response": ""}, ["the patient's response"]),
        ({"risk_level": "low"}, []),
        ({"risk_level": "moderate"}, ["what the risk assessment found"]),
        ({"risk_level": "high", "risk_notes": "passive ideation, plan made"}, []),
    ],
)
def test_what_signing_needs(change, missing):
    assert rules.missing_for_signing({**COMPLETE, **change}) == missing
