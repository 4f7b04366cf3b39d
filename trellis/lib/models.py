"""Field helpers shared by the apps' models."""

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
