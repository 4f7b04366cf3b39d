"""Good Faith Estimate arithmetic and deadlines, table-driven (45 CFR 149.610 [R121],
149.620 [R122])."""

from datetime import date
from decimal import Decimal

import pytest

from trellis.billing import estimate
from trellis.lib.errors import Conflict, InputError

FEES = {
    "96365": Decimal("450.00"),
    "96366": Decimal("100.00"),
    "J3490": Decimal("25.00"),
    "90867": Decimal("500.00"),
    "90868": Decimal("300.00"),
    "99213": Decimal("120.00"),
    "J0013": Decimal("10.50"),
}


@pytest.mark.parametrize(
    ("modality", "sessions", "defaults", "codes"),
    [
        # Six 40-minute infusions: 96365 and the drug each time [R126, R127].
        ("iv_ketamine", 6, {"minutes": 40}, [("96365", 6), ("J3490", 6)]),
        # A 100-minute infusion adds one 96366 per session (more than 30 minutes of hour 2).
        ("iv_ketamine", 2, {"minutes": 100}, [("96365", 2), ("96366", 2), ("J3490", 2)]),
        # 15 minutes is a push [R126].
        ("iv_ketamine", 1, {"minutes": 15}, [("96374", 1), ("J3490", 1)]),
        # TMS: 90867 once, then 90868 [R50].
        ("tms", 36, {}, [("90867", 1), ("90868", 35)]),
        ("tms", 1, {}, [("90867", 1)]),
        # Esketamine self-pay: the visit and J0013 per mg [R72]; 56 mg first, then 84.
        (
            "esketamine",
            3,
            {"first_dose_mg": 56, "dose_mg": 84},
            [("99213", 3), ("J0013", 56 + 84 + 84)],
        ),
        ("esketamine", 12, {"first_dose_mg": 56, "dose_mg": 56}, [("99213", 12), ("J0013", 672)]),
    ],
)
def test_a_course_expects_its_codes(modality, sessions, defaults, codes):
    assert estimate.expected_codes(modality, sessions, defaults) == codes


def test_the_visit_code_is_the_clinics():
    assert estimate.expected_codes("esketamine", 1, {"dose_mg": 56}, visit_code="99214") == [
        ("99214", 1),
        ("J0013", 56),
    ]


def test_a_modality_without_codes_is_refused_naming_the_protocol():
    with pytest.raises(InputError) as caught:
        estimate.expected_codes("oral_ketamine", 6, {})
    assert caught.value.field == "protocol"


@pytest.mark.parametrize(
    ("codes", "total", "threshold"),
    [
        ([("96365", 6), ("J3490", 6)], "2850.00", "3250.00"),
        ([("90867", 1), ("90868", 35)], "11000.00", "11400.00"),
        ([("99213", 12), ("J0013", 672)], "8496.00", "8896.00"),
        ([], "0.00", "400.00"),
    ],
)
def test_lines_are_priced_and_the_dispute_threshold_is_400_above(codes, total, threshold):
    priced = estimate.price(codes, FEES)
    assert priced.total == Decimal(total)
    assert priced.dispute_threshold == Decimal(threshold)  # [R122]
    for line, (code, units) in zip(priced.lines, codes, strict=True):
        assert (line.code, line.units) == (code, units)
        assert line.amount == FEES[code] * units


def test_a_line_keeps_cents_exact():
    priced = estimate.price([("J0013", 3)], {"J0013": Decimal("10.33")})
    assert priced.lines[0].as_dict()["amount"] == "30.99"
    assert priced.total == Decimal("30.99")


def test_a_missing_fee_is_a_conflict_naming_every_code():
    with pytest.raises(Conflict) as caught:
        estimate.price([("96365", 6), ("96366", 1), ("J3490", 6)], {"96365": Decimal(1)})
    assert "96366, J3490" in caught.value.message
    assert caught.value.code == "fee_missing"


def open_all(day):
    return False


# Monday 2026-03-02 … ; 2026-03-09 is a Monday.
MON = date(2026, 3, 2)


@pytest.mark.parametrize(
    ("basis", "service_date", "closed", "due"),
    [
        # Asked for: 3 business days (Mon → Thu).
        ("requested", None, set(), date(2026, 3, 5)),
        # Asked for on a Monday with the Tuesday closed: Wed, Thu, Fri.
        ("requested", None, {date(2026, 3, 3)}, date(2026, 3, 6)),
        # Scheduled 2 business days ahead: no deadline.
        ("scheduled", date(2026, 3, 4), set(), None),
        # Scheduled exactly 3 business days ahead: within 1 business day.
        ("scheduled", date(2026, 3, 5), set(), date(2026, 3, 3)),
        # 9 business days ahead: still within 1.
        ("scheduled", date(2026, 3, 13), set(), date(2026, 3, 3)),
        # 10 business days ahead: within 3.
        ("scheduled", date(2026, 3, 16), set(), date(2026, 3, 5)),
        # A closure between turns 10 calendar-business days into 9: within 1.
        ("scheduled", date(2026, 3, 16), {date(2026, 3, 10)}, date(2026, 3, 3)),
        # Weekends do not count: Friday's deadline of 1 business day is Monday.
    ],
)
def test_the_deadline_counts_business_days(basis, service_date, closed, due):
    assert estimate.due_date(basis, MON, service_date, lambda d: d in closed) == due


def test_a_friday_scheduling_is_due_on_monday():
    friday = date(2026, 3, 6)
    assert estimate.due_date("scheduled", friday, date(2026, 3, 13), open_all) == date(2026, 3, 9)


def test_a_scheduled_estimate_needs_the_service_date_and_it_not_in_the_past():
    with pytest.raises(InputError) as caught:
        estimate.due_date("scheduled", MON, None, open_all)
    assert caught.value.field == "service_date"
    with pytest.raises(InputError):
        estimate.due_date("scheduled", MON, date(2026, 3, 1), open_all)


def test_business_days_between_skip_weekends_and_closures():
    assert estimate.business_days_between(MON, date(2026, 3, 9), open_all) == 5
    assert estimate.business_days_between(MON, date(2026, 3, 9), lambda d: d.day == 4) == 4
    assert estimate.business_days_between(MON, MON, open_all) == 0


def test_an_estimate_expires_after_a_year():
    assert estimate.expires_on(date(2026, 3, 2)) == date(2027, 3, 2)


@pytest.mark.parametrize(
    ("given", "cleaned"),
    [
        (["f33.1", "F32.A", "F33.1"], ["F33.1", "F32.A"]),
        ("F33.1, F41.1", ["F33.1", "F41.1"]),
        ([], []),
    ],
)
def test_diagnoses_are_icd10_codes_once_each(given, cleaned):
    assert estimate.clean_diagnoses(given) == cleaned


@pytest.mark.parametrize("bad", [["33.1"], ["F3"], ["1F3.1"], ["F33.12345"], [12]])
def test_a_bad_diagnosis_is_refused_naming_its_place(bad):
    with pytest.raises(InputError) as caught:
        estimate.clean_diagnoses(bad)
    assert caught.value.field == "diagnosis_codes[0]"
