import pytest

from trellis.lib.text import text_problem


@pytest.mark.parametrize(
    ("value", "multiline", "name", "problem"),
    [
        ("Ada Lovelace", False, True, None),
        ("Zoë Ó Briain-Müller", False, True, None),
        ("山田 太郎", False, True, None),
        ("", False, True, None),
        ("a\x00b", False, False, "must not contain control characters (U+0000 at 1)"),
        ("a\x00b", True, False, "other than tab and line breaks (U+0000 at 1)"),
        ("line\nline", False, False, "(U+000A at 4)"),
        ("line\r\n\tline", True, False, None),
        ("bell\x07", True, False, "(U+0007 at 4)"),
        ("del\x7f", False, False, "(U+007F at 3)"),
        ("c1\x85", True, False, "(U+0085 at 2)"),
        ("c1\x9f", False, False, "(U+009F at 2)"),
        ("\xa0no-break space", False, True, None),
        ("Smi\u202eth", False, True, "invisible or text-direction characters (U+202E at 3)"),
        ("Smi\u202eth", False, False, None),
        ("\u202aa", False, True, "(U+202A at 0)"),
        ("a\u2066b", False, True, "(U+2066 at 1)"),
        ("a\u2069", False, True, "(U+2069 at 1)"),
        ("a\u200bb", False, True, "(U+200B at 1)"),
        ("a\u200db", False, True, "(U+200D at 1)"),
        ("\ufeffAda", False, True, "(U+FEFF at 0)"),
        ("a\u200eb", False, True, None),  # left-to-right mark: not an override
        ("a\ud800b", True, False, "unpaired surrogate U+D800 at 1"),
        ("emoji \U0001f600", False, True, None),
    ],
)
def test_text_problem(value, multiline, name, problem):
    found = text_problem(value, multiline=multiline, name=name)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found
