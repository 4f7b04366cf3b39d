"""Phone numbers: stored in E.164 ("+16175550134"), shown in the clinic's national format
("(617) 555-0134"), read by Google's libphonenumber (the ``phonenumbers`` package).

A number written without its country code is read as a number of the clinic's country
(``region_of``: the clinic's ``country`` when it has one, else the United States). A number
of another country keeps its international form on the page ("+44 20 7946 0958").
"""

import phonenumbers

DEFAULT_REGION = "US"

EXAMPLE = "(617) 555-0134, or +44 20 7946 0958 for another country"


class InvalidPhone(ValueError):
    """Not a phone number libphonenumber knows to exist; ``str()`` says why, for the form."""


def region_of(clinic) -> str:
    """The ISO 3166 country code numbers without a country code are read in."""
    country = getattr(clinic, "country", "") or ""
    return str(country).upper() or DEFAULT_REGION


def to_e164(raw: str, region: str = DEFAULT_REGION) -> str:
    """``raw`` as E.164, or "" when it is blank. Raises InvalidPhone for anything else."""
    text = (raw or "").strip()
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(f"“{text}” is not a phone number (e.g. {EXAMPLE}).") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(
            f"“{text}” is not a valid phone number in {_country(number, region)} (e.g. {EXAMPLE})."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display(value: str, region: str = DEFAULT_REGION) -> str:
    """A stored number as people write it: national in the clinic's country, else
    international. A value that is not a number (old data) is shown as it is."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_valid_number(number):
        return value
    same_country = phonenumbers.region_code_for_number(number) == region
    return phonenumbers.format_number(
        number,
        phonenumbers.PhoneNumberFormat.NATIONAL
        if same_country
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    )


def _country(number: phonenumbers.PhoneNumber, region: str) -> str:
    code = phonenumbers.region_code_for_number(number) or region
    return "the United States" if code == "US" else code
