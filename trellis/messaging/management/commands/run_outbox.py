import signal
import time
from dataclasses import dataclass, field

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections

from trellis.messaging.jobs import JobCounts, run_clinic_jobs
from trellis.messaging.services import SendCounts
from trellis.messaging.services import send_due as send_outbox
from trellis.messaging.sms import get_provider


@dataclass
class PassCounts(SendCounts):
    """What one pass of the worker did: the clinic's timed jobs, then the outbox."""

    jobs: JobCounts = field(default_factory=JobCounts)

    def __str__(self) -> str:
        jobs = str(self.jobs)
        return f"{super().__str__()}; {jobs}" if jobs else super().__str__()


def send_due(limit: int) -> SendCounts:
    """One pass: the clinic's timed jobs (trellis.messaging.jobs: escalate due safety alerts,
    queue due questionnaire reminders …), then send what is due, so the messages those jobs
    queued go out in the same pass."""
    jobs = run_clinic_jobs()
    sent = send_outbox(limit=limit)
    return PassCounts(sent=sent.sent, retrying=sent.retrying, failed=sent.failed, jobs=jobs)


class Command(BaseCommand):
    help = (
        "Send due e-mail and SMS from the outbox, after escalating unacknowledged safety alerts "
        "and queueing questionnaire reminders: every few seconds until stopped (SIGTERM or "
        "Ctrl-C finish the batch in hand), or once with --once (for cron)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="send what is due, then exit")
        parser.add_argument(
            "--interval",
            type=float,
            default=5.0,
            help="seconds to wait when nothing more is due (default 5)",
        )
        parser.add_argument(
            "--limit", type=int, default=100, help="messages per batch (default 100)"
        )

    def handle(self, once: bool, interval: float, limit: int, **options) -> None:
        if interval <= 0 or limit <= 0:
            raise CommandError("--interval and --limit must be greater than 0.")
        try:
            get_provider()  # a misconfigured SMS provider is reported now, not per message
        except Exception as error:
            raise CommandError(f"SMS provider: {error}") from error
        if once:
            self.stdout.write(f"Outbox: {send_due(limit=limit)}")
            return
        self.stopping = False
        previous = {sig: signal.signal(sig, self.stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.stdout.write(f"Outbox worker started; polling every {interval:g} s.")
            while not self.stopping:
                full_batch = self.send_batch(limit)
                if not full_batch:
                    self.wait(interval)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("Outbox worker stopped.")

    def send_batch(self, limit: int) -> bool:
        """Send one batch; True when it was full, so that more may be due at once."""
        close_old_connections()  # drop a connection the database closed or that is too old
        try:
            counts = send_due(limit=limit)
        except DatabaseError as error:
            # The database is unreachable: nothing was claimed, or a claim lapses in minutes.
            self.stderr.write(f"Outbox: database error, trying again: {error}")
            return False
        if counts.total or getattr(counts, "jobs", None):
            self.stdout.write(f"Outbox: {counts}")
        return counts.total >= limit

    def wait(self, seconds: float) -> None:
        # Short naps rather than one long sleep, so a stop request is noticed within a moment.
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.2, seconds))

    def stop(self, signum: int, frame) -> None:
        """First SIGTERM/SIGINT: finish the batch in hand, then exit. A second one: exit now."""
        self.stopping = True
        signal.signal(
            signum, signal.SIG_DFL if signum == signal.SIGTERM else signal.default_int_handler
        )
