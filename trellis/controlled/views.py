"""The stock page a nurse opens at the start of the day: what is on hand, what expires soon."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from trellis.controlled import balance, selectors
from trellis.controlled.models import Substance


@login_required
def stock(request: HttpRequest) -> HttpResponse:
    substance = request.GET.get("substance", "")
    if substance not in Substance.values:
        substance = ""
    containers = selectors.stock(request.actor, substance)
    totals: dict[str, int] = {}
    for container in containers:
        container.remaining_text = balance.mg_text(container.balance_ug)
        container.received_text = balance.mg_text(container.receipt_ug)
        container.used_text = balance.mg_text(container.administered_ug + container.wasted_ug)
        totals[container.substance] = totals.get(container.substance, 0) + container.balance_ug
    labels = dict(Substance.choices)
    return render(
        request,
        "controlled/stock.html",
        {
            "containers": containers,
            "substance": substance,
            "substances": Substance.choices,
            "totals": [(labels[key], balance.mg_text(ug)) for key, ug in sorted(totals.items())],
            "expiring_count": sum(1 for c in containers if c.expiring_soon),
            "soon_days": selectors.EXPIRING_SOON_DAYS,
        },
    )
