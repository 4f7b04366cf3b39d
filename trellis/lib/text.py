"""Which characters a piece of typed text may hold.

One rule for every way text comes in — the pages' forms and the JSON API call ``text_problem`` —
so that what one accepts the other accepts too.

- Control characters (C0, DEL, C1) are refused everywhere: they are never typed on purpose, they
  corrupt exports and logs, and PostgreSQL refuses NUL in text outright. Multi-line fields
  (notes, reasons) may hold tab, line feed and carriage return; one-line fields may not.
- Unpaired surrogates (which only a program can send, as JSON ``"\\ud800"``) cannot be stored.
- Names may not hold bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069) nor
  zero-width characters (U+200B–U+200D, U+FEFF): they make one name look like another on a
  list or a wristband ("Trojan Source", CVE-2021-42574; Unicode TR #36 §2 on spoofing).

No Django here: a plain function over a string, tested as a table.
"""

import unicodedata

MULTILINE_ALLOWED = frozenset("\t\n\r")
LINE_BREAKS = frozenset("\n\r\u2028\u2029")
NAME_FORBIDDEN = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)]  # LRE, RLE, PDF, LRO, RLO
    + [chr(c) for c in range(0x2066, 0x206A)]  # LRI, RLI, FSI, PDI
    + ["\u200b", "\u200c", "\u200d", "\ufeff"]  # zero-width space, non-joiner, joiner; BOM
)
# Names for the control characters people are most likely to meet (unicodedata has none).
CONTROL_NAMES = {
    0x00: "NUL",
    0x07: "BEL",
    0x08: "BACKSPACE",
    0x09: "TAB",
    0x0A: "LINE FEED",
    0x0B: "LINE TABULATION",
    0x0C: "FORM FEED",
    0x0D: "CARRIAGE RETURN",
    0x1B: "ESCAPE",
    0x7F: "DELETE",
}


def is_control(char: str) -> bool:
    """C0 controls, DEL and C1 controls (Unicode general category Cc)."""
    code = ord(char)
    return code < 0x20 or 0x7F <= code < 0xA0


def describe(char: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: the code point and, where it has one, its name."""
    code = ord(char)
    name = CONTROL_NAMES.get(code) or unicodedata.name(char, "")
    return f"U+{code:04X} {name}".rstrip()


def text_problem(value: str, *, multiline: bool, name: bool) -> str | None:
    """What is wrong with ``value`` for a field of this kind, or None when nothing is.

    ``multiline``: the field is free text over several lines (a note, a reason).
    ``name``: the field is a person's or a place's name.
    The answer reads after the field's name: "Given name" + " must not contain …".
    """
    for position, char in enumerate(value, start=1):
        where = f"(found {describe(char)} at character {position})"
        if 0xD800 <= ord(char) <= 0xDFFF:
            return f"must not contain unpaired surrogate characters {where}"
        if char in LINE_BREAKS and not multiline:
            return f"must be on one line {where}"
        if is_control(char) and not (multiline and char in MULTILINE_ALLOWED):
            return f"must not contain control characters {where}"
        if name and char in NAME_FORBIDDEN:
            return f"must not contain invisible formatting characters {where}"
    return None
