from django.db import models


class DeferredSchema(models.Model):
    """An index, foreign key or trigger a bulk load (``manage.py synth``) dropped and has not put
    back.

    Written in the transaction that drops it and deleted in the one that puts it back, so a
    row outlives only a load that was killed in between; ``bench.synthetic.bulk`` then puts it
    back with ``sql``, the statement that created it.
    """

    class Kind(models.TextChoices):
        # Indexes first: adding a foreign key then checks the rows with them in place.
        INDEX = "index", "index"
        FOREIGN_KEY = "key", "foreign key"
        # Last: a trigger put back checks only later writes.
        TRIGGER = "trigger", "trigger"

    table = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    sql = models.TextField()

    class Meta:
        ordering = ["kind", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["table", "name"], name="synthetic_deferred_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name} on {self.table}"
