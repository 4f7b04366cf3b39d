"""Who may close an alert of each kind, and what their note must say.

Any clinician with ``alert.acknowledge`` closes most alerts with an action note. Some kinds are
closed only by a narrower set of roles, with a note of their own: a controlled-substance count
discrepancy is resolved by a prescriber, who explains it. The app that raises such a kind says
so once (``register`` in its AppConfig.ready), so that this app imports none of them and
``acknowledge_alert`` applies every kind's rule in one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClosingRule:
    # The roles that may close an alert of this kind (each must also hold alert.acknowledge).
    roles: frozenset[str]
    # The rule in words: shown on the alert to everyone else, and in the refusal.
    rule: str
    # The note's label and help on the alert page, and what is said when it is left empty.
    note_label: str = "Action note"
    note_help: str = ""
    note_required: str = ""


# alert kind ("controlled_discrepancy") → its rule; a kind not here has the general one.
_RULES: dict[str, ClosingRule] = {}


def register(kind: str, rule: ClosingRule) -> None:
    _RULES[kind] = rule


def rule_for(kind: str) -> ClosingRule | None:
    return _RULES.get(kind)


def may_close(actor, kind: str) -> bool:
    """Whether ``actor``'s role may close an alert of ``kind`` (besides alert.acknowledge)."""
    rule = _RULES.get(kind)
    return rule is None or actor.role in rule.roles
