"""Which CPT/HCPCS codes a service is billed with (DOMAIN.md §6, §11, §12, §14).

Pure functions, standard library only: the one definition of Trellis's coding rules. Each rule
cites its source ([Rn], written out in ``docs/sources.md``):

- **TMS** [R50]: 90867 for the first session of a course (mapping, motor threshold, treatment;
  once per course); 90868 for each later session; 90869 instead of 90868 for a later session in
  which the motor threshold is re-determined (re-determination with delivery and management).
- **Esketamine** [R71, R72]: Medicare pays a visit G-code that bundles the drug, supervision and
  the 2-hour observation: G2082 for up to 56 mg, G2083 for more than 56 mg. Other payers (and
  self-pay, whose superbill and estimate use the same codes [R117, R121]) get J0013, 1 unit per
  mg (56 mg = 56 units), plus an office visit. DOMAIN.md names no visit code: the visit is a
  clinic setting (``billing_visit_code``, an established-patient office visit 99211–99215,
  default 99213), whose level the prescriber's decision making sets [R102].
  Doses are whole mg from 1 to 84, the label's highest dose [R22].
- **IV infusion** [R126, R127]: 96365 for the first hour when the infusion runs more than
  15 minutes (16 minutes or more); 15 minutes or less is a push, 96374. +96366 for each
  additional hour, counted once more than 30 minutes of that hour have run: 90 minutes is
  96365 alone, 91 to 150 minutes add one 96366, 151 to 210 two. DOMAIN.md states "each
  additional hour" [R126]; the 30-minute mark is the rule as issue 16 states it (CPT's mid-point
  convention for timed units). The drug is J3490 (unclassified), 1 unit, the NDC on the claim
  [R127].
- **Psychotherapy with an E/M visit** [R102]: the visit code (the clinic setting above) plus the
  add-on by psychotherapy minutes: +90833 for 16–37, +90836 for 38–52, +90838 for 53 or more;
  under 16 minutes no add-on.
- **Psychotherapy alone** [R102]: 90832 for 16–37, 90834 for 38–52, 90837 for 53 or more
  minutes, when no E/M visit is billed with it (a therapist who is not a prescriber); never
  with an E/M visit.
- **Group psychotherapy** [R103, R104]: 90853 once per attendee present, one line each (each is
  on that attendee's own claim); at most 12 participants [R103, R104].

The labels are Trellis's own short wording: CPT descriptors are licensed and are not shipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from trellis.lib.errors import InputError


class Service(StrEnum):
    IV_KETAMINE = "iv_ketamine"
    ESKETAMINE = "esketamine"
    TMS = "tms"
    THERAPY = "therapy"
    GROUP = "group"


class PayerType(StrEnum):
    MEDICARE = "medicare"
    COMMERCIAL = "commercial"
    SELF_PAY = "self_pay"


@dataclass(frozen=True)
class CodeLine:
    """One billed line: the code, its units, Trellis's label for it and the rule's source."""

    code: str
    units: int
    label: str
    source: str

    def as_dict(self) -> dict[str, str | int]:
        return {"code": self.code, "units": self.units, "label": self.label, "source": self.source}


# Every code Trellis bills, with its own label and source. The fee schedule accepts these only.
CODES: dict[str, tuple[str, str]] = {
    "90867": ("TMS first session: mapping, motor threshold and treatment", "R50"),
    "90868": ("TMS treatment session", "R50"),
    "90869": ("TMS session with the motor threshold re-measured", "R50"),
    "G2082": ("Esketamine visit, up to 56 mg, supervised and observed (Medicare)", "R71"),
    "G2083": ("Esketamine visit, over 56 mg, supervised and observed (Medicare)", "R71"),
    "J0013": ("Esketamine nasal spray, per mg", "R72"),
    "99211": ("Office visit, established patient, level 1", "R102"),
    "99212": ("Office visit, established patient, level 2", "R102"),
    "99213": ("Office visit, established patient, level 3", "R102"),
    "99214": ("Office visit, established patient, level 4", "R102"),
    "99215": ("Office visit, established patient, level 5", "R102"),
    "96365": ("IV infusion, first hour", "R126"),
    "96366": ("IV infusion, each further hour", "R126"),
    "96374": ("IV push, 15 minutes or less", "R126"),
    "J3490": ("Ketamine, unlisted drug (NDC on the claim)", "R127"),
    "90833": ("Psychotherapy with a visit, 16–37 minutes", "R102"),
    "90836": ("Psychotherapy with a visit, 38–52 minutes", "R102"),
    "90838": ("Psychotherapy with a visit, 53 minutes or more", "R102"),
    "90853": ("Group psychotherapy, one attendee", "R103, R104"),
    "90832": ("Psychotherapy, 16–37 minutes", "R102"),
    "90834": ("Psychotherapy, 38–52 minutes", "R102"),
    "90837": ("Psychotherapy, 53 minutes or more", "R102"),
}

VISIT_CODES = ("99211", "99212", "99213", "99214", "99215")
DEFAULT_VISIT_CODE = "99213"

# Limits of plausible input; beyond them the value was mistyped or the rule has no code.
ESKETAMINE_MAX_MG = 84  # the label's highest dose [R22]
G2082_MAX_MG = 56  # G2082 up to 56 mg, G2083 above [R71]
PUSH_MAX_MINUTES = 15  # 96365 needs more than 15 minutes; 15 or less is 96374 [R126]
INFUSION_MAX_MINUTES = 600
EXTRA_HOUR_AFTER_MINUTES = 30  # an additional hour counts once more than 30 minutes have run
PSYCHOTHERAPY_BANDS = ((53, "90838"), (38, "90836"), (16, "90833"))  # [R102]
PSYCHOTHERAPY_ALONE_BANDS = ((53, "90837"), (38, "90834"), (16, "90832"))  # [R102]
PSYCHOTHERAPY_MAX_MINUTES = 600
GROUP_MAX_ATTENDEES = 12  # [R103, R104]
# Drug lines whose claim carries the NDC of the stock drawn, on item 24's shaded line [R127].
NDC_CODES = frozenset({"J3490"})

# The inputs each service reads; any other that is given is refused, never silently ignored.
INPUTS: dict[Service, tuple[str, ...]] = {
    Service.IV_KETAMINE: ("minutes",),
    Service.ESKETAMINE: ("dose_mg",),
    Service.TMS: ("first_in_course", "motor_threshold_redetermined"),
    Service.THERAPY: ("psychotherapy_minutes",),
    Service.GROUP: ("attendees",),
}
OPTIONAL_INPUTS = frozenset({"motor_threshold_redetermined"})
ALL_INPUTS = frozenset(name for names in INPUTS.values() for name in names)


def line(code: str, units: int = 1) -> CodeLine:
    label, source = CODES[code]
    return CodeLine(code, units, label, f"[{source}]")


def is_known(code: str) -> bool:
    return code in CODES


def tms_codes(
    *, first_in_course: bool, motor_threshold_redetermined: bool = False
) -> list[CodeLine]:
    """90867 for a course's first session, else 90869 when the motor threshold is re-determined,
    else 90868 [R50]. The first session determines the threshold anyway (90867 includes it)."""
    first = _flag("first_in_course", first_in_course)
    redetermined = _flag("motor_threshold_redetermined", motor_threshold_redetermined)
    if first:
        return [line("90867")]
    return [line("90869" if redetermined else "90868")]


def esketamine_codes(
    *, dose_mg: int, payer_type: PayerType | str, visit_code: str = DEFAULT_VISIT_CODE
) -> list[CodeLine]:
    """Medicare: G2082 (≤ 56 mg) or G2083 (> 56 mg) [R71]. Other payers and self-pay: the visit
    (``visit_code``) and J0013 with units = mg [R72]."""
    dose = _whole("dose_mg", dose_mg, 1, ESKETAMINE_MAX_MG, "mg")
    payer = _payer(payer_type)
    if payer == PayerType.MEDICARE:
        return [line("G2082" if dose <= G2082_MAX_MG else "G2083")]
    return [_visit(visit_code), line("J0013", dose)]


def infusion_codes(*, minutes: int) -> list[CodeLine]:
    """IV ketamine: 96374 for 15 minutes or less, else 96365 and one +96366 for each further
    hour more than 30 minutes under way [R126]; the drug J3490, 1 unit [R127]."""
    total = _whole("minutes", minutes, 1, INFUSION_MAX_MINUTES, "minutes")
    if total <= PUSH_MAX_MINUTES:
        return [line("96374"), line("J3490")]
    lines = [line("96365")]
    extra = additional_hours(total)
    if extra:
        lines.append(line("96366", extra))
    return [*lines, line("J3490")]


def additional_hours(minutes: int) -> int:
    """+96366 units for an infusion of ``minutes``: each hour after the first that has run more
    than 30 minutes (90 → 0, 91 → 1, 150 → 1, 151 → 2)."""
    beyond = minutes - 60 - EXTRA_HOUR_AFTER_MINUTES
    return 0 if beyond <= 0 else (beyond - 1) // 60 + 1


def psychotherapy_addon(minutes: int) -> list[CodeLine]:
    """The add-on to an E/M visit for ``minutes`` of psychotherapy, or none under 16 [R102]."""
    total = _whole("psychotherapy_minutes", minutes, 0, PSYCHOTHERAPY_MAX_MINUTES, "minutes")
    for floor, code in PSYCHOTHERAPY_BANDS:
        if total >= floor:
            return [line(code)]
    return []


def psychotherapy_alone(minutes: int) -> list[CodeLine]:
    """Psychotherapy without an E/M visit: 90832 for 16–37, 90834 for 38–52, 90837 for 53 or
    more minutes; under 16 minutes nothing is billed [R102]. Never billed with an E/M visit."""
    total = _whole("psychotherapy_minutes", minutes, 0, PSYCHOTHERAPY_MAX_MINUTES, "minutes")
    for floor, code in PSYCHOTHERAPY_ALONE_BANDS:
        if total >= floor:
            return [line(code)]
    return []


def therapy_codes(*, psychotherapy_minutes: int, visit_code: str = DEFAULT_VISIT_CODE):
    """Psychotherapy alongside an E/M visit: the visit and its add-on [R102]."""
    return [_visit(visit_code), *psychotherapy_addon(psychotherapy_minutes)]


def group_codes(*, attendees: int) -> list[CodeLine]:
    """90853 once for each attendee present, one line each [R104]."""
    count = _whole("attendees", attendees, 1, GROUP_MAX_ATTENDEES, "attendees")
    return [line("90853") for _ in range(count)]


def charge_codes(
    service: Service | str,
    *,
    payer_type: PayerType | str,
    visit_code: str = DEFAULT_VISIT_CODE,
    **inputs,
) -> list[CodeLine]:
    """The lines for one ``service``. ``inputs`` are those of ``INPUTS[service]``; a missing
    required one, or one the service does not read, is an ``InputError`` naming it."""
    try:
        kind = Service(service)
    except ValueError:
        raise InputError(
            "service", f"must be one of {', '.join(s.value for s in Service)}"
        ) from None
    payer = _payer(payer_type)
    given = {name: value for name, value in inputs.items() if value is not None}
    for name in sorted(given):
        if name not in INPUTS[kind]:
            raise InputError(name, f"does not apply to {kind.value}")
    for name in INPUTS[kind]:
        if name not in given and name not in OPTIONAL_INPUTS:
            raise InputError(name, f"is required for {kind.value}")
    if kind == Service.IV_KETAMINE:
        return infusion_codes(**given)
    if kind == Service.ESKETAMINE:
        return esketamine_codes(payer_type=payer, visit_code=visit_code, **given)
    if kind == Service.TMS:
        return tms_codes(**given)
    if kind == Service.THERAPY:
        return therapy_codes(visit_code=visit_code, **given)
    return group_codes(**given)


def _payer(value: PayerType | str) -> PayerType:
    try:
        return PayerType(value)
    except ValueError:
        raise InputError(
            "payer_type", f"must be one of {', '.join(p.value for p in PayerType)}"
        ) from None


def _visit(code: str) -> CodeLine:
    if code not in VISIT_CODES:
        raise InputError("visit_code", f"must be one of {', '.join(VISIT_CODES)}")
    return line(code)


def _flag(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InputError(field, "must be true or false")
    return value


def _whole(field: str, value: object, low: int, high: int, unit: str) -> int:
    """``value`` as a whole number from ``low`` to ``high``; 3.0 is 3, true and "3" are not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(field, f"must be a whole number of {unit}")
    if isinstance(value, float) and not value.is_integer():
        raise InputError(field, f"must be a whole number of {unit}")
    if not low <= value <= high:
        raise InputError(field, f"must be from {low} to {high} {unit}")
    return int(value)
