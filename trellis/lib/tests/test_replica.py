"""Reports and exports on a PostgreSQL replica: what is routed where, the pin after a write,
and the settings that turn it on (trellis/lib/replica.py)."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.utils import timezone

from trellis.lib import replica
from trellis.lib.tests.test_deploy import read_settings

ROUTER = replica.ReplicaRouter()


@pytest.fixture
def with_replica():
    """As when ``DATABASE_REPLICA_URL`` is set (no connection is opened by routing)."""
    with mock.patch.object(replica, "configured", return_value=True):
        yield


def test_without_a_replica_everything_reads_the_primary():
    with replica.from_replica():
        assert ROUTER.db_for_read(None) == DEFAULT_DB_ALIAS
    assert ROUTER.db_for_write(None) == DEFAULT_DB_ALIAS


def test_only_reads_inside_from_replica_go_to_the_replica(with_replica):
    assert ROUTER.db_for_read(None) == DEFAULT_DB_ALIAS
    with replica.from_replica():
        assert ROUTER.db_for_read(None) == replica.REPLICA
        assert ROUTER.db_for_write(None) == DEFAULT_DB_ALIAS
    assert ROUTER.db_for_read(None) == DEFAULT_DB_ALIAS
    assert ROUTER.allow_migrate(replica.REPLICA, "patients") is False
    assert ROUTER.allow_migrate(DEFAULT_DB_ALIAS, "patients") is True


def test_reads_inside_a_write_transaction_stay_on_the_primary(with_replica):
    with (
        mock.patch.object(connections[DEFAULT_DB_ALIAS], "in_atomic_block", True),
        replica.from_replica(),
    ):
        assert ROUTER.db_for_read(None) == DEFAULT_DB_ALIAS


@override_settings(DATABASE_REPLICA_PIN_SECONDS=10)
def test_a_client_that_has_just_written_reads_the_primary(with_replica):
    seen = []

    def view(request):
        with replica.from_replica():
            seen.append(ROUTER.db_for_read(None))
        return HttpResponse()

    middleware = replica.ReplicaPinMiddleware(view)
    factory = RequestFactory()
    middleware(factory.get("/reports/outcomes/"))
    written = middleware(factory.post("/sessions/1/sign/"))
    pin = written.cookies[replica.PIN_COOKIE]
    assert (pin["max-age"], pin["httponly"]) == (10, True)
    pinned = factory.get("/reports/outcomes/")
    pinned.COOKIES[replica.PIN_COOKIE] = pin.value
    middleware(pinned)
    expired = factory.get("/reports/outcomes/")
    expired.COOKIES[replica.PIN_COOKIE] = "1"  # long past
    middleware(expired)
    # The write itself is not pinned (its own transaction reads the primary); the next is.
    assert seen == [replica.REPLICA, replica.REPLICA, DEFAULT_DB_ALIAS, replica.REPLICA]


def test_the_settings_add_a_mirrored_replica_only_beside_a_postgresql_primary(
    monkeypatch, tmp_path
):
    names = read_settings(
        monkeypatch,
        tmp_path,
        DEBUG="true",
        DATABASE_URL="postgres://trellis@primary.internal/trellis",
        DATABASE_REPLICA_URL="postgres://trellis_ro@replica.internal/trellis",
    )
    entry = names["DATABASES"]["replica"]
    assert (entry["HOST"], entry["USER"], entry["TEST"]) == (
        "replica.internal",
        "trellis_ro",
        {"MIRROR": "default"},
    )
    assert names["DATABASE_ROUTERS"] == ["trellis.lib.replica.ReplicaRouter"]
    with pytest.raises(ImproperlyConfigured, match="DATABASE_REPLICA_URL needs DATABASE_URL"):
        read_settings(
            monkeypatch,
            tmp_path,
            DEBUG="true",
            DATABASE_URL="",
            DATABASE_REPLICA_URL="postgres://replica.internal/trellis",
        )


class _Replayed:
    """A replica's connection that has replayed transactions up to ``moment``."""

    def __init__(self, moment):
        self.moment = moment

    def cursor(self):
        cursor = mock.MagicMock()
        cursor.__enter__.return_value.fetchone.return_value = (self.moment,)
        return cursor


def test_an_export_on_the_replica_is_complete_up_to_the_last_replayed_commit(with_replica):
    replayed = timezone.now() - timedelta(seconds=3)
    fake = {DEFAULT_DB_ALIAS: connections[DEFAULT_DB_ALIAS], replica.REPLICA: _Replayed(replayed)}
    with mock.patch.object(replica, "connections", fake):
        before = timezone.now()
        assert before - timedelta(seconds=1) <= replica.complete_up_to() <= timezone.now()
        with replica.from_replica():
            assert replica.complete_up_to() == replayed
        fake[replica.REPLICA] = _Replayed(None)  # none replayed since it started
        with replica.from_replica():
            assert replica.complete_up_to() >= before
