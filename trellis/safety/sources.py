"""What raised an alert, in words and as a link: each app that raises alerts says how its own
records read (``register`` in its AppConfig.ready), so that this app imports none of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    text: str
    url: str = ""  # empty when the reader may not open the record
    # When set, the url is something to do about the alert rather than the record itself:
    # shown as a link with these words ("Correct the balance") after the text.
    action: str = ""


# source_type ("measures.measure") → describe(alert, actor) → Source, or None when it is gone
_DESCRIBERS: dict[str, Callable] = {}


def register(source_type: str, describe: Callable) -> None:
    _DESCRIBERS[source_type] = describe


def describe(alert, actor) -> Source | None:
    describer = _DESCRIBERS.get(alert.source_type)
    return describer(alert, actor) if describer is not None else None
