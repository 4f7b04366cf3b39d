"""A package's NDC as the claim's shaded line writes it: 11 digits, 5-4-2 [R124, R127]."""

from decimal import Decimal

import pytest

from trellis.billing import ndc


@pytest.mark.parametrize(
    ("printed", "eleven"),
    [
        # 4-4-2: the labeler gets its leading zero.
        ("0409-2053-10", "00409205310"),
        ("1234-1234-12", "01234123412"),
        # 5-3-2: the product gets it.
        ("12345-123-12", "12345012312"),
        ("50458-028-02", "50458002802"),
        # 5-4-1: the package gets it.
        ("12345-1234-1", "12345123401"),
        ("42023-0113-1", "42023011301"),
        # Already 11 digits, with or without hyphens.
        ("00409-2053-10", "00409205310"),
        ("00409205310", "00409205310"),
        (" 0409-2053-10 ", "00409205310"),
    ],
)
def test_a_ten_digit_ndc_is_written_in_eleven(printed, eleven):
    assert ndc.eleven_digits(printed) == eleven


@pytest.mark.parametrize(
    ("printed", "says"),
    [
        ("0409205310", "layout"),  # 10 digits without hyphens: which segment is short?
        ("409-2053-10", "not an NDC"),  # a 3-digit labeler
        ("0409-205-1", "neither"),
        ("0409-2053-100", "not an NDC"),
        ("", "not an NDC"),
        ("ketamine", "not an NDC"),
    ],
)
def test_what_cannot_be_converted_is_refused_with_the_reason(printed, says):
    with pytest.raises(ndc.NdcError, match=says):
        ndc.eleven_digits(printed)


@pytest.mark.parametrize(
    ("quantity", "line"),
    [
        (Decimal("40"), "N400409205310 ME40"),
        (Decimal("40.000"), "N400409205310 ME40"),
        (Decimal("37.5"), "N400409205310 ME37.5"),
        (Decimal("0.125"), "N400409205310 ME0.125"),
    ],
)
def test_the_shaded_line_is_qualifier_ndc_unit_and_quantity(quantity, line):
    assert ndc.supplemental_line("00409205310", ndc.MILLIGRAM, quantity) == line


@pytest.mark.parametrize(
    ("stored", "text"),
    [
        (Decimal("39.500"), "39.5 mg"),
        (Decimal("40.000"), "40 mg"),
        (Decimal("40"), "40 mg"),
        (Decimal("1250.250"), "1,250.25 mg"),
        (None, ""),
    ],
)
def test_the_milligrams_drawn_read_without_trailing_zeros(stored, text):
    from trellis.billing.models import Charge

    assert Charge(ndc_quantity=stored).ndc_mg_text == text
