"""The DEA number's form and check digit, against worked examples."""

import pytest

from trellis.controlled.dea import check_digit, dea_number_problem


@pytest.mark.parametrize(
    ("six", "digit"),
    [
        ("123456", 3),  # 1+3+5 = 9; 2×(2+4+6) = 24; 33 → 3
        ("612534", 1),  # 6+2+3 = 11; 2×(1+5+4) = 20; 31 → 1
        ("000000", 0),
        ("999999", 1),  # 27 + 54 = 81 → 1
        ("100000", 1),
        ("010000", 2),
    ],
)
def test_check_digit(six, digit):
    assert check_digit(six) == digit


@pytest.mark.parametrize(
    ("number", "ok"),
    [
        ("AB1234563", True),
        ("BJ6125341", True),
        ("ab1234563", True),  # read in capitals
        (" AB1234563 ", True),
        ("M91234563", True),  # 9 as the second character
        ("AB1234564", False),  # wrong check digit
        ("AB1234560", False),
        ("A11234563", False),  # a digit where the second letter goes
        ("AB123456", False),  # too short
        ("AB12345633", False),  # too long
        ("1B1234563", False),
        ("AB12345X3", False),
        ("", False),
    ],
)
def test_dea_number_problem(number, ok):
    assert (dea_number_problem(number) is None) is ok


def test_the_problem_names_the_rule():
    assert "check digit" in dea_number_problem("AB1234564")
    assert "two letters followed by seven digits" in dea_number_problem("AB12")
