"""The benchmark's streaming replica (bench/replica.py, docs/benchmarks.md): its configuration
listens on 127.0.0.1 only, the server programs are chosen by version, lag is summarised as the
docs say; and, on PostgreSQL with the server programs installed, a real primary and replica
started on this machine, a row written on one read on the other, and both removed."""

import os
import time
from pathlib import Path

import pytest

from bench import replica


def test_every_server_listens_on_loopback_only_without_a_socket():
    for conf in (replica.primary_conf(40001), replica.replica_conf(40002, {})):
        assert "listen_addresses = '127.0.0.1'" in conf
        assert "unix_socket_directories = ''" in conf
    assert "port = 40001" in replica.primary_conf(40001)
    assert "wal_level = replica" in replica.primary_conf(40001)
    hba = [line.split() for line in replica.hba_conf().splitlines() if not line.startswith("#")]
    assert {tuple(line[1:4]) for line in hba} == {
        ("all", "postgres", "127.0.0.1/32"),
        ("replication", "postgres", "127.0.0.1/32"),
    }


def test_the_standby_allows_at_least_what_its_primary_does():
    conf = replica.replica_conf(40002, {"max_connections": "100", "max_wal_senders": "10"})
    assert "hot_standby = on" in conf
    assert f"cluster_name = '{replica.REPLICA_NAME}'" in conf
    assert "max_connections = 100" in conf
    assert "max_wal_senders = 10" in conf


def test_postgresql_programs_run_as_postgres_only_when_run_as_root():
    assert replica.as_os_user(["initdb"], euid=0) == ["runuser", "-u", "postgres", "--", "initdb"]
    assert replica.as_os_user(["initdb"], euid=1000) == ["initdb"]


def test_the_server_programs_of_the_replicated_version_come_first(tmp_path):
    def install(version: str) -> Path:
        path = tmp_path / version / "bin"
        path.mkdir(parents=True)
        for program in replica.PROGRAMS:
            (path / program).touch()
        return path

    older, newer = install("14"), install("16")
    (tmp_path / "15" / "bin").mkdir(parents=True)  # a client-only install: no server programs
    assert replica.choose_bindir([tmp_path / "15" / "bin", older, newer]) == older
    assert replica.choose_bindir([tmp_path / "15" / "bin"]) is None
    found = replica.bindir_candidates(15, "/opt/pg/bin")
    assert found[:2] == [Path("/usr/lib/postgresql/15/bin"), Path("/opt/pg/bin")]
    assert len(found) == len(set(found))


def test_lag_is_summarised_as_p50_p95_and_max_with_an_idle_replica_at_zero():
    samples = [
        {"connected": True, "bytes": n * 100, "replay_lag_s": n / 100, "replay_age_s": n / 10}
        for n in range(1, 20)
    ]
    samples.append({"connected": True, "bytes": 0, "replay_lag_s": None, "replay_age_s": 5.0})
    samples.append({"connected": False, "bytes": None, "replay_lag_s": None, "replay_age_s": 6.0})
    lag = replica.lag_summary(samples)
    assert lag["samples"] == 21
    assert lag["disconnected"] == 1
    # Nearest rank over 20 values, the idle sample counted as 0.
    assert lag["replay_lag_s"] == {"p50": 0.09, "p95": 0.18, "max": 0.19}
    assert lag["bytes"]["max"] == 1900
    assert lag["replay_age_s"]["max"] == 6.0
    assert replica.lag_summary([])["replay_lag_s"] is None


def _can_start_servers() -> str:
    if not os.environ.get("DATABASE_URL"):
        return "the suite is not on PostgreSQL"
    candidates = replica.bindir_candidates(None, replica.pg_config_bindir())
    if replica.choose_bindir(candidates) is None:
        return "no PostgreSQL server programs"
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam(replica.OS_USER)
        except KeyError:
            return "run as root without a postgres user"
    return ""


@pytest.mark.skipif(bool(_can_start_servers()), reason=_can_start_servers() or "can start")
def test_a_row_written_on_the_primary_is_read_on_the_replica_and_both_are_removed():
    import psycopg

    started = time.monotonic()
    said: list[str] = []
    with replica.Pair("", "trellis_replica_smoke", say=said.append) as pair:
        base = pair.base
        with psycopg.connect(pair.primary_url, autocommit=True) as primary:
            primary.execute("CREATE TABLE written (note text)")
            primary.execute("INSERT INTO written VALUES ('on the primary')")
        replica.wait_for_replay(pair.primary_url, pair.replica_url, timeout=20)
        with psycopg.connect(pair.replica_url, autocommit=True) as standby:
            assert standby.execute("SELECT note FROM written").fetchall() == [("on the primary",)]
            assert standby.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                standby.execute("INSERT INTO written VALUES ('on the replica')")
        replica_port = pair.replica.port
    assert not base.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(replica.url_for(replica_port, "postgres"), connect_timeout=2)
    assert "temporary primary" in said[0]
    assert time.monotonic() - started < 60


def test_the_dashboard_task_on_the_replica_says_when_there_is_none():
    from bench import tasks

    assert tasks.outcomes_on_replica(1) == {"error": "no replica: DATABASE_REPLICA_URL is not set"}
