"""A DEA registration number's form and check digit, as a plain function.

A registration number is two letters and seven digits. The first letter names the kind of
registrant, the second is usually the first letter of the registrant's surname or business name
(or 9 for some), and the seventh digit checks the first six: add the 1st, 3rd and 5th digits,
add twice the sum of the 2nd, 4th and 6th, and the last digit of the total must be the 7th.
Suppliers of ketamine sign their invoices with one (DOMAIN.md §5, §15 [R66, R68]).
"""

import re

_FORM = re.compile(r"[A-Z][A-Z9]\d{7}")


def check_digit(six_digits: str) -> int:
    """The seventh digit that the first six call for."""
    d = [int(c) for c in six_digits]
    return (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10


def dea_number_problem(value: str) -> str | None:
    """None for a well-formed DEA number with the right check digit, otherwise what is wrong."""
    number = (value or "").strip().upper()
    if not _FORM.fullmatch(number):
        return "must be two letters followed by seven digits, e.g. AB1234563"
    if check_digit(number[2:8]) != int(number[8]):
        return "its check digit (the last) does not match the six digits before it"
    return None


def normalise(value: str) -> str:
    return (value or "").strip().upper()
