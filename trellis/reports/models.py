"""Each course's outcome facts, kept up to date as its questionnaires and its course change,
so the outcomes dashboard groups one row per course instead of judging every questionnaire on
each view (``trellis.reports.outcomes``)."""

from django.db import models


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
