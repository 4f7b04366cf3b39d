"""Errors that carry the field and the rule they break.

Pure modules raise ``InputError`` so that views and the API can turn bad input into a message
that names the field ("weight_kg: must be greater than 0") without a stack trace or a 500.
"""


class InputError(ValueError):
    """Bad input: ``field`` names what was wrong, ``message`` states the rule it broke."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Conflict(Exception):
    """The request is understood but clashes with the record's state (HTTP 409).

    Signing a screening twice, or signing one whose cautions are not acknowledged, for example.
    """

    def __init__(self, message: str, *, code: str = "conflict") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
