from django.db import models


class DeferredIndex(models.Model):
    """An index a bulk load (``manage.py synth``) dropped and has not built again yet.

    Written in the transaction that drops the index and deleted in the one that builds it, so
    a row outlives only a load that was killed in between; ``trellis.reports.bulk`` then builds
    it from ``sql``, the statement that created it.
    """

    table = models.CharField(max_length=200)
    name = models.CharField(max_length=200, unique=True)
    sql = models.TextField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.name} on {self.table}"
