"""Reads of the ledger: the clinic's stock, with each container's totals summed in SQL."""

from datetime import timedelta

from django.db.models import Q, Sum, Value
from django.db.models.functions import Coalesce

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.controlled.models import Container, EntryKind, Substance
from trellis.lib.errors import InputError

# The stock page marks what expires within this many days, so it is used first.
EXPIRING_SOON_DAYS = 30


def _moved(kind: str):
    return Coalesce(Sum("entries__amount_ug", filter=Q(entries__kind=kind)), Value(0))


def stock(actor: Actor, substance: str = "", *, include_empty: bool = False) -> list[Container]:
    """The clinic's containers, soonest expiry first, each with ``received_ug``,
    ``administered_ug``, ``wasted_ug`` and ``adjusted_ug`` summed from its entries (positive
    amounts taken away), and ``expiring_soon``. Audited as a query."""
    require(actor, Perm.CONTROLLED_READ)
    if substance and substance not in Substance.values:
        raise InputError("substance", f"must be one of {', '.join(Substance.values)}")
    rows = Container.objects.filter(clinic=actor.clinic)
    if substance:
        rows = rows.filter(substance=substance)
    if not include_empty:
        rows = rows.filter(balance_ug__gt=0)
    rows = rows.annotate(
        receipt_ug=_moved(EntryKind.RECEIPT),
        administration_ug=_moved(EntryKind.ADMINISTRATION),
        waste_ug=_moved(EntryKind.WASTE),
        adjustment_ug=_moved(EntryKind.ADJUSTMENT),
    )
    today = actor.clinic.today()
    soon = today + timedelta(days=EXPIRING_SOON_DAYS)
    found = list(rows.order_by("substance", "expires_on", "lot", "number"))
    for container in found:
        container.administered_ug = -container.administration_ug
        container.wasted_ug = -container.waste_ug
        container.adjusted_ug = -container.adjustment_ug
        container.expired = container.is_expired(today)
        container.expiring_soon = not container.expired and container.expires_on <= soon
    record_for(
        actor,
        Action.QUERY,
        object_type="controlled.container",
        detail={"substance": substance, "results": len(found)},
    )
    return found
