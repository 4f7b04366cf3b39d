"""Durability under a crash: a writer process commits rows as fast as it can from several
threads and acknowledges each committed id to its parent over a pipe; the parent kills it with
SIGKILL mid-run and then checks that every acknowledged id is in the database.

The writer goes through Django's connection with the project's settings, so on SQLite it uses
what Trellis uses for every request: WAL, ``synchronous=FULL`` and ``IMMEDIATE`` transactions;
on PostgreSQL the server's defaults (``synchronous_commit=on``). The table is model-free and
belongs to the benchmark alone (``bench_durability``).

    python -m bench.durability write --threads 4 --seconds 30   # the writer (a child)
    python -m bench.durability verify IDS_FILE                  # prints {"found": …} as JSON

``run()`` is the parent's side; bench/run.py and the smoke test call it.
"""

import argparse
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = "bench_durability"
READY = "ready"
INSERT = f"INSERT INTO {TABLE} (writer, payload) VALUES (%s, %s) RETURNING id"  # noqa: S608 -- constants


# --- The writer (child process, Django) ------------------------------------------------------


def _create_table() -> None:
    from django.db import connection

    key = "BIGSERIAL" if connection.vendor == "postgresql" else "INTEGER"
    extra = "" if connection.vendor == "postgresql" else " AUTOINCREMENT"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
        cursor.execute(
            f"CREATE TABLE {TABLE} (id {key} PRIMARY KEY{extra}, "
            "writer INTEGER NOT NULL, payload TEXT NOT NULL)"
        )


def _writer_thread(number: int, end: float, max_rows: int, lock: threading.Lock) -> None:
    from django.db import connection, transaction

    payload = f"writer {number} " + "x" * 200
    try:
        for _ in range(max_rows):
            if time.monotonic() >= end:
                break
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(INSERT, [number, payload])
                row_id = cursor.fetchone()[0]
            # Only now, after COMMIT has returned, is the write acknowledged.
            with lock:
                sys.stdout.write(f"{row_id}\n")
                sys.stdout.flush()
    finally:
        connection.close()


def write(threads: int, seconds: float, max_rows: int) -> None:
    import django

    django.setup()
    _create_table()
    print(READY, flush=True)
    end = time.monotonic() + seconds
    lock = threading.Lock()
    workers = [
        threading.Thread(target=_writer_thread, args=(n, end, max_rows, lock))
        for n in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(seconds + 60)


def verify(ids_file: str, drop: bool) -> dict:
    import django

    django.setup()
    from django.db import connection

    acknowledged = {int(line) for line in Path(ids_file).read_text().split()}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {TABLE}")  # noqa: S608 -- a constant table name
        present = {row[0] for row in cursor.fetchall()}
        integrity = "not checked"
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA integrity_check")
            integrity = cursor.fetchone()[0]
        if drop:
            cursor.execute(f"DROP TABLE {TABLE}")
    missing = sorted(acknowledged - present)
    return {
        "found": len(acknowledged & present),
        "rows_in_table": len(present),
        "missing": len(missing),
        "missing_sample": missing[:10],
        "integrity_check": integrity,
    }


# --- The parent ------------------------------------------------------------------------------


class _LineReader:
    """Complete lines from a child's stdout, read with a deadline; a partial line is never an
    acknowledgement, so it stays in the buffer."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.fd = proc.stdout.fileno()
        self.buffer = b""
        self.eof = False

    def read_until(self, deadline: float, *, stop_line: str | None = None) -> list[str]:
        lines: list[str] = []
        with selectors.DefaultSelector() as selector:
            selector.register(self.fd, selectors.EVENT_READ)
            for _ in range(10_000_000):  # bounded; each pass waits at most 0.5 s or reads
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    break
                if not selector.select(min(left, 0.5)):
                    continue
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    self.eof = True
                    break
                self.buffer += chunk
                *complete, self.buffer = self.buffer.split(b"\n")
                lines.extend(line.decode() for line in complete if line)
                if stop_line is not None and stop_line in lines:
                    break
        return lines

    def drain(self) -> list[str]:
        """After the child is dead: what it had written to the pipe before it died."""
        for _ in range(1_000_000):  # bounded: a dead writer's pipe holds at most 64 KiB
            if self.eof:
                break
            chunk = os.read(self.fd, 65536)
            self.eof = not chunk
            self.buffer += chunk
        *complete, self.buffer = self.buffer.split(b"\n")
        return [line.decode() for line in complete if line]


def run(
    env: dict,
    *,
    threads: int = 4,
    kill_after: float = 5.0,
    python: str = sys.executable,
    drop: bool = True,
) -> dict:
    """Start the writer, SIGKILL it ``kill_after`` seconds into its run, verify what it had
    acknowledged. Never waits more than about ``kill_after + 90`` seconds in all."""
    seconds = kill_after + 30  # the writer would go on well past the kill
    proc = subprocess.Popen(
        [python, "-m", "bench.durability", "write", "--threads", str(threads),
         "--seconds", str(seconds)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
    )  # fmt: skip
    reader = _LineReader(proc)
    try:
        lines = reader.read_until(time.monotonic() + 60, stop_line=READY)
        if READY not in lines:
            raise RuntimeError(f"the durability writer did not start (exit code {proc.poll()})")
        acked = lines[lines.index(READY) + 1 :]
        started = time.monotonic()
        acked += reader.read_until(started + kill_after)
        os.kill(proc.pid, signal.SIGKILL)
        killed_after = time.monotonic() - started
        proc.wait(30)
        acked += reader.drain()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        proc.stdout.close()
    with tempfile.NamedTemporaryFile("w", suffix=".ids", delete=False) as f:
        f.write("\n".join(acked))
    try:
        out = subprocess.run(
            [python, "-m", "bench.durability", "verify", f.name, *(["--drop"] if drop else [])],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    finally:
        os.unlink(f.name)
    checked = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "acknowledged": len(acked),
        "killed_after_s": round(killed_after, 2),
        "exit_signal": -proc.returncode if proc.returncode and proc.returncode < 0 else None,
        "acknowledged_per_second": round(len(acked) / killed_after, 1) if killed_after else 0,
        "threads": threads,
        **checked,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.durability")
    commands = parser.add_subparsers(dest="command", required=True)
    writer = commands.add_parser("write")
    writer.add_argument("--threads", type=int, default=4)
    writer.add_argument("--seconds", type=float, default=30)
    writer.add_argument("--max-rows", type=int, default=1_000_000)
    checker = commands.add_parser("verify")
    checker.add_argument("ids_file")
    checker.add_argument("--drop", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "write":
        write(args.threads, args.seconds, args.max_rows)
    else:
        print(json.dumps(verify(args.ids_file, args.drop)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
