"""Each course's outcome facts, kept up to date as its course and its questionnaires change
(``CourseOutcome``, grouped by ``trellis.reports.outcomes``), and de-identified research exports
(DOMAIN.md §17; docs/research-export.md) with their CSV files.

A research export request is recorded with who asked, whether it is a limited data set and
the data use agreement it is disclosed under; the worker builds its files
(``trellis.reports.research``). No pseudonym, date offset or patient id is stored with it: the
link back to the patients exists only while the files are built.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ResearchStatus(models.TextChoices):
    PENDING = "pending", "Being prepared"
    COMPLETE = "complete", "Ready"
    FAILED = "failed", "Failed"


class ResearchExport(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    limited_data_set = models.BooleanField(default=False)
    dua_reference = models.CharField("data use agreement", max_length=200, blank=True)
    status = models.CharField(
        max_length=10, choices=ResearchStatus.choices, default=ResearchStatus.PENDING
    )
    patients = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["clinic", "created_at"], name="research_export_clinic_idx")]

    def __str__(self) -> str:
        kind = "Limited data set" if self.limited_data_set else "De-identified"
        return f"{kind} research export ({self.get_status_display()})"


class ResearchFile(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    export = models.ForeignKey(ResearchExport, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=60)
    content = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["export", "name"], name="research_file_unique")
        ]

    def __str__(self) -> str:
        return self.name


class CourseOutcome(models.Model):
    """What ``outcomes.course_facts`` computes for one course, stored. Written only by
    ``outcomes.refresh`` (in the transaction that changed the course or one of its PHQ-9s) and
    ``outcomes.rebuild``; the dashboard's figures are grouped from these rows."""

    course = models.OneToOneField(
        "treatments.Course", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # covered by the (clinic, start_date) index
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    modality = models.CharField(max_length=16)
    start_date = models.DateField()
    quarter = models.CharField(max_length=8)  # "2026-Q1"
    completed = models.BooleanField()
    baseline = models.IntegerField(null=True)
    latest = models.IntegerField(null=True)
    measured = models.IntegerField(null=True)
    seconds_to_response = models.BigIntegerField(null=True)
    follow_up_3m = models.IntegerField(null=True)
    follow_up_6m = models.IntegerField(null=True)

    class Meta:
        indexes = [models.Index(fields=["clinic", "start_date"])]

    def __str__(self) -> str:
        return f"Outcome facts of course {self.course_id}"
