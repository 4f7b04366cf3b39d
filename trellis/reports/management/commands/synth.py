import time

from django.core.management.base import BaseCommand, CommandError

from trellis.reports.synth import DEFAULT_DAYS, SynthError, generate


class Command(BaseCommand):
    help = (
        "Fill an empty database (after migrate) with a synthetic clinic network for load tests "
        "and the outcomes dashboard: clinics synth-001 … with staff of every role (unusable "
        "passwords), PATIENTS patients in all, spread evenly over the clinics, with screenings, "
        "treatment courses, documented sessions, questionnaires and safety alerts over the last "
        "DAYS days. The same seed gives the same data. A test-data generator run by an "
        "operator: it writes no audit events. Refuses to run when a synth clinic already exists."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--clinics", type=int, required=True, help="how many clinics")
        parser.add_argument(
            "--patients", type=int, required=True, help="patients in the whole network"
        )
        parser.add_argument("--seed", type=int, required=True, help="same seed, same data")
        parser.add_argument(
            "--days",
            type=int,
            default=DEFAULT_DAYS,
            help=f"days of history up to today (default {DEFAULT_DAYS})",
        )
        parser.add_argument("--quiet", action="store_true", help="no progress bar or table")

    def handle(self, clinics, patients, seed, days, quiet, **options) -> None:
        bar = None if quiet else _ProgressBar(self.stderr)
        try:
            result = generate(clinics, patients, seed, progress=bar, days=days)
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

    def __call__(self, done: int, total: int, rows: int) -> None:
        share = done / total if total else 1.0
        filled = round(self.WIDTH * share)
        elapsed = time.perf_counter() - self.began
        self.stream.write(
            f"\rsynth [{'#' * filled}{'.' * (self.WIDTH - filled)}] {share:4.0%}  "
            f"{done:,}/{total:,} patients  {rows:,} rows  {elapsed:.0f} s",
            ending="",
        )
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("")
            self.stream.flush()
