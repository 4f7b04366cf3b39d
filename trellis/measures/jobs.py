"""The clinic's timed jobs, run by the outbox worker on every pass (``manage.py run_outbox``).

Folded into the one worker every installation already runs, so that an alert cannot go
unescalated because a second process was never started. Escalation runs first: a failure in a
later job never holds it up.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import DatabaseError

from trellis.measures import alerts, services

logger = logging.getLogger(__name__)


@dataclass
class JobCounts:
    escalated: int = 0
    reminders: int = 0
    scheduled: int = 0

    def __bool__(self) -> bool:
        return bool(self.escalated or self.reminders or self.scheduled)

    def __str__(self) -> str:
        parts = []
        if self.escalated:
            parts.append(f"escalated {self.escalated} safety alert{'s' * (self.escalated != 1)}")
        if self.reminders:
            parts.append(
                f"queued {self.reminders} questionnaire reminder{'s' * (self.reminders != 1)}"
            )
        if self.scheduled:
            parts.append(f"planned {self.scheduled} course schedule{'s' * (self.scheduled != 1)}")
        return ", ".join(parts)


def run_clinic_jobs(now: datetime | None = None) -> JobCounts:
    """Escalate due safety alerts, queue due questionnaire reminders, plan missing schedules.

    A database error propagates (the worker reports it and tries again); any other error in a
    job is logged and the next job still runs.
    """
    counts = JobCounts()
    for name, job in (
        ("escalated", lambda: alerts.escalate_due_alerts(now=now)),
        ("reminders", lambda: services.send_measure_reminders(now=now)),
        ("scheduled", services.schedule_unscheduled_courses),
    ):
        try:
            setattr(counts, name, job())
        except DatabaseError:
            raise
        except Exception:
            logger.exception("Clinic job %s failed", name)
    return counts
