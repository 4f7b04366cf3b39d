"""Good Faith Estimates for uninsured and self-pay patients (45 CFR 149.610; DOMAIN.md §14).

Pure functions, standard library only: what a course is expected to cost and when the estimate
is due. Each rule cites its source ([Rn], written out in ``docs/sources.md``):

- **Items** [R121]: the expected items and services of the primary service, each with its
  service code, units and expected charge. A course's codes come from its protocol and the
  coding rules (``trellis.billing.coding``: self-pay patients' estimates carry the same codes as
  commercial claims [R117, R121]), priced from the clinic's fee schedule (one fee per code
  [R117]). A code without a fee is refused, naming it: an estimate with a gap is not an estimate.
- **Dispute threshold** [R122]: a patient may dispute a bill that is $400 or more above the
  estimate for a provider (45 CFR 149.620), so the threshold is the total + $400.
- **Deadlines** [R121]: a service scheduled at least 3 business days ahead → the estimate within
  1 business day of scheduling; at least 10 business days ahead → within 3 business days;
  asked for without scheduling → within 3 business days of the request. A service scheduled
  fewer than 3 business days ahead needs none by this rule.
- **Business days** are weekdays on which the clinic is open: not a public holiday of its
  country and state (``trellis.treatments.public_holidays``) and not one of its closure days.
  149.610 counts business days; which days count is the clinic's, so its own calendar is used.
- **Validity**: the rule sets no expiry date. Trellis dates an estimate's expiry 12 months after
  issue, the longest period the expected items of a recurring service are estimated for; a
  clinic re-issues one when its prices or the plan change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from trellis.billing import coding
from trellis.lib.errors import Conflict, InputError

DISPUTE_THRESHOLD = Decimal("400.00")  # billed ≥ $400 over the estimate may be disputed [R122]
VALID_DAYS = 365  # Trellis's choice: an estimate covers at most 12 months of a recurring service
CENT = Decimal("0.01")

# Modalities of a protocol and the service the coding rules know them by.
SERVICES = {
    "iv_ketamine": coding.Service.IV_KETAMINE,
    "esketamine": coding.Service.ESKETAMINE,
    "tms": coding.Service.TMS,
}


class Basis(StrEnum):
    """Why the estimate is given: a service was scheduled, or the patient asked for one."""

    SCHEDULED = "scheduled"
    REQUESTED = "requested"


@dataclass(frozen=True)
class Line:
    code: str
    label: str
    units: int
    unit_price: Decimal
    source: str

    @property
    def amount(self) -> Decimal:
        return (self.unit_price * self.units).quantize(CENT)

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "label": self.label,
            "units": self.units,
            "unit_price": f"{self.unit_price:.2f}",
            "amount": f"{self.amount:.2f}",
            "source": self.source,
        }


@dataclass(frozen=True)
class Estimate:
    lines: tuple[Line, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00")).quantize(CENT)

    @property
    def dispute_threshold(self) -> Decimal:
        """The bill at or above which the patient may dispute it: total + $400 [R122]."""
        return self.total + DISPUTE_THRESHOLD


def expected_codes(
    modality: str,
    sessions: int,
    defaults: Mapping,
    *,
    visit_code: str = coding.DEFAULT_VISIT_CODE,
) -> list[tuple[str, int]]:
    """The codes and units of a whole course of ``sessions`` of ``modality``, by the coding
    rules for a self-pay patient, in the order first billed: TMS 90867 once then 90868 for each
    later session [R50]; esketamine the visit and J0013 per mg of each dose [R72] (first dose
    ``first_dose_mg``, later ``dose_mg``); IV ketamine the infusion codes for ``minutes`` and the
    drug, per session [R126, R127]."""
    service = SERVICES.get(modality)
    if service is None:
        raise InputError("protocol", f"Trellis has no charge codes for {modality} courses yet")
    if not isinstance(sessions, int) or sessions < 1:
        raise InputError("protocol", "must plan at least one session")
    per_session: list[list[coding.CodeLine]] = []
    for number in range(1, sessions + 1):
        if service == coding.Service.TMS:
            lines = coding.tms_codes(first_in_course=number == 1)
        elif service == coding.Service.ESKETAMINE:
            mg = defaults.get("first_dose_mg" if number == 1 else "dose_mg") or defaults.get(
                "dose_mg"
            )
            lines = coding.esketamine_codes(
                dose_mg=mg, payer_type=coding.PayerType.SELF_PAY, visit_code=visit_code
            )
        else:
            lines = coding.infusion_codes(minutes=defaults.get("minutes"))
        per_session.append(lines)
    units: dict[str, int] = {}
    for lines in per_session:
        for line in lines:
            units[line.code] = units.get(line.code, 0) + line.units
    return list(units.items())


def price(codes: Iterable[tuple[str, int]], fees: Mapping[str, Decimal]) -> Estimate:
    """The lines of ``codes`` priced from the fee schedule ``fees`` (code → US dollars). A code
    without a fee is a ``Conflict`` naming it (HTTP 409)."""
    lines = []
    missing = []
    for code, units in codes:
        fee = fees.get(code)
        if fee is None:
            missing.append(code)
            continue
        label, source = coding.CODES[code]
        lines.append(Line(code, label, units, Decimal(fee).quantize(CENT), f"[{source}]"))
    if missing:
        raise Conflict(
            f"The fee schedule has no fee for {', '.join(missing)}; "
            "set it before giving an estimate.",
            code="fee_missing",
        )
    return Estimate(tuple(lines))


# --- Deadlines ---------------------------------------------------------------------------------

NEAR_BUSINESS_DAYS = 3  # scheduled at least 3 business days ahead → due within 1 [R121]
FAR_BUSINESS_DAYS = 10  # scheduled at least 10 business days ahead → due within 3 [R121]


def is_business_day(day: date, closed: Callable[[date], bool]) -> bool:
    """A weekday on which the clinic is open (``closed(day)`` false)."""
    return day.weekday() < 5 and not closed(day)


def add_business_days(start: date, count: int, closed: Callable[[date], bool]) -> date:
    """The ``count``-th business day after ``start`` (``start`` itself is not counted)."""
    day = start
    left = count
    while left > 0:
        day += timedelta(days=1)
        if is_business_day(day, closed):
            left -= 1
    return day


def business_days_between(start: date, end: date, closed: Callable[[date], bool]) -> int:
    """Business days after ``start`` up to and including ``end`` (0 when ``end`` ≤ ``start``)."""
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_business_day(day, closed):
            count += 1
    return count


def due_date(
    basis: Basis | str,
    requested_on: date,
    service_date: date | None,
    closed: Callable[[date], bool],
) -> date | None:
    """When the estimate must reach the patient, or None when the rule sets no deadline (a
    service scheduled fewer than 3 business days ahead) [R121]. ``requested_on`` is the day the
    service was scheduled or the estimate asked for."""
    kind = Basis(basis)
    if kind == Basis.REQUESTED:
        return add_business_days(requested_on, 3, closed)
    if service_date is None:
        raise InputError("service_date", "is required when the service is scheduled")
    if service_date < requested_on:
        raise InputError("service_date", "must not be before the day it was scheduled")
    ahead = business_days_between(requested_on, service_date, closed)
    if ahead >= FAR_BUSINESS_DAYS:
        return add_business_days(requested_on, 3, closed)
    if ahead >= NEAR_BUSINESS_DAYS:
        return add_business_days(requested_on, 1, closed)
    return None


def expires_on(issued_on: date) -> date:
    return issued_on + timedelta(days=VALID_DAYS)


# --- A bill against its estimate -----------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """What was billed against an estimate: the estimate's total, the charges billed for what
    it covered, how far over the estimate that is (0 when under), and whether the patient may
    dispute the bill — billed at least $400 more than the estimate [R122]."""

    estimated: Decimal
    billed: Decimal
    over: Decimal
    disputable: bool


def compare(estimated: Decimal, billed: Decimal) -> Comparison:
    """A bill of ``billed`` US dollars against an estimate of ``estimated``. The patient may
    dispute it when it is at least $400 over the estimate (45 CFR 149.620: "at least $400 more
    than the total amount of expected charges") [R122]: $399.99 over is not, $400.00 is."""
    estimated = Decimal(estimated).quantize(CENT)
    billed = Decimal(billed).quantize(CENT)
    over = max(billed - estimated, Decimal("0.00"))
    return Comparison(estimated, billed, over, over >= DISPUTE_THRESHOLD)


# --- Diagnosis codes ---------------------------------------------------------------------------

# An ICD-10-CM code as written on a claim: a letter, two characters, then up to four after a
# dot (F32.9, F33.1, F32.A) [R124].
_ICD10 = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")


def clean_diagnoses(codes: Iterable[str], field: str = "diagnosis_codes") -> list[str]:
    """ICD-10-CM codes upper-cased, each once, in order; at most 12 (CMS-1500 item 21 [R124])."""
    if isinstance(codes, str):
        codes = [part for part in codes.replace(";", ",").split(",")]
    cleaned: list[str] = []
    for index, raw in enumerate(codes):
        if not isinstance(raw, str):
            raise InputError(f"{field}[{index}]", "must be an ICD-10-CM code such as F33.1")
        code = raw.strip().upper()
        if not code:
            continue
        if not _ICD10.match(code):
            raise InputError(f"{field}[{index}]", f"{raw!r} is not an ICD-10-CM code (e.g. F33.1)")
        if code not in cleaned:
            cleaned.append(code)
    if len(cleaned) > 12:
        raise InputError(field, "may list at most 12 diagnoses")
    return cleaned
