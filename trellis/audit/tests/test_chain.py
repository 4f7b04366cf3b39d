"""The link hash: a fixed text for fixed fields, whatever the Python types carrying them."""

import hashlib
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import models

from trellis.audit.chain import FIELDS, GENESIS, event_hash, verify


class Status(models.TextChoices):
    BOOKED = "booked", "Booked"


WHEN = datetime(2026, 12, 7, 9, 30, 5, 120, tzinfo=UTC)
PATIENT = uuid.UUID("6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f")

EVENT = {
    "seq": 7,
    "occurred_at": WHEN,
    "user_id": 12,
    "username": "nurse.ålund",
    "clinic_id": "3b0d4c0e-8f5f-4a37-9b57-2c1f4b1e0a9d",
    "patient_id": PATIENT,
    "action": "read",
    "object_type": "patients.patient",
    "object_id": str(PATIENT),
    "source_address": None,
    "detail": {"z": 1, "a": [True, None, "é"], "m": {"y": 2, "b": 3}},
}

# The text the hash covers, written out: the previous hash, then each field in FIELDS' order;
# datetimes as ISO text to the microsecond, UUIDs as their text, dict keys sorted, no spaces,
# non-ASCII text as it is.
PAYLOAD = (
    '["' + GENESIS + '",7,"2026-12-07T09:30:05.000120+00:00",12,"nurse.ålund",'
    '"3b0d4c0e-8f5f-4a37-9b57-2c1f4b1e0a9d","6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f","read",'
    '"patients.patient","6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f",null,'
    '{"a":[true,null,"é"],"m":{"b":3,"y":2},"z":1}]'
)


def test_the_hash_is_sha256_of_the_canonical_list():
    assert event_hash(EVENT, GENESIS) == hashlib.sha256(PAYLOAD.encode()).hexdigest()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain", '"plain"'),
        (Status.BOOKED, '"booked"'),  # a choices member is its value
        (0, "0"),
        (True, "true"),
        (None, "null"),
        (Decimal("12.50"), '"12.50"'),
        (uuid.UUID(int=1), '"00000000-0000-0000-0000-000000000001"'),
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), '"2026-01-02T03:04:05.000000+00:00"'),
        ([1, "a"], '[1,"a"]'),
    ],
)
def test_each_kind_of_value_is_hashed_as_its_canonical_text(value, text):
    fields = dict(EVENT, detail=value)
    payload = PAYLOAD[: PAYLOAD.rindex(",{")] + "," + text + "]"
    json.loads(payload)  # the expected text is itself valid JSON
    assert event_hash(fields, GENESIS) == hashlib.sha256(payload.encode()).hexdigest()


def test_verify_names_the_first_changed_event():
    events, prev = [], GENESIS
    for seq in (1, 2, 3):
        event = dict(EVENT, seq=seq, prev_hash=prev)
        event["hash"] = prev = event_hash(event, event["prev_hash"])
        events.append(event)
    assert verify(events, FIELDS).ok
    events[1]["username"] = "someone.else"
    result = verify(events, FIELDS)
    assert (result.count, str(result.first_break)) == (
        1,
        "event 2: its contents were changed after it was written",
    )
