"""The coding rules, on every boundary DOMAIN.md §6, §11, §12 and §14 draw."""

import pytest

from trellis.billing import coding
from trellis.lib import sources
from trellis.lib.errors import InputError


def codes(lines):
    return [(line.code, line.units) for line in lines]


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (1, [("96374", 1), ("J3490", 1)]),
        (15, [("96374", 1), ("J3490", 1)]),
        (16, [("96365", 1), ("J3490", 1)]),
        (40, [("96365", 1), ("J3490", 1)]),
        (60, [("96365", 1), ("J3490", 1)]),
        (90, [("96365", 1), ("J3490", 1)]),
        (91, [("96365", 1), ("96366", 1), ("J3490", 1)]),
        (150, [("96365", 1), ("96366", 1), ("J3490", 1)]),
        (151, [("96365", 1), ("96366", 2), ("J3490", 1)]),
        (210, [("96365", 1), ("96366", 2), ("J3490", 1)]),
        (211, [("96365", 1), ("96366", 3), ("J3490", 1)]),
        (40.0, [("96365", 1), ("J3490", 1)]),
    ],
)
def test_iv_infusion_by_minutes(minutes, expected):
    assert codes(coding.infusion_codes(minutes=minutes)) == expected


@pytest.mark.parametrize(
    ("minutes", "hours"), [(60, 0), (90, 0), (91, 1), (150, 1), (151, 2), (600, 9)]
)
def test_additional_hours(minutes, hours):
    assert coding.additional_hours(minutes) == hours


@pytest.mark.parametrize(
    ("dose_mg", "payer", "expected"),
    [
        (28, "medicare", [("G2082", 1)]),
        (56, "medicare", [("G2082", 1)]),
        (57, "medicare", [("G2083", 1)]),
        (84, "medicare", [("G2083", 1)]),
        (56, "commercial", [("99213", 1), ("J0013", 56)]),
        (84, "commercial", [("99213", 1), ("J0013", 84)]),
        (57, "commercial", [("99213", 1), ("J0013", 57)]),
        (56, "self_pay", [("99213", 1), ("J0013", 56)]),
        (84, "self_pay", [("99213", 1), ("J0013", 84)]),
    ],
)
def test_esketamine_by_dose_and_payer(dose_mg, payer, expected):
    assert codes(coding.esketamine_codes(dose_mg=dose_mg, payer_type=payer)) == expected


def test_esketamine_visit_is_the_clinics_setting():
    lines = coding.esketamine_codes(dose_mg=56, payer_type="commercial", visit_code="99214")
    assert codes(lines) == [("99214", 1), ("J0013", 56)]


@pytest.mark.parametrize(
    ("first", "redetermined", "expected"),
    [
        (True, False, "90867"),
        (True, True, "90867"),
        (False, False, "90868"),
        (False, True, "90869"),
    ],
)
def test_tms_first_later_and_motor_threshold(first, redetermined, expected):
    lines = coding.tms_codes(first_in_course=first, motor_threshold_redetermined=redetermined)
    assert codes(lines) == [(expected, 1)]


@pytest.mark.parametrize(
    ("minutes", "addon"),
    [
        (0, []),
        (15, []),
        (16, [("90833", 1)]),
        (37, [("90833", 1)]),
        (38, [("90836", 1)]),
        (52, [("90836", 1)]),
        (53, [("90838", 1)]),
        (90, [("90838", 1)]),
    ],
)
def test_psychotherapy_addon_by_minutes(minutes, addon):
    assert codes(coding.psychotherapy_addon(minutes)) == addon
    assert codes(coding.therapy_codes(psychotherapy_minutes=minutes)) == [("99213", 1), *addon]


@pytest.mark.parametrize("attendees", [1, 8, 12])
def test_group_one_line_per_attendee(attendees):
    assert codes(coding.group_codes(attendees=attendees)) == [("90853", 1)] * attendees


@pytest.mark.parametrize(
    ("service", "inputs", "expected"),
    [
        ("iv_ketamine", {"minutes": 40}, [("96365", 1), ("J3490", 1)]),
        ("esketamine", {"dose_mg": 84}, [("99213", 1), ("J0013", 84)]),
        ("tms", {"first_in_course": False}, [("90868", 1)]),
        (
            "tms",
            {"first_in_course": False, "motor_threshold_redetermined": True},
            [("90869", 1)],
        ),
        ("therapy", {"psychotherapy_minutes": 45}, [("99213", 1), ("90836", 1)]),
        ("group", {"attendees": 2}, [("90853", 1), ("90853", 1)]),
        ("group", {"attendees": 2, "minutes": None}, [("90853", 1), ("90853", 1)]),
    ],
)
def test_charge_codes_dispatches_by_service(service, inputs, expected):
    assert codes(coding.charge_codes(service, payer_type="commercial", **inputs)) == expected


@pytest.mark.parametrize(
    ("service", "payer", "inputs", "field"),
    [
        ("iv_ketamine", "commercial", {}, "minutes"),
        ("esketamine", "medicare", {}, "dose_mg"),
        ("tms", "commercial", {}, "first_in_course"),
        ("tms", "commercial", {"motor_threshold_redetermined": True}, "first_in_course"),
        ("therapy", "commercial", {}, "psychotherapy_minutes"),
        ("group", "commercial", {}, "attendees"),
        ("massage", "commercial", {}, "service"),
        ("tms", "medicaid", {"first_in_course": True}, "payer_type"),
        ("tms", "commercial", {"first_in_course": True, "dose_mg": 56}, "dose_mg"),
        ("iv_ketamine", "commercial", {"minutes": 0}, "minutes"),
        ("iv_ketamine", "commercial", {"minutes": 601}, "minutes"),
        ("iv_ketamine", "commercial", {"minutes": 40.5}, "minutes"),
        ("iv_ketamine", "commercial", {"minutes": True}, "minutes"),
        ("iv_ketamine", "commercial", {"minutes": "40"}, "minutes"),
        ("iv_ketamine", "commercial", {"minutes": float("inf")}, "minutes"),
        ("iv_ketamine", "commercial", {"minutes": float("nan")}, "minutes"),
        ("esketamine", "commercial", {"dose_mg": 0}, "dose_mg"),
        ("esketamine", "commercial", {"dose_mg": 85}, "dose_mg"),
        ("esketamine", "medicare", {"dose_mg": 56.5}, "dose_mg"),
        ("tms", "commercial", {"first_in_course": "yes"}, "first_in_course"),
        ("tms", "commercial", {"first_in_course": 1}, "first_in_course"),
        ("therapy", "commercial", {"psychotherapy_minutes": -1}, "psychotherapy_minutes"),
        ("group", "commercial", {"attendees": 0}, "attendees"),
        ("group", "commercial", {"attendees": 13}, "attendees"),
    ],
)
def test_invalid_input_names_the_field(service, payer, inputs, field):
    with pytest.raises(InputError) as caught:
        coding.charge_codes(service, payer_type=payer, **inputs)
    assert caught.value.field == field


def test_a_visit_code_outside_the_established_visits_is_refused():
    with pytest.raises(InputError) as caught:
        coding.esketamine_codes(dose_mg=56, payer_type="commercial", visit_code="99205")
    assert caught.value.field == "visit_code"


def test_every_code_has_a_label_and_a_source_in_the_sources_page():
    entries = sources.all_sources()
    for code, (label, source) in coding.CODES.items():
        assert label and len(label) <= 80, code
        cited = sources.numbers(f"[{source}]")
        assert cited and set(cited) <= set(entries), code
    assert set(coding.VISIT_CODES) <= set(coding.CODES)
    assert coding.is_known("90853") and not coding.is_known("90846")
