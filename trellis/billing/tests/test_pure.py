"""Table-driven tests of the pure billing modules: NPI check digits [R125], ICD-10-CM codes and
claim letters [R124], and the ledger's arithmetic (oldest-first application, ageing buckets)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from trellis.billing import diagnoses, ledger
from trellis.lib import npi
from trellis.lib.errors import InputError


def luhn_plus_24(first_nine: str) -> int:
    """The check digit by the other statement of the rule: Luhn over the nine digits, plus 24
    for the "80840" prefix [R125]."""
    total = 24
    for position, char in enumerate(reversed(first_nine)):
        digit = int(char)
        if position % 2 == 0:
            digit = digit * 2 - 9 if digit * 2 > 9 else digit * 2
        total += digit
    return (10 - total % 10) % 10


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("1234567893", True),  # the published example [R125]
        ("1234567890", False),
        ("1234567892", False),
        ("123456789", False),  # nine digits
        ("12345678931", False),  # eleven
        ("123456789A", False),
        ("", False),
        ("１２３４５６７８９３", False),  # full-width digits are not ASCII
    ],
)
def test_npi_validity(value, valid):
    assert npi.is_valid(value) is valid


@pytest.mark.parametrize("first_nine", ["123456789", "100000000", "999999999", "164789502"])
def test_the_check_digit_agrees_with_the_add_24_statement(first_nine):
    assert npi.check_digit(first_nine) == luhn_plus_24(first_nine)
    assert npi.is_valid(first_nine + str(luhn_plus_24(first_nine)))


@pytest.mark.parametrize(
    ("raw", "expected", "message"),
    [
        (" 1234 567 893 ", "1234567893", None),
        ("", "", None),
        ("1234567890", None, "check digit"),
        ("12345", None, "10 digits"),
        ("12345abcde", None, "10 digits"),
    ],
)
def test_npi_clean_names_the_rule(raw, expected, message):
    if message is None:
        assert npi.clean(raw) == expected
    else:
        with pytest.raises(InputError, match=message) as caught:
            npi.clean(raw, "rendering_npi")
        assert caught.value.field == "rendering_npi"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("F33.1", "F33.1"),
        ("f33.1", "F33.1"),
        ("F331", "F33.1"),
        ("F32.A", "F32.A"),
        ("F43.10", "F43.10"),
        (" F32.9 ", "F32.9"),
        ("F32", "F32"),
        ("Z63.0", "Z63.0"),
    ],
)
def test_icd10cm_codes_are_read(raw, expected):
    assert diagnoses.clean_code(raw) == expected


@pytest.mark.parametrize("raw", ["", "33.1", "F3", "FF3.1", "F33.12345", "F33-1", "296.32"])
def test_malformed_icd10cm_codes_are_refused_by_name(raw):
    with pytest.raises(InputError) as caught:
        diagnoses.clean_code(raw)
    assert caught.value.field == "code"


def test_labels_are_trellis_own_or_the_prescribers():
    assert diagnoses.label_for("F33.1") == "Depression, recurrent, moderate"
    assert diagnoses.label_for("F33.1", "  MDD,  recurrent ") == "MDD, recurrent"
    with pytest.raises(InputError) as caught:
        diagnoses.label_for("Z63.0")
    assert caught.value.field == "label"
    with pytest.raises(InputError):
        diagnoses.label_for("F33.1", "x" * 121)


@pytest.mark.parametrize(
    ("count", "pointers"), [(0, ""), (1, "A"), (3, "ABC"), (4, "ABCD"), (12, "ABCD")]
)
def test_a_line_points_at_up_to_four_diagnoses(count, pointers):
    assert diagnoses.pointers(count) == pointers


def test_a_claim_carries_twelve_diagnoses_lettered_a_to_l_without_repeats():
    codes = [f"F{n}.0" for n in range(20, 35)]
    assert diagnoses.for_claim(["F33.1", "F41.1", "F33.1"]) == ["F33.1", "F41.1"]
    assert diagnoses.for_claim(codes) == codes[:12]
    assert [diagnoses.letter(i) for i in (0, 1, 11)] == ["A", "B", "L"]
    with pytest.raises(InputError):
        diagnoses.letter(12)


AS_OF = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("days_old", "bucket"),
    [
        (-3, "0–30"),
        (0, "0–30"),
        (30, "0–30"),
        (31, "31–60"),
        (60, "31–60"),
        (61, "61–90"),
        (90, "61–90"),
        (91, "90+"),
        (400, "90+"),
    ],
)
def test_ageing_buckets(days_old, bucket):
    assert ledger.bucket(AS_OF - timedelta(days=days_old), AS_OF) == bucket


def owing(key, days_old, amount):
    return ledger.Owing(key, AS_OF - timedelta(days=days_old), Decimal(amount))


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("50.00", [("old", Decimal("50.00"))]),
        ("100.00", [("old", Decimal("100.00"))]),
        ("130.00", [("old", Decimal("100.00")), ("new", Decimal("30.00"))]),
        ("500.00", [("old", Decimal("100.00")), ("new", Decimal("250.00"))]),
    ],
)
def test_a_payment_is_applied_oldest_first_never_beyond_what_is_owed(amount, expected):
    rows = [owing("new", 2, "250.00"), owing("paid", 40, "0.00"), owing("old", 70, "100.00")]
    assert ledger.apply_oldest_first(Decimal(amount), rows) == expected


def test_aged_totals_leave_out_what_is_paid_or_credited():
    rows = [
        owing("a", 5, "100.00"),
        owing("b", 45, "40.00"),
        owing("c", 75, "25.50"),
        owing("d", 120, "10.00"),
        owing("e", 10, "-20.00"),  # a credit balance on a line is not a receivable
    ]
    assert ledger.aged(rows, AS_OF) == {
        "0–30": Decimal("100.00"),
        "31–60": Decimal("40.00"),
        "61–90": Decimal("25.50"),
        "90+": Decimal("10.00"),
        "total": Decimal("175.50"),
    }


@pytest.mark.parametrize(
    ("minutes", "codes"),
    [
        (0, []),
        (15, []),
        (16, ["90832"]),
        (37, ["90832"]),
        (38, ["90834"]),
        (52, ["90834"]),
        (53, ["90837"]),
        (90, ["90837"]),
    ],
)
def test_psychotherapy_alone_by_minutes(minutes, codes):
    from trellis.billing import coding

    assert [line.code for line in coding.psychotherapy_alone(minutes)] == codes
