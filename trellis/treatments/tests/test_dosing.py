"""IV ketamine infusion arithmetic against the worked examples in DOMAIN.md §1.1 [R1, R10, R11]."""

import dataclasses
import json
from decimal import Decimal

import pytest

from trellis.lib.errors import InputError
from trellis.treatments.dosing import (
    DoseLimitViolation,
    calculate_infusion,
    check_dose_escalation,
    check_dose_limits,
)

# 0.5 mg/kg over 40 min [R1, R11] for an 80 kg patient, from a 50 mg/mL vial into 100 mL.
STANDARD = {
    "weight_kg": 80,
    "dose_mg_per_kg": 0.5,
    "minutes": 40,
    "vial_mg_per_ml": 50,
    "diluent_ml": 100,
}


def infusion(**changes):
    return calculate_infusion(**{**STANDARD, **changes})


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        pytest.param(
            (80, 0.5, 40, 50, 100),
            ("40.00", "0.80", "100.80", "0.397", "151.2"),
            id="80 kg at 0.5 mg/kg from 50 mg/mL into 100 mL over 40 min (DOMAIN 1.1)",
        ),
        pytest.param(
            (80, 0.5, 40, 1, 0),
            ("40.00", "40.00", "40.00", "1.000", "60.0"),
            id="40 mg at 1 mg/mL undiluted over 40 min is 60 mL/h (DOMAIN 1.1)",
        ),
        pytest.param(
            (100, 0.5, 40, 2, 0),
            ("50.00", "25.00", "25.00", "2.000", "37.5"),
            id="50 mg at 2 mg/mL over 40 min",
        ),
        pytest.param(
            (70, 0.5, 40, 10, 50),
            ("35.00", "3.50", "53.50", "0.654", "80.3"),
            id="rate of exactly 80.25 mL/h rounds half up to 80.3",
        ),
        pytest.param(
            (71.3, 0.35, 40, 50, 100),
            ("24.96", "0.50", "100.50", "0.248", "150.7"),
            id="0.35 x 71.3 is exactly 24.955 mg and rounds half up, not down as a float would",
        ),
        pytest.param(
            (Decimal("62.5"), Decimal("0.5"), 40, 50, Decimal("250")),
            ("31.25", "0.63", "250.63", "0.125", "375.9"),
            id="decimal inputs are used as given",
        ),
    ],
)
def test_it_reproduces_worked_examples(inputs, expected):
    result = calculate_infusion(*inputs)

    assert (
        result.dose_mg,
        result.drug_ml,
        result.total_ml,
        result.bag_mg_per_ml,
        result.rate_ml_per_h,
    ) == tuple(Decimal(value) for value in expected)


def test_it_keeps_the_documented_decimal_places():
    result = infusion()

    assert [str(value) for value in dataclasses.astuple(result)[:5]] == [
        "40.00",
        "0.80",
        "100.80",
        "0.397",
        "151.2",
    ]


def test_it_gives_the_api_shape_as_json_ready_numbers():
    result = infusion(vial_mg_per_ml=100, diluent_ml=0)

    shape = result.as_dict()

    assert json.loads(json.dumps(shape)) == shape
    assert shape == {
        "dose_mg": 40.0,
        "drug_ml": 0.4,
        "total_ml": 0.4,
        "bag_mg_per_ml": 100.0,
        "rate_ml_per_h": 0.6,
        "warnings": [
            "100 mg/mL ketamine must be diluted before IV use, but no diluent is given [R10]"
        ],
    }


def test_it_cannot_be_changed_after_it_is_computed():
    result = infusion()

    with pytest.raises(dataclasses.FrozenInstanceError):
        result.dose_mg = Decimal(80)


@pytest.mark.parametrize(
    ("changes", "expected_warning"),
    [
        pytest.param(
            {"dose_mg_per_kg": 0.05},
            "0.05 mg/kg is outside the 0.1 to 0.75 mg/kg range studied for depression [R1, R11]",
            id="a dose below the studied range",
        ),
        pytest.param(
            {"dose_mg_per_kg": 1.0},
            "1 mg/kg is outside the 0.1 to 0.75 mg/kg range studied for depression [R1, R11]",
            id="a dose above the studied range",
        ),
        pytest.param(
            {"minutes": 1, "diluent_ml": 10},
            "1 min is outside the 2 to 100 min infusion times studied for depression [R1, R11]",
            id="an infusion shorter than studied",
        ),
        pytest.param(
            {"minutes": 120},
            "120 min is outside the 2 to 100 min infusion times studied for depression [R1, R11]",
            id="an infusion longer than studied",
        ),
        pytest.param(
            {"vial_mg_per_ml": 100, "diluent_ml": 0},
            "100 mg/mL ketamine must be diluted before IV use, but no diluent is given [R10]",
            id="undiluted 100 mg/mL",
        ),
        pytest.param(
            {"vial_mg_per_ml": 5},
            "5 mg/mL is not a ketamine vial strength (10, 50, 100 mg/mL) or a usual infusion "
            "concentration (1, 2 mg/mL); check the label [R10]",
            id="a concentration that is neither a vial nor a usual bag strength",
        ),
    ],
)
def test_it_warns_about_off_protocol_values(changes, expected_warning):
    assert infusion(**changes).warnings == (expected_warning,)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({}, id="the standard protocol"),
        pytest.param({"dose_mg_per_kg": 0.1}, id="the lowest studied dose"),
        pytest.param({"dose_mg_per_kg": 0.75}, id="the highest studied dose"),
        pytest.param({"minutes": 2, "diluent_ml": 10}, id="the shortest studied infusion"),
        pytest.param({"minutes": 100}, id="the longest studied infusion"),
        pytest.param({"vial_mg_per_ml": 100, "diluent_ml": 100}, id="diluted 100 mg/mL"),
        pytest.param({"vial_mg_per_ml": 10, "diluent_ml": 0}, id="undiluted 10 mg/mL"),
        pytest.param({"vial_mg_per_ml": 2, "diluent_ml": 0}, id="a 2 mg/mL bag"),
    ],
)
def test_it_does_not_warn_about_studied_values(changes):
    assert infusion(**changes).warnings == ()


def test_it_gives_every_warning_that_applies():
    result = infusion(dose_mg_per_kg=1.2, minutes=120, vial_mg_per_ml=100, diluent_ml=0)

    assert len(result.warnings) == 3


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        pytest.param("weight_kg", 0, "must be at least 2 kg", id="0 kg"),
        pytest.param("weight_kg", -80, "must be at least 2 kg", id="a negative weight"),
        pytest.param("weight_kg", 1.99, "must be at least 2 kg", id="under 2 kg"),
        pytest.param("weight_kg", 401, "must be at most 400 kg", id="over 400 kg"),
        pytest.param("dose_mg_per_kg", 0, "must be at least 0.01 mg/kg", id="0 mg/kg"),
        pytest.param("dose_mg_per_kg", -0.5, "must be at least 0.01 mg/kg", id="negative mg/kg"),
        pytest.param("dose_mg_per_kg", 5.01, "must be at most 5 mg/kg", id="over 5 mg/kg"),
        pytest.param("minutes", 0, "must be at least 1 min", id="0 minutes"),
        pytest.param("minutes", -40, "must be at least 1 min", id="negative minutes"),
        pytest.param("minutes", 1e-308, "must be at least 1 min", id="1e-308 minutes"),
        pytest.param("minutes", 1e400, "must be a finite number", id="1e400 minutes"),
        pytest.param("minutes", 601, "must be at most 600 min", id="over 600 minutes"),
        pytest.param("vial_mg_per_ml", 0, "must be at least 0.1 mg/mL", id="a 0 mg/mL vial"),
        pytest.param("vial_mg_per_ml", 5000, "must be at most 100 mg/mL", id="5000 mg/mL"),
        pytest.param("vial_mg_per_ml", 100.5, "must be at most 100 mg/mL", id="over 100 mg/mL"),
        pytest.param("diluent_ml", -1, "must be 0 mL or more", id="negative diluent"),
        pytest.param("diluent_ml", 1001, "must be at most 1000 mL", id="over 1000 mL diluent"),
        pytest.param("weight_kg", True, "must be a number, not true or false", id="weight true"),
        pytest.param(
            "dose_mg_per_kg", False, "must be a number, not true or false", id="dose false"
        ),
        pytest.param("minutes", True, "must be a number, not true or false", id="minutes true"),
        pytest.param("vial_mg_per_ml", True, "must be a number, not true or false", id="vial true"),
        pytest.param(
            "diluent_ml", False, "must be a number, not true or false", id="diluent false"
        ),
        pytest.param("weight_kg", "80", "must be a number", id="weight as text"),
        pytest.param("minutes", "forty", "must be a number", id="minutes as a word"),
        pytest.param("vial_mg_per_ml", None, "must be a number", id="a missing vial strength"),
        pytest.param("diluent_ml", [100], "must be a number", id="diluent in a list"),
        pytest.param("weight_kg", float("nan"), "must be a finite number", id="weight NaN"),
        pytest.param("minutes", float("inf"), "must be a finite number", id="infinite minutes"),
        pytest.param("dose_mg_per_kg", Decimal("NaN"), "must be a finite number", id="Decimal NaN"),
    ],
)
def test_it_rejects_bad_input_by_field_name(field, value, rule):
    with pytest.raises(InputError) as raised:
        infusion(**{field: value})

    assert (raised.value.field, raised.value.message) == (field, rule)
    assert str(raised.value) == f"{field}: {rule}"


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"weight_kg": 400}, id="400 kg"),
        pytest.param({"dose_mg_per_kg": 5}, id="5 mg/kg"),
        pytest.param({"minutes": 600}, id="600 minutes"),
        pytest.param({"vial_mg_per_ml": 100}, id="100 mg/mL"),
        pytest.param({"diluent_ml": 1000, "minutes": 100}, id="1000 mL diluent"),
        pytest.param({"diluent_ml": 0}, id="no diluent"),
    ],
)
def test_it_accepts_values_at_the_plausibility_limits(changes):
    assert infusion(**changes).dose_mg > 0


@pytest.mark.parametrize(
    ("dose", "limits", "expected"),
    [
        pytest.param((0.5, 40), (0.75, 60), [], id="a dose within both limits"),
        pytest.param((0.75, 60), (0.75, 60), [], id="a dose equal to both limits"),
        pytest.param((0.5, 40), (None, None), [], id="no limits set"),
        pytest.param(
            (0.8, 40),
            (0.75, 60),
            [("dose_mg_per_kg", "0.8 mg/kg is above the clinic limit of 0.75 mg/kg")],
            id="a dose over the mg/kg limit",
        ),
        pytest.param(
            (0.5, 65),
            (0.75, 60),
            [("dose_mg", "65 mg is above the clinic limit of 60 mg")],
            id="a dose over the mg limit",
        ),
        pytest.param(
            (1.0, 120),
            (0.75, 100),
            [
                ("dose_mg_per_kg", "1 mg/kg is above the clinic limit of 0.75 mg/kg"),
                ("dose_mg", "120 mg is above the clinic limit of 100 mg"),
            ],
            id="a dose over both limits",
        ),
        pytest.param(
            (1.0, 120),
            (None, 100),
            [("dose_mg", "120 mg is above the clinic limit of 100 mg")],
            id="only the limit that is set",
        ),
    ],
)
def test_it_checks_clinic_dose_limits(dose, limits, expected):
    violations = check_dose_limits(*dose, *limits)

    assert violations == [DoseLimitViolation(*violation) for violation in expected]
    assert [(v.field, v.message) for v in violations] == expected


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        pytest.param((0, 40, 0.75, 60), "dose_mg_per_kg", id="a zero mg/kg dose"),
        pytest.param((0.5, -40, 0.75, 60), "dose_mg", id="a negative dose"),
        pytest.param((0.5, 40, True, 60), "max_mg_per_kg", id="a true mg/kg limit"),
        pytest.param((0.5, 40, 0.75, 0), "max_mg", id="a zero mg limit"),
        pytest.param((0.5, "40", 0.75, 60), "dose_mg", id="a dose as text"),
    ],
)
def test_it_rejects_bad_dose_limit_input_by_field_name(arguments, field):
    with pytest.raises(InputError) as raised:
        check_dose_limits(*arguments)

    assert raised.value.field == field


@pytest.mark.parametrize(
    ("doses", "options", "escalating"),
    [
        pytest.param([], {}, False, id="no infusions yet"),
        pytest.param([0.5], {}, False, id="a single infusion"),
        pytest.param([0.5] * 6, {}, False, id="a steady dose"),
        pytest.param([0.5, 0.55, 0.6, 0.65], {}, True, id="three increases in a row"),
        pytest.param([0.5, 0.55, 0.6], {}, False, id="only two increases in a row"),
        pytest.param([0.5, 0.55, 0.55, 0.6, 0.65], {}, False, id="an equal dose breaks the run"),
        pytest.param([0.5, 0.7, 0.6, 0.7], {}, False, id="up and down within 50 percent"),
        pytest.param([0.4, 0.6], {}, False, id="exactly 50 percent above the first"),
        pytest.param([0.4, 0.61], {}, True, id="more than 50 percent above the first"),
        pytest.param([0.8, 0.6, 0.4, 0.5], {}, False, id="a falling dose"),
        pytest.param(
            [0.5, 0.55, 0.6], {"consecutive_increases": 2}, True, id="a clinic run length of 2"
        ),
        pytest.param([0.5, 0.6], {"rise_pct": 10}, True, id="a clinic threshold of 10 percent"),
        pytest.param(
            [0.5, 0.55, 0.6, 0.65, 0.7],
            {"consecutive_increases": 5, "rise_pct": 100},
            False,
            id="stricter clinic settings not met",
        ),
    ],
)
def test_it_detects_an_escalating_dose(doses, options, escalating):
    result = check_dose_escalation(doses, **options)

    assert result.escalating is escalating
    assert bool(result.reasons) is escalating


def test_it_says_why_a_dose_is_escalating():
    result = check_dose_escalation([0.5, 0.6, 0.7, 0.8])

    assert result.as_dict() == {
        "escalating": True,
        "reasons": [
            "the dose rose at each of the last 3 infusions (0.5 to 0.6 to 0.7 to 0.8 mg/kg)",
            "the latest dose, 0.8 mg/kg, is 60 % above the first, 0.5 mg/kg "
            "(clinic threshold 50 %)",
        ],
    }


@pytest.mark.parametrize(
    ("doses", "options", "field"),
    [
        pytest.param("0.5, 0.6", {}, "doses_mg_per_kg", id="doses as text"),
        pytest.param(None, {}, "doses_mg_per_kg", id="no list at all"),
        pytest.param([0.5, 0, 0.6], {}, "doses_mg_per_kg[1]", id="a zero dose"),
        pytest.param([0.5, True], {}, "doses_mg_per_kg[1]", id="a boolean dose"),
        pytest.param([0.5], {"consecutive_increases": 0}, "consecutive_increases", id="run of 0"),
        pytest.param(
            [0.5], {"consecutive_increases": True}, "consecutive_increases", id="run of true"
        ),
        pytest.param([0.5], {"consecutive_increases": 2.5}, "consecutive_increases", id="run 2.5"),
        pytest.param([0.5], {"rise_pct": -1}, "rise_pct", id="a negative threshold"),
    ],
)
def test_it_rejects_bad_escalation_input_by_field_name(doses, options, field):
    with pytest.raises(InputError) as raised:
        check_dose_escalation(doses, **options)

    assert raised.value.field == field


@pytest.mark.parametrize(
    ("changes", "rate"),
    [
        pytest.param({"minutes": 2}, "3024", id="100.8 mL over 2 min"),
        pytest.param({"minutes": 1, "diluent_ml": 1000}, "60048", id="1 L over a minute"),
    ],
)
def test_it_refuses_a_rate_no_infusion_pump_can_run(changes, rate):
    with pytest.raises(InputError) as raised:
        infusion(**changes)

    assert raised.value.field == "minutes"
    assert f"at {rate} mL/h, faster than an infusion pump runs (at most 999 mL/h)" in str(
        raised.value
    )


def test_it_accepts_the_fastest_rate_a_pump_runs():
    # 16.65 mL over 1 min is 999 mL/h exactly.
    result = calculate_infusion(
        weight_kg=80, dose_mg_per_kg=0.5, minutes=1, vial_mg_per_ml=50, diluent_ml=15.85
    )
    assert result.rate_ml_per_h == Decimal("999.0")
