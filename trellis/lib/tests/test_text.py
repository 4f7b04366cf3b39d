"""The character rules for typed text (trellis.lib.text), as a table."""

import pytest

from trellis.lib.text import describe, text_problem

ONE_LINE = {"multiline": False, "name": False}
MULTI = {"multiline": True, "name": False}
NAME = {"multiline": False, "name": True}

CONTROL = "must not contain control characters"
ONE_LINE_ONLY = "must be on one line"
INVISIBLE = "must not contain invisible formatting characters"
SURROGATE = "must not contain unpaired surrogate characters"


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        # Ordinary text of every kind passes.
        pytest.param("", ONE_LINE, None, id="empty"),
        pytest.param("Ada Lovelace", NAME, None, id="plain name"),
        pytest.param("Zoë O'Brien-Łukasiewicz", NAME, None, id="accented name"),
        pytest.param("محمد", NAME, None, id="Arabic name"),
        pytest.param("שרה כהן", NAME, None, id="Hebrew name"),
        pytest.param("李小龍", NAME, None, id="Chinese name"),
        pytest.param("👩🏽‍⚕️", ONE_LINE, None, id="emoji with zero-width joiner outside names"),
        pytest.param("Mornings\r\nbefore ten,\tif possible", MULTI, None, id="note with breaks"),
        pytest.param("a\u00a0b", NAME, None, id="no-break space is a space"),
        pytest.param("a\u00a0b\u00ad", ONE_LINE, None, id="soft hyphen is not a control"),
        pytest.param("abc\u202edef", ONE_LINE, None, id="bidi override allowed outside names"),
        # NUL and other controls are refused everywhere.
        pytest.param("Ada\x00", NAME, CONTROL, id="NUL in a name"),
        pytest.param("Ada\x00", ONE_LINE, CONTROL, id="NUL in a line"),
        pytest.param("note\x00", MULTI, CONTROL, id="NUL in a note"),
        pytest.param("\x1b[31mred", MULTI, CONTROL, id="escape sequence in a note"),
        pytest.param("bell\x07", ONE_LINE, CONTROL, id="BEL"),
        pytest.param("back\x08space", MULTI, CONTROL, id="backspace"),
        pytest.param("form\x0cfeed", MULTI, CONTROL, id="form feed in a note"),
        pytest.param("vertical\x0btab", MULTI, CONTROL, id="line tabulation in a note"),
        pytest.param("del\x7f", ONE_LINE, CONTROL, id="DEL"),
        pytest.param("c1\x85", MULTI, CONTROL, id="C1 next line"),
        pytest.param("c1\x9b", ONE_LINE, CONTROL, id="C1 control sequence introducer"),
        # Tab, line feed and carriage return only in multi-line fields.
        pytest.param("a\tb", ONE_LINE, CONTROL, id="tab in a line"),
        pytest.param("a\tb", NAME, CONTROL, id="tab in a name"),
        pytest.param("a\nb", ONE_LINE, ONE_LINE_ONLY, id="line feed in a line"),
        pytest.param("a\rb", NAME, ONE_LINE_ONLY, id="carriage return in a name"),
        pytest.param("a\u2028b", ONE_LINE, ONE_LINE_ONLY, id="line separator in a line"),
        pytest.param("a\u2029b", MULTI, None, id="paragraph separator in a note"),
        # Bidirectional controls and zero-width characters in names.
        pytest.param("Ada\u202aX", NAME, INVISIBLE, id="LRE U+202A"),
        pytest.param("Ada\u202bX", NAME, INVISIBLE, id="RLE U+202B"),
        pytest.param("Ada\u202cX", NAME, INVISIBLE, id="PDF U+202C"),
        pytest.param("Ada\u202dX", NAME, INVISIBLE, id="LRO U+202D"),
        pytest.param("Ada\u202eX", NAME, INVISIBLE, id="RLO U+202E"),
        pytest.param("Ada\u2066X", NAME, INVISIBLE, id="LRI U+2066"),
        pytest.param("Ada\u2067X", NAME, INVISIBLE, id="RLI U+2067"),
        pytest.param("Ada\u2068X", NAME, INVISIBLE, id="FSI U+2068"),
        pytest.param("Ada\u2069X", NAME, INVISIBLE, id="PDI U+2069"),
        pytest.param("A\u200bda", NAME, INVISIBLE, id="zero-width space U+200B"),
        pytest.param("A\u200cda", NAME, INVISIBLE, id="zero-width non-joiner U+200C"),
        pytest.param("A\u200dda", NAME, INVISIBLE, id="zero-width joiner U+200D"),
        pytest.param("\ufeffAda", NAME, INVISIBLE, id="byte order mark U+FEFF"),
        pytest.param("Ada\u2029X", NAME, ONE_LINE_ONLY, id="paragraph separator in a name"),
        pytest.param("Ada\u2065X", NAME, None, id="U+2065 (unassigned, between ranges)"),
        pytest.param("Ada\u202fX", NAME, None, id="U+202F narrow no-break space"),
        # Unpaired surrogates cannot be stored anywhere.
        pytest.param("a\ud800b", MULTI, SURROGATE, id="lone high surrogate"),
        pytest.param("\udfff", NAME, SURROGATE, id="lone low surrogate"),
    ],
)
def test_text_problem(value, kind, expected):
    problem = text_problem(value, **kind)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and problem.startswith(expected), problem


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("Ada\x00", NAME, "must not contain control characters (found U+0000 NUL at character 4)"),
        ("a\tb", ONE_LINE, "must not contain control characters (found U+0009 TAB at character 2)"),
        ("\nb", ONE_LINE, "must be on one line (found U+000A LINE FEED at character 1)"),
        (
            "Ad\u202ea",
            NAME,
            "must not contain invisible formatting characters "
            "(found U+202E RIGHT-TO-LEFT OVERRIDE at character 3)",
        ),
        ("x\x85", MULTI, "must not contain control characters (found U+0085 at character 2)"),
    ],
)
def test_the_problem_names_the_character_and_where_it_is(value, kind, expected):
    assert text_problem(value, **kind) == expected


def test_the_first_problem_is_the_one_reported():
    assert "character 1" in text_problem("\x00\u202e", **NAME)


@pytest.mark.parametrize(
    ("char", "expected"),
    [
        ("\x00", "U+0000 NUL"),
        ("\x9b", "U+009B"),
        ("\u200b", "U+200B ZERO WIDTH SPACE"),
        ("\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("\U000e0001", "U+E0001 LANGUAGE TAG"),
    ],
)
def test_describe(char, expected):
    assert describe(char) == expected
