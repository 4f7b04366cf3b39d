"""National Provider Identifiers: the check a 10-digit NPI must pass (DOMAIN.md §14).

An NPI is 10 digits whose last is a Luhn check digit computed as if the number were prefixed
with "80840" (the ISO card-issuer prefix for US health), which is the same as adding 24 to the
Luhn sum of the first nine digits [R125]. 1234567893 is valid [R125].
"""

from __future__ import annotations

from trellis.lib.errors import InputError

PREFIX = "80840"
LENGTH = 10


def check_digit(first_nine: str) -> int:
    """The Luhn check digit of ``PREFIX + first_nine`` [R125]."""
    digits = [int(c) for c in PREFIX + first_nine]
    total = 0
    # Doubling starts from the rightmost digit of the payload (the check digit is appended).
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def is_valid(value: str) -> bool:
    text = str(value or "")
    return (
        len(text) == LENGTH
        and text.isascii()
        and text.isdigit()
        and (check_digit(text[:9]) == int(text[9]))
    )


def clean(value: str | None, field: str = "npi") -> str:
    """``value`` without spaces, "" when blank; an ``InputError`` naming ``field`` otherwise."""
    text = "".join(str(value or "").split())
    if not text:
        return ""
    if len(text) != LENGTH or not (text.isascii() and text.isdigit()):
        raise InputError(field, "must be the 10 digits of a National Provider Identifier")
    if not is_valid(text):
        raise InputError(field, "fails the NPI check digit (Luhn with prefix 80840) [R125]")
    return text


def validate(value: str) -> None:
    """A Django field validator."""
    from django.core.exceptions import ValidationError

    try:
        clean(value)
    except InputError as error:
        raise ValidationError(error.message) from None
