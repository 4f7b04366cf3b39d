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
