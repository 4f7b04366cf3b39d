"""Esketamine's concomitant oral antidepressant or monotherapy [R95, R25, R23]."""

from datetime import date

import pytest

from trellis.lib.errors import InputError
from trellis.treatments.concomitant import MDSI, TRD, Concomitant, check

START = date(2026, 3, 2)
SERTRALINE = Concomitant(name="Sertraline", dose="100 mg daily", started_on=date(2026, 1, 5))


@pytest.mark.parametrize(
    ("record", "indication", "start", "field"),
    [
        # Nothing recorded: the field is named.
        (Concomitant(), TRD, START, "concomitant_antidepressant"),
        (Concomitant(), MDSI, START, "concomitant_antidepressant"),
        # An antidepressant needs its dose and the day it started, not after the course starts.
        (Concomitant(name="Sertraline"), TRD, START, "concomitant_dose"),
        (Concomitant(name="Sertraline", dose="50 mg"), TRD, START, "concomitant_started_on"),
        (
            Concomitant(name="Sertraline", dose="50 mg", started_on=date(2026, 3, 3)),
            TRD,
            START,
            "concomitant_started_on",
        ),
        # Monotherapy: never with an antidepressant, never for MDSI [R23], not before 2025 [R25].
        (Concomitant(monotherapy=True, name="Sertraline"), TRD, START, "esketamine_monotherapy"),
        (Concomitant(monotherapy=True), MDSI, START, "esketamine_monotherapy"),
        (Concomitant(monotherapy=True), TRD, date(2025, 1, 20), "esketamine_monotherapy"),
        # Blank names are blank.
        (Concomitant(name="   ", dose="50 mg"), TRD, START, "concomitant_antidepressant"),
    ],
)
def test_it_refuses_naming_the_field(record, indication, start, field):
    with pytest.raises(InputError) as caught:
        check(record, esketamine=True, indication=indication, start_date=start)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("record", "indication", "start"),
    [
        (SERTRALINE, TRD, START),
        (SERTRALINE, MDSI, START),
        # Started the day of the first dose.
        (Concomitant(name="Escitalopram", dose="10 mg", started_on=START), TRD, START),
        # Monotherapy for TRD from the approval day on.
        (Concomitant(monotherapy=True), TRD, date(2025, 1, 21)),
        (Concomitant(monotherapy=True), TRD, START),
    ],
)
def test_it_accepts(record, indication, start):
    assert check(record, esketamine=True, indication=indication, start_date=start) == record


def test_other_modalities_record_none():
    assert check(Concomitant(), esketamine=False, indication=TRD, start_date=START) == Concomitant()
    with pytest.raises(InputError) as caught:
        check(SERTRALINE, esketamine=False, indication=TRD, start_date=START)
    assert caught.value.field == "concomitant_antidepressant"
