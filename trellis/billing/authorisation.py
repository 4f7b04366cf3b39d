"""Prior authorisation: the payer's criteria checked against the record, the sessions the payer
approved against those used, and when the payer must decide (DOMAIN.md §6, §14).

Pure functions, standard library only. Each rule cites its source ([Rn], written out in
``docs/sources.md``):

- **Criteria** — payers' published examples (§6): Centene for TMS: 18 or older, PHQ-9 of 15 or
  more, two or more failed antidepressants of different classes plus psychotherapy, an
  FDA-cleared device, at most 36 sessions [R38]. BCBSM's stricter alternative (PHQ-9 above 20,
  four failed trials) [R37] is shown beside the PHQ-9 as evidence, not checked. Esketamine is
  for treatment-resistant depression in adults per its label [R22] (two or more failed adequate
  antidepressant trials [R61]); payers apply the same severity and failed-trial criteria to
  ketamine and esketamine, and one approval may cover either [R127].
- A criterion is **met**, **not met** or **unknown** (the record does not hold what it needs),
  with the evidence it was read from. The criteria the record cannot hold (psychotherapy tried,
  classes of the failed drugs, the device's clearance) are attested by a prescriber; an
  attestation is shown as such, with the note.
- **Units** — sessions used are the course's signed sessions inside the approved window
  [R124: the authorisation number goes on each claim in item 23]; the clinic's
  ``authorization_warn_remaining`` says when to warn before they run out.
- **Decision deadline** — for Medicare Advantage, Medicaid/CHIP and exchange plans, from
  1 January 2026, a decision is due 72 hours after an urgent request and 7 days after a
  standard one (CMS-0057-F) [R128]. One summary says drugs are excluded; whether esketamine and
  ketamine requests under the medical benefit are covered is an open question (DOMAIN.md §8,
  item 23), so their deadline is shown with that caveat rather than dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum


class Status(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Facts:
    """What the record holds, read by the services from the patient's chart."""

    age_years: int | None = None
    phq9_total: int | None = None
    phq9_on: date | None = None
    # From the latest signed screening; None when there is no signed screening.
    failed_trials: int | None = None
    failed_drugs: tuple[str, ...] = ()
    sessions_planned: int | None = None
    # Prescribers' attestations: criterion key → {"status": "met"|"not_met", "note": str, ...}.
    attestations: Mapping[str, Mapping] = field(default_factory=dict)


@dataclass(frozen=True)
class Criterion:
    key: str
    label: str
    status: Status
    evidence: str
    source: str
    attestable: bool = False
    attested: bool = False

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "label": self.label,
            "status": str(self.status),
            "evidence": self.evidence,
            "source": self.source,
            "attested": self.attested,
        }


ADULT_AGE = 18  # [R38]; esketamine's label is for adults [R22]
PHQ9_MIN = 15  # Centene: PHQ-9 ≥ 15 [R38]
PHQ9_STRICT_ABOVE = 20  # BCBSM: PHQ-9 > 20 [R37]
FAILED_TRIALS_MIN = 2  # ≥ 2 failed antidepressants [R38, R61]
TMS_MAX_SESSIONS = 36  # payers cap a TMS course at 36 sessions [R38]

# The criteria of each service, in the order a payer's form asks them:
# key → (label, source, attestable by a prescriber).
CRITERIA: dict[str, dict[str, tuple[str, str, bool]]] = {
    "tms": {
        "adult": ("18 years or older", "[R38]", False),
        "phq9": ("PHQ-9 of 15 or more", "[R38]", False),
        "failed_trials": ("2 or more failed antidepressant trials", "[R38]", False),
        "trial_classes": ("Failed antidepressants of different classes", "[R38]", True),
        "psychotherapy": ("Psychotherapy tried", "[R38]", True),
        "device": ("FDA-cleared TMS device", "[R38]", True),
        "sessions": ("Course of 36 sessions or fewer", "[R38]", False),
    },
    "esketamine": {
        "adult": ("18 years or older (adults, per label)", "[R22]", False),
        "phq9": ("PHQ-9 of 15 or more", "[R38, R127]", False),
        "failed_trials": (
            "Treatment-resistant: 2 or more failed adequate antidepressant trials",
            "[R22, R61]",
            False,
        ),
        "trial_classes": ("Failed antidepressants of different classes", "[R38, R127]", True),
    },
    "iv_ketamine": {
        "adult": ("18 years or older", "[R38, R127]", False),
        "phq9": ("PHQ-9 of 15 or more", "[R38, R127]", False),
        "failed_trials": ("2 or more failed adequate antidepressant trials", "[R61, R127]", False),
        "trial_classes": ("Failed antidepressants of different classes", "[R38, R127]", True),
    },
}
SERVICES = tuple(CRITERIA)


def attestable(service: str) -> list[str]:
    return [key for key, (_, _, can) in CRITERIA.get(service, {}).items() if can]


def checklist(service: str, facts: Facts) -> list[Criterion]:
    """Each criterion of ``service`` with its status and the evidence it was read from."""
    rows = []
    for key, (label, source, can_attest) in CRITERIA[service].items():
        status, evidence = _READERS[key](facts)
        attested = False
        given = facts.attestations.get(key) if can_attest else None
        if given and given.get("status") in (Status.MET, Status.NOT_MET):
            status = Status(given["status"])
            who = given.get("by") or "a prescriber"
            note = (given.get("note") or "").strip()
            evidence = f"Attested by {who}" + (f": {note}" if note else "")
            attested = True
        rows.append(Criterion(key, label, status, evidence, source, can_attest, attested))
    return rows


def overall(rows: list[Criterion]) -> Status:
    """Not met when any criterion is not met; met when all are; otherwise unknown."""
    if any(row.status == Status.NOT_MET for row in rows):
        return Status.NOT_MET
    if all(row.status == Status.MET for row in rows):
        return Status.MET
    return Status.UNKNOWN


def _adult(facts: Facts) -> tuple[Status, str]:
    if facts.age_years is None:
        return Status.UNKNOWN, "No date of birth"
    status = Status.MET if facts.age_years >= ADULT_AGE else Status.NOT_MET
    return status, f"Age {facts.age_years}"


def _phq9(facts: Facts) -> tuple[Status, str]:
    if facts.phq9_total is None:
        return Status.UNKNOWN, "No PHQ-9 recorded"
    when = f" on {facts.phq9_on:%b %-d, %Y}" if facts.phq9_on else ""
    strict = " (also above 20, as stricter payers ask [R37])" if facts.phq9_total > 20 else ""
    status = Status.MET if facts.phq9_total >= PHQ9_MIN else Status.NOT_MET
    return status, f"Latest PHQ-9 {facts.phq9_total}{when}{strict}"


def _failed_trials(facts: Facts) -> tuple[Status, str]:
    if facts.failed_trials is None:
        return Status.UNKNOWN, "No signed screening"
    drugs = f": {', '.join(facts.failed_drugs)}" if facts.failed_drugs else ""
    status = Status.MET if facts.failed_trials >= FAILED_TRIALS_MIN else Status.NOT_MET
    return status, f"{facts.failed_trials} failed adequate trial(s) at screening{drugs}"


def _unknown(what: str):
    def read(facts: Facts) -> tuple[Status, str]:
        return Status.UNKNOWN, f"Not in the record: {what}"

    return read


def _sessions(facts: Facts) -> tuple[Status, str]:
    if facts.sessions_planned is None:
        return Status.UNKNOWN, "No course planned"
    status = Status.MET if facts.sessions_planned <= TMS_MAX_SESSIONS else Status.NOT_MET
    return status, f"{facts.sessions_planned} sessions planned"


_READERS = {
    "adult": _adult,
    "phq9": _phq9,
    "failed_trials": _failed_trials,
    "trial_classes": _unknown("a prescriber confirms the drugs' classes"),
    "psychotherapy": _unknown("a prescriber confirms psychotherapy was tried"),
    "device": _unknown("a prescriber confirms the device is FDA-cleared"),
    "sessions": _sessions,
}


# --- Units and window --------------------------------------------------------------------------


class Level(StrEnum):
    """How worried to be, the most pressing first."""

    EXCEEDED = "exceeded"  # more sessions used than approved
    EXPIRED = "expired"  # the window has ended and sessions are still to come
    USED_UP = "used_up"  # none left and sessions still to come
    LOW = "low"  # few left
    EXPIRING = "expiring"  # the window ends soon
    OK = "ok"


EXPIRY_WARN_DAYS = 14  # Trellis's choice: two weeks to ask the payer to extend the window


@dataclass(frozen=True)
class Usage:
    approved: int
    used: int
    to_come: int  # sessions of the course not yet over (planned, booked, in progress)
    starts_on: date | None
    ends_on: date | None
    today: date
    warn_remaining: int
    warn_days: int = EXPIRY_WARN_DAYS

    @property
    def remaining(self) -> int:
        return self.approved - self.used

    @property
    def days_left(self) -> int | None:
        return None if self.ends_on is None else (self.ends_on - self.today).days

    @property
    def levels(self) -> list[Level]:
        """Every warning that applies, the most pressing first; [OK] when none does."""
        found = []
        if self.used > self.approved:
            found.append(Level.EXCEEDED)
        if self.to_come and self.ends_on is not None and self.today > self.ends_on:
            found.append(Level.EXPIRED)
        if self.to_come and self.remaining == 0:
            found.append(Level.USED_UP)
        elif self.to_come and 0 < self.remaining <= self.warn_remaining:
            found.append(Level.LOW)
        if (
            self.to_come
            and self.ends_on is not None
            and 0 <= (self.ends_on - self.today).days <= self.warn_days
        ):
            found.append(Level.EXPIRING)
        return found or [Level.OK]

    @property
    def level(self) -> Level:
        return self.levels[0]

    def messages(self) -> list[str]:
        out = []
        for level in self.levels:
            if level == Level.EXCEEDED:
                out.append(
                    f"Authorisation exceeded: {self.used} sessions used, {self.approved} approved."
                )
            elif level == Level.EXPIRED:
                out.append(
                    f"Authorisation window ended {self.ends_on:%b %-d, %Y}; "
                    "sessions still to come are not covered."
                )
            elif level == Level.USED_UP:
                out.append(f"All {self.approved} approved sessions are used.")
            elif level == Level.LOW:
                out.append(f"Only {self.remaining} of {self.approved} approved sessions left.")
            elif level == Level.EXPIRING:
                days = self.days_left
                when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
                out.append(f"Authorisation window ends {when} ({self.ends_on:%b %-d, %Y}).")
        return out


# --- Decision deadline (CMS-0057-F) ------------------------------------------------------------

# Payer types the rule covers [R128].
CMS_0057_PAYER_TYPES = frozenset({"medicare_advantage", "medicaid", "chip", "exchange"})
CMS_0057_FROM = date(2026, 1, 1)
URGENT_HOURS = 72
STANDARD_DAYS = 7
DRUG_SERVICES = frozenset({"esketamine", "iv_ketamine"})


def decision_due(
    payer_type: str, submitted_at: datetime | None, *, urgent: bool
) -> datetime | None:
    """When the payer must decide a request submitted at ``submitted_at``: 72 hours for an urgent
    request, 7 days for a standard one, for the payer types the rule covers, from 1 January 2026
    [R128]; None when the rule does not apply."""
    if submitted_at is None or payer_type not in CMS_0057_PAYER_TYPES:
        return None
    if submitted_at.date() < CMS_0057_FROM:
        return None
    return submitted_at + (
        timedelta(hours=URGENT_HOURS) if urgent else timedelta(days=STANDARD_DAYS)
    )


def deadline_caveat(service: str) -> str:
    """The open question on drugs (DOMAIN.md §8, item 23), for esketamine and ketamine."""
    if service in DRUG_SERVICES:
        return (
            "One summary says the CMS-0057-F timeframes exclude drugs; whether this request "
            "is covered is not confirmed [R128]."
        )
    return ""
