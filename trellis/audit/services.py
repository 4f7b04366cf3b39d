"""Writing audit events. Every read and write of patient data passes through ``record``."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection, models, transaction
from django.utils import timezone

from trellis.audit.chain import GENESIS, event_hash
from trellis.audit.models import Action, AuditEvent

# Any constant will do: it names the one PostgreSQL advisory lock that serialises appends.
_PG_LOCK_KEY = 0x7472_656C_6C69_73  # "trellis"


def _lock_chain() -> None:
    """Hold the chain's tail until this transaction ends, so two appends never share a parent.

    On SQLite every transaction already holds the database's write lock (IMMEDIATE mode).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_KEY])


# The events of a ``together()`` block not yet appended; None outside one.
_held: ContextVar[list[AuditEvent] | None] = ContextVar("trellis_audit_held", default=None)


def record(
    action: Action,
    *,
    user=None,
    clinic=None,
    patient=None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    source_address: str = "",
    detail: dict | None = None,
    username: str = "",
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction if there is one (inside
    a ``together()`` block and outside any transaction, when the block ends)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    event = AuditEvent(
        occurred_at=timezone.now(),
        user=user if user is not None and user.is_authenticated else None,
        username=username or (user.get_username() if user is not None and user.pk else ""),
        clinic=clinic,
        patient=patient,
        action=action,
        object_type=object_type,
        object_id=object_id,
        source_address=source_address,
        detail=detail or {},
    )
    held = _held.get()
    if held is not None and not connection.in_atomic_block:
        held.append(event)
    else:
        _append([event])
    return event


@contextmanager
def together() -> Iterator[None]:
    """The read events of one page, appended in one transaction when the block ends.

    A page that reads several lists (the home page's sections) would otherwise commit one
    transaction per list, each taking the database's write lock and, on SQLite, waiting for the
    disk. The block ends before the page is rendered, so every read is in the trail before its
    response leaves; if the block fails, nothing it read is shown. Events recorded inside a
    transaction still join that transaction, and a nested block is the outer one's."""
    if _held.get() is not None:
        yield
        return
    token = _held.set([])
    try:
        yield
        events = _held.get()
    finally:
        _held.reset(token)
    if events:
        _append(events)


def _append(events: list[AuditEvent]) -> None:
    """Chain ``events``, in order, after the trail's last event, in one transaction."""
    with transaction.atomic():
        _lock_chain()
        tail = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (tail[0], tail[1]) if tail else (0, GENESIS)
        for event in events:
            seq += 1
            event.seq, event.prev_hash = seq, prev_hash
            event.hash = prev_hash = event_hash(event.chain_fields(), prev_hash)
        if len(events) == 1:
            events[0].save(force_insert=True)
        else:
            AuditEvent.objects.bulk_create(events)


def record_for(
    actor, action: Action, *, patient=None, obj=None, detail=None, **kwargs
) -> AuditEvent:
    """``record`` for a member of staff acting at their current clinic (see ``Actor``)."""
    return record(
        action,
        user=actor.user,
        clinic=actor.clinic,
        patient=patient,
        obj=obj,
        source_address=actor.source_address,
        detail=detail,
        **kwargs,
    )
