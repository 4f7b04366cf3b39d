"""The eligibility engine, tested as plain functions: no database and no Django needed."""

import json

import pytest

from trellis.lib import sources
from trellis.lib.errors import InputError
from trellis.patients.eligibility import (
    ANSWER_KEYS,
    ANSWER_LABELS,
    DEFAULT_THRESHOLDS,
    MODALITIES,
    RULES,
    Status,
    Thresholds,
    answer_label,
    evaluate,
    plain_message,
    rule_label,
    validate_answers,
    validate_trials,
)

IVK, ESK, TMS, ORAL = "iv_ketamine", "esketamine", "tms", "oral_ketamine"
CONTRAINDICATED, NEEDS_INFO, CAUTION, ELIGIBLE = (
    "contraindicated",
    "needs_info",
    "caution",
    "eligible",
)

# Every question answered, nothing wrong: every modality is eligible for this patient.
CLEAR = {
    "pregnant": False,
    "breastfeeding": False,
    "psychosis": "none",
    "mania_current": False,
    "substance_use_disorder": "none",
    "ketamine_misuse": False,
    "bp_systolic": 120,
    "bp_diastolic": 80,
    "hypertension_uncontrolled": False,
    "aneurysmal_vascular_disease": False,
    "arteriovenous_malformation": False,
    "intracerebral_hemorrhage": False,
    "ketamine_hypersensitivity": False,
    "head_metal_implant": False,
    "cochlear_implant": False,
    "implanted_neurostimulator": False,
    "cardiac_device": False,
    "seizure_history": False,
    "benzodiazepine_mg_lorazepam_eq": 0,
    "maoi_or_psychostimulant": False,
}


def trial(drug="sertraline", weeks=8, adequate_dose=True, outcome="inadequate_response"):
    return {"drug": drug, "weeks": weeks, "adequate_dose": adequate_dose, "outcome": outcome}


FAILED_TWICE = [trial("sertraline"), trial("venlafaxine")]


def screen(changes=None, *, without=(), thresholds=DEFAULT_THRESHOLDS):
    """Evaluate CLEAR with ``changes``; "age" and "trials" in ``changes`` go to their
    arguments, and keys in ``without`` are left out (unknown; "age" means no birth date)."""
    answers = {**CLEAR, **(changes or {})}
    age = answers.pop("age", 40)
    trials = answers.pop("trials", FAILED_TWICE)
    for key in without:
        if key == "age":
            age = None
        else:
            answers.pop(key)
    return evaluate(answers, trials, age, thresholds)


def reasons_of(result, modality):
    return {reason.rule: reason for reason in result.findings[modality].reasons}


# One row per rule: id, modality, status when it fires, answers that fire it, answers that do
# not, and the answers to leave out for "unknown" (None: the rule can never be unknown).
RULE_ROWS = [
    # IV ketamine
    (
        "ivk.psychosis_current",
        IVK,
        CONTRAINDICATED,
        {"psychosis": "current"},
        {"psychosis": "past"},
        ("psychosis",),
    ),
    ("ivk.mania_current", IVK, CONTRAINDICATED, {"mania_current": True}, {}, ("mania_current",)),
    (
        "ivk.substance_use_current",
        IVK,
        CONTRAINDICATED,
        {"substance_use_disorder": "current"},
        {"substance_use_disorder": "past"},
        ("substance_use_disorder",),
    ),
    (
        "ivk.ketamine_misuse",
        IVK,
        CONTRAINDICATED,
        {"ketamine_misuse": True},
        {},
        ("ketamine_misuse",),
    ),
    ("ivk.pregnancy", IVK, CONTRAINDICATED, {"pregnant": True}, {}, ("pregnant",)),
    ("ivk.breastfeeding", IVK, CONTRAINDICATED, {"breastfeeding": True}, {}, ("breastfeeding",)),
    (
        "ivk.hypertension_uncontrolled",
        IVK,
        CONTRAINDICATED,
        {"hypertension_uncontrolled": True},
        {},
        ("hypertension_uncontrolled",),
    ),
    (
        "ivk.hypersensitivity",
        IVK,
        CONTRAINDICATED,
        {"ketamine_hypersensitivity": True},
        {},
        ("ketamine_hypersensitivity",),
    ),
    ("ivk.age_under_minimum", IVK, CONTRAINDICATED, {"age": 17}, {"age": 18}, ("age",)),
    (
        "ivk.psychosis_past",
        IVK,
        CAUTION,
        {"psychosis": "past"},
        {"psychosis": "none"},
        ("psychosis",),
    ),
    (
        "ivk.substance_use_past",
        IVK,
        CAUTION,
        {"substance_use_disorder": "past"},
        {"substance_use_disorder": "none"},
        ("substance_use_disorder",),
    ),
    (
        "ivk.aneurysmal_vascular_disease",
        IVK,
        CAUTION,
        {"aneurysmal_vascular_disease": True},
        {},
        ("aneurysmal_vascular_disease",),
    ),
    (
        "ivk.arteriovenous_malformation",
        IVK,
        CAUTION,
        {"arteriovenous_malformation": True},
        {},
        ("arteriovenous_malformation",),
    ),
    (
        "ivk.intracerebral_hemorrhage",
        IVK,
        CAUTION,
        {"intracerebral_hemorrhage": True},
        {},
        ("intracerebral_hemorrhage",),
    ),
    (
        "ivk.benzodiazepine_above_max",
        IVK,
        CAUTION,
        {"benzodiazepine_mg_lorazepam_eq": 3.5},
        {"benzodiazepine_mg_lorazepam_eq": 3},
        ("benzodiazepine_mg_lorazepam_eq",),
    ),
    (
        "ivk.blood_pressure_above_guide",
        IVK,
        CAUTION,
        {"bp_systolic": 141},
        {"bp_systolic": 140, "bp_diastolic": 90},
        ("bp_systolic",),
    ),
    ("ivk.not_treatment_resistant", IVK, CAUTION, {"trials": []}, {}, None),
    # Esketamine
    (
        "esk.aneurysmal_vascular_disease",
        ESK,
        CONTRAINDICATED,
        {"aneurysmal_vascular_disease": True},
        {},
        ("aneurysmal_vascular_disease",),
    ),
    (
        "esk.arteriovenous_malformation",
        ESK,
        CONTRAINDICATED,
        {"arteriovenous_malformation": True},
        {},
        ("arteriovenous_malformation",),
    ),
    (
        "esk.intracerebral_hemorrhage",
        ESK,
        CONTRAINDICATED,
        {"intracerebral_hemorrhage": True},
        {},
        ("intracerebral_hemorrhage",),
    ),
    (
        "esk.hypersensitivity",
        ESK,
        CONTRAINDICATED,
        {"ketamine_hypersensitivity": True},
        {},
        ("ketamine_hypersensitivity",),
    ),
    ("esk.age_under_minimum", ESK, CONTRAINDICATED, {"age": 17}, {"age": 18}, ("age",)),
    ("esk.pregnancy", ESK, CONTRAINDICATED, {"pregnant": True}, {}, ("pregnant",)),
    ("esk.breastfeeding", ESK, CONTRAINDICATED, {"breastfeeding": True}, {}, ("breastfeeding",)),
    (
        "esk.psychosis_current",
        ESK,
        CONTRAINDICATED,
        {"psychosis": "current"},
        {"psychosis": "past"},
        ("psychosis",),
    ),
    ("esk.mania_current", ESK, CONTRAINDICATED, {"mania_current": True}, {}, ("mania_current",)),
    (
        "esk.psychosis_past",
        ESK,
        CAUTION,
        {"psychosis": "past"},
        {"psychosis": "none"},
        ("psychosis",),
    ),
    (
        "esk.blood_pressure_above_guide",
        ESK,
        CAUTION,
        {"bp_diastolic": 91},
        {"bp_systolic": 140, "bp_diastolic": 90},
        ("bp_diastolic",),
    ),
    (
        "esk.hypertension_uncontrolled",
        ESK,
        CAUTION,
        {"hypertension_uncontrolled": True},
        {},
        ("hypertension_uncontrolled",),
    ),
    (
        "esk.maoi_or_psychostimulant",
        ESK,
        CAUTION,
        {"maoi_or_psychostimulant": True},
        {},
        ("maoi_or_psychostimulant",),
    ),
    (
        "esk.substance_use_disorder",
        ESK,
        CAUTION,
        {"substance_use_disorder": "past"},
        {"substance_use_disorder": "none"},
        ("substance_use_disorder",),
    ),
    ("esk.ketamine_misuse", ESK, CAUTION, {"ketamine_misuse": True}, {}, ("ketamine_misuse",)),
    ("esk.not_treatment_resistant", ESK, CAUTION, {"trials": []}, {}, None),
    # TMS
    (
        "tms.head_metal_implant",
        TMS,
        CONTRAINDICATED,
        {"head_metal_implant": True},
        {},
        ("head_metal_implant",),
    ),
    (
        "tms.cochlear_implant",
        TMS,
        CONTRAINDICATED,
        {"cochlear_implant": True},
        {},
        ("cochlear_implant",),
    ),
    (
        "tms.implanted_neurostimulator",
        TMS,
        CONTRAINDICATED,
        {"implanted_neurostimulator": True},
        {},
        ("implanted_neurostimulator",),
    ),
    ("tms.cardiac_device", TMS, CAUTION, {"cardiac_device": True}, {}, ("cardiac_device",)),
    ("tms.seizure_history", TMS, CAUTION, {"seizure_history": True}, {}, ("seizure_history",)),
    ("tms.not_treatment_resistant", TMS, CAUTION, {"trials": [trial()]}, {}, None),
]
# Oral or sublingual ketamine: every IV ketamine rule, on the same answers (DOMAIN.md §9 names
# no contraindication of its own).
RULE_ROWS += [
    ("oral." + row[0].removeprefix("ivk."), ORAL, *row[2:]) for row in RULE_ROWS if row[1] == IVK
]

RULE_PARAMS = [pytest.param(*row, id=row[0]) for row in RULE_ROWS]
UNKNOWABLE_PARAMS = [pytest.param(*row, id=row[0]) for row in RULE_ROWS if row[5] is not None]


# --- Every rule: fires, does not fire, unknown -------------------------------------------------


@pytest.mark.parametrize(("rule", "modality", "status", "fires", "clear", "unknown"), RULE_PARAMS)
def test_it_applies_the_rule_when_its_answer_says_so(rule, modality, status, fires, clear, unknown):
    result = screen(fires)
    reason = reasons_of(result, modality)[rule]
    assert reason.status == status
    assert result.findings[modality].status == status


@pytest.mark.parametrize(("rule", "modality", "status", "fires", "clear", "unknown"), RULE_PARAMS)
def test_it_leaves_the_rule_out_when_its_answer_says_no(
    rule, modality, status, fires, clear, unknown
):
    assert rule not in reasons_of(screen(clear), modality)


@pytest.mark.parametrize(
    ("rule", "modality", "status", "fires", "clear", "unknown"), UNKNOWABLE_PARAMS
)
def test_it_asks_for_a_missing_answer_instead_of_passing_the_rule(
    rule, modality, status, fires, clear, unknown
):
    result = screen(without=unknown)
    reason = reasons_of(result, modality)[rule]
    assert reason.status == NEEDS_INFO
    for key in unknown:
        # Named in words ("History of seizures (not answered)"), never as the raw key.
        if key == "age":
            assert "age (no birth date recorded)" in reason.message
        else:
            assert f"{answer_label(key)} (not answered)" in reason.message
            assert f"{key} (not answered)" not in reason.message
    assert result.findings[modality].status == NEEDS_INFO


def test_every_rule_has_a_row_in_the_test_table():
    assert sorted(row[0] for row in RULE_ROWS) == sorted(rule.id for rule in RULES)


def test_every_rule_table_row_agrees_with_the_engine_on_modality_and_status():
    rules = {rule.id: rule for rule in RULES}
    for rule_id, modality, status, *_ in RULE_ROWS:
        assert (rules[rule_id].modality, rules[rule_id].status.value) == (modality, status)


def test_every_rule_has_a_stable_id_a_message_and_a_source():
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    prefixes = {IVK: "ivk.", ESK: "esk.", TMS: "tms.", ORAL: "oral."}
    for rule in RULES:
        assert rule.id.startswith(prefixes[rule.modality])
        assert rule.status in (Status.CONTRAINDICATED, Status.CAUTION)
        assert sources.numbers(rule.source), rule.id
        assert set(sources.numbers(rule.source)) <= set(sources.all_sources()), rule.id
        assert rule.message.endswith(".")
        assert set(rule.when.keys) <= {*ANSWER_KEYS, "age", "trd"}


# --- Named clinical cases ----------------------------------------------------------------------


def test_oral_ketamine_has_every_iv_ketamine_rule_and_no_other():
    iv = {rule.id.removeprefix("ivk.") for rule in RULES if rule.modality == IVK}
    oral = {rule.id.removeprefix("oral.") for rule in RULES if rule.modality == ORAL}
    assert oral == iv


@pytest.mark.parametrize(
    ("changes", "rule", "status", "cites"),
    [
        ({"pregnant": True}, "oral.pregnancy", CONTRAINDICATED, "[R16, R18, R19]"),
        ({"ketamine_misuse": True}, "oral.ketamine_misuse", CONTRAINDICATED, "[R10, R18]"),
        ({"age": 17}, "oral.age_under_minimum", CONTRAINDICATED, "[R16, R19, R85]"),
        ({"trials": []}, "oral.not_treatment_resistant", CAUTION, "[R81, R84, R86]"),
        ({"bp_systolic": 150}, "oral.blood_pressure_above_guide", CAUTION, "[R6, R7, R16, R22]"),
    ],
)
def test_oral_ketamine_rules_speak_of_oral_dosing_with_their_sources(changes, rule, status, cites):
    reason = reasons_of(screen(changes), ORAL)[rule]
    assert reason.status == status
    assert reason.source == sources.readable(cites)
    assert "infusion" not in reason.message
    assert "IV ketamine protocols" not in reason.message


def test_it_finds_every_modality_eligible_with_no_reasons_when_every_answer_is_clear():
    result = screen()
    assert result.trd is True
    for modality in MODALITIES:
        assert result.findings[modality].status == ELIGIBLE
        assert result.findings[modality].reasons == ()


def test_it_contraindicates_esketamine_in_pregnancy():
    result = screen({"pregnant": True})
    assert result.findings[ESK].status == CONTRAINDICATED
    reason = reasons_of(result, ESK)["esk.pregnancy"]
    assert reason.source == "Spravato label 2019 [R16]; Spravato safety information [R19]"
    assert "pregnant" in reason.message
    assert result.findings[TMS].status == ELIGIBLE


def test_it_contraindicates_esketamine_and_iv_ketamine_under_eighteen_but_not_tms():
    result = screen({"age": 17})
    assert result.findings[ESK].status == CONTRAINDICATED
    assert result.findings[IVK].status == CONTRAINDICATED
    assert result.findings[TMS].status == ELIGIBLE
    assert "17" in reasons_of(result, ESK)["esk.age_under_minimum"].message


def test_it_contraindicates_iv_ketamine_in_current_psychosis():
    result = screen({"psychosis": "current"})
    assert result.findings[IVK].status == CONTRAINDICATED
    assert result.findings[TMS].status == ELIGIBLE


def test_it_contraindicates_tms_with_metal_in_the_head_but_not_ketamine():
    result = screen({"head_metal_implant": True})
    assert result.findings[TMS].status == CONTRAINDICATED
    assert result.findings[IVK].status == ELIGIBLE
    assert result.findings[ESK].status == ELIGIBLE


def test_it_cautions_iv_ketamine_only_for_aneurysmal_disease_but_contraindicates_esketamine():
    result = screen({"aneurysmal_vascular_disease": True})
    assert result.findings[IVK].status == CAUTION
    assert result.findings[ESK].status == CONTRAINDICATED


def test_it_states_the_blood_pressure_reading_and_the_guide_in_the_message():
    message = reasons_of(screen({"bp_systolic": 152, "bp_diastolic": 88}), ESK)[
        "esk.blood_pressure_above_guide"
    ].message
    assert "152/88" in message
    assert "140/90" in message


@pytest.mark.parametrize(
    ("changes", "without", "status"),
    [
        pytest.param({"bp_systolic": 140, "bp_diastolic": 90}, (), ELIGIBLE, id="at-the-guide"),
        pytest.param({"bp_systolic": 141}, (), CAUTION, id="systolic-above"),
        pytest.param({"bp_diastolic": 91}, (), CAUTION, id="diastolic-above"),
        pytest.param({"bp_systolic": 150}, ("bp_diastolic",), CAUTION, id="high-and-unknown"),
        pytest.param({"bp_systolic": 130}, ("bp_diastolic",), NEEDS_INFO, id="low-and-unknown"),
        pytest.param({}, ("bp_systolic", "bp_diastolic"), NEEDS_INFO, id="both-unknown"),
    ],
)
def test_it_cautions_esketamine_when_either_blood_pressure_value_is_above_the_guide(
    changes, without, status
):
    assert screen(changes, without=without).findings[ESK].status == status


def test_it_does_not_ask_for_the_diastolic_when_the_systolic_already_decides_the_rule():
    result = screen({"bp_systolic": 150}, without=("bp_diastolic",))
    reason = reasons_of(result, ESK)["esk.blood_pressure_above_guide"]
    assert reason.status == CAUTION
    assert "150/?" in reason.message


@pytest.mark.parametrize(
    ("dose", "fires"),
    [(0, False), (3, False), (3.0, False), (3.01, True), (10, True)],
)
def test_it_cautions_iv_ketamine_only_for_benzodiazepines_above_three_mg_a_day(dose, fires):
    reasons = reasons_of(screen({"benzodiazepine_mg_lorazepam_eq": dose}), IVK)
    assert ("ivk.benzodiazepine_above_max" in reasons) is fires


def test_it_cautions_esketamine_for_both_past_and_current_substance_use_disorder():
    for value in ("past", "current"):
        result = screen({"substance_use_disorder": value})
        assert result.findings[ESK].status == CAUTION
        assert value in reasons_of(result, ESK)["esk.substance_use_disorder"].message


# --- Status precedence -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "without", "status"),
    [
        pytest.param(
            {"pregnant": True, "maoi_or_psychostimulant": True},
            ("breastfeeding",),
            CONTRAINDICATED,
            id="contraindication-beats-unknown-and-caution",
        ),
        pytest.param(
            {"pregnant": True}, ("age",), CONTRAINDICATED, id="contraindication-beats-unknown-age"
        ),
        pytest.param(
            {"maoi_or_psychostimulant": True},
            ("breastfeeding",),
            NEEDS_INFO,
            id="unknown-beats-caution",
        ),
        pytest.param(
            {"psychosis": "past"}, ("pregnant",), NEEDS_INFO, id="unknown-beats-a-fired-caution"
        ),
        pytest.param({"maoi_or_psychostimulant": True}, (), CAUTION, id="caution-alone"),
        pytest.param({"trials": []}, (), CAUTION, id="not-resistant-alone"),
        pytest.param({}, (), ELIGIBLE, id="nothing-fired"),
    ],
)
def test_it_lets_the_worst_reason_decide_the_status(changes, without, status):
    assert screen(changes, without=without).findings[ESK].status == status


def test_it_lists_every_reason_that_fired_worst_first():
    result = screen(
        {"pregnant": True, "maoi_or_psychostimulant": True, "trials": []},
        without=("breastfeeding",),
    )
    reasons = result.findings[ESK].reasons
    assert [(r.rule, r.status) for r in reasons] == [
        ("esk.pregnancy", CONTRAINDICATED),
        ("esk.breastfeeding", NEEDS_INFO),
        ("esk.maoi_or_psychostimulant", CAUTION),
        ("esk.not_treatment_resistant", CAUTION),
    ]


def test_it_never_finds_a_modality_eligible_when_nothing_is_answered():
    result = evaluate({}, FAILED_TWICE, None)
    for modality in MODALITIES:
        assert result.findings[modality].status == NEEDS_INFO


def test_it_asks_for_the_age_by_name_when_there_is_no_birth_date():
    reason = reasons_of(screen(without=("age",)), ESK)["esk.age_under_minimum"]
    assert reason.status == NEEDS_INFO
    assert "age" in reason.message
    assert "18" in reason.message


# --- Treatment resistance ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trials", "thresholds", "expected"),
    [
        pytest.param(FAILED_TWICE, Thresholds(), True, id="two-adequate-failures"),
        pytest.param([], Thresholds(), False, id="no-trials"),
        pytest.param([trial()], Thresholds(), False, id="one-failure"),
        pytest.param(
            [trial("sertraline", weeks=6), trial("venlafaxine", weeks=6)],
            Thresholds(),
            True,
            id="exactly-six-weeks",
        ),
        pytest.param(
            [trial("sertraline", weeks=5), trial("venlafaxine", weeks=6)],
            Thresholds(),
            False,
            id="five-weeks-is-too-short",
        ),
        pytest.param(
            [trial("sertraline", weeks=5.9), trial("venlafaxine")],
            Thresholds(),
            False,
            id="fractional-weeks-below",
        ),
        pytest.param(
            [trial("sertraline", adequate_dose=False), trial("venlafaxine")],
            Thresholds(),
            False,
            id="inadequate-dose",
        ),
        pytest.param(
            [trial("sertraline", outcome="intolerance"), trial("venlafaxine")],
            Thresholds(),
            False,
            id="intolerance-is-not-a-failed-response",
        ),
        pytest.param(
            [trial("sertraline", outcome="response"), trial("venlafaxine")],
            Thresholds(),
            False,
            id="response",
        ),
        pytest.param(
            [trial("sertraline"), trial("sertraline")],
            Thresholds(),
            False,
            id="same-drug-twice-is-one-antidepressant",
        ),
        pytest.param(
            [trial("Sertraline"), trial(" sertraline ")],
            Thresholds(),
            False,
            id="same-drug-spelled-differently",
        ),
        pytest.param(
            [trial("sertraline", outcome="intolerance"), trial("venlafaxine"), trial("bupropion")],
            Thresholds(),
            True,
            id="two-failures-among-three-trials",
        ),
        pytest.param(
            FAILED_TWICE, Thresholds(min_failed_trials=3), False, id="clinic-requires-three"
        ),
        pytest.param(
            [*FAILED_TWICE, trial("mirtazapine")],
            Thresholds(min_failed_trials=3),
            True,
            id="clinic-requires-three-and-has-three",
        ),
        pytest.param(
            FAILED_TWICE, Thresholds(adequacy_weeks=10), False, id="clinic-requires-ten-weeks"
        ),
        pytest.param(
            [trial("sertraline", weeks=4), trial("venlafaxine", weeks=4)],
            Thresholds(adequacy_weeks=4),
            True,
            id="clinic-accepts-four-weeks",
        ),
    ],
)
def test_it_decides_treatment_resistance_from_adequate_failed_trials(trials, thresholds, expected):
    assert evaluate(CLEAR, trials, 40, thresholds).trd is expected


def test_it_treats_no_recorded_trials_as_a_determination_not_a_missing_answer():
    result = screen({"trials": []})
    assert result.trd is False
    for modality in MODALITIES:
        assert result.findings[modality].status == CAUTION
        assert [r.status for r in result.findings[modality].reasons] == [CAUTION]


def test_it_says_how_many_adequate_failures_it_counted():
    message = reasons_of(screen({"trials": [trial()]}), TMS)["tms.not_treatment_resistant"].message
    assert "1 of 2" in message
    assert "6 weeks" in message


# --- Clinic thresholds -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "thresholds", "modality", "rule", "fires"),
    [
        pytest.param(
            {"bp_systolic": 145, "bp_diastolic": 92},
            Thresholds(bp_systolic_caution=150, bp_diastolic_caution=95),
            ESK,
            "esk.blood_pressure_above_guide",
            False,
            id="higher-bp-guide",
        ),
        pytest.param(
            {"age": 19},
            Thresholds(minimum_age=21),
            ESK,
            "esk.age_under_minimum",
            True,
            id="minimum-age-21",
        ),
        pytest.param(
            {"benzodiazepine_mg_lorazepam_eq": 4},
            Thresholds(lorazepam_eq_max_mg_per_day=5),
            IVK,
            "ivk.benzodiazepine_above_max",
            False,
            id="higher-benzodiazepine-limit",
        ),
    ],
)
def test_it_uses_the_clinics_own_thresholds(changes, thresholds, modality, rule, fires):
    reasons = reasons_of(screen(changes, thresholds=thresholds), modality)
    assert (rule in reasons) is fires


def test_its_default_thresholds_are_the_cited_values():
    assert Thresholds() == Thresholds(
        bp_systolic_caution=140,
        bp_diastolic_caution=90,
        lorazepam_eq_max_mg_per_day=3,
        minimum_age=18,
        adequacy_weeks=6,
        min_failed_trials=2,
    )


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"min_failed_trials": 0}, "thresholds.min_failed_trials"),
        ({"minimum_age": 17.5}, "thresholds.minimum_age"),
        ({"adequacy_weeks": -1}, "thresholds.adequacy_weeks"),
        ({"bp_systolic_caution": True}, "thresholds.bp_systolic_caution"),
    ],
)
def test_it_refuses_a_threshold_that_makes_no_sense(settings, field):
    with pytest.raises(InputError) as error:
        Thresholds(**settings)
    assert error.value.field == field


# --- Validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "field", "words"),
    [
        pytest.param({"pregnent": True}, "answers.pregnent", "pregnant", id="unknown-key"),
        pytest.param({"pregnant": "yes"}, "answers.pregnant", "true or false", id="yes-for-bool"),
        pytest.param({"seizure_history": 1}, "answers.seizure_history", "true or false", id="1"),
        pytest.param({"cardiac_device": None}, "answers.cardiac_device", "leave", id="null"),
        pytest.param(
            {"psychosis": "sometimes"},
            "answers.psychosis",
            "none, past, current",
            id="bad-choice",
        ),
        pytest.param(
            {"substance_use_disorder": True},
            "answers.substance_use_disorder",
            "none, past, current",
            id="wrong-type-for-choice",
        ),
        pytest.param({"bp_systolic": 400}, "answers.bp_systolic", "50 to 300", id="bp-400"),
        pytest.param({"bp_diastolic": 10}, "answers.bp_diastolic", "20 to 200", id="bp-over-10"),
        pytest.param({"bp_systolic": 120.5}, "answers.bp_systolic", "whole number", id="bp-float"),
        pytest.param({"bp_systolic": "120"}, "answers.bp_systolic", "whole number", id="bp-text"),
        pytest.param({"bp_systolic": True}, "answers.bp_systolic", "whole number", id="bp-bool"),
        pytest.param(
            {"bp_systolic": 80, "bp_diastolic": 90},
            "answers.bp_systolic",
            "greater than bp_diastolic",
            id="systolic-below-diastolic",
        ),
        pytest.param(
            {"bp_systolic": 90, "bp_diastolic": 90},
            "answers.bp_systolic",
            "greater than bp_diastolic",
            id="systolic-equal-diastolic",
        ),
        pytest.param(
            {"benzodiazepine_mg_lorazepam_eq": -1},
            "answers.benzodiazepine_mg_lorazepam_eq",
            "0 to 100",
            id="negative-benzodiazepine",
        ),
        pytest.param(
            {"benzodiazepine_mg_lorazepam_eq": 101},
            "answers.benzodiazepine_mg_lorazepam_eq",
            "0 to 100",
            id="benzodiazepine-over-100",
        ),
        pytest.param(
            {"benzodiazepine_mg_lorazepam_eq": "2"},
            "answers.benzodiazepine_mg_lorazepam_eq",
            "number",
            id="benzodiazepine-text",
        ),
        pytest.param(
            {"benzodiazepine_mg_lorazepam_eq": float("nan")},
            "answers.benzodiazepine_mg_lorazepam_eq",
            "number",
            id="benzodiazepine-nan",
        ),
    ],
)
def test_it_rejects_a_bad_answer_naming_the_field_and_what_is_allowed(answers, field, words):
    with pytest.raises(InputError) as error:
        validate_answers(answers)
    assert error.value.field == field
    assert words in error.value.message


def test_it_rejects_answers_that_are_not_an_object():
    with pytest.raises(InputError) as error:
        validate_answers([("pregnant", True)])
    assert error.value.field == "answers"


@pytest.mark.parametrize(
    "answers",
    [
        pytest.param({}, id="nothing-answered"),
        pytest.param(CLEAR, id="everything-answered"),
        pytest.param({"benzodiazepine_mg_lorazepam_eq": 0.5}, id="fractional-benzodiazepine"),
        pytest.param({"bp_systolic": 300, "bp_diastolic": 200}, id="bp-at-the-limits"),
        pytest.param({"bp_systolic": 50, "bp_diastolic": 20}, id="bp-at-the-low-limits"),
    ],
)
def test_it_accepts_valid_answers(answers):
    validate_answers(answers)


@pytest.mark.parametrize(
    ("trials", "field"),
    [
        pytest.param({"drug": "sertraline"}, "trials", id="not-a-list"),
        pytest.param(["sertraline"], "trials[0]", id="not-an-object"),
        pytest.param(
            [trial(), {**trial(), "dose_mg": 100}], "trials[1].dose_mg", id="unknown-field"
        ),
        pytest.param(
            [{"drug": "sertraline", "adequate_dose": True, "outcome": "response"}],
            "trials[0].weeks",
            id="missing-weeks",
        ),
        pytest.param([trial(), trial(weeks=-1)], "trials[1].weeks", id="negative-weeks"),
        pytest.param([trial(weeks=521)], "trials[0].weeks", id="weeks-over-ten-years"),
        pytest.param([trial(weeks="6")], "trials[0].weeks", id="weeks-as-text"),
        pytest.param([trial(weeks=True)], "trials[0].weeks", id="weeks-as-bool"),
        pytest.param([trial(drug="")], "trials[0].drug", id="empty-drug"),
        pytest.param([trial(drug="   ")], "trials[0].drug", id="blank-drug"),
        pytest.param([trial(drug="x" * 101)], "trials[0].drug", id="drug-too-long"),
        pytest.param([trial(drug=42)], "trials[0].drug", id="drug-not-text"),
        pytest.param(
            [trial(adequate_dose="true")], "trials[0].adequate_dose", id="adequate-dose-text"
        ),
        pytest.param([trial(adequate_dose=1)], "trials[0].adequate_dose", id="adequate-dose-1"),
        pytest.param([trial(outcome="partial")], "trials[0].outcome", id="bad-outcome"),
    ],
)
def test_it_rejects_a_bad_trial_naming_the_field(trials, field):
    with pytest.raises(InputError) as error:
        validate_trials(trials)
    assert error.value.field == field


def test_it_lists_the_allowed_outcomes_when_one_is_wrong():
    with pytest.raises(InputError) as error:
        validate_trials([trial(outcome="partial")])
    assert "inadequate_response, intolerance, response" in error.value.message


@pytest.mark.parametrize(
    "trials",
    [
        pytest.param([], id="none"),
        pytest.param(FAILED_TWICE, id="two"),
        pytest.param([trial(weeks=0), trial(weeks=520), trial(weeks=6.5)], id="weeks-limits"),
        pytest.param([trial(drug="x" * 100)], id="longest-drug-name"),
    ],
)
def test_it_accepts_valid_trials(trials):
    validate_trials(trials)


@pytest.mark.parametrize(
    ("answers", "trials", "age", "field"),
    [
        pytest.param({"pregnant": "no"}, [], 40, "answers.pregnant", id="bad-answer"),
        pytest.param({}, [trial(weeks=-2)], 40, "trials[0].weeks", id="bad-trial"),
        pytest.param({}, [], -1, "age", id="negative-age"),
        pytest.param({}, [], "40", "age", id="age-as-text"),
        pytest.param({}, [], True, "age", id="age-as-bool"),
    ],
)
def test_it_validates_its_input_before_evaluating(answers, trials, age, field):
    with pytest.raises(InputError) as error:
        evaluate(answers, trials, age)
    assert error.value.field == field


# --- Plain-dict shape for the API (DESIGN.md §5) -----------------------------------------------


def test_it_converts_the_result_to_the_api_shape():
    shape = screen({"pregnant": True}).as_dict()
    assert json.loads(json.dumps(shape)) == shape
    assert set(shape) == {"trd", "findings"}
    assert shape["trd"] is True
    assert list(shape["findings"]) == [IVK, ESK, TMS, ORAL]
    esketamine = shape["findings"][ESK]
    assert esketamine["status"] == "contraindicated"
    assert esketamine["reasons"] == [
        {
            "rule": "esk.pregnancy",
            "status": "contraindicated",
            "message": reasons_of(screen({"pregnant": True}), ESK)["esk.pregnancy"].message,
            "source": "Spravato label 2019 [R16]; Spravato safety information [R19]",
        }
    ]
    assert shape["findings"][TMS] == {"status": "eligible", "reasons": []}
    assert type(esketamine["status"]) is str


# --- Plain-language labels ---------------------------------------------------------------------


def test_every_answer_has_one_plain_label_and_no_label_is_a_raw_key():
    assert set(ANSWER_LABELS) == set(ANSWER_KEYS)
    for key, label in ANSWER_LABELS.items():
        assert "_" not in label, key
        assert label[0].isupper(), key


@pytest.mark.parametrize(
    ("rule", "label"),
    [
        ("tms.head_metal_implant", "Metal implant in or near the head (within 30 cm of the coil)"),
        ("tms.seizure_history", "History of seizures"),
        ("esk.blood_pressure_above_guide", "Screening blood pressure"),
        ("esk.age_under_minimum", "Age"),
        ("tms.not_treatment_resistant", "Treatment resistance (antidepressant trials)"),
        ("no.such_rule", "no.such_rule"),
    ],
)
def test_a_rule_is_named_by_what_it_looks_at(rule, label):
    assert rule_label(rule) == label


def test_every_rule_has_a_label_in_words():
    for rule in RULES:
        assert "_" not in rule_label(rule.id), rule.id


def test_a_reason_stored_with_a_raw_key_reads_in_words():
    stored = "Unknown: seizure_history (not answered). A history of seizures calls for caution."
    assert plain_message(stored) == (
        "Unknown: History of seizures (not answered). A history of seizures calls for caution."
    )
    assert plain_message("Nothing to rewrite.") == "Nothing to rewrite."
