"""The audit hash chain, as plain functions.

Each event's hash covers its own fields and the previous event's hash, so changing, deleting or
reordering any stored event breaks every link after it. ``verify`` walks the chain and names the
first event that does not fit.
"""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

GENESIS = "0" * 64

# The fields that are hashed, in this order. Adding one is a format change: old events keep
# verifying only if it is appended and empty values hash as before.
FIELDS = (
    "seq",
    "occurred_at",
    "user_id",
    "username",
    "clinic_id",
    "patient_id",
    "action",
    "object_type",
    "object_id",
    "source_address",
    "detail",
)


# Values JSON writes as they are; anything else (a datetime, a UUID, a Decimal) goes through
# ``_canonical``. Looked up by exact type: a subclass (a choices member is a str) takes the
# longer way to the same text.
_AS_IS = frozenset({str, int, bool, type(None), dict, list})

# One encoder for every link: keys sorted, no spaces, text as it is.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canonical(value):
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if value is None or isinstance(value, str | int | dict | list):
        return value
    return str(value)


def event_hash(fields: dict, prev_hash: str, names: tuple[str, ...] = FIELDS) -> str:
    """The hash of one link: ``names`` (the audit trail's FIELDS unless another chain, such as
    the controlled-substance ledger, hashes its own) read from ``fields``, after ``prev_hash``:
    the SHA-256 of the JSON list ``[prev_hash, value, …]``."""
    values = [prev_hash]
    for name in names:
        value = fields[name]
        values.append(value if type(value) in _AS_IS else _canonical(value))
    return hashlib.sha256(_ENCODER.encode(values).encode()).hexdigest()


@dataclass(frozen=True)
class Break:
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"event {self.seq}: {self.problem}"


@dataclass(frozen=True)
class Result:
    count: int
    head: str
    first_break: Break | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def verify(events: Iterable[dict], names: tuple[str, ...] = FIELDS) -> Result:
    """Check events given in ``seq`` order, each a dict with ``names`` (FIELDS), prev_hash and
    hash."""
    expected_seq = 1
    prev = GENESIS
    count = 0
    for event in events:
        seq = event["seq"]
        if seq != expected_seq:
            if seq > expected_seq:
                missing = (
                    f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}–{seq - 1}"
                )
                problem = f"event(s) {missing} before it are missing"
            else:
                problem = f"out of order: expected event {expected_seq} here"
            return Result(count, prev, Break(seq, problem))
        if event["prev_hash"] != prev:
            return Result(
                count,
                prev,
                Break(
                    seq,
                    "its link to the previous event does not match "
                    "(the previous event was changed, removed or reordered)",
                ),
            )
        if event_hash(event, event["prev_hash"], names) != event["hash"]:
            return Result(count, prev, Break(seq, "its contents were changed after it was written"))
        prev = event["hash"]
        expected_seq += 1
        count += 1
    return Result(count, prev, None)
