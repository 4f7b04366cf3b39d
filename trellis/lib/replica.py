"""Reports and exports read from a PostgreSQL streaming replica, when one is configured.

With ``DATABASE_REPLICA_URL`` set, the database alias ``replica`` exists and the long reads that
tolerate a moment's lag — the outcomes dashboard and its CSV, FHIR bulk export's chunks, the
research export's files (read in one REPEATABLE READ snapshot there, then written to the primary)
— run inside ``from_replica()``. Everything else reads and writes the primary, so a page never
shows less than its user just saved:

- only code inside ``from_replica()`` is routed; every other query is the primary's;
- inside a transaction on the primary (a write under way), reads stay on the primary;
- after a user's own write (any POST, PUT, PATCH or DELETE), ``ReplicaPinMiddleware`` pins that
  browser or token to the primary for ``DATABASE_REPLICA_PIN_SECONDS`` (default 10), longer
  than a healthy replica's lag, so their next report includes what they wrote.

Without a replica every call here is a no-op and every query goes to ``default``. Migrations run
on the primary only (the replica follows by streaming).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

REPLICA = "replica"
PIN_COOKIE = "trellis_primary_until"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

_reading = ContextVar("trellis_replica_reading", default=False)
_pinned = ContextVar("trellis_replica_pinned", default=False)


def configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def from_replica() -> Iterator[None]:
    """Route this block's reads to the replica (when there is one and nothing pins the primary)."""
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


def read_alias() -> str:
    """Where a read made now goes: ``replica`` or ``default``."""
    if not (_reading.get() and configured()) or _pinned.get():
        return DEFAULT_DB_ALIAS
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    return REPLICA


def complete_up_to() -> datetime:
    """The moment a read made now is complete up to: now on the primary; on the replica, the
    commit time of the last transaction it has replayed (its lag earlier), so an export's
    ``transactionTime`` never claims rows the replica did not yet hold."""
    now = timezone.now()
    alias = read_alias()
    if alias == DEFAULT_DB_ALIAS:
        return now
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_last_xact_replay_timestamp()")
        (replayed,) = cursor.fetchone()
    return min(replayed, now) if replayed is not None else now


class ReplicaRouter:
    """``DATABASE_ROUTERS``: reads inside ``from_replica()`` go to the replica; the rest, every
    write and every migration, to the primary."""

    def db_for_read(self, model, **hints) -> str:
        return read_alias()

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        # The replica is a copy of the primary: a row read from either may refer to the other.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS


class ReplicaPinMiddleware:
    """Pins a client that has just written to the primary for a few seconds (a cookie holding
    the moment the pin ends), so its next report reads what it wrote."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not configured():
            return self.get_response(request)
        now = time.time()
        try:
            until = float(request.COOKIES.get(PIN_COOKIE, "0"))
        except ValueError:
            until = 0.0
        token = _pinned.set(until > now)
        try:
            response = self.get_response(request)
        finally:
            _pinned.reset(token)
        if request.method in UNSAFE_METHODS:
            seconds = settings.DATABASE_REPLICA_PIN_SECONDS
            response.set_cookie(
                PIN_COOKIE,
                f"{now + seconds:.0f}",
                max_age=seconds,
                secure=request.is_secure(),
                httponly=True,
                samesite="Lax",
            )
        return response
