"""Ledger arithmetic: exact amounts, signs and balances."""

import pytest

from trellis.controlled import balance
from trellis.lib.errors import InputError


@pytest.mark.parametrize(
    ("mg", "ug"),
    [(500, 500_000), ("37.5", 37_500), (0.1, 100), (28, 28_000), ("0.001", 1), (2.25, 2_250)],
)
def test_to_ug_is_exact(mg, ug):
    assert balance.to_ug("amount_mg", mg) == ug


@pytest.mark.parametrize(
    ("mg", "message"),
    [
        (0, "more than 0"),
        (-5, "more than 0"),
        ("0.0001", "three decimal places"),
        ("x", "number of mg"),
        (True, "number of mg"),
        (float("nan"), "number of mg"),
        (float("inf"), "number of mg"),
    ],
)
def test_to_ug_refuses_with_the_field_and_rule(mg, message):
    with pytest.raises(InputError) as caught:
        balance.to_ug("amount_mg", mg)
    assert caught.value.field == "amount_mg"
    assert message in caught.value.message


def test_zero_is_allowed_for_a_count():
    assert balance.to_ug("counted_mg", 0, allow_zero=True) == 0


@pytest.mark.parametrize(
    ("ug", "text"),
    [(462_500, "462.5 mg"), (28_000, "28 mg"), (1, "0.001 mg"), (15_151_500, "15,151.5 mg")],
)
def test_mg_text(ug, text):
    assert balance.mg_text(ug) == text


def test_remaining_is_received_less_administered_wasted_and_adjusted():
    entries = [
        ("receipt", 500_000),
        ("administration", -37_500),
        ("administration", -40_000),
        ("waste", -2_500),
        ("count", 0),
        ("adjustment", -1_000),
        ("witness", 0),
    ]
    totals = balance.totals(entries)
    assert totals == balance.Totals(500_000, 77_500, 2_500, 1_000)
    assert totals.remaining == 419_000 == sum(amount for _, amount in entries)


def test_signed_amount():
    assert balance.signed_amount("receipt", 10) == 10
    assert balance.signed_amount("administration", 10) == -10
    assert balance.signed_amount("waste", 10) == -10
    assert balance.signed_amount("adjustment", -10) == -10


def test_balance_problem_names_the_first_entry_below_zero():
    assert balance.balance_problem([("receipt", 10), ("administration", -10)]) is None
    problem = balance.balance_problem([("receipt", 10), ("administration", -11), ("receipt", 5)])
    assert problem == "entry 2 takes the balance to -0.001 mg"
