"""What the system-client commands share: the administrator who runs them, as an actor."""

from django.core.management.base import CommandError

from trellis.accounts.access import Actor
from trellis.accounts.models import Membership
from trellis.accounts.permissions import Perm


def administrator(username: str, clinic_slug: str) -> Actor:
    membership = (
        Membership.objects.select_related("user", "clinic")
        .filter(
            user__username=username, user__is_active=True, clinic__slug=clinic_slug, is_active=True
        )
        .first()
    )
    if membership is None:
        raise CommandError(f"{username} has no active role at {clinic_slug}.")
    actor = Actor(membership.user, membership, "manage.py")
    if not actor.can(Perm.CLINIC_CHANGE):
        raise CommandError(f"{username} is not an administrator of {clinic_slug}.")
    return actor
