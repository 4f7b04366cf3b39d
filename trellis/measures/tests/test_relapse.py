"""The relapse rule on trajectories: loss of response [R51, R52] and the MADRS definitions
[R115], response by the outcome module's definition [R4, R59]."""

from datetime import UTC, datetime, timedelta

import pytest

from trellis.lib.errors import InputError
from trellis.measures import outcomes, relapse
from trellis.measures.relapse import (
    LOSS_OF_RESPONSE,
    MADRS_JANSSEN,
    MADRS_SUSTAIN1,
    PHQ9_MCID_RISE,
    PHQ9_MODERATE,
    watch,
)

DAY_ONE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("rule", "totals", "responded", "relapsed", "relapse_total", "nadir"),
    [
        # No response: nothing to lose, however high the later totals.
        (LOSS_OF_RESPONSE, [20, 15, 22], False, False, None, None),
        (LOSS_OF_RESPONSE, [20, 11, 19], False, False, None, None),
        # Response (20 → 10 is exactly 50 %), then below 10, then back to 10: loss of response.
        (LOSS_OF_RESPONSE, [20, 10, 6, 10], True, True, 10, 6),
        # Back to 9 from 6 is neither 10 nor a 5-point rise.
        (LOSS_OF_RESPONSE, [20, 10, 6, 9], True, False, None, 6),
        # A 5-point rise from the lowest since response, still under 10: loss of response.
        (LOSS_OF_RESPONSE, [20, 4, 2, 7], True, True, 7, 2),
        # 4 points is short of the MCID.
        (LOSS_OF_RESPONSE, [20, 4, 2, 6], True, False, None, 2),
        # Responded at 12 and still 12: "10 or more" counts only after being below 10.
        (LOSS_OF_RESPONSE, [24, 12, 12], True, False, None, 12),
        # ...but a 5-point rise from 12 counts.
        (LOSS_OF_RESPONSE, [24, 12, 17], True, True, 17, 12),
        # Relapsed, then responded again: the latest episode is a response.
        (LOSS_OF_RESPONSE, [20, 5, 12, 4], True, False, None, 4),
        # Responded, relapsed, responded, relapsed again.
        (LOSS_OF_RESPONSE, [20, 5, 12, 4, 9], True, True, 9, 4),
        # The rise is from the lowest since the response, not from the latest.
        (LOSS_OF_RESPONSE, [20, 8, 3, 6, 8], True, True, 8, 3),
        # The threshold arm alone ignores a rise below 10.
        (PHQ9_MODERATE, [20, 4, 2, 7], True, False, None, 2),
        (PHQ9_MODERATE, [20, 4, 2, 11], True, True, 11, 2),
        # The rise arm alone ignores 10 reached by a small rise.
        (PHQ9_MCID_RISE, [20, 9, 7, 10], True, False, None, 7),
        (PHQ9_MCID_RISE, [20, 9, 7, 12], True, True, 12, 7),
        # MADRS: 22 or more twice running after response.
        (MADRS_SUSTAIN1, [34, 12, 23, 18], True, False, None, 12),
        (MADRS_SUSTAIN1, [34, 12, 23, 22], True, True, 22, 12),
        # The response visit itself is not the first of the two.
        (MADRS_SUSTAIN1, [44, 22, 22], True, False, None, 22),
        # Baseline 0: no fall can be a response.
        (LOSS_OF_RESPONSE, [0, 0, 12], False, False, None, None),
        # One measurement, or none.
        (LOSS_OF_RESPONSE, [14], False, False, None, None),
        (LOSS_OF_RESPONSE, [], False, False, None, None),
    ],
)
def test_trajectories(rule, totals, responded, relapsed, relapse_total, nadir):
    verdict = watch(totals, rule=rule)
    assert verdict.rule == rule
    assert verdict.responded is responded
    assert verdict.relapsed is relapsed
    assert verdict.relapse_total == relapse_total
    assert verdict.nadir == nadir


def test_it_reads_timed_pairs_in_any_order_and_says_when():
    pairs = [(DAY_ONE + timedelta(days=d), t) for d, t in [(0, 20), (14, 8), (42, 3), (70, 11)]]
    verdict = watch(list(reversed(pairs)))
    assert verdict.relapsed
    assert verdict.responded_at == DAY_ONE + timedelta(days=14)
    assert verdict.relapsed_at == DAY_ONE + timedelta(days=70)
    assert verdict.reason == "PHQ-9 11 is 10 or more after falling to 3"


@pytest.mark.parametrize(("gap_days", "relapsed"), [(6, False), (7, True), (14, True), (15, False)])
def test_janssen_wants_the_two_visits_one_to_two_weeks_apart(gap_days, relapsed):
    days = [0, 28, 56, 56 + gap_days]
    totals = [34, 12, 24, 25]
    pairs = [(DAY_ONE + timedelta(days=d), t) for d, t in zip(days, totals, strict=True)]
    assert watch(pairs, rule=MADRS_JANSSEN).relapsed is relapsed


def test_janssen_without_times_is_refused():
    with pytest.raises(InputError) as caught:
        watch([34, 12, 24, 25], rule=MADRS_JANSSEN)
    assert caught.value.field == "measurements"


def test_an_unknown_rule_or_total_is_named():
    with pytest.raises(InputError) as caught:
        watch([20, 5], rule="gut feeling")
    assert caught.value.field == "rule"
    with pytest.raises(InputError) as caught:
        watch([20, -1])
    assert caught.value.field == "measurements[1]"


def test_the_thresholds_are_the_instruments_and_the_outcomes():
    # No second definition: the moderate band starts at 10 [R51], the MCID is 5 [R52], and a
    # response is the outcome module's 50 % fall [R4, R59].
    assert relapse.PHQ9_MODERATE_FROM == 10
    assert watch([20, 11]).responded is outcomes.course_outcome([20, 11]).response is False
    assert watch([20, 10]).responded is outcomes.course_outcome([20, 10]).response is True


def test_the_setting_offers_only_the_phq9_rules():
    assert [value for value, _ in relapse.SETTING_CHOICES] == [1, 2, 3]
    assert relapse.rule_for_setting(1).code == LOSS_OF_RESPONSE == relapse.DEFAULT_RULE
    with pytest.raises(InputError):
        relapse.rule_for_setting(9)


def test_the_clinic_setting_offers_the_same_rules():
    from trellis.accounts.clinic_settings import DEFINITIONS

    assert DEFINITIONS["relapse_rule"].choices == relapse.SETTING_CHOICES
    assert DEFINITIONS["relapse_rule"].default == relapse.RULES[relapse.DEFAULT_RULE].setting
