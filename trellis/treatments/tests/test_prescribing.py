"""The at-home oral ketamine rules as plain functions, from tables (DOMAIN.md §9)."""

from datetime import date
from decimal import Decimal

import pytest

from trellis.lib.errors import InputError
from trellis.treatments import prescribing, urinary
from trellis.treatments.dosing import check_dose_escalation

LIMITS = {"max_quantity": 12, "max_days_supply": 30, "max_dose_mg": 300}
GOOD = {
    "strength_mg": Decimal("100"),
    "units_per_dose": 1,
    "quantity": 8,
    "days_supply": 28,
    "refills": 0,
}


@pytest.mark.parametrize(
    ("changes", "limits", "expected"),
    [
        pytest.param({}, {}, [], id="within every limit"),
        pytest.param({"quantity": 12}, {}, [], id="quantity at the clinic maximum"),
        pytest.param(
            {"quantity": 13},
            {},
            [("quantity", "13 is above the clinic's maximum of 12")],
            id="quantity above the clinic maximum",
        ),
        pytest.param({"days_supply": 30}, {}, [], id="days' supply at the clinic maximum"),
        pytest.param(
            {"days_supply": 31},
            {},
            [("days_supply", "31 days is above the clinic's maximum of 30 days")],
            id="days' supply above the clinic maximum",
        ),
        pytest.param(
            {"days_supply": 60},
            {"max_days_supply": 90},
            [],
            id="a clinic that allows 90 days",
        ),
        pytest.param({"refills": 5}, {}, [], id="five refills, the CIII limit"),
        pytest.param(
            {"refills": 6},
            {},
            [("refills", "a Schedule III prescription allows at most 5 [R88]")],
            id="six refills",
        ),
        pytest.param({"refills": -1}, {}, [("refills", "must be 0 or more")], id="negative"),
        pytest.param(
            {"quantity": 0, "days_supply": 0},
            {},
            [("quantity", "must be at least 1"), ("days_supply", "must be at least 1 day")],
            id="nothing to supply",
        ),
        pytest.param(
            {"strength_mg": Decimal("0")},
            {},
            [("strength_mg", "must be more than 0 mg")],
            id="no strength",
        ),
        pytest.param(
            {"strength_mg": Decimal("150"), "units_per_dose": 2},
            {},
            [],
            id="two 150 mg troches: 300 mg, at the clinic's dose limit",
        ),
        pytest.param(
            {"strength_mg": Decimal("100"), "units_per_dose": 4},
            {},
            [
                (
                    "units_per_dose",
                    "a dose of 400 mg is above the clinic's oral dose limit of 300 mg [R81]",
                )
            ],
            id="a dose above the clinic's oral limit",
        ),
        pytest.param(
            {"units_per_dose": 2, "quantity": 1},
            {},
            [("quantity", "is less than one dose")],
            id="less than one dose",
        ),
    ],
)
def test_prescription_amounts(changes, limits, expected):
    problems = prescribing.prescription_problems(**{**GOOD, **changes}, **{**LIMITS, **limits})
    assert [(p.field, p.message) for p in problems] == expected


@pytest.mark.parametrize(
    ("issued_on", "void"),
    [
        (date(2026, 1, 15), date(2026, 7, 15)),
        (date(2026, 8, 31), date(2027, 2, 28)),  # no 31 February: the month's last day
        (date(2027, 8, 31), date(2028, 2, 29)),  # a leap year
        (date(2026, 12, 7), date(2027, 6, 7)),  # across the year
        (date(2026, 7, 1), date(2027, 1, 1)),
    ],
)
def test_a_ciii_prescription_is_void_six_months_after_issue(issued_on, void):
    assert prescribing.void_on(issued_on) == void


ISSUED = date(2026, 3, 2)


@pytest.mark.parametrize(
    ("refills", "fills_so_far", "filled_on", "expected"),
    [
        pytest.param(0, 0, ISSUED, [], id="first fill on the day of issue"),
        pytest.param(0, 1, date(2026, 4, 1), ["allows no refills"], id="no refills allowed"),
        pytest.param(5, 5, date(2026, 8, 1), [], id="the fifth refill"),
        pytest.param(5, 6, date(2026, 8, 20), ["allows 5 refills"], id="a sixth refill"),
        pytest.param(1, 1, date(2026, 9, 1), [], id="the day before it is void"),
        pytest.param(1, 1, date(2026, 9, 2), ["void from Sep 2, 2026"], id="on the void date"),
        pytest.param(1, 0, date(2026, 3, 1), ["before the prescription"], id="before issue"),
    ],
)
def test_fills_keep_to_the_refills_and_the_six_months(refills, fills_so_far, filled_on, expected):
    problems = prescribing.fill_problems(
        issued_on=ISSUED, refills=refills, fills_so_far=fills_so_far, filled_on=filled_on
    )
    assert len(problems) == len(expected)
    for problem, words in zip(problems, expected, strict=True):
        assert problem.field == "filled_on"
        assert words in problem.message


@pytest.mark.parametrize(
    ("previous", "days", "filled_on", "tolerance", "days_early"),
    [
        pytest.param(None, None, date(2026, 3, 1), 2, None, id="no previous supply"),
        pytest.param(date(2026, 3, 1), 28, date(2026, 3, 29), 2, None, id="on the day it ends"),
        pytest.param(date(2026, 3, 1), 28, date(2026, 3, 27), 2, None, id="within tolerance"),
        pytest.param(date(2026, 3, 1), 28, date(2026, 3, 26), 2, 3, id="past the tolerance"),
        pytest.param(date(2026, 3, 1), 28, date(2026, 3, 28), 0, 1, id="no tolerance"),
        pytest.param(date(2026, 3, 1), 28, date(2026, 3, 2), 14, 27, id="the next day"),
        pytest.param(date(2026, 3, 1), 28, date(2026, 4, 20), 2, None, id="late is not early"),
    ],
)
def test_an_early_refill_is_flagged(previous, days, filled_on, tolerance, days_early):
    early = prescribing.early_refill(
        previous_filled_on=previous,
        previous_days_supply=days,
        filled_on=filled_on,
        tolerance_days=tolerance,
    )
    assert (early.days_early if early else None) == days_early
    if early:
        assert early.due_on == date(2026, 3, 29)


TODAY = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("checked_on", "interval", "words"),
    [
        pytest.param(TODAY, 0, None, id="the same day, same-day rule"),
        pytest.param(date(2026, 12, 6), 0, "1 day ago; the clinic asks for one today", id="1d"),
        pytest.param(date(2026, 11, 30), 7, None, id="7 days ago, 7-day interval"),
        pytest.param(date(2026, 11, 29), 7, "within 7 days", id="8 days ago, 7-day interval"),
        pytest.param(date(2026, 9, 8), 90, None, id="a screen 90 days ago"),
        pytest.param(date(2026, 9, 7), 90, "91 days ago", id="a screen 91 days ago"),
        pytest.param(None, 7, "no PDMP check is recorded", id="never checked"),
        pytest.param(date(2026, 12, 8), 7, "after today", id="dated tomorrow"),
    ],
)
def test_the_pdmp_and_drug_screen_intervals(checked_on, interval, words):
    problem = prescribing.check_is_current("pdmp_check", "PDMP check", checked_on, TODAY, interval)
    if words is None:
        assert problem is None
    else:
        assert problem.field == "pdmp_check"
        assert words in problem.message


@pytest.mark.parametrize(
    ("basis", "issued_on", "refused"),
    [
        ("in_person", date(2027, 3, 1), False),
        ("telemedicine", date(2026, 12, 31), False),  # the flexibilities' last day [R91]
        ("telemedicine", date(2027, 1, 1), True),
        ("video", date(2026, 6, 1), True),
    ],
)
def test_the_prescribing_basis(basis, issued_on, refused):
    assert bool(prescribing.basis_problems(basis, issued_on)) is refused


NO = dict.fromkeys(urinary.SYMPTOMS, False)


@pytest.mark.parametrize(
    ("yes", "severity"),
    [
        ((), None),
        (("frequency",), "elevated"),
        (("nocturia", "urgency"), "elevated"),
        (("dysuria",), "elevated"),
        (("haematuria",), "high"),
        (("bladder_pain", "frequency"), "high"),
    ],
)
def test_bladder_symptoms(yes, severity):
    answers = urinary.assess({**NO, **dict.fromkeys(yes, True)})
    assert answers.severity == severity
    assert answers.positive is bool(yes)


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({k: v for k, v in NO.items() if k != "haematuria"}, "haematuria"),
        ({**NO, "urgency": "yes"}, "urgency"),
        ({**NO, "thirst": True}, "thirst"),
    ],
)
def test_each_bladder_symptom_must_be_answered(answers, field):
    with pytest.raises(InputError) as raised:
        urinary.assess(answers)
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("last", "due"),
    [(None, True), (date(2026, 11, 10), True), (date(2026, 11, 11), False), (TODAY, False)],
)
def test_bladder_symptoms_are_due_after_the_clinics_interval(last, due):
    assert urinary.is_due(last, TODAY, 27) is due


@pytest.mark.parametrize(
    ("doses_mg", "escalating"),
    [
        pytest.param([100, 100, 100, 100], False, id="a steady oral dose"),
        pytest.param([100, 125, 150, 175], True, id="three rises in a row"),
        pytest.param([100, 125, 125, 150], False, id="an equal dose breaks the run"),
        pytest.param([100, 150], False, id="exactly 50 percent above the first"),
        pytest.param([100, 160], True, id="more than 50 percent above the first"),
        pytest.param([200, 150, 100], False, id="a falling dose"),
    ],
)
def test_the_escalating_dose_watch_reads_oral_doses_in_mg(doses_mg, escalating):
    result = check_dose_escalation(doses_mg, unit="mg", doses_word="oral doses")
    assert result.escalating is escalating
    for reason in result.reasons:
        assert " mg" in reason and "mg/kg" not in reason
