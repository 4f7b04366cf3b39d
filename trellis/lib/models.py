"""Field helpers and base classes shared by the apps' models."""

from django.conf import settings
from django.db import models


def staff_reference(*, optional: bool = False, **kwargs) -> models.ForeignKey:
    """Who did something: a member of staff, kept for as long as the row (PROTECT), with no
    reverse accessor and no index of its own, since no query looks rows up by who wrote them."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=optional,
        blank=optional,
        related_name="+",
        db_index=False,
        **kwargs,
    )


def one_or_none(queryset: models.QuerySet) -> models.Model | None:
    """The row of a query that matches at most one (by its key, or a one-to-one), or None.

    Unlike ``first()`` it asks for no ORDER BY: the model's default ordering would make Django
    compile one, passing over every selected column, for a row that has no order to keep."""
    return next(iter(queryset.order_by()[:1]), None)


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses bulk updates and deletes of rows that are written once."""

    def update(self, **kwargs):
        raise TypeError(f"{self.model._meta.verbose_name_plural} are append-only")

    def delete(self):
        raise TypeError(f"{self.model._meta.verbose_name_plural} are append-only")


class AppendOnlyModel(models.Model):
    """A row written once (the audit trail, the controlled-substance ledger): saving it again or
    deleting it raises; a correction is a new row. The database refuses it as well where the
    app's migrations install triggers."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError(f"{self._meta.verbose_name_plural} are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError(f"{self._meta.verbose_name_plural} are append-only")
