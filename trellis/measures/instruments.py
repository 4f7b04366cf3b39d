"""The questionnaires Trellis scores: PHQ-9 and GAD-7, as data, and the rules that score them.

Both are self-report scales with the same four answers (0 "Not at all" to 3 "Nearly every day")
over a two-week recall; the total is the sum of the items. Wording is the Pfizer 2010 form, which
carries "No permission required to reproduce, translate, display or distribute" [R52]. Bands and
the item 9 follow-up rule are from DOMAIN.md §4 [R51, R54]; LOINC codes are from [R53].

Pure: no Django. Bad input raises ``InputError`` naming the field (``answers[3]``), so the API and
forms can say which item was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeGuard

from trellis.lib.errors import InputError


@dataclass(frozen=True)
class AnswerOption:
    """One printed answer: the points it scores and the words the patient sees."""

    value: int
    text: str


@dataclass(frozen=True)
class Item:
    """One scored question. ``number`` is 1-based as printed; ``short`` names it in messages."""

    number: int
    text: str
    short: str
    loinc: str | None = None


@dataclass(frozen=True)
class Band:
    """A severity band: totals ``low``..``high`` inclusive. ``label`` is the words pages show."""

    code: str
    label: str
    low: int
    high: int

    def contains(self, total: int) -> bool:
        return self.low <= total <= self.high


@dataclass(frozen=True)
class DifficultyQuestion:
    """The functional-impact question at the foot of the form: recorded, never scored."""

    text: str
    options: tuple[AnswerOption, ...]


@dataclass(frozen=True)
class Instrument:
    """A questionnaire as printed, with its codes, bands and scoring facts."""

    code: str
    abbreviation: str
    name: str
    stem: str
    items: tuple[Item, ...]
    options: tuple[AnswerOption, ...]
    bands: tuple[Band, ...]
    loinc_panel: str
    loinc_total: str
    source: str
    difficulty: DifficultyQuestion | None = None
    # 1-based number of the item that asks about thoughts of death or self-harm, if any.
    suicide_item_number: int | None = None

    @property
    def item_count(self) -> int:
        return len(self.items)

    @property
    def min_answer(self) -> int:
        return self.options[0].value

    @property
    def max_answer(self) -> int:
        return self.options[-1].value

    @property
    def max_total(self) -> int:
        return self.item_count * self.max_answer


@dataclass(frozen=True)
class Score:
    """A scored questionnaire.

    ``severity`` is the band code (``moderately_severe``), ``severity_label`` its words.
    ``difficulty`` is the functional-impact answer (0-3) or None; it is not part of ``total``.
    ``suicide_item`` is the PHQ-9 item 9 answer, None for instruments without such an item.
    """

    instrument: str
    total: int
    severity: str
    severity_label: str
    item_answers: tuple[int, ...]
    difficulty: int | None
    suicide_item: int | None

    @property
    def needs_suicide_follow_up(self) -> bool:
        """Any answer above 0 on PHQ-9 item 9 needs a clinician's follow-up [R51]."""
        return bool(self.suicide_item)


# The same four answers on both forms, scored 0-3 [R51, R54].
FREQUENCY_OPTIONS: tuple[AnswerOption, ...] = (
    AnswerOption(0, "Not at all"),
    AnswerOption(1, "Several days"),
    AnswerOption(2, "More than half the days"),
    AnswerOption(3, "Nearly every day"),
)

DIFFICULTY_OPTIONS: tuple[AnswerOption, ...] = (
    AnswerOption(0, "Not difficult at all"),
    AnswerOption(1, "Somewhat difficult"),
    AnswerOption(2, "Very difficult"),
    AnswerOption(3, "Extremely difficult"),
)

PHQ9 = Instrument(
    code="phq9",
    abbreviation="PHQ-9",
    name="Patient Health Questionnaire-9",
    stem=(
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    ),
    items=(
        Item(1, "Little interest or pleasure in doing things", "little interest or pleasure"),
        Item(2, "Feeling down, depressed, or hopeless", "feeling down"),
        Item(3, "Trouble falling or staying asleep, or sleeping too much", "sleep"),
        Item(4, "Feeling tired or having little energy", "tired or little energy"),
        Item(5, "Poor appetite or overeating", "appetite"),
        Item(
            6,
            "Feeling bad about yourself \N{EM DASH} or that you are a failure or have let "
            "yourself or your family down",
            "feeling bad about yourself",
        ),
        Item(
            7,
            "Trouble concentrating on things, such as reading the newspaper or watching television",
            "concentration",
        ),
        Item(
            8,
            "Moving or speaking so slowly that other people could have noticed? Or the opposite "
            "\N{EM DASH} being so fidgety or restless that you have been moving around a lot more "
            "than usual",
            "moving slowly or restless",
        ),
        # Item 9 has its own LOINC code because it drives the safety follow-up [R53].
        Item(
            9,
            "Thoughts that you would be better off dead or of hurting yourself in some way",
            "thoughts of death or self-harm",
            loinc="44260-8",
        ),
    ),
    options=FREQUENCY_OPTIONS,
    # Kroenke 2001 cut points 5/10/15/20 [R51].
    bands=(
        Band("minimal", "Minimal", 0, 4),
        Band("mild", "Mild", 5, 9),
        Band("moderate", "Moderate", 10, 14),
        Band("moderately_severe", "Moderately severe", 15, 19),
        Band("severe", "Severe", 20, 27),
    ),
    loinc_panel="44249-1",  # [R53]
    loinc_total="44261-6",  # [R53]
    source=(
        "Kroenke, Spitzer & Williams 2001; Pfizer 2010 form, no permission required to "
        "reproduce, translate, display or distribute [R51, R52]"
    ),
    difficulty=DifficultyQuestion(
        text=(
            "If you checked off any problems, how difficult have these problems made it for you "
            "to do your work, take care of things at home, or get along with other people?"
        ),
        options=DIFFICULTY_OPTIONS,
    ),
    suicide_item_number=9,
)

GAD7 = Instrument(
    code="gad7",
    abbreviation="GAD-7",
    name="Generalized Anxiety Disorder 7-item scale",
    stem="Over the last 2 weeks, how often have you been bothered by the following problems?",
    items=(
        Item(1, "Feeling nervous, anxious, or on edge", "nervous, anxious or on edge"),
        Item(2, "Not being able to stop or control worrying", "cannot stop worrying"),
        Item(3, "Worrying too much about different things", "worrying too much"),
        Item(4, "Trouble relaxing", "trouble relaxing"),
        Item(5, "Being so restless that it is hard to sit still", "restless"),
        Item(6, "Becoming easily annoyed or irritable", "annoyed or irritable"),
        Item(7, "Feeling afraid, as if something awful might happen", "afraid"),
    ),
    options=FREQUENCY_OPTIONS,
    # Spitzer 2006 cut points 5/10/15 [R54].
    bands=(
        Band("minimal", "Minimal", 0, 4),
        Band("mild", "Mild", 5, 9),
        Band("moderate", "Moderate", 10, 14),
        Band("severe", "Severe", 15, 21),
    ),
    loinc_panel="69737-5",  # [R53]
    loinc_total="70274-6",  # [R53]
    source=(
        "Spitzer, Kroenke, Williams & Löwe 2006; Pfizer 2010 form, no permission required to "
        "reproduce, translate, display or distribute [R52, R54]"
    ),
)

INSTRUMENTS: MappingProxyType[str, Instrument] = MappingProxyType(
    {PHQ9.code: PHQ9, GAD7.code: GAD7}
)

# PHQ-9 item 9 answer -> alert severity. Every non-zero answer needs a clinician's follow-up
# [R51]; the severity only orders the work, rising with how often the thoughts came:
# 1 "Several days" -> elevated, 2 "More than half the days" -> high, 3 "Nearly every day" -> urgent.
SUICIDE_ITEM_ALERT_SEVERITIES: MappingProxyType[int, str] = MappingProxyType(
    {1: "elevated", 2: "high", 3: "urgent"}
)


def get_instrument(code: str) -> Instrument:
    """The instrument for ``code`` ("phq9", "gad7"); InputError("instrument") for anything else."""
    try:
        return INSTRUMENTS[code]
    except (KeyError, TypeError):
        known = ", ".join(INSTRUMENTS)
        raise InputError(
            "instrument", f"unknown instrument {code!r}; expected one of {known}"
        ) from None


def _is_int(value: object) -> TypeGuard[int]:
    # bool is a subclass of int; True is not an answer.
    return isinstance(value, int) and not isinstance(value, bool)


def _check_answer(instrument: Instrument, index: int, value: object) -> int:
    item = instrument.items[index]
    low, high = instrument.min_answer, instrument.max_answer
    if _is_int(value) and low <= value <= high:
        return value
    raise InputError(
        f"answers[{index}]",
        f"{instrument.abbreviation} item {item.number} ({item.short}) must be a whole number "
        f"from {low} to {high}, got {value!r}",
    )


def _check_difficulty(instrument: Instrument, difficulty: object) -> int | None:
    if difficulty is None:
        return None
    if instrument.difficulty is None:
        raise InputError("difficulty", f"{instrument.abbreviation} has no difficulty question")
    values = [option.value for option in instrument.difficulty.options]
    if _is_int(difficulty) and difficulty in values:
        return difficulty
    words = ", ".join(f"{o.value} ({o.text})" for o in instrument.difficulty.options)
    raise InputError("difficulty", f"must be one of {words}, got {difficulty!r}")


def severity_band(code: str, total: int) -> Band:
    """The band ``total`` falls in for instrument ``code``; InputError("total") if impossible."""
    instrument = get_instrument(code)
    if _is_int(total):
        for band in instrument.bands:
            if band.contains(total):
                return band
    raise InputError(
        "total",
        f"{instrument.abbreviation} total must be a whole number from 0 to "
        f"{instrument.max_total}, got {total!r}",
    )


def score(code: str, answers: list[int], difficulty: int | None = None) -> Score:
    """Score one completed questionnaire.

    ``answers`` are the item answers in printed order (0-3 each). ``difficulty`` is the optional
    functional-impact answer (0-3), recorded but not scored; instruments without that question
    refuse one. Raises InputError naming ``instrument``, ``answers``, ``answers[i]`` (0-based
    index; the message gives the 1-based item number) or ``difficulty``.
    """
    instrument = get_instrument(code)
    if not isinstance(answers, list | tuple):
        raise InputError(
            "answers",
            f"must be a list of {instrument.item_count} answers, got {type(answers).__name__}",
        )
    if len(answers) != instrument.item_count:
        raise InputError(
            "answers",
            f"{instrument.abbreviation} needs {instrument.item_count} answers, got {len(answers)}",
        )
    checked = tuple(_check_answer(instrument, i, value) for i, value in enumerate(answers))
    recorded_difficulty = _check_difficulty(instrument, difficulty)
    total = sum(checked)
    band = severity_band(code, total)
    suicide_item = (
        checked[instrument.suicide_item_number - 1]
        if instrument.suicide_item_number is not None
        else None
    )
    return Score(
        instrument=instrument.code,
        total=total,
        severity=band.code,
        severity_label=band.label,
        item_answers=checked,
        difficulty=recorded_difficulty,
        suicide_item=suicide_item,
    )


def suicide_item_severity(answer: int) -> str | None:
    """Alert severity for a PHQ-9 item 9 answer: None for 0, else elevated/high/urgent.

    Any answer above 0 needs follow-up [R51], so every non-None result should raise an alert.
    """
    if not _is_int(answer) or not 0 <= answer <= 3:
        item = PHQ9.items[8]
        raise InputError(
            "answers[8]",
            f"PHQ-9 item 9 ({item.short}) must be a whole number from 0 to 3, got {answer!r}",
        )
    return SUICIDE_ITEM_ALERT_SEVERITIES.get(answer)
