import time

from django.core.management.base import BaseCommand, CommandError

from bench.synthetic.bulk import restore_schema
from bench.synthetic.synth import DEFAULT_DAYS, SynthError, generate


class Command(BaseCommand):
    help = (
        "Fill an empty database (after migrate) with a synthetic clinic network for load tests "
        "and the outcomes dashboard: clinics synth-001 … with staff of every role (unusable "
        "passwords), PATIENTS patients in all, spread evenly over the clinics, with screenings, "
        "treatment courses, documented sessions, questionnaires and safety alerts over the last "
        "DAYS days. The same seed gives the same data. A test-data generator run by an "
        "operator: it writes no audit events. Refuses a database that holds real clinics (any "
        "clinic it did not write) or an audit trail, and one where a synth clinic exists. A "
        "development tool: installed with DEBUG on or TRELLIS_DEV_APPS=true. "
        "For speed it drops the tables' secondary indexes (and on PostgreSQL their foreign "
        "keys) during the load and puts them back at the end; --restore puts back any that a "
        "killed run left missing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--clinics", type=int, help="how many clinics")
        parser.add_argument("--patients", type=int, help="patients in the whole network")
        parser.add_argument("--seed", type=int, help="same seed, same data")
        parser.add_argument(
            "--days",
            type=int,
            default=DEFAULT_DAYS,
            help=f"days of history up to today (default {DEFAULT_DAYS})",
        )
        parser.add_argument("--quiet", action="store_true", help="no progress bar or table")
        parser.add_argument(
            "--restore",
            action="store_true",
            help="only put back the indexes and foreign keys an interrupted run dropped",
        )

    def handle(self, clinics, patients, seed, days, quiet, restore, **options) -> None:
        if restore:
            back = restore_schema()
            self.stdout.write(
                f"synth: put back {len(back)} indexes and foreign keys"
                if back
                else "synth: no index or foreign key missing"
            )
            return
        missing = [
            f"--{name}"
            for name, value in (("clinics", clinics), ("patients", patients), ("seed", seed))
            if value is None
        ]
        if missing:
            raise CommandError(f"synth: {', '.join(missing)} required")
        bar = None if quiet else _ProgressBar(self.stderr)
        try:
            result = generate(
                clinics,
                patients,
                seed,
                progress=bar,
                stage=bar.stage if bar is not None else None,
                days=days,
            )
        except SynthError as error:
            raise CommandError(f"synth: {error}") from None
        if bar is not None:
            bar.close()
            width = max(len(label) for label in result.tables)
            for label, count in result.tables.items():
                self.stdout.write(f"  {label:<{width}}  {count:>12,}")
        self.stdout.write(
            f"synth: wrote {result.rows} rows in {result.seconds:.2f} s "
            f"({result.rows_per_second:.0f} rows/s)"
        )


class _ProgressBar:
    """``[#######.............]  35%  3,500/10,000 patients  312,000 rows`` redrawn in place."""

    WIDTH = 30

    def __init__(self, stream) -> None:  # the command's OutputWrapper
        self.stream = stream
        self.began = time.perf_counter()
        self.drawn = False
        self.line = ""

    def __call__(self, done: int, total: int, rows: int) -> None:
        share = done / total if total else 1.0
        filled = round(self.WIDTH * share)
        self.line = (
            f"synth [{'#' * filled}{'.' * (self.WIDTH - filled)}] {share:4.0%}  "
            f"{done:,}/{total:,} patients  {rows:,} rows"
        )
        self._draw()

    def stage(self, text: str) -> None:
        """Say what the run does now, after the bar (which stays full)."""
        self.line = f"{self.line.split('  …')[0]}  … {text}"
        self._draw()

    def _draw(self) -> None:
        elapsed = time.perf_counter() - self.began
        self.stream.write(f"\r{self.line}  {elapsed:.0f} s", ending="")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("")
            self.stream.flush()
