"""ICD-10-CM codes on a patient's problem list, and their letters on a claim (DOMAIN.md §14).

Pure, standard library only. A claim carries up to 12 diagnoses lettered A–L (CMS-1500 item 21,
ICD indicator "0" for ICD-10-CM); each service line points at up to four of them by letter
(item 24E) [R124]. Depression is coded F32.x for a single episode and F33.x for recurrent major
depressive disorder [R124].

The format checked is ICD-10-CM's: a letter, a digit, a letter or digit (the category), then
optionally a full stop and one to four letters or digits (F32.9, F33.1, F32.A, F43.10). The
labels below are Trellis's own short wording for the codes these clinics use most; any other
well-formed code may be added with a label the prescriber writes.
"""

from __future__ import annotations

import re

from trellis.lib.errors import InputError

MAX_ON_CLAIM = 12  # CMS-1500 item 21: A–L [R124]
LETTERS = "ABCDEFGHIJKL"
POINTERS_PER_LINE = 4  # item 24E takes up to four letters [R124]
LABEL_MAX = 120

_FORMAT = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")

# Trellis's short labels for the codes of depression and its neighbours.
LABELS: dict[str, str] = {
    "F32.0": "Depression, single episode, mild",
    "F32.1": "Depression, single episode, moderate",
    "F32.2": "Depression, single episode, severe, without psychosis",
    "F32.3": "Depression, single episode, severe, with psychosis",
    "F32.4": "Depression, single episode, in partial remission",
    "F32.5": "Depression, single episode, in full remission",
    "F32.9": "Depression, single episode, unspecified",
    "F32.A": "Depression, unspecified",
    "F33.0": "Depression, recurrent, mild",
    "F33.1": "Depression, recurrent, moderate",
    "F33.2": "Depression, recurrent, severe, without psychosis",
    "F33.3": "Depression, recurrent, severe, with psychosis",
    "F33.40": "Depression, recurrent, in remission, unspecified",
    "F33.41": "Depression, recurrent, in partial remission",
    "F33.42": "Depression, recurrent, in full remission",
    "F33.8": "Other recurrent depressive disorders",
    "F33.9": "Depression, recurrent, unspecified",
    "F31.4": "Bipolar disorder, current episode depressed, severe",
    "F31.81": "Bipolar II disorder",
    "F34.1": "Persistent depressive disorder (dysthymia)",
    "F41.1": "Generalised anxiety disorder",
    "F43.10": "Post-traumatic stress disorder, unspecified",
    "F43.12": "Post-traumatic stress disorder, chronic",
    "F42.2": "Obsessive-compulsive disorder, mixed",
}


def clean_code(value: str | None) -> str:
    """An ICD-10-CM code in capitals with its full stop ("f329" → "F32.9"), or an
    ``InputError`` naming ``code``."""
    text = "".join(str(value or "").split()).upper()
    if not text:
        raise InputError("code", "enter an ICD-10-CM code, such as F33.1")
    if "." not in text and len(text) > 3:
        text = f"{text[:3]}.{text[3:]}"
    if not _FORMAT.match(text):
        raise InputError(
            "code",
            f"{value!r} is not an ICD-10-CM code: a letter, two characters, then optionally "
            "a full stop and up to four more (F32.9, F33.1, F43.10)",
        )
    return text


def label_for(code: str, label: str | None = None) -> str:
    """The label to show: the one given, else Trellis's own; a code Trellis has no label for
    needs one (``InputError`` naming ``label``)."""
    text = " ".join(str(label or "").split())
    if len(text) > LABEL_MAX:
        raise InputError("label", f"must be at most {LABEL_MAX} characters")
    if text:
        return text
    if code in LABELS:
        return LABELS[code]
    raise InputError("label", f"Trellis has no label for {code}: write a short one")


def for_claim(codes: list[str]) -> list[str]:
    """The codes a claim carries, in order, without repeats, at most 12 (A–L) [R124]."""
    seen: list[str] = []
    for code in codes:
        if code not in seen:
            seen.append(code)
    return seen[:MAX_ON_CLAIM]


def letter(position: int) -> str:
    """The item-21 letter of the diagnosis at ``position`` (0 → A, 11 → L)."""
    if not 0 <= position < MAX_ON_CLAIM:
        raise InputError("diagnosis", f"a claim has at most {MAX_ON_CLAIM} diagnoses (A–L)")
    return LETTERS[position]


def pointers(count: int) -> str:
    """The item-24E pointer of a line when the claim has ``count`` diagnoses: their first
    letters, at most four ("ABCD"); the first is the primary diagnosis [R124]."""
    return LETTERS[: max(0, min(count, POINTERS_PER_LINE))]
