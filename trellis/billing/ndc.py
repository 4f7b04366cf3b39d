"""The National Drug Code as a claim carries it: 11 digits in the 5-4-2 layout, on the shaded
supplemental line above a drug's service line (CMS-1500 item 24) [R124, R127].

A package's NDC is printed in one of three 10-digit layouts — 4-4-2, 5-3-2 or 5-4-1 — and a
claim wants 11 digits: the segment that is one digit short gets a leading zero (labeler to 5,
product to 4, package to 2). A 10-digit code without its hyphens cannot be converted, since
the layout is unknown. Pure: no Django.
"""

from __future__ import annotations

import re
from decimal import Decimal

QUALIFIER = "N4"  # the NDC's qualifier on the shaded line [R124]

# Unit qualifiers of the shaded line: F2 international unit, GR gram, ME milligram,
# ML millilitre, UN unit. Trellis bills the ketamine drawn in milligrams, as the ledger counts
# it (DOMAIN.md's sources give no unit for J3490; see docs/billing.md).
MILLIGRAM = "ME"

_SEGMENTED = re.compile(r"(\d{4,5})-(\d{3,4})-(\d{1,2})")
_WIDTHS = (5, 4, 2)


class NdcError(ValueError):
    """An NDC that cannot be put into its 11-digit form."""


def eleven_digits(ndc: str) -> str:
    """``ndc`` as 11 digits without hyphens (5-4-2). Takes 4-4-2, 5-3-2 and 5-4-1 (and 5-4-2)
    with their hyphens, or 11 digits without; raises ``NdcError`` otherwise."""
    text = (ndc or "").strip()
    if re.fullmatch(r"\d{11}", text):
        return text
    if re.fullmatch(r"\d{10}", text):
        raise NdcError(f"{text} has no hyphens: its layout (4-4-2, 5-3-2 or 5-4-1) is unknown")
    found = _SEGMENTED.fullmatch(text)
    if found is None:
        raise NdcError(f"{text!r} is not an NDC (e.g. 0409-2053-10)")
    parts = found.groups()
    short = [width - len(part) for part, width in zip(parts, _WIDTHS, strict=True)]
    if sum(short) > 1:
        raise NdcError(f"{text} is neither a 10-digit nor an 11-digit NDC")
    return "".join(part.zfill(width) for part, width in zip(parts, _WIDTHS, strict=True))


def quantity_text(quantity: Decimal) -> str:
    """The quantity as the shaded line writes it: up to three decimals, no trailing zeros."""
    text = f"{Decimal(quantity).quantize(Decimal('0.001')):f}".rstrip("0").rstrip(".")
    return text or "0"


def supplemental_line(ndc11: str, unit: str, quantity: Decimal) -> str:
    """The shaded line's text: ``N4``, the 11-digit NDC, a space, the unit qualifier and the
    quantity, e.g. ``N400409205310 ME40`` [R124]."""
    return f"{QUALIFIER}{ndc11} {unit}{quantity_text(quantity)}"
