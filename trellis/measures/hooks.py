"""What other apps do when a questionnaire is recorded, in the transaction that recorded it.

The relapse watch (plans) reads each new PHQ-9; it registers here (``on_measure_recorded`` in its
AppConfig.ready), so that measures imports no app above it.
"""

from __future__ import annotations

from collections.abc import Callable

_RECORDED: list[Callable] = []


def on_measure_recorded(receiver: Callable) -> None:
    """Call ``receiver(measure)`` for every questionnaire recorded, by staff, API or link."""
    if receiver not in _RECORDED:
        _RECORDED.append(receiver)


def measure_recorded(measure) -> None:
    """Tell every receiver, in the caller's transaction: a receiver's error rolls it back."""
    for receiver in _RECORDED:
        receiver(measure)
