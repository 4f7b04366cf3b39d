"""What the administrator's home page counts that belongs to no work list."""

from trellis.accounts.access import Actor, require
from trellis.accounts.models import Membership
from trellis.accounts.permissions import Perm


def staff_count(actor: Actor) -> int:
    """How many members of staff hold an active role at the actor's clinic."""
    require(actor, Perm.CLINIC_CHANGE)
    return Membership.objects.filter(clinic=actor.clinic, is_active=True).count()
