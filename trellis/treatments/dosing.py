"""IV ketamine infusion arithmetic, clinic dose limits and escalating-dose detection.

Pure functions, standard library only. Everything here supports, and never replaces, the
prescriber's order: the numbers are checked against the published protocol [R1, R10, R11] and
the clinic's own limits, and anything unusual comes back as a warning to read, not a silent fix.

Infusion math (DOMAIN.md §1.1), with units::

    dose_mg       = dose_mg_per_kg * weight_kg
    drug_ml       = dose_mg / vial_mg_per_ml
    total_ml      = diluent_ml + drug_ml
    bag_mg_per_ml = dose_mg / total_ml
    rate_ml_per_h = total_ml / minutes * 60

Worked example: 80 kg at 0.5 mg/kg = 40 mg; 0.8 mL of 50 mg/mL into 100 mL = 100.8 mL
(0.397 mg/mL); over 40 min that is 151.2 mL/h.

Arithmetic is ``Decimal`` throughout, so a float such as 0.1 is taken as written (through its
shortest ``repr``) rather than as its binary approximation. Each output is computed from the
exact intermediate values and rounded once, half up, to the precision a nurse reads off a
syringe or programs into a pump (see ``ROUNDING``). Rounding intermediates first would let
rounding errors compound into the rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from itertools import pairwise
from typing import NamedTuple

from trellis.lib.errors import InputError

# Plausibility bounds for input. Values outside are typing errors, not clinical choices, so they
# are rejected; values inside but off-protocol are accepted with a warning. The lower bounds
# are far below any protocol (a tenth of the lowest studied dose, an infusion of one minute)
# and stop a mistyped 0.0001 from producing a dose or a rate that means nothing.
MIN_WEIGHT_KG = Decimal(2)
MAX_WEIGHT_KG = Decimal(400)
MIN_DOSE_MG_PER_KG = Decimal("0.01")
MAX_DOSE_MG_PER_KG = Decimal(5)
MIN_MINUTES = Decimal(1)
MAX_MINUTES = Decimal(600)
# 100 mg/mL is the strongest ketamine vial sold [R10]; 0.1 mg/mL is ten times weaker than the
# weakest usual infusion concentration.
MIN_VIAL_MG_PER_ML = Decimal("0.1")
MAX_VIAL_MG_PER_ML = Decimal(100)
MAX_DILUENT_ML = Decimal(1000)
# The fastest rate a volumetric infusion pump can be programmed to: a device setting, not a
# clinical value. General-purpose hospital pumps top out at 999 or 1200 mL/h; 999 mL/h, the lower,
# is the limit every pump in use can run. A faster rate means the minutes or the volume are wrong.
MAX_PUMP_RATE_ML_PER_H = Decimal(999)

# Each input's range, for the API's schema: (lowest, highest, lowest is exclusive).
INPUT_RANGES = {
    "weight_kg": (MIN_WEIGHT_KG, MAX_WEIGHT_KG),
    "dose_mg_per_kg": (MIN_DOSE_MG_PER_KG, MAX_DOSE_MG_PER_KG),
    "minutes": (MIN_MINUTES, MAX_MINUTES),
    "vial_mg_per_ml": (MIN_VIAL_MG_PER_ML, MAX_VIAL_MG_PER_ML),
    "diluent_ml": (Decimal(0), MAX_DILUENT_ML),
}

# Range studied for depression [R1, R11].
STUDIED_DOSE_MG_PER_KG = (Decimal("0.1"), Decimal("0.75"))
STUDIED_MINUTES = (Decimal(2), Decimal(100))
# Vials come as 10, 50 and 100 mg/mL; infusions are often made up at 1 or 2 mg/mL [R10].
USUAL_CONCENTRATIONS_MG_PER_ML = frozenset(Decimal(v) for v in (1, 2, 10, 50, 100))
# 100 mg/mL must be diluted before IV use [R10].
MUST_DILUTE_MG_PER_ML = Decimal(100)

# Decimal places of each output, rounded half up.
ROUNDING = {
    "dose_mg": Decimal("0.01"),
    "drug_ml": Decimal("0.01"),
    "total_ml": Decimal("0.01"),
    "bag_mg_per_ml": Decimal("0.001"),
    "rate_ml_per_h": Decimal("0.1"),
}

_CONTEXT = Context(prec=28, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Infusion:
    """A computed infusion. Amounts are ``Decimal`` rounded as in ``ROUNDING``."""

    dose_mg: Decimal
    drug_ml: Decimal
    total_ml: Decimal
    bag_mg_per_ml: Decimal
    rate_ml_per_h: Decimal
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, float | list[str]]:
        """JSON-ready: amounts as numbers (already rounded), warnings as a list."""
        return {
            "dose_mg": float(self.dose_mg),
            "drug_ml": float(self.drug_ml),
            "total_ml": float(self.total_ml),
            "bag_mg_per_ml": float(self.bag_mg_per_ml),
            "rate_ml_per_h": float(self.rate_ml_per_h),
            "warnings": list(self.warnings),
        }


def calculate_infusion(
    weight_kg: float | Decimal,
    dose_mg_per_kg: float | Decimal,
    minutes: float | Decimal,
    vial_mg_per_ml: float | Decimal,
    diluent_ml: float | Decimal,
) -> Infusion:
    """Work out dose, volumes, bag concentration and pump rate for one ketamine infusion.

    Raises ``InputError`` naming the field for values that are not numbers or are implausible
    (0 kg, negative minutes, 5000 mg/mL, 1e-308 minutes) and naming ``minutes`` when the rate
    is faster than a pump can run (``MAX_PUMP_RATE_ML_PER_H``). Off-protocol but possible values
    are returned with ``warnings``.
    """
    weight = _in_range("weight_kg", weight_kg, "kg")
    mg_per_kg = _in_range("dose_mg_per_kg", dose_mg_per_kg, "mg/kg")
    duration = _in_range("minutes", minutes, "min")
    vial = _in_range("vial_mg_per_ml", vial_mg_per_ml, "mg/mL")
    diluent = _in_range("diluent_ml", diluent_ml, "mL")

    with localcontext(_CONTEXT):
        dose_mg = mg_per_kg * weight
        drug_ml = dose_mg / vial
        total_ml = diluent + drug_ml
        bag_mg_per_ml = dose_mg / total_ml
        rate_ml_per_h = total_ml / duration * 60
        if rate_ml_per_h > MAX_PUMP_RATE_ML_PER_H:
            raise InputError(
                "minutes",
                f"give {_plain(total_ml.quantize(Decimal('0.01')))} mL over {_plain(duration)} min "
                f"at {_plain(_round('rate_ml_per_h', rate_ml_per_h))} mL/h, faster than an "
                f"infusion pump runs (at most {MAX_PUMP_RATE_ML_PER_H} mL/h); check the minutes "
                "and the volume",
            )
        return Infusion(
            dose_mg=_round("dose_mg", dose_mg),
            drug_ml=_round("drug_ml", drug_ml),
            total_ml=_round("total_ml", total_ml),
            bag_mg_per_ml=_round("bag_mg_per_ml", bag_mg_per_ml),
            rate_ml_per_h=_round("rate_ml_per_h", rate_ml_per_h),
            warnings=tuple(_infusion_warnings(mg_per_kg, duration, vial, diluent)),
        )


def _infusion_warnings(
    mg_per_kg: Decimal, minutes: Decimal, vial: Decimal, diluent: Decimal
) -> list[str]:
    warnings = []
    low, high = STUDIED_DOSE_MG_PER_KG
    if not low <= mg_per_kg <= high:
        warnings.append(
            f"{_plain(mg_per_kg)} mg/kg is outside the {low} to {high} mg/kg range studied "
            "for depression [R1, R11]"
        )
    low, high = STUDIED_MINUTES
    if not low <= minutes <= high:
        warnings.append(
            f"{_plain(minutes)} min is outside the {low} to {high} min infusion times studied "
            "for depression [R1, R11]"
        )
    if vial >= MUST_DILUTE_MG_PER_ML and diluent == 0:
        warnings.append(
            f"{_plain(vial)} mg/mL ketamine must be diluted before IV use, but no diluent "
            "is given [R10]"
        )
    if vial not in USUAL_CONCENTRATIONS_MG_PER_ML:
        # Not an error (a pharmacy may prepare other strengths), but a typed 5 for 50 or a
        # 10 for 100 changes the dose tenfold, so it is worth a second look.
        warnings.append(
            f"{_plain(vial)} mg/mL is not a ketamine vial strength (10, 50, 100 mg/mL) or a "
            "usual infusion concentration (1, 2 mg/mL); check the label [R10]"
        )
    return warnings


class DoseLimitViolation(NamedTuple):
    """One clinic hard limit that an ordered dose breaks."""

    field: str
    message: str


def check_dose_limits(
    dose_mg_per_kg: float | Decimal,
    dose_mg: float | Decimal,
    max_mg_per_kg: float | Decimal | None,
    max_mg: float | Decimal | None,
) -> list[DoseLimitViolation]:
    """Compare an ordered dose with the clinic's hard limits; return what it breaks.

    The maximum IV ketamine dose is not settled in the literature, so the limits are clinic
    policy, not a published value (DOMAIN.md §8 item 2). ``None`` means the clinic has set no
    limit of that kind. A dose equal to a limit is within it. An empty list means no limit is
    broken.
    """
    per_kg = _number("dose_mg_per_kg", dose_mg_per_kg)
    _require_above_zero("dose_mg_per_kg", per_kg, "mg/kg")
    total = _number("dose_mg", dose_mg)
    _require_above_zero("dose_mg", total, "mg")
    violations = []
    if max_mg_per_kg is not None:
        limit = _number("max_mg_per_kg", max_mg_per_kg)
        _require_above_zero("max_mg_per_kg", limit, "mg/kg")
        if per_kg > limit:
            violations.append(
                DoseLimitViolation(
                    "dose_mg_per_kg",
                    f"{_plain(per_kg)} mg/kg is above the clinic limit of {_plain(limit)} mg/kg",
                )
            )
    if max_mg is not None:
        limit = _number("max_mg", max_mg)
        _require_above_zero("max_mg", limit, "mg")
        if total > limit:
            violations.append(
                DoseLimitViolation(
                    "dose_mg",
                    f"{_plain(total)} mg is above the clinic limit of {_plain(limit)} mg",
                )
            )
    return violations


# Clinic policy defaults: DOMAIN.md gives no published threshold for an escalating dose.
ESCALATION_CONSECUTIVE_INCREASES = 3
ESCALATION_RISE_PCT = Decimal(50)


@dataclass(frozen=True)
class DoseEscalation:
    """Whether a patient's ketamine dose is escalating, and why."""

    escalating: bool
    reasons: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, bool | list[str]]:
        return {"escalating": self.escalating, "reasons": list(self.reasons)}


def check_dose_escalation(
    doses_mg_per_kg: Sequence[float | Decimal],
    *,
    consecutive_increases: int = ESCALATION_CONSECUTIVE_INCREASES,
    rise_pct: float | Decimal = ESCALATION_RISE_PCT,
    unit: str = "mg/kg",
    doses_word: str = "infusions",
) -> DoseEscalation:
    """Flag a dose that keeps going up, from a patient's doses in ``unit``, oldest first
    (IV ketamine in mg/kg; oral and sublingual ketamine in mg per dose, given in the clinic or
    prescribed for home, which ``doses_word`` names).

    Escalating means either:

    - each of the last ``consecutive_increases`` doses was a higher dose than the one
      before it (so 3 needs four doses, each above the last); an equal dose breaks the run; or
    - the latest dose is more than ``rise_pct`` per cent above the first.

    This is clinic policy, not a published rule: DOMAIN.md gives no threshold for dose
    escalation (nor a maximum dose, §8 item 2), so both numbers are settings and the defaults
    (3 increases in a row, 50 %) are a starting point for the clinic to review. A flag asks a
    prescriber to look; it is not a finding of tolerance or misuse.
    """
    if isinstance(doses_mg_per_kg, str | bytes) or not isinstance(doses_mg_per_kg, Sequence):
        raise InputError("doses_mg_per_kg", "must be a list of doses in mg/kg, oldest first")
    doses = []
    for index, value in enumerate(doses_mg_per_kg):
        field = f"doses_mg_per_kg[{index}]"
        dose = _number(field, value)
        _require_above_zero(field, dose, unit)
        doses.append(dose)
    if isinstance(consecutive_increases, bool) or not isinstance(consecutive_increases, int):
        raise InputError("consecutive_increases", "must be a whole number")
    if consecutive_increases < 1:
        raise InputError("consecutive_increases", "must be at least 1")
    threshold = _number("rise_pct", rise_pct)
    if threshold < 0:
        raise InputError("rise_pct", "must be 0 % or more")

    reasons = []
    recent = doses[-(consecutive_increases + 1) :]
    if len(recent) == consecutive_increases + 1 and all(
        earlier < later for earlier, later in pairwise(recent)
    ):
        steps = " to ".join(_plain(dose) for dose in recent)
        reasons.append(
            f"the dose rose at each of the last {consecutive_increases} {doses_word} "
            f"({steps} {unit})"
        )
    if len(doses) >= 2:
        first, latest = doses[0], doses[-1]
        with localcontext(_CONTEXT):
            rise = (latest - first) / first * 100
        if rise > threshold:
            shown = rise.quantize(Decimal(1), rounding=ROUND_HALF_UP)
            reasons.append(
                f"the latest dose, {_plain(latest)} {unit}, is {_plain(shown)} % above the "
                f"first, {_plain(first)} {unit} (clinic threshold {_plain(threshold)} %)"
            )
    return DoseEscalation(escalating=bool(reasons), reasons=tuple(reasons))


def _number(field: str, value: object) -> Decimal:
    """``value`` as a finite Decimal, or InputError. Booleans and strings are refused."""
    if isinstance(value, bool):
        raise InputError(field, "must be a number, not true or false")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(field, "must be a finite number")
        # repr gives the shortest string that round-trips: 0.1 stays 0.1, not 0.1000000000000000055…
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InputError(field, "must be a finite number")
        return value
    raise InputError(field, "must be a number")


def _in_range(field: str, value: object, unit: str) -> Decimal:
    """``value`` as a Decimal within ``INPUT_RANGES[field]``, or InputError naming ``field``."""
    number = _number(field, value)
    low, high = INPUT_RANGES[field]
    if number < low:
        rule = f"must be {low} {unit} or more" if low == 0 else f"must be at least {low} {unit}"
        raise InputError(field, rule)
    _require_at_most(field, number, high, unit)
    return number


def _require_above_zero(field: str, value: Decimal, unit: str) -> None:
    if value <= 0:
        raise InputError(field, f"must be greater than 0 {unit}")


def _require_at_most(field: str, value: Decimal, limit: Decimal, unit: str) -> None:
    if value > limit:
        raise InputError(field, f"must be at most {limit} {unit}")


def _round(output: str, value: Decimal) -> Decimal:
    return value.quantize(ROUNDING[output], rounding=ROUND_HALF_UP)


def _plain(value: Decimal) -> str:
    """A Decimal as people write it: 0.5 not 0.50, 40 not 4E+1."""
    return format(value.normalize(), "f")
