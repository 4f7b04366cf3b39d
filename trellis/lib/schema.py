"""Types for the API's request schemas: text with a length and a character rule, bounded numbers.

Every text field of the API is one of these, so every one has a maximum length, refuses control
characters (``trellis.lib.text``) with a 422 naming the field, and says so in the OpenAPI
document as a ``pattern``. Use them as annotations on ``ninja.Schema`` fields::

    class PatientIn(Schema):
        given_name: Name
        address: text(1000, multiline=True) = ""
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    Strict,
    StrictBool,
)
from pydantic_core import PydanticCustomError, core_schema

from trellis.lib.text import text_problem

# The same rules as text_problem, as JSON Schema patterns (ECMA-262 and Python read them alike)
# so that clients and API fuzzers know which strings are accepted.
_CONTROLS = r"\u0000-\u001f\u007f-\u009f"
_CONTROLS_BUT_LINES = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
_INVISIBLE = r"\u200b-\u200d\u202a-\u202e\u2066-\u2069\ufeff"


@dataclass(frozen=True)
class TextRule:
    """Pydantic metadata: refuse what ``text_problem`` refuses; ``required`` text is stripped
    and must not be blank. Documented as a ``pattern`` in the JSON Schema."""

    multiline: bool = False
    name: bool = False
    required: bool = False

    def validate(self, value: str) -> str:
        problem = text_problem(value, multiline=self.multiline, name=self.name)
        if problem:
            raise PydanticCustomError("text", problem)
        if self.required:
            value = value.strip()
            if not value:
                raise PydanticCustomError("blank", "must not be blank")
        return value

    @property
    def pattern(self) -> str:
        refused = (_CONTROLS_BUT_LINES if self.multiline else _CONTROLS) + (
            _INVISIBLE if self.name else ""
        )
        if self.required:
            return rf"^[^{refused}]*[^\s{refused}][^{refused}]*$"
        return rf"^[^{refused}]*$"

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler):
        return core_schema.no_info_after_validator_function(self.validate, handler(source))

    def __get_pydantic_json_schema__(self, schema, handler: GetJsonSchemaHandler):
        found = handler(schema)
        found["pattern"] = self.pattern
        return found


def text(
    max_length: int, *, multiline: bool = False, name: bool = False, required: bool = False
) -> Any:
    """A text type of at most ``max_length`` characters (counted as sent)."""
    return Annotated[
        str,
        Field(max_length=max_length, min_length=1 if required else None),
        TextRule(multiline=multiline, name=name, required=required),
    ]


# A person's or a thing's name: one line, no invisible or text-direction characters, not blank.
Name = text(100, name=True, required=True)
# One line of text: a search, a code, a reference.
PlainText = text(200)
# Free text of several lines: a reason, a note.
Note = text(5000, multiline=True)
# A note that must say something.
RequiredNote = text(5000, multiline=True, required=True)


def walk_text(value: Any, path: str = "") -> Any:
    """Apply the one-line text rule to every string, keys included, in parsed JSON: for the few
    fields whose shape the services check themselves (screening answers and trials). The error's
    ``path`` (``[0].drug``) extends the field's name in the 422."""
    if isinstance(value, str):
        problem = text_problem(value, multiline=False, name=False)
        if problem:
            raise PydanticCustomError("text", problem, {"path": path})
    elif isinstance(value, dict):
        for key, item in value.items():
            walk_text(key, path)
            walk_text(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            walk_text(item, f"{path}[{index}]")
    return value


def whole_numbers(value: Any) -> Any:
    """Integral floats in parsed JSON as ints, keys and nesting kept: JSON (and JSON Schema's
    ``integer``) does not tell 3.0 from 3, so neither does the API; 3.5 stays 3.5."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [whole_numbers(item) for item in value]
    return value


def _json_number(value: Any) -> Any:
    """Refuse what JSON would not call a number before pydantic reads it leniently."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("number", "must be a number")
    return value


def number(low: float, high: float) -> Any:
    """A JSON number (never true/false or a string), documented with its range.

    The range is documented, not enforced here: the pure calculators check it and name the
    field and unit in their message. Infinity (1e400 in JSON) reaches them too, and they refuse
    it by name.
    """
    return Annotated[float, Strict(), Field(json_schema_extra={"minimum": low, "maximum": high})]


def bounded(low: float, high: float, *, whole: bool = False) -> Any:
    """A JSON number from ``low`` to ``high`` inclusive, checked here (422 naming the field);
    ``whole`` for integers. Never true/false or a string; never NaN or infinity."""
    if whole:  # 3.0 is 3 (as in JSON Schema); 3.5, "3" and true are refused
        return Annotated[int, BeforeValidator(_json_number), Field(ge=low, le=high)]
    return Annotated[float, Strict(), Field(ge=low, le=high, allow_inf_nan=False)]


def _date_text(value: Any) -> Any:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise PydanticCustomError("date_format", "must be a date written YYYY-MM-DD")
    _calendar_day(value)
    return value


def _datetime_text(value: Any) -> Any:
    if not isinstance(value, str) or not _DATETIME.match(value):
        raise PydanticCustomError(
            "datetime_format", "must be a date and time written YYYY-MM-DDTHH:MM[:SS][±HH:MM]"
        )
    _calendar_day(value[:10])
    return value


def _calendar_day(value: str) -> None:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError(
            "date_value", "{day} is not a calendar date", {"day": value}
        ) from None


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")

# JSON has no dates: a date is a string YYYY-MM-DD, never a number of seconds (which pydantic
# would otherwise read as a day in 1970), and a day the calendar has. Every date and time the API
# takes is one of these, so a bad one is a 422 naming the field.
Date = Annotated[date, BeforeValidator(_date_text)]
DateTime = Annotated[datetime, BeforeValidator(_datetime_text)]
# true or false only: not 1, "yes" or "t".
Boolean = StrictBool
