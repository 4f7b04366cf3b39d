"""Reports on a PostgreSQL streaming replica, measured on this machine (docs/benchmarks.md,
*Reports on a streaming replica*).

Starts a primary and a hot standby, measures on them, then stops both and removes their files:

- **the primary** is the server ``DATABASE_URL`` names when it accepts a replication connection;
  otherwise (a server whose ``pg_hba.conf`` has no ``replication`` line — its configuration is
  never edited here) a temporary server of its own: ``initdb`` into a temporary directory, on a
  free port of 127.0.0.1, ``wal_level = replica``, a ``pg_hba.conf`` that lets 127.0.0.1 in,
  replication included;
- **the replica**: ``pg_basebackup -R -X stream`` from the primary into another temporary
  directory, started as a hot standby on another free port of 127.0.0.1.

Then, on that pair: migrate the primary, synthesise a network, time the outcomes dashboard read
on the replica beside the same read on the primary (both checked against the reference query),
and drive the interactive mix — a clinic's writes — through gunicorn configured with
``DATABASE_URL`` (the primary) and ``DATABASE_REPLICA_URL`` (the replica) while sampling the
replica's lag.

PostgreSQL will not run as root: run as root, every PostgreSQL program here runs as the
``postgres`` user, in directories it owns. Everything listens on 127.0.0.1 only, every step has a
time limit, and the servers are stopped (``pg_ctl stop -m fast``) and their directories removed
on the way out, on an error or Ctrl-C too.

    .venv/bin/python bench/replica.py [--patients 10000] [--duration 20] [--database NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the checkout's root, not bench/, on the path
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import harness
from bench.driver import percentile

LOOPBACK = "127.0.0.1"
DATABASE = "trellis_replica_bench"
# The replica's name in pg_stat_replication (its walreceiver's application_name).
REPLICA_NAME = "trellis_bench_replica"
SLOT = "trellis_bench_replica"
OS_USER = "postgres"
PROGRAMS = ("initdb", "pg_ctl", "pg_basebackup", "postgres")
# The lag a report read may show: well under the 10 s a user who has just written is kept on
# the primary (DATABASE_REPLICA_PIN_SECONDS), so their next report still includes their write.
LAG_LIMIT_S = 1.0
SAMPLE_EVERY_S = 0.2
# A hot standby must allow at least what its primary does for these (PostgreSQL refuses to
# start otherwise); copied from the primary.
STANDBY_AT_LEAST = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)


# --- Pure parts: binaries, configuration, statistics ------------------------------------------


def bindir_candidates(major: int | None, pg_config_bindir: str = "") -> list[Path]:
    """Where PostgreSQL's server programs may be, best first: the version of the server being
    replicated, then what ``pg_config`` names, then every installed version, newest first."""
    installed = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
        reverse=True,
    )
    found = [Path(f"/usr/lib/postgresql/{major}/bin")] if major else []
    if pg_config_bindir:
        found.append(Path(pg_config_bindir))
    return list(dict.fromkeys([*found, *installed]))


def choose_bindir(candidates: list[Path]) -> Path | None:
    """The first directory holding every program this needs."""
    for path in candidates:
        if all((path / program).is_file() for program in PROGRAMS):
            return path
    return None


def pg_config_bindir() -> str:
    try:
        out = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def primary_conf(port: int) -> str:
    """Appended to a temporary primary's postgresql.conf: loopback only, no Unix socket, WAL
    for a streaming standby."""
    return (
        "\n# trellis bench: a temporary primary\n"
        f"listen_addresses = '{LOOPBACK}'\n"
        f"port = {port}\n"
        "unix_socket_directories = ''\n"
        "wal_level = replica\n"
        "max_wal_senders = 4\n"
        "max_replication_slots = 4\n"
    )


def replica_conf(port: int, at_least: dict[str, str]) -> str:
    """The standby's whole postgresql.conf (pg_basebackup -R puts ``primary_conninfo`` and the
    slot in postgresql.auto.conf). Feedback to the primary keeps the dashboard's read from being
    cancelled by replay."""
    lines = [
        "# trellis bench: a temporary hot standby",
        f"listen_addresses = '{LOOPBACK}'",
        f"port = {port}",
        "unix_socket_directories = ''",
        "hot_standby = on",
        "hot_standby_feedback = on",
        f"cluster_name = '{REPLICA_NAME}'",
        *(f"{name} = {value}" for name, value in sorted(at_least.items())),
    ]
    return "\n".join(lines) + "\n"


def hba_conf(user: str = OS_USER) -> str:
    """127.0.0.1 only, for the bench's role, replication included. ``trust``, like the server
    this runs beside; nothing listens beyond loopback and the server lives for one run."""
    return (
        "# trellis bench: loopback only\n"
        f"host  all          {user}  {LOOPBACK}/32  trust\n"
        f"host  replication  {user}  {LOOPBACK}/32  trust\n"
    )


def url_for(port: int, database: str, user: str = OS_USER) -> str:
    return f"postgres://{user}@{LOOPBACK}:{port}/{database}"


def as_os_user(command: list[str], euid: int | None = None) -> list[str]:
    """``command`` as the ``postgres`` user when run as root (PostgreSQL refuses root)."""
    if (os.geteuid() if euid is None else euid) == 0:
        return ["runuser", "-u", OS_USER, "--", *command]
    return command


def lag_summary(samples: list[dict]) -> dict:
    """p50, p95 and max of each lag measure over the samples (None where none was seen).

    ``replay_lag_s`` — the primary's ``pg_stat_replication.replay_lag``: how long ago the newest
    WAL the standby has applied was written on the primary (NULL once it has caught up and the
    primary is idle: counted as 0); ``bytes`` — WAL written on the primary not yet applied on the
    standby; ``replay_age_s`` — on the standby, ``now() - pg_last_xact_replay_timestamp()``: how
    old the last commit it applied is (this grows while the primary commits nothing)."""
    out: dict = {"samples": len(samples)}
    for key in ("replay_lag_s", "bytes", "replay_age_s"):
        values = [s[key] for s in samples if s.get(key) is not None]
        if key == "replay_lag_s":
            values += [0.0] * sum(1 for s in samples if s.get("connected") and s[key] is None)
        out[key] = (
            {
                "p50": round(percentile(values, 50), 4),
                "p95": round(percentile(values, 95), 4),
                "max": round(max(values), 4),
            }
            if values
            else None
        )
    out["disconnected"] = sum(1 for s in samples if not s.get("connected"))
    return out


# --- Running PostgreSQL ------------------------------------------------------------------------


def _run(command: list[str], timeout: float) -> str:
    result = subprocess.run(
        as_os_user(command), capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{Path(command[0]).name} failed (exit {result.returncode}): "
            f"{(result.stderr or result.stdout)[-2000:]}"
        )
    return result.stdout


def server_major(url: str) -> int | None:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            (number,) = conn.execute("SHOW server_version_num").fetchone()
    except psycopg.Error:
        return None
    return int(number) // 10_000


def accepts_replication(url: str) -> bool:
    """Whether the server lets this role open a physical replication connection from here (its
    pg_hba.conf has a ``replication`` line and the role may replicate)."""
    import psycopg

    try:
        with psycopg.connect(url, replication="true", autocommit=True, connect_timeout=5):
            return True
    except psycopg.Error:
        return False


def _settings(url: str, names: tuple[str, ...]) -> dict[str, str]:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        return {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in names}


@dataclass
class Cluster:
    """A PostgreSQL server this run started (and stops)."""

    bindir: Path
    datadir: Path
    port: int
    log: Path
    started: bool = False

    def start(self) -> None:
        pg_ctl = str(self.bindir / "pg_ctl")
        command = [pg_ctl, "-D", str(self.datadir), "-l", str(self.log), "-w", "-t", "60", "start"]
        try:
            _run(command, timeout=90)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            self.started = True  # it may be up without having said so: stop it regardless
            raise RuntimeError(f"{error}\n{self.log_tail()}") from error
        self.started = True

    def stop(self) -> None:
        if not self.started:
            return
        pg_ctl = str(self.bindir / "pg_ctl")
        for mode in ("fast", "immediate"):
            try:
                _run([pg_ctl, "-D", str(self.datadir), "-w", "-t", "30", "stop", "-m", mode], 45)
                break
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                if "No such file" in str(error) or "is the server running" in str(error):
                    break
        self.started = False

    def log_tail(self) -> str:
        try:
            return self.log.read_text()[-2000:]
        except OSError:
            return ""


def _free_ports(count: int) -> list[int]:
    ports: list[int] = []
    for _ in range(50):  # bounded: distinct ports from the kernel's free ones
        port = harness.free_port()
        if port not in ports:
            ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError("no free ports on 127.0.0.1")


class Pair:
    """A primary and its streaming replica on this machine, for one ``with`` block; the
    database ``database`` is created empty on the primary (the replica follows)."""

    def __init__(self, source_url: str, database: str = DATABASE, say=print) -> None:
        self.source_url = source_url
        self.database = database
        self.say = say
        self.base: Path | None = None
        self.own_primary: Cluster | None = None
        self.replica: Cluster | None = None
        self.primary_url = ""
        self.replica_url = ""
        self.mode = ""
        self.version = ""
        self._previous_sigterm = None

    def __enter__(self) -> Pair:
        if threading.current_thread() is threading.main_thread():
            # A plain SIGTERM would skip the clean-up: make it unwind like Ctrl-C.
            self._previous_sigterm = signal.signal(signal.SIGTERM, _terminate)
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        import psycopg

        major = server_major(self.source_url) if self.source_url else None
        bindir = choose_bindir(bindir_candidates(major, pg_config_bindir()))
        if bindir is None:
            raise RuntimeError("no PostgreSQL server programs (initdb, pg_ctl, pg_basebackup)")
        self.base = Path(tempfile.mkdtemp(prefix="trellis-replica-"))
        if os.geteuid() == 0:
            shutil.chown(self.base, OS_USER, OS_USER)
        primary_port, replica_port = _free_ports(2)
        if self.source_url and accepts_replication(self.source_url):
            self.mode = "the server DATABASE_URL names"
            self.primary_url = harness.recreate_postgres(self.source_url, self.database)
            source = _connection_args(self.source_url)
            slot: list[str] = []  # no slot left behind on a shared server if this is killed
        else:
            self.mode = "a temporary primary (the server refuses replication connections)"
            self.own_primary = Cluster(
                bindir, self.base / "primary", primary_port, self.base / "primary.log"
            )
            _run(
                [
                    str(bindir / "initdb"), "-D", str(self.own_primary.datadir),
                    "-U", OS_USER, "--auth=trust", "--no-locale", "-E", "UTF8",
                    "--no-sync", "--no-instructions",
                ],
                timeout=120,
            )  # fmt: skip
            with (self.own_primary.datadir / "postgresql.conf").open("a") as conf:
                conf.write(primary_conf(primary_port))
            (self.own_primary.datadir / "pg_hba.conf").write_text(hba_conf())
            self.own_primary.start()
            self.primary_url = url_for(primary_port, self.database)
            with psycopg.connect(url_for(primary_port, "postgres"), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.database}"')
            source = ["-h", LOOPBACK, "-p", str(primary_port), "-U", OS_USER]
            slot = ["-C", "-S", SLOT]  # the primary keeps WAL until the standby has it
        at_least = _settings(self.primary_url, STANDBY_AT_LEAST)
        self.version = _settings(self.primary_url, ("server_version",))["server_version"]
        self.replica = Cluster(
            bindir, self.base / "replica", replica_port, self.base / "replica.log"
        )
        _run(
            [
                str(bindir / "pg_basebackup"), *source, "-D", str(self.replica.datadir),
                "-R", "-X", "stream", "-c", "fast", "--no-sync", *slot,
            ],
            timeout=600,
        )  # fmt: skip
        (self.replica.datadir / "postgresql.conf").write_text(replica_conf(replica_port, at_least))
        (self.replica.datadir / "pg_hba.conf").write_text(hba_conf(_user(self.primary_url)))
        self.replica.start()
        self.replica_url = url_for(replica_port, self.database, _user(self.primary_url))
        wait_for_replay(self.primary_url, self.replica_url, timeout=60)
        self.say(
            f"PostgreSQL {self.version}: primary on port {_port(self.primary_url)}, "
            f"{self.mode}; streaming replica on port {replica_port}; programs from {bindir}"
        )

    def close(self) -> None:
        """Stop what was started, drop what was made; each step runs whatever the others did."""
        for cluster in (self.replica, self.own_primary):
            if cluster is not None:
                try:
                    cluster.stop()
                except Exception as error:  # the rest of the clean-up still runs
                    self.say(f"could not stop the server in {cluster.datadir}: {error}")
        if self.own_primary is None and self.primary_url:
            try:
                harness.drop_postgres(self.source_url, self.database)
            except Exception as error:
                self.say(f"could not drop {self.database}: {error}")
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None


def _terminate(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _connection_args(url: str) -> list[str]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    args = ["-h", parts.hostname or LOOPBACK, "-p", str(parts.port or 5432)]
    return [*args, "-U", parts.username] if parts.username else args


def _user(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).username or OS_USER


def _port(url: str) -> int:
    from urllib.parse import urlsplit

    return urlsplit(url).port or 5432


def wait_for_replay(primary_url: str, replica_url: str, timeout: float) -> float:
    """Wait until the replica has applied everything the primary had written when asked;
    returns the seconds it took."""
    import psycopg

    started = time.monotonic()
    with psycopg.connect(primary_url, autocommit=True, connect_timeout=5) as primary:
        (target,) = primary.execute("SELECT pg_current_wal_lsn()").fetchone()
    deadline = started + timeout
    while True:  # bounded by the deadline
        try:
            with psycopg.connect(replica_url, autocommit=True, connect_timeout=5) as standby:
                (done,) = standby.execute(
                    "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), %s) >= 0", [target]
                ).fetchone()
            if done:
                return time.monotonic() - started
        except psycopg.OperationalError:  # still starting up
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the replica did not replay {target} within {timeout:.0f} s")
        time.sleep(0.2)


# --- Lag under writes --------------------------------------------------------------------------

PRIMARY_LAG = """
SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint,
       EXTRACT(epoch FROM replay_lag)::float8
FROM pg_stat_replication WHERE application_name = %s
"""
REPLICA_AGE = "SELECT EXTRACT(epoch FROM now() - pg_last_xact_replay_timestamp())::float8"


@dataclass
class LagSampler:
    """Samples the replica's lag every ``every`` seconds in a thread, until stopped (or
    ``limit`` samples)."""

    primary_url: str
    replica_url: str
    every: float = SAMPLE_EVERY_S
    limit: int = 20_000
    samples: list[dict] = field(default_factory=list)
    error: str = ""

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="replica-lag", daemon=True)

    def __enter__(self) -> LagSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _sample(self) -> None:
        import psycopg

        try:
            with (
                psycopg.connect(self.primary_url, autocommit=True, connect_timeout=5) as primary,
                psycopg.connect(self.replica_url, autocommit=True, connect_timeout=5) as standby,
            ):
                started = time.monotonic()
                for _ in range(self.limit):
                    row = primary.execute(PRIMARY_LAG, [REPLICA_NAME]).fetchone()
                    (age,) = standby.execute(REPLICA_AGE).fetchone()
                    self.samples.append(
                        {
                            "t": round(time.monotonic() - started, 3),
                            "connected": row is not None,
                            "bytes": row[0] if row else None,
                            "replay_lag_s": row[1] if row else None,
                            "replay_age_s": age,
                        }
                    )
                    if self._stop.wait(self.every):
                        return
        except psycopg.Error as error:
            self.error = str(error)


# --- The measurement ---------------------------------------------------------------------------


class _Database:
    """What ``bench.harness.server_environment`` needs of a database: its environment."""

    def __init__(self, url: str) -> None:
        self.url = url

    def env(self) -> dict:
        return {"DATABASE_URL": self.url}


def measure(
    source_url: str,
    work: Path,
    *,
    patients: int = 10_000,
    clients: int = 32,
    warmup: float = 5,
    duration: float = 20,
    repeat: int = 5,
    seed: int = 2026,
    database: str = DATABASE,
    figure: Callable | None = None,
    say: Callable[[str], None] = print,
) -> dict:
    """Start a primary and a replica, measure, stop them. Returns the details; ``figure`` (as
    bench/run.py's) receives the figures."""
    details: dict = {"patients": patients}
    with Pair(source_url, database, say=say) as pair:
        details.update(mode=pair.mode, version=pair.version)
        primary_env = harness.server_environment(work, _Database(pair.primary_url))
        primary_env["DATABASE_REPLICA_URL"] = ""
        both_env = {**primary_env, "DATABASE_REPLICA_URL": pair.replica_url}
        harness.run_child(primary_env, "manage.py", "migrate", "--no-input", "-v", "0", timeout=600)
        harness.run_child(
            primary_env, "manage.py", "collectstatic", "--no-input", "-v", "0", timeout=300
        )
        made = harness.synth(primary_env, max(2, patients // 2500), patients, seed, timeout=1800)
        details["synth"] = made
        caught_up = wait_for_replay(pair.primary_url, pair.replica_url, timeout=300)
        say(f"{harness.synth_line(patients, made)}; the replica caught up {caught_up:.1f} s later")

        report = harness.task(both_env, "outcomes-replica", "--repeat", str(repeat), timeout=900)
        details["outcomes"] = report
        if "error" in report:
            say(f"outcomes on the replica: FAILED: {report['error']}")
        else:
            same = report["same_numbers_replica"] and report["same_numbers_primary"]
            say(
                f"outcomes dashboard at {patients:,}: replica {report['replica_median_s']} s, "
                f"primary {report['primary_median_s']} s, reference "
                f"{report['reference_median_s']} s "
                f"({'same numbers' if same else 'WARNING: the numbers differ'}; queries on the "
                f"replica's runs: {report['queries_replica_runs']})"
            )

        mix = harness.task(
            primary_env, "prepare-mix", "--clients", str(clients), "--seed", str(seed)
        )
        plan = {
            "clients": clients,
            "warmup": warmup,
            "duration": duration,
            "seed": seed,
            "timeout": 30,
            "cookies": mix["cookies"],
            "kinds": mix["kinds"],
        }
        with (
            harness.Server(both_env, work) as server,
            LagSampler(pair.primary_url, pair.replica_url) as sampler,
        ):
            mixed = harness.drive({**plan, "port": server.port}, work)
        lag = lag_summary(sampler.samples)
        lag["error"] = sampler.error
        details["lag"] = lag
        details["mix"] = {k: mixed[k] for k in ("requests", "errors", "requests_per_second")}
        writes = sum(
            e["requests"]
            for name, e in mixed["by_endpoint"].items()
            if name in {"PHQ-9 submission", "session vitals entry"}
        )
        details["mix"]["writes"] = writes
        say(
            f"write mix ({clients} clients, {mixed['requests_per_second']:,.0f} req/s, "
            f"{writes / (warmup + duration):,.0f} writes/s): {_lag_line(lag)}"
        )
    if figure is not None:
        _figures(figure, details, patients, repeat)
    return details


def _lag_line(lag: dict) -> str:
    if not lag["replay_lag_s"]:
        return f"no lag measured ({lag['samples']} samples; {lag.get('error') or 'no replica'})"
    seconds, size, age = lag["replay_lag_s"], lag["bytes"] or {}, lag["replay_age_s"] or {}
    return (
        f"replica lag p95 {seconds['p95'] * 1000:.1f} ms, max {seconds['max'] * 1000:.1f} ms; "
        f"behind by p95 {size.get('p95', 0):,.0f} bytes, max {size.get('max', 0):,.0f}; "
        f"last replayed commit p95 {age.get('p95', 0) * 1000:.1f} ms old "
        f"({lag['samples']} samples, {lag['disconnected']} disconnected)"
    )


def _figures(figure: Callable, details: dict, patients: int, repeat: int) -> None:
    report = details["outcomes"]
    if "error" not in report:
        figure(
            f"outcomes dashboard on the replica ({patients:,} patients)",
            report["replica_median_s"],
            harness.DASHBOARD_TARGET_S,
            "s",
            f"median of {repeat}; limit: the target, {harness.DASHBOARD_TARGET_S} s; on the "
            f"primary {report['primary_median_s']} s; same numbers as the reference: "
            f"{report['same_numbers_replica']}",
        )
    lag = details["lag"]
    if lag["replay_lag_s"]:
        note = (
            f"replay_lag on the primary, {lag['samples']} samples every {SAMPLE_EVERY_S} s; "
            f"limit: {LAG_LIMIT_S} s, well under the 10 s pin after a write"
        )
        figure("replica lag under the write mix, p95", lag["replay_lag_s"]["p95"], LAG_LIMIT_S,
               "s", note)  # fmt: skip
        figure("replica lag under the write mix, max", lag["replay_lag_s"]["max"], LAG_LIMIT_S,
               "s", note)  # fmt: skip


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench/replica.py", description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--database", default=DATABASE, help="the bench database's name")
    args = parser.parse_args(argv)
    clock = harness.Clock()
    work = Path(tempfile.mkdtemp(prefix="trellis-replica-work-"))
    figures: list[dict] = []

    def figure(name, value, limit, unit, note="") -> None:
        figures.append({"name": name, "value": value, "limit": limit, "unit": unit, "note": note})

    try:
        details = measure(
            os.environ.get("DATABASE_URL", ""),
            work,
            patients=args.patients,
            clients=args.clients,
            warmup=args.warmup,
            duration=args.duration,
            repeat=args.repeat,
            seed=args.seed,
            database=args.database,
            figure=figure,
            say=clock.say,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"figures": figures, "details": details}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
