"""Which characters a piece of text may hold.

Pure function, standard library only. Control characters are never data a person typed: a NUL
cannot even be stored in PostgreSQL, and the others break exports, logs and printed letters.
Names must also look like what they are: bidirectional overrides and zero-width characters can
make "Smith" display as something else, or make two different names look the same.
"""

# Tab, line feed and carriage return: the only controls a multi-line note may hold.
_LINE_CONTROLS = frozenset("\t\n\r")

# Bidirectional embeddings and overrides (U+202A–U+202E) and isolates (U+2066–U+2069);
# zero-width space, non-joiner and joiner (U+200B–U+200D) and the byte-order mark (U+FEFF).
NAME_FORBIDDEN = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + [chr(c) for c in range(0x200B, 0x200E)]
    + ["\ufeff"]
)


def _is_control(char: str) -> bool:
    """C0 (U+0000–U+001F), DEL and C1 (U+007F–U+009F)."""
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F


def text_problem(value: str, *, multiline: bool, name: bool) -> str | None:
    """What is wrong with ``value`` as text, or ``None`` when nothing is.

    ``multiline`` allows tab, line feed and carriage return; every other control character
    (NUL included) is refused. ``name`` also refuses bidirectional-override and zero-width
    characters. Unpaired surrogates (which no encoding can store) are refused everywhere.
    """
    for position, char in enumerate(value):
        if _is_control(char) and not (multiline and char in _LINE_CONTROLS):
            allowed = " other than tab and line breaks" if multiline else ""
            return f"must not contain control characters{allowed} (U+{ord(char):04X} at {position})"
        if name and char in NAME_FORBIDDEN:
            return (
                "must not contain invisible or text-direction characters "
                f"(U+{ord(char):04X} at {position})"
            )
        if 0xD800 <= ord(char) <= 0xDFFF:
            return f"must be valid Unicode (unpaired surrogate U+{ord(char):04X} at {position})"
    return None
