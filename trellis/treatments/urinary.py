"""Bladder and urinary symptoms asked of patients taking ketamine by mouth or under the tongue.

Ketamine cystitis — frequency, urgency, nocturia, dysuria, haematuria, bladder pain — is seen in
chronic and recreational users; symptom scores rise with the duration of use and most improve
after stopping [R90]. The ketamine label lists cystitis with chronic or recurrent use [R10].
DOMAIN.md §9 asks for lower-urinary-tract symptoms periodically, instrument and interval left to
the clinic: here the six symptoms named there, each yes or no, and the clinic's interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from trellis.lib.errors import InputError

# The six symptoms of ketamine cystitis [R90], in the order they are asked.
SYMPTOMS: dict[str, str] = {
    "frequency": "Passing urine more often than usual",
    "urgency": "Sudden urgent need to pass urine",
    "nocturia": "Waking at night to pass urine",
    "dysuria": "Pain or burning on passing urine",
    "haematuria": "Blood in the urine",
    "bladder_pain": "Pain in the bladder or lower belly",
}

# Blood in the urine or bladder pain asks for the prescriber sooner than frequency alone:
# clinic policy (DOMAIN.md gives no grading), the conservative choice.
HIGH = ("haematuria", "bladder_pain")


@dataclass(frozen=True)
class Answers:
    """What the patient said: the symptoms present, and how soon a prescriber should look."""

    present: tuple[str, ...]

    @property
    def positive(self) -> bool:
        return bool(self.present)

    @property
    def severity(self) -> str | None:
        """``high`` for blood in the urine or bladder pain, ``elevated`` for any other
        symptom, None when there is none (the safety app's words)."""
        if not self.present:
            return None
        return "high" if any(s in HIGH for s in self.present) else "elevated"

    def summary(self) -> str:
        if not self.present:
            return "No bladder or urinary symptoms"
        return "Bladder or urinary symptoms on ketamine: " + ", ".join(
            SYMPTOMS[s].lower() for s in self.present
        )


def assess(answers: dict) -> Answers:
    """Each of the six symptoms must be answered yes (True) or no (False); a missing answer is
    refused, never taken as no."""
    present = []
    for key in SYMPTOMS:
        value = answers.get(key)
        if not isinstance(value, bool):
            raise InputError(key, "answer yes or no")
        if value:
            present.append(key)
    unknown = sorted(set(answers) - set(SYMPTOMS))
    if unknown:
        raise InputError(unknown[0], "is not one of the symptoms asked")
    return Answers(tuple(present))


def is_due(last_asked_on: date | None, today: date, interval_days: int) -> bool:
    """Due when never asked, or when the last answers are ``interval_days`` old or older."""
    if last_asked_on is None:
        return True
    return (today - last_asked_on).days >= interval_days
