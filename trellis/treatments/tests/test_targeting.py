"""Beam F3 targeting against the published test vector in DOMAIN.md §3.2 [R44, R45]."""

import dataclasses
import math
from decimal import Decimal

import pytest

from trellis.lib.errors import InputError
from trellis.treatments.targeting import BeamF3, beam_f3


def sind(degrees):
    return math.sin(math.radians(degrees))


def cosd(degrees):
    return math.cos(math.radians(degrees))


def literal_beam_f3(tt, ni, cf):
    """DOMAIN.md §3.2 transcribed term by term, to check the module's rearranged form."""
    r2 = 0.4 * tt
    r1 = 0.4 * ni
    a = (r2 * sind(324) + r1 / 2) / r2
    b = r1 * sind(298) / (r1 * cosd(298) - r2 / 2)
    x = 0.5 * (r1 - r2 * b) / (a - b)
    y = a * x - r1 / 2
    big_x = cf / 4 * (90 + math.degrees(math.atan(y / x))) / 90
    big_y = 0.91 * math.sqrt(x**2 + y**2)
    return big_x, big_y


def test_it_reproduces_the_published_test_vector():
    # 36/38/60 cm gives X 6.95 cm, Y 9.79 cm; X matches a demonstration [R44, R45].
    assert beam_f3(36, 38, 60) == BeamF3(x_cm=6.95, y_cm=9.79)


@pytest.mark.parametrize(
    "head",
    [
        pytest.param((30, 32, 54), id="a small head"),
        pytest.param((34, 35, 56), id="a narrow head"),
        pytest.param((36.5, 37, 57.5), id="fractional measurements"),
        pytest.param((38, 36, 58), id="a broad head"),
        pytest.param((40, 40, 62), id="a large head"),
        pytest.param((44, 42, 66), id="a very large head"),
        pytest.param((20, 20, 40), id="the smallest accepted head"),
        pytest.param((50, 50, 75), id="the largest accepted head"),
        pytest.param((20, 50, 75), id="the longest accepted head"),
        pytest.param((50, 20, 40), id="the widest accepted head"),
    ],
)
def test_it_matches_the_formula_as_written_for_other_heads(head):
    expected_x, expected_y = literal_beam_f3(*head)

    result = beam_f3(*head)

    assert (result.x_cm, result.y_cm) == (round(expected_x, 2), round(expected_y, 2))


def test_it_stays_finite_where_the_formula_as_written_divides_by_almost_zero():
    # R1 cos 298 = R2 / 2 when TT = 2 NI cos 298, about 35.68 cm for NI 38 cm: there B of the
    # formula as written is a division by (nearly) zero.
    singular_tt = 2 * 38 * math.cos(math.radians(298))

    results = [beam_f3(tt, 38, 60) for tt in (singular_tt - 0.01, singular_tt, singular_tt + 0.01)]

    assert all(math.isfinite(r.x_cm) and math.isfinite(r.y_cm) for r in results)
    assert max(r.x_cm for r in results) - min(r.x_cm for r in results) <= 0.01
    assert max(r.y_cm for r in results) - min(r.y_cm for r in results) <= 0.01


@pytest.mark.parametrize(
    "head",
    [
        pytest.param((tt, ni, cf), id=f"TT {tt} NI {ni} CF {cf}")
        for tt in (20, 30, 40, 50)
        for ni in (20, 30, 40, 50)
        for cf in (40, 60, 75)
    ],
)
def test_it_puts_f3_in_the_front_left_quarter_of_every_accepted_head(head):
    _, ni, cf = head

    result = beam_f3(*head)

    assert 0 < result.x_cm < cf / 4
    assert 0 < result.y_cm < ni / 2


def test_it_accepts_decimal_measurements():
    assert beam_f3(Decimal("36.0"), Decimal("38"), Decimal("60.0")) == BeamF3(6.95, 9.79)


def test_it_gives_the_api_shape():
    assert beam_f3(36, 38, 60).as_dict() == {"x_cm": 6.95, "y_cm": 9.79}


def test_it_cannot_be_changed_after_it_is_computed():
    with pytest.raises(dataclasses.FrozenInstanceError):
        beam_f3(36, 38, 60).x_cm = 5.0


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        pytest.param("tragus_tragus_cm", 0, "must be between 20 and 50 cm", id="TT of 0"),
        pytest.param("tragus_tragus_cm", -36, "must be between 20 and 50 cm", id="negative TT"),
        pytest.param("tragus_tragus_cm", 19.9, "must be between 20 and 50 cm", id="TT too small"),
        pytest.param("tragus_tragus_cm", 360, "must be between 20 and 50 cm", id="TT in mm"),
        pytest.param("nasion_inion_cm", 15, "must be between 20 and 50 cm", id="NI in inches"),
        pytest.param("nasion_inion_cm", 50.1, "must be between 20 and 50 cm", id="NI too large"),
        pytest.param("circumference_cm", 23.6, "must be between 40 and 75 cm", id="CF in inches"),
        pytest.param("circumference_cm", 76, "must be between 40 and 75 cm", id="CF too large"),
        pytest.param("tragus_tragus_cm", True, "must be a number of cm", id="TT true"),
        pytest.param("nasion_inion_cm", False, "must be a number of cm", id="NI false"),
        pytest.param("circumference_cm", True, "must be a number of cm", id="CF true"),
        pytest.param("circumference_cm", "60", "must be a number of cm", id="CF as text"),
        pytest.param("nasion_inion_cm", None, "must be a number of cm", id="NI missing"),
        pytest.param(
            "tragus_tragus_cm", float("nan"), "must be a finite number of cm", id="TT NaN"
        ),
        pytest.param(
            "circumference_cm", float("inf"), "must be a finite number of cm", id="CF infinite"
        ),
    ],
)
def test_it_rejects_implausible_measurements_by_field_name(field, value, rule):
    head = {"tragus_tragus_cm": 36, "nasion_inion_cm": 38, "circumference_cm": 60}

    with pytest.raises(InputError) as raised:
        beam_f3(**{**head, field: value})

    assert (raised.value.field, raised.value.message) == (field, rule)
