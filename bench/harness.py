"""The bench's plumbing, shared by ``bench/run.py`` (the whole run) and ``bench/replica.py``
(the streaming replica's phase): the bench database, the server's environment, child processes,
gunicorn on loopback and the load driver. Only 127.0.0.1 is ever contacted."""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BENCH_DB = os.environ.get("BENCH_DB") or "trellis_bench"
LOOPBACK = "127.0.0.1"

# gunicorn on 2 cores: one worker process per core (each holds the GIL for Python work) and 4
# threads each, so a request waiting on the database (SQLite's write lock, a PostgreSQL round
# trip) does not idle its core. Eight threads a process served the mix about 14 % slower on
# both databases (docs/benchmarks.md): more threads wait on one GIL and one write lock.
WORKERS, THREADS = 2, 4
# What the outcomes dashboard over the whole network should take at most (seconds), kept
# facts per course summed: at 100,000 patients, on either database.
DASHBOARD_TARGET_S = 0.3

# Variables the bench server's environment sets itself; the caller's values are not inherited.
CONTROLLED = {
    "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "TRELLIS_BASE_URL", "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS", "TRELLIS_MFA_REQUIRED", "TRELLIS_VAR_DIR", "SQLITE_PATH",
    "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "TRELLIS_BEHIND_PROXY", "CSRF_TRUSTED_ORIGINS",
    "EMAIL_BACKEND", "TRELLIS_SMS_DIR", "LOG_LEVEL", "DATABASE_REPLICA_URL",
}  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def say(self, message: str) -> None:
        print(f"[{self.elapsed():6.1f} s] {message}", flush=True)


# --- Databases -------------------------------------------------------------------------------


def bench_database_url(url: str, name: str = BENCH_DB) -> str:
    """The same server and credentials as ``url``, another database name."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def _admin_connect(url: str):
    """A connection for CREATE/DROP DATABASE: the maintenance database ``postgres``, else the
    one named in ``url`` (only to issue those two statements; none of its tables is touched)."""
    import psycopg

    try:
        return psycopg.connect(bench_database_url(url, "postgres"), autocommit=True)
    except psycopg.OperationalError:
        return psycopg.connect(url, autocommit=True)


def recreate_postgres(url: str, name: str = BENCH_DB) -> str:
    from psycopg import sql

    with _admin_connect(url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return bench_database_url(url, name)


def drop_postgres(url: str, name: str = BENCH_DB) -> None:
    from psycopg import sql

    with _admin_connect(url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


class Database:
    """The bench database for one phase: a fresh SQLite file or a fresh PostgreSQL database."""

    def __init__(self, source_url: str, work: Path) -> None:
        self.source_url = source_url
        self.work = work
        self.url = ""
        self.sqlite_path: Path | None = None

    @property
    def is_postgres(self) -> bool:
        return bool(self.source_url)

    def fresh(self) -> None:
        """Empty: the PostgreSQL database dropped and created again, the SQLite file removed
        (migrate creates it anew at the same path)."""
        if self.is_postgres:
            self.url = recreate_postgres(self.source_url)
        else:
            self.sqlite_path = self.work / "bench.sqlite3"
            self.remove_sqlite()

    def remove_sqlite(self) -> None:
        if self.sqlite_path is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.sqlite_path}{suffix}").unlink(missing_ok=True)

    def drop(self) -> None:
        if self.is_postgres:
            drop_postgres(self.source_url)
        else:
            self.remove_sqlite()

    def env(self) -> dict:
        if self.is_postgres:
            return {"DATABASE_URL": self.url}
        return {"DATABASE_URL": "", "SQLITE_PATH": str(self.sqlite_path)}


def server_environment(work: Path, database: Database) -> dict:
    """Production settings as an operator runs them, less TLS: there is none on loopback, so
    SECURE_SSL_REDIRECT is off (every request would otherwise be a redirect to https) and HSTS
    is not sent. Multi-factor sign-in stays required; the benchmark's staff sessions carry a
    verified TOTP device (bench/tasks.py)."""
    env = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS=LOOPBACK,
        TRELLIS_BASE_URL=f"https://{LOOPBACK}",
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="0",
        TRELLIS_MFA_REQUIRED="true",
        TRELLIS_VAR_DIR=str(work),
        TRELLIS_SMS_DIR=str(work / "sms"),
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        **database.env(),
    )
    return env


# --- Child processes -------------------------------------------------------------------------


def run_child(env: dict, *args: str, timeout: float) -> str:
    result = subprocess.run(
        [PYTHON, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} failed (exit {result.returncode}):\n{result.stderr[-3000:]}"
        )
    return result.stdout


def task(env: dict, *args: str, timeout: float = 600) -> dict:
    out = run_child(env, "-m", "bench.tasks", *args, timeout=timeout)
    return json.loads(out.strip().splitlines()[-1])


def synth(env: dict, clinics: int, patients: int, seed: int, timeout: float) -> dict:
    started = time.monotonic()
    made = task(
        env,
        "synth",
        "--clinics", str(clinics),
        "--patients", str(patients),
        "--seed", str(seed),
        timeout=timeout,
    )  # fmt: skip
    return {**made, "wall_s": round(time.monotonic() - started, 2)}


def synth_line(size: int, made: dict) -> str:
    return (
        f"synth {size:,} patients: {made['rows']:,} rows in {made['seconds']} s, "
        f"{made['rows_per_second']:,.0f} rows/s (of which {made['rebuild_seconds']} s building "
        f"{made['indexes_built']} indexes, adding {made['foreign_keys_added']} foreign keys)"
    )


# Synth's tables by the area of the product they fill, in the order the pathway meets them.
AREAS = (
    ("patients and screening", "patients."),
    ("treatment courses and sessions", "treatments."),
    ("questionnaires", "measures."),
    ("safety alerts", "safety."),
    ("appointment book", "scheduling."),
    ("charges and diagnoses", "billing."),
    ("controlled-substance ledger", "controlled."),
    ("therapy groups", "groups."),
)


def areas_line(size: int, made: dict) -> str:
    """The rows synth wrote in each area, with its largest table: every area of a big network
    must be populated for its pages to be measured as a clinic would see them."""
    parts = []
    for area, prefix in AREAS:
        tables = {k: v for k, v in made["tables"].items() if k.startswith(prefix)}
        if not tables:
            parts.append(f"{area} none")
            continue
        largest = max(tables, key=tables.get)
        parts.append(
            f"{area} {sum(tables.values()):,} ({largest.split('.')[1]} {tables[largest]:,})"
        )
    return f"synth {size:,} patients by area: " + "; ".join(parts)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


class Server:
    """gunicorn serving Trellis (bench.settings) on 127.0.0.1."""

    def __init__(self, env: dict, work: Path) -> None:
        self.env = env
        self.port = free_port()
        self.log = work / "gunicorn.log"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Server":
        self.proc = subprocess.Popen(
            [
                PYTHON, "-m", "gunicorn",
                "--bind", f"{LOOPBACK}:{self.port}",
                "--workers", str(WORKERS),
                "--worker-class", "gthread",
                "--threads", str(THREADS),
                "--keep-alive", "5",
                "--timeout", "60",
                "--log-level", "warning",
                "--error-logfile", str(self.log),
                "trellis.wsgi:application",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        for _ in range(600):  # bounded: at most 60 s at 0.1 s a try
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(
                    f"http://{LOOPBACK}:{self.port}/healthz", timeout=5
                ) as response:
                    if response.status == 200:
                        return self
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.stop()
        tail = self.log.read_text()[-3000:] if self.log.exists() else ""
        raise RuntimeError(f"gunicorn did not become healthy:\n{tail}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)

    def __exit__(self, *exc) -> None:
        self.stop()


def drive(plan: dict, work: Path) -> dict:
    path = work / "plan.json"
    path.write_text(json.dumps(plan))
    timeout = plan["warmup"] + plan["duration"] + plan.get("timeout", 30) + 60
    out = run_child(os.environ.copy(), "-m", "bench.driver", str(path), timeout=timeout)
    return json.loads(out.strip().splitlines()[-1])
