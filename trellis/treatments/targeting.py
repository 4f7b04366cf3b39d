"""Locating the left DLPFC TMS target at F3 with the Beam F3 method [R44].

Pure functions, standard library only. The Beam method finds the EEG 10-20 point F3 from three
tape measurements of the head, without an EEG cap [R44]; it is more reliable than the 5.5 cm
rule [R43].

Formula, as the web calculator computes it (DOMAIN.md §3.2; angles in degrees)::

    R2 = 0.4 * TT            R1 = 0.4 * NI
    A  = (R2 * sin 324 + R1 / 2) / R2
    B  = R1 * sin 298 / (R1 * cos 298 - R2 / 2)
    x  = 1/2 * (R1 - R2 * B) / (A - B)
    y  = A * x - R1 / 2
    X  = CF / 4 * (90 + atan(y / x)) / 90
    Y  = 0.91 * sqrt(x^2 + y^2)

A literal transcription of the published paper's formula gives implausible positions, so this
follows the calculator version, which reproduces a published demonstration [R44, R45].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from trellis.lib.errors import InputError

# Plausible adult head measurements in cm. Outside these the number was almost certainly
# mistyped (or taken in inches), and the formula would give a point that is not on a head.
HEAD_RANGES_CM = {
    "tragus_tragus_cm": (20.0, 50.0),
    "nasion_inion_cm": (20.0, 50.0),
    "circumference_cm": (40.0, 75.0),
}

_SIN_324 = math.sin(math.radians(324))
_SIN_298 = math.sin(math.radians(298))
_COS_298 = math.cos(math.radians(298))


@dataclass(frozen=True)
class BeamF3:
    """Where to mark F3, in cm, rounded to 2 decimal places.

    ``x_cm`` (X): measure this far along the head circumference from the midline front (Fpz,
    above the nasion) towards the left ear, and mark the point.

    ``y_cm`` (Y): from the vertex (Cz, the midpoint of the nasion-inion line, where it crosses
    the tragus-tragus line), measure this far towards that mark. The end of Y is F3.
    """

    x_cm: float
    y_cm: float

    def as_dict(self) -> dict[str, float]:
        return {"x_cm": self.x_cm, "y_cm": self.y_cm}


def beam_f3(
    tragus_tragus_cm: float | Decimal,
    nasion_inion_cm: float | Decimal,
    circumference_cm: float | Decimal,
) -> BeamF3:
    """Beam F3 distances X and Y from the three head measurements, all in cm.

    36 cm tragus to tragus, 38 cm nasion to inion and 60 cm round give X 6.95 cm, Y 9.79 cm.
    Raises ``InputError`` naming the field for values that are not numbers or are outside the
    plausible head sizes in ``HEAD_RANGES_CM``.
    """
    tt = _measurement("tragus_tragus_cm", tragus_tragus_cm)
    ni = _measurement("nasion_inion_cm", nasion_inion_cm)
    cf = _measurement("circumference_cm", circumference_cm)

    r2 = 0.4 * tt
    r1 = 0.4 * ni
    a = (r2 * _SIN_324 + r1 / 2) / r2
    # B = n / d. For ordinary heads d = R1 cos 298 - R2 / 2 is close to zero (it is zero when
    # TT is about 0.94 NI, e.g. 36 and 38 cm), so B can be huge or undefined. x is computed
    # with numerator and denominator multiplied by d, which is the same formula algebraically
    # and stays exact there:
    #   x = 1/2 (R1 - R2 n/d) / (A - n/d) = 1/2 (R1 d - R2 n) / (A d - n).
    n = r1 * _SIN_298
    d = r1 * _COS_298 - r2 / 2
    x = 0.5 * (r1 * d - r2 * n) / (a * d - n)
    y = a * x - r1 / 2
    if not (math.isfinite(x) and math.isfinite(y)) or x <= 0:
        raise InputError("head_measurements", "do not give a position on the head; check them")
    big_x = cf / 4 * (90 + math.degrees(math.atan(y / x))) / 90
    big_y = 0.91 * math.hypot(x, y)
    # F3 lies in the front-left quarter of the head: X within a quarter of the circumference,
    # Y within half the nasion-inion distance. Anything else means the formula has gone wrong.
    if not (0 < big_x < cf / 4 and 0 < big_y < ni / 2):
        raise InputError("head_measurements", "do not give a position on the head; check them")
    return BeamF3(x_cm=round(big_x, 2), y_cm=round(big_y, 2))


def _measurement(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise InputError(field, "must be a number of cm")
    number = float(value)
    if not math.isfinite(number):
        raise InputError(field, "must be a finite number of cm")
    low, high = HEAD_RANGES_CM[field]
    if not low <= number <= high:
        raise InputError(field, f"must be between {low:g} and {high:g} cm")
    return number
