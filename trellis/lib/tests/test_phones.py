"""Phone numbers in E.164, read in the clinic's country, shown as the clinic writes them."""

import pytest

from trellis.lib import phones


@pytest.mark.parametrize(
    ("raw", "region", "stored"),
    [
        ("(617) 555-0134", "US", "+16175550134"),
        ("617.555.0134", "US", "+16175550134"),
        ("+1 617 555 0134", "US", "+16175550134"),
        ("1-617-555-0134", "US", "+16175550134"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("03-1234-5678", "JP", "+81312345678"),
        ("", "US", ""),
        ("   ", "US", ""),
    ],
)
def test_numbers_are_stored_in_e164(raw, region, stored):
    assert phones.to_e164(raw, region) == stored


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("12", "not a valid phone number"),
        ("+1 555 0141 8623", "not a valid phone number"),  # 11 digits after +1
        ("(555) 010-4477", "not a valid phone number"),  # no area code 555
        ("call me", "is not a phone number"),
    ],
)
def test_invalid_numbers_are_refused_saying_what_a_good_one_looks_like(raw, words):
    with pytest.raises(phones.InvalidPhone) as error:
        phones.to_e164(raw, "US")
    assert words in str(error.value)
    assert "(617) 555-0134" in str(error.value)


@pytest.mark.parametrize(
    ("stored", "region", "shown"),
    [
        ("+16175550134", "US", "(617) 555-0134"),
        ("+442079460958", "US", "+44 20 7946 0958"),
        ("+442079460958", "GB", "020 7946 0958"),
        ("+1 555 0141 8623", "US", "+1 555 0141 8623"),  # old data that could not be read
        ("", "US", ""),
    ],
)
def test_numbers_are_shown_nationally_at_home_and_internationally_abroad(stored, region, shown):
    assert phones.display(stored, region) == shown


class _Clinic:
    def __init__(self, country=None):
        if country is not None:
            self.country = country


@pytest.mark.parametrize(
    ("clinic", "region"), [(_Clinic(), "US"), (_Clinic(""), "US"), (_Clinic("gb"), "GB")]
)
def test_a_clinics_country_is_the_region_numbers_are_read_in(clinic, region):
    assert phones.region_of(clinic) == region
