"""Writing audit events. Every read and write of patient data passes through ``record``."""

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
    """Append one event to the chain, inside the caller's transaction if there is one."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    with transaction.atomic():
        _lock_chain()
        tail = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (tail[0] + 1, tail[1]) if tail else (1, GENESIS)
        event = AuditEvent(
            seq=seq,
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
            prev_hash=prev_hash,
        )
        event.hash = event_hash(event.chain_fields(), prev_hash)
        event.save(force_insert=True)
    return event


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
