"""National Provider Identifiers and federal tax ids, checked before they go on a document.

Pure functions, standard library only (DOMAIN.md §14):

- **NPI** [R125]: 10 digits; the last is a Luhn check digit computed over the first nine as if
  they were prefixed with the card-issuer prefix "80840" (equivalently, 24 is added to the
  Luhn sum of the nine digits). 1234567893 is valid.
- **Tax id**: the billing provider's federal tax id on a claim is an EIN or an SSN [R124]; a
  clinic's is an EIN, written ``12-3456789`` (nine digits; the hyphen is optional on input).
  An EIN has no check digit, so only its form is checked.
"""

from __future__ import annotations

import re

from trellis.lib.errors import InputError

NPI_PREFIX = "80840"  # the health-industry issuer prefix the check digit is computed with [R125]
_EIN = re.compile(r"^(\d{2})-?(\d{7})$")


def luhn_check_digit(digits: str) -> int:
    """The Luhn digit that makes ``digits`` + it a valid Luhn number."""
    total = 0
    # Double every second digit from the right of the payload (the rightmost is doubled).
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def is_valid_npi(value: str) -> bool:
    """True for ten digits whose last is the Luhn check digit of "80840" + the first nine."""
    if not isinstance(value, str) or len(value) != 10 or not value.isascii():
        return False
    if not value.isdigit():
        return False
    return luhn_check_digit(NPI_PREFIX + value[:9]) == int(value[9])


def clean_npi(value: str, field: str = "npi", *, required: bool = False) -> str:
    """``value`` stripped, or "" when empty and not ``required``; an ``InputError`` naming
    ``field`` unless it is a valid NPI."""
    text = (value or "").strip().replace(" ", "")
    if not text:
        if required:
            raise InputError(field, "is required: the 10-digit NPI")
        return ""
    if len(text) != 10 or not text.isdigit():
        raise InputError(field, "must be 10 digits")
    if not is_valid_npi(text):
        raise InputError(field, "is not a valid NPI: its check digit does not match [R125]")
    return text


def clean_ein(value: str, field: str = "tax_id", *, required: bool = False) -> str:
    """An EIN as ``12-3456789``, or "" when empty and not ``required``; an ``InputError``
    naming ``field`` unless it is nine digits (hyphen after the second optional)."""
    text = (value or "").strip()
    if not text:
        if required:
            raise InputError(field, "is required: the clinic's EIN, e.g. 12-3456789")
        return ""
    match = _EIN.match(text)
    if match is None:
        raise InputError(field, "must be an EIN of nine digits, written 12-3456789")
    return f"{match.group(1)}-{match.group(2)}"
