"""Keeps each course's stored outcome facts (``CourseOutcome``) in step with what they are
computed from, in the same transaction: a course saved (its dates, status, end) and a
questionnaire saved, moved to another course or deleted. Connected in ``ReportsConfig.ready``:
reports sits above treatments and measures, which know nothing of it."""

from __future__ import annotations

from trellis.measures.models import Measure
from trellis.reports import outcomes
from trellis.treatments.models import Course

# A course's fields its outcome facts read; a save naming none of them changes nothing.
COURSE_FIELDS = {"clinic", "modality", "start_date", "status", "ended_at"}


def course_saved(sender, instance: Course, created: bool, update_fields=None, raw=False, **_):
    if raw or (update_fields is not None and not COURSE_FIELDS & set(update_fields)):
        return
    outcomes.refresh([instance.pk])


def measure_changing(sender, instance: Measure, raw=False, **_):
    """Remember the course a questionnaire belonged to before this save, which loses it if
    the questionnaire moves."""
    instance._stored_course_id = (
        Measure.objects.filter(pk=instance.pk).values_list("course_id", flat=True).first()
        if not raw and instance.pk and not instance._state.adding
        else None
    )


def measure_saved(sender, instance: Measure, raw=False, **_):
    if raw:
        return
    outcomes.refresh([instance.course_id, getattr(instance, "_stored_course_id", None)])


def measure_deleted(sender, instance: Measure, **_):
    outcomes.refresh([instance.course_id])
