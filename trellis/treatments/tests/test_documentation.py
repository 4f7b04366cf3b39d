from datetime import UTC, date, datetime, timedelta

import pytest

from trellis.lib.errors import InputError
from trellis.treatments import documentation as doc

LIMITS = doc.VitalLimits()


@pytest.mark.parametrize(
    ("reading", "expected"),
    [
        ({"bp_systolic": 159, "bp_diastolic": 99}, []),
        ({"bp_systolic": 160, "bp_diastolic": 90}, [("bp_systolic", doc.FLAG)]),
        ({"bp_systolic": 180, "bp_diastolic": 90}, [("bp_systolic", doc.ALERT)]),
        ({"bp_systolic": 150, "bp_diastolic": 100}, [("bp_diastolic", doc.FLAG)]),
        (
            {"bp_systolic": 182, "bp_diastolic": 115},
            [("bp_systolic", doc.ALERT), ("bp_diastolic", doc.ALERT)],
        ),
        ({"heart_rate": 109}, []),
        ({"heart_rate": 110}, [("heart_rate", doc.FLAG)]),
        ({"heart_rate": 130}, [("heart_rate", doc.ALERT)]),
        ({"spo2": 95}, []),
        ({"spo2": 94}, [("spo2", doc.FLAG)]),
        ({"spo2": 90}, [("spo2", doc.ALERT)]),
        ({"respiratory_rate": 11}, []),
        ({"respiratory_rate": 10}, [("respiratory_rate", doc.FLAG)]),
        ({"respiratory_rate": 8}, [("respiratory_rate", doc.ALERT)]),
    ],
)
def test_it_flags_vitals_at_the_clinic_levels(reading, expected):
    assert [(f.field, f.level) for f in doc.flag_reading(reading, LIMITS)] == expected


def test_the_clinic_sets_the_levels():
    strict = doc.VitalLimits(bp_systolic_flag=140, bp_systolic_alert=150)
    flags = doc.flag_reading({"bp_systolic": 150, "bp_diastolic": 80}, strict)
    assert [(f.field, f.level) for f in flags] == [("bp_systolic", doc.ALERT)]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"bp_systolic": 400, "bp_diastolic": 10}, "bp_systolic"),
        ({"bp_systolic": 120}, "bp_diastolic"),
        ({"bp_systolic": 80, "bp_diastolic": 90}, "bp_systolic"),
        ({"heart_rate": 0}, "heart_rate"),
        ({"spo2": 101}, "spo2"),
        ({"respiratory_rate": True}, "respiratory_rate"),
        ({"temperature": 37}, "temperature"),
        ({"heart_rate": None}, "bp_systolic"),
    ],
)
def test_implausible_readings_are_refused_by_name(values, field):
    with pytest.raises(InputError) as raised:
        doc.validate_reading(values)
    assert raised.value.field == field


def test_empty_values_are_dropped():
    assert doc.validate_reading({"heart_rate": 72, "spo2": None, "bp_systolic": ""}) == {
        "heart_rate": 72
    }


@pytest.mark.parametrize(
    ("answers", "total"), [([0] * 6, 0), ([4] * 6, 24), ([1, 2, 0, 3, 4, 1], 11)]
)
def test_cadss6_totals_its_six_items(answers, total):
    assert doc.cadss6_total(answers) == total


@pytest.mark.parametrize(
    ("answers", "field"), [([0] * 5, "cadss6"), ([0, 0, 5, 0, 0, 0], "cadss6[2]")]
)
def test_cadss6_refuses_bad_answers_by_item(answers, field):
    with pytest.raises(InputError) as raised:
        doc.cadss6_total(answers)
    assert raised.value.field == field


def test_moaas_has_six_levels_from_the_published_scale():
    assert sorted(doc.MOAAS) == [0, 1, 2, 3, 4, 5]
    assert doc.MOAAS[5].startswith("Responds readily")


@pytest.mark.parametrize(
    ("pre", "later", "count"),
    [
        ((140, 90), [(150, 95)], 0),
        ((141, 88), [], 1),  # pre-dose above 140/90 [R16]
        ((120, 80), [(160, 90)], 1),  # +40 systolic
        ((120, 80), [(150, 105)], 1),  # +25 diastolic
        ((120, 80), [(159, 104)], 0),
        (None, [(200, 120)], 0),
    ],
)
def test_esketamine_blood_pressure_warnings(pre, later, count):
    assert len(doc.esketamine_bp_warnings(pre, later, doc.EsketamineLimits())) == count


@pytest.mark.parametrize(("mt", "pct", "output"), [(50, 120, 60), (45, 120, 54), (63, 90, 57)])
def test_output_intensity_follows_the_motor_threshold(mt, pct, output):
    assert doc.intensity_pct_output(mt, pct) == output


@pytest.mark.parametrize(
    ("last", "due"), [(None, True), (date(2026, 3, 1), True), (date(2026, 3, 2), False)]
)
def test_motor_threshold_is_due_weekly(last, due):
    assert doc.mt_remeasure_due(last, date(2026, 3, 8), 7) is due


START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
COMPLETE_ESKETAMINE = {
    "dose_mg": 56,
    "lot_numbers": "A1, A2",
    "first_device_at": START,
    "first_treatment": True,
    "vitals_acceptable_pre": True,
    "sedation": True,
    "sedation_resolved_at": START + timedelta(minutes=50),
    "dissociation": False,
    "respiratory_depression": False,
    "ready_to_leave_at": START + timedelta(minutes=90),
    "monitoring_ended_at": START + timedelta(minutes=120),
    "vitals_acceptable_end": True,
}
ALL_BP = {"pre-dose", "40 min", "pre-discharge"}


def test_a_complete_esketamine_note_misses_nothing():
    assert doc.esketamine_missing(COMPLETE_ESKETAMINE, ALL_BP, doc.EsketamineLimits()) == []


@pytest.mark.parametrize(
    ("change", "bp", "expected"),
    [
        (
            {"monitoring_ended_at": START + timedelta(minutes=90)},
            ALL_BP,
            "monitoring of at least 120 minutes (recorded 90)",
        ),
        ({"sedation_resolved_at": None}, ALL_BP, "time sedation resolved"),
        ({"lot_numbers": ""}, ALL_BP, "device lot numbers"),
        ({}, {"pre-dose", "pre-discharge"}, "BP at 40 minutes"),
    ],
)
def test_an_esketamine_note_lists_what_it_misses(change, bp, expected):
    missing = doc.esketamine_missing({**COMPLETE_ESKETAMINE, **change}, bp, doc.EsketamineLimits())
    assert missing == [expected]


def test_an_infusion_note_needs_discharge_criteria_and_vitals():
    missing = doc.infusion_missing({"cadss6": [0] * 6}, vitals_count=0)
    assert "at least one set of vital signs" in missing
    assert "discharge criterion: escort present" in missing
    assert "pump rate" in missing
    assert "dissociation (CADSS-6)" not in missing


def test_a_tms_note_with_beam_f3_needs_the_head_measurements():
    record = {
        "device": "d",
        "coil": "c",
        "motor_threshold_id": 1,
        "intensity_pct_mt": 120,
        "intensity_pct_output": 60,
        "target_method": "beam_f3",
        "pulses_planned": 3000,
        "pulses_delivered": 3000,
        "discomfort": 2,
        "seizure": False,
        "beam_x_cm": None,
    }
    assert doc.tms_missing(record) == ["Beam F3 head measurements"]
