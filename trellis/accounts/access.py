"""Who is acting: a member of staff at one clinic (``Actor``), and the role check (``require``).

Loading patient data, which also checks the clinic and audits the read, is one layer up in
``trellis.patients.access``.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied

from trellis.accounts.models import Clinic, Membership, User
from trellis.accounts.permissions import Perm


@dataclass(frozen=True)
class Actor:
    """A member of staff acting at one clinic, from one address (a page or an API token)."""

    user: User
    membership: Membership
    source_address: str
    # A system client (SMART Backend Services, ``trellis.fhir.smart``) acts with exactly the
    # permissions and FHIR resource types its token's scopes grant, whatever a role would allow.
    grants: frozenset[str] | None = None
    scope_types: frozenset[str] | None = None

    @property
    def clinic(self) -> Clinic:
        return self.membership.clinic

    @property
    def role(self) -> str:
        return self.membership.role

    def can(self, perm: Perm) -> bool:
        if self.grants is not None:
            return perm in self.grants
        return self.membership.can(perm)


def require(actor: Actor | None, perm: Perm) -> Actor:
    if actor is None:
        raise PermissionDenied("You have no role at a clinic.")
    if not actor.can(perm) and actor.grants is not None:
        raise PermissionDenied("This system client's scopes do not grant this.")
    if not actor.can(perm):
        raise PermissionDenied(
            f"Your role ({actor.membership.get_role_display()}) may not do this."
        )
    return actor
