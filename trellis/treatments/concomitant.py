"""The oral antidepressant an esketamine course is given with, or monotherapy: checked once.

Esketamine (Spravato) was approved on 5 March 2019 for treatment-resistant depression "in
conjunction with an oral antidepressant" [R95]; on 21 January 2025 the label added esketamine
alone (monotherapy) for TRD [R95, R25] (some sources say 17 January; the label's later date is
used). For depressive symptoms with acute suicidal ideation or behaviour (MDSI) it is still given
with an oral antidepressant [R23]. ESCAPE-TRD gave it with an SSRI or SNRI [R75].

So every esketamine course records which: the antidepressant (name, dose, the day it was
started) or monotherapy. The check runs when the course starts; a message names the field.
Pure: no Django.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from trellis.lib.errors import InputError

# The label allowed esketamine monotherapy for TRD from this day [R95, R25].
MONOTHERAPY_TRD_FROM = date(2025, 1, 21)

TRD = "trd"
MDSI = "mdsi"
INDICATIONS = {
    TRD: "treatment-resistant depression",
    MDSI: "depressive symptoms with acute suicidal ideation or behaviour",
}

NAME_MAX = 120
DOSE_MAX = 60


@dataclass(frozen=True)
class Concomitant:
    """What an esketamine course records: monotherapy, or the oral antidepressant."""

    monotherapy: bool = False
    name: str = ""
    dose: str = ""
    started_on: date | None = None

    @property
    def given(self) -> bool:
        return bool(self.monotherapy or self.name or self.dose or self.started_on)


def check(
    concomitant: Concomitant, *, esketamine: bool, indication: str, start_date: date
) -> Concomitant:
    """The record cleaned (names stripped), or InputError naming the field and the rule."""
    name, dose = concomitant.name.strip(), concomitant.dose.strip()
    cleaned = Concomitant(concomitant.monotherapy, name, dose, concomitant.started_on)
    if not esketamine:
        if cleaned.given:
            raise InputError(
                "concomitant_antidepressant",
                "is recorded for esketamine courses only; leave it empty for this protocol",
            )
        return cleaned
    if indication not in INDICATIONS:
        raise InputError("indication", f"unknown indication {indication!r}")
    if len(name) > NAME_MAX:
        raise InputError("concomitant_antidepressant", f"must be at most {NAME_MAX} characters")
    if len(dose) > DOSE_MAX:
        raise InputError("concomitant_dose", f"must be at most {DOSE_MAX} characters")
    if cleaned.monotherapy:
        if name or dose or cleaned.started_on:
            raise InputError(
                "esketamine_monotherapy",
                "choose monotherapy or an oral antidepressant, not both",
            )
        if indication == MDSI:
            raise InputError(
                "esketamine_monotherapy",
                "is not in the label for depressive symptoms with acute suicidal ideation or "
                "behaviour: esketamine is given with an oral antidepressant there [R23]",
            )
        if start_date < MONOTHERAPY_TRD_FROM:
            raise InputError(
                "esketamine_monotherapy",
                "was approved for treatment-resistant depression on 21 January 2025; a course "
                "starting earlier was given with an oral antidepressant [R95, R25]",
            )
        return cleaned
    if not name:
        rule = (
            "the label gives esketamine with an oral antidepressant here [R23]"
            if indication == MDSI
            else "esketamine for treatment-resistant depression is given with an oral "
            "antidepressant, or as monotherapy since 21 January 2025 [R95, R25]"
        )
        raise InputError(
            "concomitant_antidepressant",
            f"name the oral antidepressant (or choose monotherapy): {rule}",
        )
    if not dose:
        raise InputError("concomitant_dose", f"give the dose of {name}, e.g. 20 mg daily")
    if cleaned.started_on is None:
        raise InputError("concomitant_started_on", f"give the day {name} was started")
    if cleaned.started_on > start_date:
        raise InputError(
            "concomitant_started_on",
            "must be on or before the course's start date (an antidepressant started with the "
            "first dose starts that day)",
        )
    return cleaned
