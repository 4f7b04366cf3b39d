"""The NPI check digit (Luhn with the 80840 prefix [R125]) and the EIN's form."""

import pytest

from trellis.billing import npi
from trellis.lib.errors import InputError


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("1234567893", True),  # the published example [R125]
        ("1234567890", False),
        ("1234567892", False),
        ("1245319599", True),
        ("1245319598", False),
        ("123456789", False),  # nine digits
        ("12345678931", False),  # eleven
        ("12345678a3", False),
        ("", False),
        ("１２３４５６７８９３", False),  # full-width digits are not ASCII digits
    ],
)
def test_the_check_digit_decides(value, valid):
    assert npi.is_valid_npi(value) is valid


def test_the_prefix_adds_24_to_the_luhn_sum():
    # Equivalently: the check digit of the nine digits with 24 added to their Luhn sum [R125].
    for body in ("123456789", "124531959", "987654321", "000000000"):
        with_prefix = npi.luhn_check_digit("80840" + body)
        total = 24
        for position, char in enumerate(reversed(body)):
            value = int(char) * (2 if position % 2 == 0 else 1)
            total += value - 9 if value > 9 else value
        assert with_prefix == (10 - total % 10) % 10


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("123", "must be 10 digits"),
        ("1234567890", "check digit"),
        ("12345 6789 0", "check digit"),
    ],
)
def test_a_bad_npi_is_refused_naming_the_field(value, message):
    with pytest.raises(InputError) as caught:
        npi.clean_npi(value, "rendering_npi")
    assert caught.value.field == "rendering_npi"
    assert message in caught.value.message


def test_an_npi_is_optional_unless_required():
    assert npi.clean_npi("  ") == ""
    assert npi.clean_npi(" 1234 567 893 ") == "1234567893"
    with pytest.raises(InputError):
        npi.clean_npi("", required=True)


@pytest.mark.parametrize(
    ("value", "cleaned"),
    [("12-3456789", "12-3456789"), ("123456789", "12-3456789"), (" 98-7654321 ", "98-7654321")],
)
def test_an_ein_is_written_with_its_hyphen(value, cleaned):
    assert npi.clean_ein(value) == cleaned


@pytest.mark.parametrize("value", ["12-345678", "1-23456789", "12-34567890", "AB-1234567"])
def test_a_malformed_ein_is_refused(value):
    with pytest.raises(InputError) as caught:
        npi.clean_ein(value)
    assert caught.value.field == "tax_id"
