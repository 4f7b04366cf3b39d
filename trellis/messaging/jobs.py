"""The clinic's timed jobs, run by the outbox worker on every pass (``manage.py run_outbox``).

Folded into the one worker every installation already runs, so that an alert cannot go
unescalated because a second process was never started. The apps that own a job register it
here when Django starts (safety: escalation; measures: reminders and schedules); this app
imports none of them. Jobs run in ``order``, lowest first: escalation runs first, and a failure
in a later job never holds it up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import DatabaseError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[datetime | None], int]
    # What the worker prints for a count above 0: "escalated 2 safety alerts".
    done: Callable[[int], str]
    order: int


_JOBS: dict[str, Job] = {}


def register(
    name: str,
    run: Callable[[datetime | None], int],
    done: Callable[[int], str],
    *,
    order: int = 100,
) -> None:
    """Run ``run(now)`` on every pass of the worker; it returns how many things it did."""
    _JOBS[name] = Job(name, run, done, order)


def registered() -> list[Job]:
    return sorted(_JOBS.values(), key=lambda job: (job.order, job.name))


@dataclass
class JobCounts:
    """How many things each job did in one pass, by job name."""

    counts: dict[str, int] = field(default_factory=dict)

    def count(self, name: str) -> int:
        return self.counts.get(name, 0)

    def __bool__(self) -> bool:
        return any(self.counts.values())

    def __str__(self) -> str:
        return ", ".join(
            job.done(self.counts[job.name]) for job in registered() if self.counts.get(job.name)
        )


def run_clinic_jobs(now: datetime | None = None) -> JobCounts:
    """Run every registered job once.

    A database error propagates (the worker reports it and tries again); any other error in a
    job is logged and the next job still runs.
    """
    counts = JobCounts()
    for job in registered():
        try:
            counts.counts[job.name] = job.run(now)
        except DatabaseError:
            raise
        except Exception:
            logger.exception("Clinic job %s failed", job.name)
    return counts
