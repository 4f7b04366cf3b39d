"""A tiny run of the benchmark suite (``make bench``, docs/benchmarks.md) so that it keeps
working as the pages change: the load driver for about half a second against a live server, the
interactive mix's staff sessions and forms included, and the durability writer killed mid-run.

Structure and zero lost writes only: no timing thresholds, as the machine is shared.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench import durability, tasks
from bench.harness import drop_postgres, recreate_postgres
from trellis.accounts.permissions import Role
from trellis.testing import actor_for, make_clinic, make_patient, make_staff
from trellis.treatments.models import Protocol
from trellis.treatments.protocols import BUILTIN

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = {"requests", "errors", "requests_per_second", "p50_ms", "p95_ms", "p99_ms"}
MIX = {
    "patient page", "patient search", "PHQ-9 submission", "session vitals entry",
    "day calendar", "home page", "session page", "stock page",
}  # fmt: skip


def drive(plan: dict, tmp_path: Path) -> dict:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    result = subprocess.run(
        [sys.executable, "-m", "bench.driver", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.mark.django_db(transaction=True)
def test_the_driver_measures_the_bare_view_and_the_interactive_mix(live_server, settings, tmp_path):
    settings.ROOT_URLCONF = "bench.urls"
    # A transactional test may follow another that emptied the tables, built-in protocols too.
    for spec in BUILTIN:
        Protocol.objects.update_or_create(clinic=None, code=spec["code"], defaults=spec)
    clinic = make_clinic("riverside", "Riverside", "RIV")
    front = actor_for(make_staff("frontdesk", clinic, Role.FRONT_DESK), clinic)
    make_patient(front, "Ada", "Lovelace")
    make_patient(front, "Grace", "Hopper")
    mix = tasks.prepare_mix(clients=1, patients=5, open_sessions=1)
    port = urlsplit(live_server.url).port

    bare = drive(
        {
            "port": port,
            "clients": 2,
            "warmup": 0,
            "duration": 0.5,
            "kinds": [
                {"name": "bare view", "method": "GET", "weight": 1, "expect": [200],
                 "variants": [{"path": "/bench/bare"}]}
            ],
        },
        tmp_path,
    )  # fmt: skip
    assert bare.keys() >= SUMMARY
    assert bare["requests"] > 0
    assert bare["errors"] == 0, bare["error_samples"]

    # One client: the test server shares one database connection between its threads.
    mixed = drive(
        {"port": port, "clients": 1, "warmup": 0, "duration": 0.5, "tour": True, **mix}, tmp_path
    )
    assert set(mixed["by_endpoint"]) == MIX
    assert all(e.keys() >= SUMMARY for e in mixed["by_endpoint"].values())
    assert all(e["requests"] > 0 for e in mixed["by_endpoint"].values()), mixed
    assert mixed["errors"] == 0, mixed["error_samples"]
    assert mixed["stuck_clients"] == 0

    floor = drive(
        {"port": port, "clients": 1, "warmup": 0, "duration": 0.3, **mix, "kinds": [mix["floor"]]},
        tmp_path,
    )
    assert floor["requests"] > 0
    assert floor["errors"] == 0, floor["error_samples"]


@pytest.fixture
def writer_env(tmp_path):
    """The writer's own database: a SQLite file, or a PostgreSQL database of its own beside the
    suite's (dropped afterwards; one for each worker of a parallel run)."""
    env = {k: v for k, v in os.environ.items() if k not in {"SQLITE_PATH", "DATABASE_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="trellis.settings", DEBUG="true")
    env["TRELLIS_VAR_DIR"] = str(tmp_path)
    source = os.environ.get("DATABASE_URL", "")
    if source:
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        name = f"trellis_bench_smoke_{worker}" if worker else "trellis_bench_smoke"
        env["DATABASE_URL"] = recreate_postgres(source, name)
        yield env
        drop_postgres(source, name)
    else:
        env["SQLITE_PATH"] = str(tmp_path / "durability.sqlite3")
        yield env


def test_every_acknowledged_write_is_found_after_sigkill(writer_env):
    result = durability.run(writer_env, threads=2, kill_after=0.5)
    assert result["exit_signal"] == 9
    assert result["acknowledged"] > 0
    assert result["missing"] == 0, result["missing_sample"]
    assert result["found"] == result["acknowledged"]
    assert result["integrity_check"] in {"ok", "not checked"}
