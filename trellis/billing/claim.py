"""The CMS-1500 (02/12) claim form: which charges go on which form, the diagnoses of item 21,
each line's pointers (24E) and the totals (28, 29). Pure: no database, no dates of its own.

The items follow the NUCC's instructions as DOMAIN.md §14 summarises them [R124]:

- 21: the ICD indicator ``0`` (ICD-10-CM) and up to 12 diagnoses, lettered A–L.
- 24: up to six service lines a form; 24A the dates of service, 24B the place of service
  (11 office, 02 telehealth), 24D the code and up to four modifiers, 24E up to four pointer
  letters into item 21, 24F the charge, 24G the units, 24I the qualifier and 24J the rendering
  provider's NPI.
- 24 (shaded line): supplemental information about the line below it — a drug's NDC as
  ``N4`` + 11 digits, then its unit and quantity (``ndc.py``); the participants of a group
  psychotherapy line (90853), which the claim must show [R103].
- 25: the billing provider's federal tax id — the clinic's EIN, never the payer's.
- 28: the total charge of the form's lines; 29 what has been paid on them.

A claim with more than six lines, or whose lines need more than twelve diagnoses, continues on
another form; each form's item 21 holds the diagnoses its own lines point at.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from trellis.billing import diagnoses

ICD_INDICATOR = "0"  # item 21: 0 = ICD-10-CM [R124]
LINES_PER_FORM = 6  # item 24 has six service lines [R124]

# Item 1: the box to check for the payer's type. Trellis's mapping: plans bought by or through
# an employer or a marketplace, and Medicare Advantage plans billed as commercial plans, are
# "Group health plan"; workers' compensation and anything else is "Other".
INSURANCE_TYPES = (
    "Medicare",
    "Medicaid",
    "TRICARE",
    "CHAMPVA",
    "Group health plan",
    "FECA",
    "Other",
)
INSURANCE_TYPE_OF_PAYER = {
    "medicare": "Medicare",
    "medicaid": "Medicaid",
    "chip": "Medicaid",
    "tricare": "TRICARE",
    "commercial": "Group health plan",
    "exchange": "Group health plan",
    "medicare_advantage": "Group health plan",
}


def insurance_type(payer_type: str) -> str:
    """Item 1's box for a payer of ``payer_type`` (a ``PayerType`` value)."""
    return INSURANCE_TYPE_OF_PAYER.get(str(payer_type), "Other")


def group_text(participant_count: int) -> str:
    """How a group psychotherapy line states its participants, e.g. ``GROUP OF 8 PARTICIPANTS``."""
    return f"GROUP OF {participant_count} PARTICIPANT{'S' * (participant_count != 1)}"


@dataclass(frozen=True)
class Item:
    """One charge as the claim reads it."""

    service_date: date
    place_of_service: str
    code: str
    modifiers: tuple[str, ...]
    units: int
    amount: Decimal
    diagnosis_codes: tuple[str, ...]
    rendering_npi: str
    paid: Decimal = Decimal("0.00")
    key: object = None  # the charge it came from
    # The shaded line above it: a drug's N4, NDC, unit and quantity (``ndc.supplemental_line``).
    supplemental: str = ""
    # Group psychotherapy (90853): the participants present, which the claim must show [R103].
    participant_count: int | None = None

    @property
    def shaded(self) -> str:
        """The text of the shaded line above the service line: a drug's NDC (qualifier N4), or
        the participants of a group psychotherapy line — a narrative, which has no qualifier
        [R103, R124]."""
        if self.supplemental:
            return self.supplemental
        if self.participant_count:
            return group_text(self.participant_count)
        return ""


@dataclass(frozen=True)
class Line:
    """One row of item 24."""

    item: Item
    pointers: str  # 24E: letters into this form's item 21

    @property
    def modifiers(self) -> str:
        return " ".join(self.item.modifiers)


@dataclass
class Form:
    """One CMS-1500: its diagnoses (item 21), its lines (24) and totals (28, 29)."""

    diagnoses: list[str] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)

    @property
    def lettered(self) -> list[tuple[str, str]]:
        return [(diagnoses.letter(i), code) for i, code in enumerate(self.diagnoses)]

    @property
    def total(self) -> Decimal:
        return sum((line.item.amount for line in self.lines), Decimal("0.00"))

    @property
    def paid(self) -> Decimal:
        return sum((line.item.paid for line in self.lines), Decimal("0.00"))


def _line_codes(item: Item) -> list[str]:
    """The codes a line points at: its first four, each once [R124]."""
    return list(dict.fromkeys(item.diagnosis_codes))[: diagnoses.POINTERS_PER_LINE]


def forms(items: Iterable[Item]) -> list[Form]:
    """Lay ``items`` out on as many forms as they need, in date order: at most six lines a form,
    and at most twelve diagnoses in its item 21. Each line points at its own diagnoses (up to
    four) by their letters on its form."""
    result: list[Form] = []
    current = Form()
    for item in sorted(items, key=lambda i: (i.service_date, i.code)):
        codes = _line_codes(item)
        needed = [c for c in codes if c not in current.diagnoses]
        if current.lines and (
            len(current.lines) >= LINES_PER_FORM
            or len(current.diagnoses) + len(needed) > diagnoses.MAX_ON_CLAIM
        ):
            result.append(current)
            current = Form()
        current.diagnoses.extend(c for c in codes if c not in current.diagnoses)
        letters = "".join(diagnoses.letter(current.diagnoses.index(c)) for c in codes)
        current.lines.append(Line(item=item, pointers=letters))
    if current.lines:
        result.append(current)
    return result


def billable(charges: Sequence) -> list:
    """The charges a claim carries: neither a credit nor a line a credit cancelled (the
    correction's new line is carried instead)."""
    credited = {c.credits_id for c in charges if c.credits_id}
    return [c for c in charges if not c.credits_id and c.pk not in credited]
