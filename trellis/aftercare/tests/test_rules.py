"""The pure rules: check-in thresholds, the crisis-language net, coaching codes."""

import pytest

from trellis.aftercare import checkins, coaching, crisis_words
from trellis.aftercare.checkins import Answers, Rule, Thresholds
from trellis.lib.errors import InputError

DEFAULT = Thresholds(mood_floor=2, mood_drop=3)


def answers(mood=6, harm=False, sleep=0):
    return Answers(mood=mood, sleep=sleep, side_effects=(), harm_thoughts=harm)


# (mood, previous mood, harm thoughts, thresholds, rules met, most urgent severity)
THRESHOLD_TABLE = [
    (6, None, False, DEFAULT, [], None),
    (6, 7, False, DEFAULT, [], None),
    (5, 7, False, DEFAULT, [], None),  # a fall of 2, under the 3 the clinic set
    (4, 7, False, DEFAULT, [Rule.MOOD_DROP], "high"),  # a fall of 3
    (0, 10, False, DEFAULT, [Rule.MOOD_FLOOR], "high"),  # the floor, not also the fall
    (2, None, False, DEFAULT, [Rule.MOOD_FLOOR], "high"),  # at the floor
    (3, None, False, DEFAULT, [], None),  # just above it, first check-in
    (3, 6, False, DEFAULT, [Rule.MOOD_DROP], "high"),
    (8, 9, True, DEFAULT, [Rule.HARM_THOUGHTS], "urgent"),  # a yes whatever the mood
    (1, 8, True, DEFAULT, [Rule.HARM_THOUGHTS, Rule.MOOD_FLOOR], "urgent"),
    (4, 7, False, Thresholds(mood_floor=0, mood_drop=4), [], None),  # a clinic less strict
    (4, 8, False, Thresholds(mood_floor=0, mood_drop=4), [Rule.MOOD_DROP], "high"),
    (4, None, False, Thresholds(mood_floor=5, mood_drop=3), [Rule.MOOD_FLOOR], "high"),
    (7, 5, False, DEFAULT, [], None),  # better is never a finding
]


@pytest.mark.parametrize(("mood", "previous", "harm", "limits", "rules", "top"), THRESHOLD_TABLE)
def test_the_threshold_table(mood, previous, harm, limits, rules, top):
    found = checkins.evaluate(answers(mood, harm), previous, limits)
    assert [f.rule for f in found] == rules
    assert (found[0].severity if found else None) == top


def test_every_rule_names_its_source():
    assert set(checkins.RULES) == set(Rule)
    assert all(r.source for r in checkins.RULES.values())
    assert "[R51]" in checkins.RULES[Rule.HARM_THOUGHTS].source


@pytest.mark.parametrize(
    ("mood", "sleep", "effects", "harm", "field"),
    [
        (11, 0, [], False, "mood"),
        (-1, 0, [], False, "mood"),
        ("5", 0, [], False, "mood"),
        (True, 0, [], False, "mood"),
        (5, 4, [], False, "sleep"),
        (5, None, [], False, "sleep"),
        (5, 0, "nausea", False, "side_effects"),
        (5, 0, ["hiccups"], False, "side_effects"),
        (5, 0, [], None, "harm_thoughts"),
        (5, 0, [], "no", "harm_thoughts"),
    ],
)
def test_incomplete_answers_name_the_question(mood, sleep, effects, harm, field):
    with pytest.raises(InputError) as raised:
        checkins.clean(mood, sleep, effects, harm)
    assert raised.value.field == field


def test_clean_answers_keep_each_side_effect_once():
    got = checkins.clean(5, 1, ["nausea", "nausea", "headache"], False)
    assert got.side_effects == ("nausea", "headache")


# --- The crisis-language net ----------------------------------------------------------------

CAUGHT = [
    ("I want to die.", ["want to die"]),
    ("Honestly I'd be better off dead", ["better off dead"]),
    ("I keep thinking about SUICIDE", ["suicide"]),
    ("I can\u2019t go on like this", ["can't go on"]),
    ("i cant go on", ["cant go on"]),
    ("Some days I think everyone is better off without me", ["better off without me"]),
    ("I wrote my suicide note last night", ["my suicide note"]),
    ("thought about hurting myself again", ["hurting myself"]),
    ("I don't want to be here anymore", ["don't want to be here"]),
    ("I'm tired of living", ["tired of living"]),
    ("wanted to  kill\nmyself", ["kill myself"]),  # across spaces and a line break
    ("self-harm urges today", ["self-harm"]),
    # Negated or reported, caught all the same: the net is conservative on purpose.
    ("I am not suicidal at all, the session went well", ["suicidal"]),
    ("I never want to hurt myself", ["hurt myself"]),
    ("My friend said she wanted to end it all", ["end it all"]),
]


@pytest.mark.parametrize(("text", "found"), CAUGHT)
def test_the_net_catches(text, found):
    assert crisis_words.matches(text) == found


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Slept well, felt calm. Went for a walk by the lake.",
        "The dissociation faded after an hour; a little nausea in the car.",
        "I killed it at work today",  # "killed it" is not "kill myself"
        "Dead tired after the session",  # "dead" alone is not listed
        "We watched a documentary about bees",
        "My therapist suggested I journal every morning",
        "unsuicidal",  # inside a longer word
    ],
)
def test_the_net_lets_pass(text):
    assert crisis_words.matches(text) == []


def test_several_phrases_are_each_named_once():
    text = "I want to die. I want to die. Maybe suicide."
    assert crisis_words.matches(text) == ["want to die", "suicide"]


def test_the_published_phrases_are_all_listed():
    assert set(crisis_words.PUBLISHED) <= set(crisis_words.PHRASES)
    assert len(crisis_words.PHRASES) == len(set(crisis_words.PHRASES))


# --- Coaching codes [R108] -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "minutes", "participants", "field"),
    [
        ("0591T", 20, None, None),
        ("0592T", 30, None, None),
        ("0592T", 29, None, "minutes"),
        ("0593T", 45, 4, None),
        ("0593T", 29, 4, "minutes"),
        ("0593T", 45, 1, "participants"),
        ("0593T", 45, None, "participants"),
        ("99213", 30, None, "code"),
        ("0592T", 0, None, "minutes"),
    ],
)
def test_coaching_codes(code, minutes, participants, field):
    if field is None:
        assert coaching.check(code, minutes, participants).code == code
    else:
        with pytest.raises(InputError) as raised:
            coaching.check(code, minutes, participants)
        assert raised.value.field == field
