"""The crisis-language net over journal entries a patient shares with the care team. Pure.

A safety net, not monitoring: only entries the patient chose to share are read, by this list
only, when they are saved; nobody watches them around the clock, and the clinic says so on the
page and to the patient. The net is deliberately wide: it matches a phrase wherever it stands,
whatever comes before it, so "I am not suicidal" is caught as well as "I am suicidal". A
clinician who opens the alert sees the entry and decides; a missed crisis costs more than a
needless look.

The phrases are the suicide-related search phrases that O'Dea et al. monitored in 2014 to find
suicidal posts [R143], which they took from Jashinsky et al.'s suicide risk tracking list
[R144], with the spellings and inflections a person writing quickly uses (no apostrophe,
"killing" for "kill") and the self-harm wording of the clinic's own check-in question
(``VARIANTS``). The published list was built for public posts, not for journals, and has no
validated sensitivity in this use; it is a floor, and a clinic may ask for phrases to be
added.
"""

from __future__ import annotations

import re
from functools import cache

# The published phrases [R143, R144].
PUBLISHED: tuple[str, ...] = (
    "suicidal",
    "suicide",
    "kill myself",
    "my suicide note",
    "my suicide letter",
    "end my life",
    "never wake up",
    "can't go on",
    "not worth living",
    "ready to jump",
    "sleep forever",
    "want to die",
    "be dead",
    "better off without me",
    "better off dead",
    "suicide plan",
    "suicide pact",
    "tired of living",
    "don't want to be here",
    "die alone",
    "go to sleep forever",
)

# Spellings and inflections of the published phrases, and self-harm in the words of the
# check-in question (Trellis's own additions, not from a published list).
VARIANTS: tuple[str, ...] = (
    "suicidality",
    "killing myself",
    "kill me",
    "ending my life",
    "take my own life",
    "taking my own life",
    "end it all",
    "ending it all",
    "cant go on",
    "cannot go on",
    "can not go on",
    "dont want to be here",
    "do not want to be here",
    "don't want to live",
    "dont want to live",
    "do not want to live",
    "want to be dead",
    "wish i was dead",
    "wish i were dead",
    "no reason to live",
    "nothing to live for",
    "harm myself",
    "harming myself",
    "hurt myself",
    "hurting myself",
    "self-harm",
    "self harm",
    "cut myself",
    "cutting myself",
    "overdose",
)

PHRASES: tuple[str, ...] = tuple(dict.fromkeys(PUBLISHED + VARIANTS))

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


def normalise(text: str) -> str:
    """Lower case, straight apostrophes, hyphens and runs of space as one space."""
    text = (text or "").translate(_APOSTROPHES).lower()
    return re.sub(r"[\s]+", " ", text)


@cache
def _pattern() -> re.Pattern:
    parts = []
    for phrase in sorted(PHRASES, key=len, reverse=True):
        words = [re.escape(w) for w in normalise(phrase).split(" ")]
        parts.append(r"\s+".join(words))
    return re.compile(r"(?<![a-z])(" + "|".join(parts) + r")(?![a-z])")


def matches(text: str) -> list[str]:
    """The listed phrases ``text`` contains, each once, in the order found (empty: none)."""
    found = [m.group(1) for m in _pattern().finditer(normalise(text))]
    return list(dict.fromkeys(re.sub(r"\s+", " ", f) for f in found))
