"""PHQ-9 and GAD-7 scoring against the published forms and cut points [R51, R53, R54]."""

import dataclasses

import pytest

from trellis.lib.errors import InputError
from trellis.measures.instruments import (
    GAD7,
    INSTRUMENTS,
    PHQ9,
    get_instrument,
    score,
    severity_band,
    suicide_item_severity,
)


def answers_totalling(count: int, total: int) -> list[int]:
    """``count`` answers of 0-3 that add up to ``total``, filled from the first item."""
    answers = []
    for _ in range(count):
        answer = min(3, total)
        answers.append(answer)
        total -= answer
    assert total == 0, "total is beyond what the items can add up to"
    return answers


# Every band edge [R51].
@pytest.mark.parametrize(
    ("total", "severity", "label"),
    [
        (0, "minimal", "Minimal"),
        (4, "minimal", "Minimal"),
        (5, "mild", "Mild"),
        (9, "mild", "Mild"),
        (10, "moderate", "Moderate"),
        (14, "moderate", "Moderate"),
        (15, "moderately_severe", "Moderately severe"),
        (19, "moderately_severe", "Moderately severe"),
        (20, "severe", "Severe"),
        (27, "severe", "Severe"),
    ],
)
def test_it_scores_and_bands_phq9_at_every_band_edge(total, severity, label):
    result = score("phq9", answers_totalling(9, total))

    assert result.total == total
    assert result.severity == severity
    assert result.severity_label == label
    assert severity_band("phq9", total).code == severity
    assert severity_band("phq9", total).label == label


# Every band edge [R54].
@pytest.mark.parametrize(
    ("total", "severity", "label"),
    [
        (0, "minimal", "Minimal"),
        (4, "minimal", "Minimal"),
        (5, "mild", "Mild"),
        (9, "mild", "Mild"),
        (10, "moderate", "Moderate"),
        (14, "moderate", "Moderate"),
        (15, "severe", "Severe"),
        (21, "severe", "Severe"),
    ],
)
def test_it_scores_and_bands_gad7_at_every_band_edge(total, severity, label):
    result = score("gad7", answers_totalling(7, total))

    assert result.total == total
    assert result.severity == severity
    assert result.severity_label == label
    assert severity_band("gad7", total).code == severity
    assert severity_band("gad7", total).label == label


@pytest.mark.parametrize("instrument", [PHQ9, GAD7], ids=lambda i: i.code)
def test_the_band_table_covers_every_possible_total_exactly_once(instrument):
    for total in range(instrument.max_total + 1):
        assert sum(band.contains(total) for band in instrument.bands) == 1, total
    assert instrument.bands[0].low == 0
    assert instrument.bands[-1].high == instrument.max_total


@pytest.mark.parametrize("instrument", [PHQ9, GAD7], ids=lambda i: i.code)
def test_every_band_carries_words_as_well_as_a_code(instrument):
    for band in instrument.bands:
        assert band.label
        assert band.label != band.code


@pytest.mark.parametrize(
    ("code", "total"),
    [("phq9", -1), ("phq9", 28), ("gad7", 22), ("gad7", True), ("phq9", 4.0)],
)
def test_severity_band_refuses_a_total_the_form_cannot_produce(code, total):
    with pytest.raises(InputError) as caught:
        severity_band(code, total)

    assert caught.value.field == "total"


@pytest.mark.parametrize("code", ["phq9", "gad7"])
def test_it_adds_up_the_items(code):
    count = get_instrument(code).item_count
    answers = [i % 4 for i in range(count)]

    assert score(code, answers).total == sum(answers)
    assert score(code, answers).item_answers == tuple(answers)


@pytest.mark.parametrize(
    ("code", "answers", "message"),
    [
        ("phq9", [0] * 8, "answers: PHQ-9 needs 9 answers, got 8"),
        ("phq9", [0] * 10, "answers: PHQ-9 needs 9 answers, got 10"),
        ("phq9", [], "answers: PHQ-9 needs 9 answers, got 0"),
        ("gad7", [0] * 9, "answers: GAD-7 needs 7 answers, got 9"),
        ("gad7", [0] * 6, "answers: GAD-7 needs 7 answers, got 6"),
    ],
)
def test_it_refuses_the_wrong_number_of_answers(code, answers, message):
    with pytest.raises(InputError) as caught:
        score(code, answers)

    assert caught.value.field == "answers"
    assert str(caught.value) == message


@pytest.mark.parametrize("answers", ["000000000", {"1": 0}, None, 9])
def test_it_refuses_answers_that_are_not_a_list(answers):
    with pytest.raises(InputError) as caught:
        score("phq9", answers)

    assert caught.value.field == "answers"


@pytest.mark.parametrize(
    ("code", "index", "value", "item_words"),
    [
        ("phq9", 3, 4, "item 4 (tired or little energy)"),
        ("phq9", 0, -1, "item 1 (little interest or pleasure)"),
        ("phq9", 8, 5, "item 9 (thoughts of death or self-harm)"),
        ("phq9", 3, True, "item 4 (tired or little energy)"),
        ("phq9", 3, False, "item 4 (tired or little energy)"),
        ("phq9", 3, "2", "item 4 (tired or little energy)"),
        ("phq9", 3, 2.0, "item 4 (tired or little energy)"),
        ("phq9", 3, None, "item 4 (tired or little energy)"),
        ("gad7", 6, 4, "item 7 (afraid)"),
        ("gad7", 1, "x", "item 2 (cannot stop worrying)"),
    ],
)
def test_it_names_the_item_when_an_answer_is_not_0_to_3(code, index, value, item_words):
    answers = [0] * get_instrument(code).item_count
    answers[index] = value

    with pytest.raises(InputError) as caught:
        score(code, answers)

    assert caught.value.field == f"answers[{index}]"
    assert item_words in caught.value.message
    assert repr(value) in caught.value.message


def test_it_names_the_first_bad_item_when_several_are_bad():
    with pytest.raises(InputError) as caught:
        score("phq9", [0, 0, 9, 0, 9, 0, 0, 0, 0])

    assert caught.value.field == "answers[2]"


@pytest.mark.parametrize("code", ["PHQ9", "phq-9", "madrs", "", None])
def test_it_refuses_an_unknown_instrument(code):
    with pytest.raises(InputError) as caught:
        score(code, [0] * 9)

    assert caught.value.field == "instrument"


@pytest.mark.parametrize(("item_nine", "expected"), [(0, 0), (1, 1), (2, 2), (3, 3)])
def test_it_extracts_phq9_item_nine(item_nine, expected):
    result = score("phq9", [0, 0, 0, 0, 0, 0, 0, 0, item_nine])

    assert result.suicide_item == expected
    assert result.needs_suicide_follow_up is (expected > 0)


def test_it_reads_item_nine_from_the_ninth_answer_not_another():
    result = score("phq9", [3, 3, 3, 3, 3, 3, 3, 3, 0])

    assert result.suicide_item == 0
    assert not result.needs_suicide_follow_up


def test_gad7_has_no_suicide_item():
    result = score("gad7", [3] * 7)

    assert result.suicide_item is None
    assert not result.needs_suicide_follow_up


@pytest.mark.parametrize(
    ("answer", "severity"),
    [(0, None), (1, "elevated"), (2, "high"), (3, "urgent")],
)
def test_item_nine_alert_severity_rises_with_the_answer(answer, severity):
    assert suicide_item_severity(answer) == severity


@pytest.mark.parametrize("answer", [-1, 4, True, "1", 1.0, None])
def test_item_nine_alert_severity_refuses_an_impossible_answer(answer):
    with pytest.raises(InputError) as caught:
        suicide_item_severity(answer)

    assert caught.value.field == "answers[8]"


@pytest.mark.parametrize("difficulty", [0, 1, 2, 3])
def test_it_records_difficulty_without_scoring_it(difficulty):
    answers = [1, 1, 1, 1, 1, 1, 1, 1, 1]

    result = score("phq9", answers, difficulty=difficulty)

    assert result.difficulty == difficulty
    assert result.total == 9
    assert result.severity == "mild"
    assert result.item_answers == tuple(answers)


def test_difficulty_is_optional():
    assert score("phq9", [0] * 9).difficulty is None


@pytest.mark.parametrize("difficulty", [-1, 4, True, "2", 2.0])
def test_it_refuses_a_difficulty_outside_the_four_answers(difficulty):
    with pytest.raises(InputError) as caught:
        score("phq9", [0] * 9, difficulty=difficulty)

    assert caught.value.field == "difficulty"


def test_gad7_refuses_a_difficulty_answer_because_trellis_does_not_ask_one():
    with pytest.raises(InputError) as caught:
        score("gad7", [0] * 7, difficulty=1)

    assert caught.value.field == "difficulty"


@pytest.mark.parametrize(
    ("code", "panel", "total"),
    [("phq9", "44249-1", "44261-6"), ("gad7", "69737-5", "70274-6")],
)
def test_it_carries_the_loinc_codes(code, panel, total):
    instrument = get_instrument(code)

    assert instrument.loinc_panel == panel
    assert instrument.loinc_total == total


def test_phq9_item_nine_carries_its_own_loinc_code():
    assert PHQ9.items[8].loinc == "44260-8"


def test_the_registry_holds_phq9_and_gad7():
    assert dict(INSTRUMENTS) == {"phq9": PHQ9, "gad7": GAD7}
    assert get_instrument("phq9") is PHQ9
    assert get_instrument("gad7") is GAD7


def test_the_registry_cannot_be_changed_at_run_time():
    with pytest.raises(TypeError):
        INSTRUMENTS["madrs"] = PHQ9  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        PHQ9.name = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("instrument", "stem"),
    [
        (
            PHQ9,
            "Over the last 2 weeks, how often have you been bothered by any of the following "
            "problems?",
        ),
        (
            GAD7,
            "Over the last 2 weeks, how often have you been bothered by the following problems?",
        ),
    ],
    ids=["phq9", "gad7"],
)
def test_it_prints_the_published_stem(instrument, stem):
    assert instrument.stem == stem


@pytest.mark.parametrize("instrument", [PHQ9, GAD7], ids=lambda i: i.code)
def test_it_offers_the_four_published_answers(instrument):
    assert [(o.value, o.text) for o in instrument.options] == [
        (0, "Not at all"),
        (1, "Several days"),
        (2, "More than half the days"),
        (3, "Nearly every day"),
    ]


@pytest.mark.parametrize(
    ("instrument", "count", "max_total"), [(PHQ9, 9, 27), (GAD7, 7, 21)], ids=["phq9", "gad7"]
)
def test_items_are_numbered_in_printed_order(instrument, count, max_total):
    assert [item.number for item in instrument.items] == list(range(1, count + 1))
    assert instrument.max_total == max_total
    assert all(item.text and item.short for item in instrument.items)


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1, "Little interest or pleasure in doing things"),
        (2, "Feeling down, depressed, or hopeless"),
        (3, "Trouble falling or staying asleep, or sleeping too much"),
        (4, "Feeling tired or having little energy"),
        (5, "Poor appetite or overeating"),
        (
            6,
            "Feeling bad about yourself \u2014 or that you are a failure or have let yourself "
            "or your family down",
        ),
        (
            7,
            "Trouble concentrating on things, such as reading the newspaper or watching television",
        ),
        (
            8,
            "Moving or speaking so slowly that other people could have noticed? Or the opposite "
            "\u2014 being so fidgety or restless that you have been moving around a lot more than "
            "usual",
        ),
        (9, "Thoughts that you would be better off dead or of hurting yourself in some way"),
    ],
)
def test_phq9_items_use_the_published_wording(number, text):
    assert PHQ9.items[number - 1].text == text


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1, "Feeling nervous, anxious, or on edge"),
        (2, "Not being able to stop or control worrying"),
        (3, "Worrying too much about different things"),
        (4, "Trouble relaxing"),
        (5, "Being so restless that it is hard to sit still"),
        (6, "Becoming easily annoyed or irritable"),
        (7, "Feeling afraid, as if something awful might happen"),
    ],
)
def test_gad7_items_use_the_published_wording(number, text):
    assert GAD7.items[number - 1].text == text


def test_phq9_asks_the_published_difficulty_question():
    assert PHQ9.difficulty is not None
    assert PHQ9.difficulty.text == (
        "If you checked off any problems, how difficult have these problems made it for you to "
        "do your work, take care of things at home, or get along with other people?"
    )
    assert [(o.value, o.text) for o in PHQ9.difficulty.options] == [
        (0, "Not difficult at all"),
        (1, "Somewhat difficult"),
        (2, "Very difficult"),
        (3, "Extremely difficult"),
    ]
