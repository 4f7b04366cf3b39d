"""``make bench``: Trellis's benchmark suite (docs/benchmarks.md says what each figure means).

Every figure is a ratio against a limit measured in the same run, on the same machine and
database:

- synth rows/s beside raw bulk inserts into the same database;
- the outcomes report (the dashboard's computation) beside one hand-written SQL query, at
  10,000 and 100,000 patients;
- the interactive mix (patient page, search, PHQ-9 and vitals entry) at 32 clients beside a bare
  Django view served by the same gunicorn;
- durability: acknowledged writes found after the writer is killed, beside those acknowledged.

SQLite by default (files under var/bench/); PostgreSQL when DATABASE_URL is set, in a database of
its own (``trellis_bench`` on the same server), created and dropped here. Writes
bench/results.json and prints the table. Only 127.0.0.1 is ever contacted.

    .venv/bin/python bench/run.py [--quick] [--keep] [--sizes 10000,100000] [--duration 20]
"""

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, not the root
    sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402 -- after the root is on the path
    BENCH_DB,
    DASHBOARD_TARGET_S,
    LOOPBACK,
    PYTHON,
    THREADS,
    WORKERS,
    Clock,
    Database,
    Server,
    areas_line,
    drive,
    run_child,
    server_environment,
    synth,
    synth_line,
    task,
)

RESULTS = ROOT / "bench" / "results.json"
# Another database name and work directory let a second run share the server and checkout.
WORK = Path(os.environ.get("TRELLIS_BENCH_WORK") or ROOT / "var" / "bench")

# What a system-level FHIR $export should write per second (resources, one process).
EXPORT_TARGET = 20_000
# The pages whose cost must not grow with the network: single-client p50 on the large network
# at most this multiple of the same on the small one, in the same run.
FLAT_PAGES = ("patient page", "patient search", "day calendar")
FLAT_TARGET = 1.2
# The interactive mix's targets: its throughput as a share of the bare view's, its p95 at 32
# clients, and each page's single-client p50.
MIX_RATIO_TARGET = 0.085
MIX_P95_TARGET_MS = 250.0
PAGE_TARGET_MS = 5.0


@dataclass
class Figure:
    name: str
    value: float
    limit: float
    unit: str
    database: str
    date: str
    machine: dict
    ratio: float | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.ratio is None:
            self.ratio = round(self.value / self.limit, 3) if self.limit else None


def outcomes_figure(
    env, size: int, repeat: int, clock: Clock, figure, timeout: float, note: str = ""
) -> dict:
    report = task(env, "outcomes", "--repeat", str(repeat), timeout=timeout)
    if "error" in report:
        clock.say(f"outcomes at {size:,}: FAILED: {report['error']}")
        return report
    if "missing" in report:
        clock.say(
            f"outcomes at {size:,}: NOT MEASURED, the dashboard is missing ({report['missing']})"
        )
        return report
    same = "same numbers" if report["same_numbers"] else "WARNING: the numbers differ"
    clock.say(
        f"outcomes at {size:,}: dashboard {report['dashboard_median_s']} s, "
        f"reference {report['reference_median_s']} s ({report['dashboard_rows']} rows, {same})"
    )
    figure(
        f"outcomes report ({size:,} patients)",
        report["dashboard_median_s"],
        report["reference_median_s"],
        "s",
        f"median of {repeat}; limit: the hand-written SQL{note}",
    )
    figure(
        f"outcomes dashboard against its target ({size:,} patients)",
        report["dashboard_median_s"],
        DASHBOARD_TARGET_S,
        "s",
        f"limit: the target, {DASHBOARD_TARGET_S} s, on both databases{note}",
    )
    return report


def durability(env: dict, kill_after: float) -> dict:
    if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, not the root
        sys.path.insert(0, str(ROOT))
    from bench import durability as writer

    return writer.run(env, threads=4, kill_after=kill_after, python=PYTHON)


def _p50(window: dict, name: str) -> float | None:
    """An endpoint's p50 in a driver window, None when the window sent it no request."""
    page = window["by_endpoint"].get(name)
    return page["p50_ms"] if page and page["requests"] else None


def flat_pages(env: dict, work: Path, base: dict, size: int, clock: Clock) -> dict:
    """The daily pages of the mix from one client on a large network: the same requests as on
    the small one, to compare each page's own cost as the network grows."""
    mix = task(env, "prepare-mix", "--clients", "1", "--seed", str(base["seed"]))
    kinds = [kind for kind in mix["kinds"] if kind["name"] in FLAT_PAGES]
    with Server(env, work) as server:
        plan = {**base, "port": server.port, "clients": 1, "cookies": mix["cookies"],
                "kinds": kinds, "duration": max(base["duration"] / 2, 1)}  # fmt: skip
        alone = drive(plan, work)
    clock.say(
        f"pages at {size:,}, 1 client: "
        + ", ".join(f"{name} {e['p50_ms']} ms" for name, e in sorted(alone["by_endpoint"].items()))
    )
    return alone


# --- Machine ---------------------------------------------------------------------------------


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
    }


# --- The run ---------------------------------------------------------------------------------


# Scaling the small network's timings up to a large one. Synth appends in id order and builds
# its indexes once at the end, so 10x the patients took about 10.3x the time on this machine; the
# linear estimate is raised by these factors for safety. The report grows about linearly.
SYNTH_GROWTH = {"sqlite": 1.2, "postgresql": 1.2}
REPORT_GROWTH = 1.3
# The hard limit for the default run; a step still running past it (or past a longer
# ``--budget``) is stopped.
HARD_LIMIT = 15 * 60


def step_timeout(clock: Clock, budget: float) -> float:
    """Seconds a step may take: what is left of the hard limit, or of a longer budget."""
    return max(120.0, max(HARD_LIMIT, budget) - clock.elapsed())


def estimate_large(small: dict, size: int, repeat: int, vendor: str) -> float:
    """Seconds for a fresh database of ``size`` patients: migrate, synth, the timed reports."""
    scale = size / small["patients"]
    report = small["outcomes"]
    report_s = report.get("dashboard_median_s", 0) + report.get("reference_median_s", 0)
    return (
        10
        + 50  # the pages from one client and the floor: the mix, the server, warm-ups, windows
        + small["synth"]["wall_s"] * scale * SYNTH_GROWTH.get(vendor, 1.2)
        + report_s * (repeat + 1) * scale * REPORT_GROWTH
    )


def choose_large_size(
    wanted: int, small: dict, repeat: int, vendor: str, clock: Clock, budget: float
) -> int:
    """The largest of ``wanted``, ``wanted``/2, … (at least the small size) whose estimate
    fits the time left before the budget, 15 s kept for the table and the clean-up."""
    size = wanted
    for _ in range(10):  # bounded halving
        if size <= small["patients"]:
            return small["patients"]
        if clock.elapsed() + estimate_large(small, size, repeat, vendor) <= budget - 15:
            return size
        size //= 2
    return size


# --- A streaming replica (PostgreSQL) ---------------------------------------------------------

# What the replica phase costs besides its synth and reports: two servers started, migrate and
# collectstatic on the new primary, the mix's set-up, the servers stopped (seconds; 70-220 here
# as the machine was busier or not).
REPLICA_FIXED_S = 120


def estimate_replica(small: dict, vendor: str, *, warmup, duration, repeat) -> float:
    """Seconds for the replica phase at the small network's size (its report is timed on the
    replica and the primary)."""
    report = estimate_large(small, small["patients"], 2 * repeat, vendor)
    return REPLICA_FIXED_S + report + warmup + duration


def replica_section(
    args, small: dict, vendor: str, clock: Clock, budget: float, work: Path, figure, **timing
) -> dict:
    """3. The outcomes dashboard read on a streaming replica and the replica's lag under the write
    mix, at the small network's size (bench/replica.py starts and removes the servers); skipped
    when it does not fit the time left before the budget."""
    estimate = estimate_replica(small, vendor, **timing)
    if clock.elapsed() + estimate > budget - 15:
        clock.say(f"replica: not measured, about {estimate:.0f} s do not fit the time budget")
        return {"skipped": f"about {estimate:.0f} s did not fit the time budget"}
    if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, not the root
        sys.path.insert(0, str(ROOT))
    from bench import replica

    try:
        return replica.measure(
            os.environ["DATABASE_URL"],
            work,
            patients=small["patients"],
            clients=args.clients,
            seed=args.seed,
            database=f"{BENCH_DB}_replica",
            figure=figure,
            say=clock.say,
            **timing,
        )
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        clock.say(f"replica: FAILED: {error}")
        return {"error": str(error)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and short windows")
    parser.add_argument("--sizes", default=None, help="patients, comma-separated")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=None)
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--repeat", type=int, default=None, help="timed runs of each report")
    parser.add_argument("--budget", type=float, default=13, help="minutes for the whole run")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep the bench databases")
    parser.add_argument("--no-replica", action="store_true", help="no streaming replica phase")
    args = parser.parse_args(argv)

    quick = args.quick
    sizes = [int(s) for s in (args.sizes or ("1000" if quick else "10000,100000")).split(",")]
    warmup = args.warmup if args.warmup is not None else (1 if quick else 5)
    duration = args.duration if args.duration is not None else (3 if quick else 20)
    repeat = args.repeat or (2 if quick else 5)
    budget = args.budget * 60

    clock = Clock()
    source_url = os.environ.get("DATABASE_URL", "")
    WORK.mkdir(parents=True, exist_ok=True)
    for stale in [*WORK.glob("bench*.sqlite3*"), *WORK.glob("run-*")]:  # an interrupted run's
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    work = Path(tempfile.mkdtemp(prefix="run-", dir=WORK))
    database = Database(source_url, WORK)
    today = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    box = machine()
    details: dict = {"sizes": {}}
    figures: list[Figure] = []
    failed = False
    try:
        database.fresh()
        env = server_environment(work, database)
        info = task(env, "db-info")
        db_name, vendor = info["database"], info["vendor"]
        clock.say(f"database {db_name}; {box['nproc']} cores; Python {box['python']}")

        def figure(name, value, limit, unit, note="") -> Figure:
            made = Figure(name, value, limit, unit, db_name, today, box, note=note)
            figures.append(made)
            return made

        run_child(env, "manage.py", "migrate", "--no-input", "-v", "0", timeout=300)
        run_child(env, "manage.py", "collectstatic", "--no-input", "-v", "0", timeout=300)
        clock.say("migrated, static files collected")

        # 1. The small network: synth, the raw-insert limit, the report, the mix, durability.
        small = sizes[0]
        clinics = max(2, small // 2500)
        made = synth(env, clinics, small, args.seed, timeout=step_timeout(clock, budget))
        details["sizes"][small] = {"synth": made}
        clock.say(synth_line(small, made))
        clock.say(areas_line(small, made))
        raw = task(env, "raw-insert", "--rows", str(min(made["rows"], 500_000)))
        details["raw_insert"] = raw
        clock.say(f"raw inserts: {raw['rows']:,} rows at {raw['rows_per_second']:,.0f} rows/s")
        figure(
            f"synth rows/s ({small:,} patients)",
            made["rows_per_second"],
            raw["rows_per_second"],
            "rows/s",
            f"limit: raw {raw['method']} into a scratch table",
        )
        report = outcomes_figure(env, small, repeat, clock, figure, step_timeout(clock, budget))
        details["sizes"][small]["outcomes"] = report
        failed = failed or "error" in report
        exported = task(env, "export", timeout=step_timeout(clock, budget))
        details["sizes"][small]["export"] = exported
        clock.say(
            f"FHIR $export: {exported['resources']:,} resources in {exported['seconds']} s, "
            f"{exported['resources_per_second']:,.0f} resources/s"
        )
        figure(
            f"FHIR $export resources/s (busiest clinic of {small:,} patients)",
            exported["resources_per_second"],
            EXPORT_TARGET,
            "resources/s",
            "limit: the target, 20,000 resources/s",
        )

        mix = task(env, "prepare-mix", "--clients", str(args.clients), "--seed", str(args.seed))
        base = {
            "clients": args.clients,
            "warmup": warmup,
            "duration": duration,
            "seed": args.seed,
            "timeout": 30,
        }
        with Server(env, work) as server:
            clock.say(
                f"gunicorn on {LOOPBACK}:{server.port} ({WORKERS} workers x {THREADS} threads)"
            )
            bare_plan = {
                **base,
                "port": server.port,
                "kinds": [{"name": "bare view", "method": "GET", "weight": 1,
                           "expect": [200], "variants": [{"path": "/bench/bare"}]}],
            }  # fmt: skip
            bare = drive(bare_plan, work)
            clock.say(f"bare view: {bare['requests_per_second']:,.0f} req/s")
            mix_plan = {
                **base,
                "port": server.port,
                "cookies": mix["cookies"],
                "kinds": mix["kinds"],
            }
            mixed = drive(mix_plan, work)
            clock.say(f"interactive mix: {mixed['requests_per_second']:,.0f} req/s")
            # The same mix from one client: each page's own cost, without queueing for the
            # database or the cores, to name the slowest page and see what load adds.
            alone = drive({**mix_plan, "clients": 1, "duration": max(duration / 2, 1)}, work)
            clock.say(f"interactive mix, 1 client: {alone['requests_per_second']:,.0f} req/s")
            floor = drive(
                {
                    **mix_plan,
                    "clients": 1,
                    "duration": max(duration / 4, 1),
                    "kinds": [mix["floor"]],
                },
                work,
            )
            clock.say(f"staff page floor, 1 client: p50 {floor['p50_ms']} ms")
        details["bare_view"] = bare
        details["interactive_mix_1_client"] = alone
        details["staff_page_floor"] = floor
        details["interactive_mix"] = {
            **mixed,
            "clinic": mix["clinic"],
            "patients_in_clinic": mix["patients_in_clinic"],
        }
        label = f"{args.clients} clients"
        figure(
            f"interactive mix requests/s ({label})",
            mixed["requests_per_second"],
            bare["requests_per_second"],
            "req/s",
            f"limit: bare Django view, same server; target ratio {MIX_RATIO_TARGET}",
        )
        for pct in ("p50", "p95", "p99"):
            figure(
                f"interactive mix {pct} latency ({label})",
                mixed[f"{pct}_ms"],
                bare[f"{pct}_ms"],
                "ms",
                "limit: bare Django view, same server",
            )
        figure("interactive mix errors", mixed["errors"], mixed["requests"], "requests",
               "limit: requests sent; ratio = error rate")  # fmt: skip
        figure(f"interactive mix p95 against its target ({label})", mixed["p95_ms"],
               MIX_P95_TARGET_MS, "ms", f"limit: the target, {MIX_P95_TARGET_MS:g} ms")  # fmt: skip
        for name, page in sorted(alone["by_endpoint"].items()):
            if not page["requests"]:
                continue  # a short window may send none of a rare page
            figure(f"{name} p50, 1 client ({small:,} patients)", page["p50_ms"],
                   PAGE_TARGET_MS, "ms", f"limit: the target, {PAGE_TARGET_MS:g} ms")  # fmt: skip
        figure("staff page floor p50, 1 client (signed in, audited, top bar; no record read)",
               floor["p50_ms"], PAGE_TARGET_MS, "ms",
               f"limit: the target for a whole page, {PAGE_TARGET_MS:g} ms")  # fmt: skip

        survived = durability(env, kill_after=3 if quick else 5)
        details["durability"] = survived
        clock.say(
            f"durability: {survived['acknowledged']:,} acknowledged, "
            f"{survived['found']:,} found after SIGKILL"
        )
        figure("durability: acknowledged writes found after SIGKILL", survived["found"],
               survived["acknowledged"], "rows",
               f"writer killed {survived['killed_after_s']} s in; must be 1.0")  # fmt: skip
        if survived["missing"] or not survived["acknowledged"]:
            failed = True

        # 2. The large networks: a fresh database each, synth, then the report.
        measured = {"patients": small, "synth": made, "outcomes": report}
        with_replica = vendor == "postgresql" and not args.no_replica
        timing = {"warmup": warmup, "duration": duration, "repeat": repeat}
        # The replica phase's time is kept aside before the large networks take the rest.
        kept = estimate_replica(measured, vendor, **timing) if with_replica else 0
        for wanted in sizes[1:]:
            size = choose_large_size(wanted, measured, repeat, vendor, clock, budget - kept)
            if size <= small:  # nothing larger fits: measured already, leave the time to the rest
                clock.say(f"{wanted:,} patients do not fit the time budget, nor any larger network")
                details.setdefault("sizes_skipped", []).append(wanted)
                continue
            note = "" if size == wanted else f"; {wanted:,} did not fit the time budget"
            if note:
                clock.say(f"{wanted:,} patients do not fit the time budget: using {size:,}")
            database.fresh()
            run_child(env, "manage.py", "migrate", "--no-input", "-v", "0", timeout=300)
            made = synth(
                env, max(2, size // 2500), size, args.seed, timeout=step_timeout(clock, budget)
            )
            details["sizes"][size] = {"synth": made, "requested": wanted}
            clock.say(synth_line(size, made))
            clock.say(areas_line(size, made))
            figure(f"synth rows/s ({size:,} patients)", made["rows_per_second"],
                   raw["rows_per_second"], "rows/s",
                   f"limit: raw {raw['method']} into a scratch table")  # fmt: skip
            report = outcomes_figure(
                env, size, repeat, clock, figure, step_timeout(clock, budget), note
            )
            details["sizes"][size]["outcomes"] = report
            failed = failed or "error" in report
            pages = flat_pages(env, work, base, size, clock)
            details["sizes"][size]["pages_1_client"] = pages
            for name in FLAT_PAGES:
                small_p50 = _p50(alone, name)
                large_p50 = _p50(pages, name)
                if small_p50 and large_p50:
                    figure(
                        f"{name} p50, 1 client, {size:,} ÷ {small:,} patients",
                        round(large_p50 / small_p50, 3),
                        FLAT_TARGET,
                        "×",
                        f"{large_p50} ms against {small_p50} ms; limit: the target, "
                        f"{FLAT_TARGET}× (cost flat as the network grows)",
                    )

        # 3. A streaming replica (PostgreSQL): bench/replica.py, skippable with --no-replica.
        if with_replica:
            details["replica"] = replica_section(
                args, measured, vendor, clock, budget, work, figure, **timing
            )
            failed = failed or "error" in details["replica"]
    finally:
        if not args.keep:
            database.drop()
            shutil.rmtree(work, ignore_errors=True)

    total = clock.elapsed()
    results = {
        "date": today,
        "database": figures[0].database if figures else "",
        "machine": box,
        "total_seconds": round(total, 1),
        "figures": [asdict(f) for f in figures],
        "details": details,
    }
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print_table(results)
    print(f"\nwrote {RESULTS.relative_to(ROOT)} in {total:.0f} s")
    if failed:
        print("FAILED: a lost acknowledged write or a failing report (see above)", file=sys.stderr)
        return 1
    return 0


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{int(value):,}"


def print_table(results: dict) -> None:
    box = results["machine"]
    print(
        f"\nTrellis benchmark — {results['database']} — {results['date']} — "
        f"{box['nproc']} cores, Python {box['python']}\n"
    )
    rows = [("figure", "value", "limit", "ratio", "unit")] + [
        (
            f["name"],
            _fmt(f["value"]),
            _fmt(f["limit"]),
            "—" if f["ratio"] is None else f"{f['ratio']:.3f}",
            f["unit"],
        )
        for f in results["figures"]
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(row, widths, strict=True))))  # fmt: skip
        if n == 0:
            print("  ".join("-" * w for w in widths))
    mix = results["details"].get("interactive_mix")
    alone = results["details"].get("interactive_mix_1_client", {}).get("by_endpoint", {})
    if mix:
        clients = mix["clients"]
        print(f"\ninteractive mix by endpoint, ms ({clients} clients; p50 alone: 1 client)")
        ends = sorted(mix["by_endpoint"].items(), key=lambda kv: -kv[1]["p95_ms"])
        name_width = max(len(name) for name, _ in ends)
        print(
            f"{'endpoint'.ljust(name_width)}  requests  errors  p50 alone     p50     p95     p99"
        )
        for name, e in ends:
            solo = alone.get(name, {}).get("p50_ms", 0.0)
            print(
                f"{name.ljust(name_width)}  {e['requests']:8,}  {e['errors']:6,}  {solo:9.1f}  "
                f"{e['p50_ms']:6.1f}  {e['p95_ms']:6.1f}  {e['p99_ms']:6.1f}"
            )
        if mix["errors"]:
            print(f"errors: {mix['statuses']}; e.g. {mix['error_samples'][:3]}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
