"""Course outcomes: response [R4, R59], remission [R59] and MCID [R52] on worked examples."""

from datetime import UTC, datetime, timedelta

import pytest

from trellis.lib.errors import InputError
from trellis.measures.outcomes import course_outcome

DAY_ONE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("totals", "baseline", "latest", "change", "change_pct", "response", "remission", "mcid"),
    [
        # Exactly a 50 % fall is a response.
        ([20, 10], 20, 10, -10, 50.0, True, False, True),
        # One point short of half is not.
        ([20, 11], 20, 11, -9, 45.0, False, False, True),
        # Latest 4 is remission; 5 is not.
        ([20, 15, 4], 20, 4, -16, 80.0, True, True, True),
        ([20, 15, 5], 20, 5, -15, 75.0, True, False, True),
        # A 4-point fall is a response from a low baseline but short of the 5-point MCID.
        ([8, 4], 8, 4, -4, 50.0, True, True, False),
        # Exactly 5 points is the MCID.
        ([14, 9], 14, 9, -5, 35.7, False, False, True),
        # Baseline and latest only: the path between does not matter.
        ([18, 3, 25, 12], 18, 12, -6, 33.3, False, False, True),
        # Worse: change is positive, the fall is negative.
        ([10, 12], 10, 12, 2, -20.0, False, False, False),
        ([27, 13], 27, 13, -14, 51.9, True, False, True),
        # Baseline 0: no percentage, no response, but still below the remission line.
        ([0, 0], 0, 0, 0, None, False, True, False),
        ([0, 6], 0, 6, 6, None, False, False, False),
    ],
)
def test_it_judges_worked_examples(
    totals, baseline, latest, change, change_pct, response, remission, mcid
):
    outcome = course_outcome(totals)

    assert outcome.baseline == baseline
    assert outcome.latest == latest
    assert outcome.change == change
    assert outcome.change_pct == change_pct
    assert outcome.response is response
    assert outcome.remission is remission
    assert outcome.mcid_met is mcid
    assert outcome.measurement_count == len(totals)


@pytest.mark.parametrize("empty", [[], ()])
def test_no_measurements_give_no_numbers_and_no_judgements(empty):
    outcome = course_outcome(empty)

    assert outcome.baseline is None
    assert outcome.latest is None
    assert outcome.change is None
    assert outcome.change_pct is None
    assert outcome.response is False
    assert outcome.remission is False
    assert outcome.mcid_met is False
    assert outcome.measurement_count == 0
    assert outcome.baseline_at is None
    assert outcome.latest_at is None


@pytest.mark.parametrize("total", [0, 4, 12, 27])
def test_one_measurement_is_both_baseline_and_latest_and_judges_nothing_yet(total):
    outcome = course_outcome([total])

    assert outcome.baseline == outcome.latest == total
    assert outcome.change == 0
    assert outcome.change_pct == (None if total == 0 else 0.0)
    assert outcome.response is False
    assert outcome.remission is False
    assert outcome.mcid_met is False
    assert outcome.measurement_count == 1


def test_it_stores_the_default_thresholds_it_used():
    outcome = course_outcome([20, 10])

    assert outcome.response_fall_pct == 50
    assert outcome.remission_below == 5
    assert outcome.mcid_points == 5


@pytest.mark.parametrize(
    ("totals", "remission_below", "remission"),
    [
        # MADRS <= 12 (SUSTAIN-3) is below 13 for whole-number totals [R59].
        ([34, 12], 13, True),
        ([34, 13], 13, False),
        # MADRS < 11 (SAINT) [R36].
        ([34, 10], 11, True),
        ([34, 11], 11, False),
    ],
)
def test_other_scales_pass_their_own_remission_line_and_it_is_kept(
    totals, remission_below, remission
):
    outcome = course_outcome(totals, remission_below=remission_below)

    assert outcome.remission is remission
    assert outcome.remission_below == remission_below


@pytest.mark.parametrize(
    ("totals", "response_fall_pct", "response"),
    [([20, 12], 40, True), ([20, 13], 40, False), ([20, 10], 60, False), ([20, 8], 60, True)],
)
def test_the_response_threshold_is_a_parameter(totals, response_fall_pct, response):
    outcome = course_outcome(totals, response_fall_pct=response_fall_pct)

    assert outcome.response is response
    assert outcome.response_fall_pct == response_fall_pct


@pytest.mark.parametrize(
    ("totals", "mcid_points", "mcid_met"),
    [([30, 21], 9, True), ([30, 22], 9, False)],
)
def test_the_mcid_is_a_parameter(totals, mcid_points, mcid_met):
    outcome = course_outcome(totals, mcid_points=mcid_points)

    assert outcome.mcid_met is mcid_met
    assert outcome.mcid_points == mcid_points


@pytest.mark.parametrize(
    ("totals", "change_pct"),
    [
        ([9, 6], 33.3),
        ([9, 3], 66.7),
        # 1.25 % rounds half away from zero to 1.3 (Python's round() would give 1.2).
        ([80, 79], 1.3),
        ([80, 81], -1.3),
        ([3, 2], 33.3),
    ],
)
def test_change_pct_is_rounded_to_one_decimal_half_away_from_zero(totals, change_pct):
    assert course_outcome(totals).change_pct == change_pct


def test_timed_measurements_are_put_in_time_order():
    outcome = course_outcome(
        [
            (DAY_ONE + timedelta(days=28), 9),
            (DAY_ONE, 21),
            (DAY_ONE + timedelta(days=14), 15),
        ]
    )

    assert outcome.baseline == 21
    assert outcome.latest == 9
    assert outcome.baseline_at == DAY_ONE
    assert outcome.latest_at == DAY_ONE + timedelta(days=28)
    assert outcome.response is True


def test_bare_totals_have_no_times():
    outcome = course_outcome([20, 10])

    assert outcome.baseline_at is None
    assert outcome.latest_at is None


@pytest.mark.parametrize(
    ("measurements", "field"),
    [
        ([20, -1], "measurements[1]"),
        ([20, True], "measurements[1]"),
        ([20.0, 10], "measurements[0]"),
        ([20, "10"], "measurements[1]"),
        ([20, None], "measurements[1]"),
        ([(DAY_ONE, 20), 10], "measurements"),
        ([(DAY_ONE, 20), (DAY_ONE, -3)], "measurements[1]"),
        ([(DAY_ONE, 20), ("2026-03-16", 10)], "measurements[1]"),
        ([(DAY_ONE, 20, "extra")], "measurements[0]"),
        ([(DAY_ONE, 20), (datetime(2026, 3, 16), 10)], "measurements"),
        ("2010", "measurements"),
        (None, "measurements"),
    ],
)
def test_it_names_what_is_wrong_with_the_measurements(measurements, field):
    with pytest.raises(InputError) as caught:
        course_outcome(measurements)

    assert caught.value.field == field


@pytest.mark.parametrize(
    ("keyword", "value"),
    [("response_fall_pct", 0), ("response_fall_pct", 101), ("mcid_points", 0)],
)
def test_it_refuses_thresholds_that_cannot_be_met_or_are_always_met(keyword, value):
    with pytest.raises(InputError) as caught:
        course_outcome([20, 10], **{keyword: value})

    assert caught.value.field == keyword
