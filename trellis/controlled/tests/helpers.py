"""Test data for the ledger: stock received the way a clinic receives it."""

from datetime import timedelta

from trellis.controlled import services

SUPPLIER = services.Supplier(
    name="Midwest Medical Supply", address="12 Depot Rd, Columbus, OH 43004", dea_number="AB1234563"
)


def receive(actor, *, substance="ketamine", containers=1, mg=500, expires_in_days=365, **kwargs):
    today = actor.clinic.today()
    defaults = {
        "ndc": "0409-2053-10" if substance == "ketamine" else "50458-028-02",
        "lot": "K2291",
        "expires_on": today + timedelta(days=expires_in_days),
        "volume_per_container_ml": 10 if substance == "ketamine" else None,
        "supplier": SUPPLIER,
        "invoice_number": "INV-88123",
        "invoice_date": today,
    }
    defaults.update(kwargs)
    return services.receive(
        actor,
        substance=substance,
        containers=containers,
        amount_per_container_mg=mg,
        **defaults,
    )


def vial(actor, mg=500, **kwargs):
    return receive(actor, mg=mg, **kwargs).created_items[0]
