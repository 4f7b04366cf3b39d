from django.apps import AppConfig


def _raised(count: int) -> str:
    return f"raised {count} unwitnessed-waste alert{'s' * (count != 1)}"


class ControlledConfig(AppConfig):
    name = "trellis.controlled"
    label = "controlled"
    verbose_name = "Controlled-substance ledger"

    def ready(self) -> None:
        from trellis.audit import naming
        from trellis.controlled import services, session_stock
        from trellis.messaging import jobs
        from trellis.safety import closing, sources
        from trellis.safety.models import AlertKind
        from trellis.treatments import hooks

        # How the audit report names these records (the audit app imports none of them).
        naming.register(
            "controlled.receipt",
            lambda r, tz: f"Receipt of {r.get_substance_display()} lot {r.lot}",
        )
        naming.register(
            "controlled.ledgerentry",
            lambda e, tz: f"Ledger entry {e.seq}: {e.get_kind_display().lower()}",
        )
        naming.register(
            "controlled.container",
            lambda c, tz: f"{c.get_substance_display()} lot {c.lot} #{c.number}",
        )
        # What raised a discrepancy or unwitnessed-waste alert (the safety app imports none).
        sources.register("controlled.ledgerentry", services.describe_alert_source)
        # A count discrepancy is resolved by a role that may correct the balance, explaining it.
        closing.register(
            AlertKind.CONTROLLED_DISCREPANCY,
            closing.ClosingRule(
                roles=services.ADJUSTMENT_ROLES,
                rule=services.DISCREPANCY_RULE,
                note_label="Explanation",
                note_help="What the difference was and why: a recount, a spill, overfill, an "
                "adjustment recorded, or a suspected loss reported.",
                note_required="is required: explain the difference the count found",
            ),
        )
        # Waste its witness has not confirmed in time raises an alert on the worker's pass.
        jobs.register(
            "unwitnessed_waste",
            lambda now: services.alert_unwitnessed_waste(now=now),
            _raised,
            order=22,
        )
        # The dose a session gives is drawn from the containers chosen at its dosing step, in
        # the signing transaction; the lot shows on the session page and the REMS form.
        hooks.on_session_signed(session_stock.draw_at_signing)
        hooks.on_signing_missing(session_stock.signing_missing)
        hooks.on_session_lots(session_stock.session_lots)
        hooks.on_session_page(session_stock.session_part)
        naming.register(
            "controlled.sessiondraw",
            lambda d, tz: f"Stock chosen for a session: lot {d.container.lot}",
        )
        naming.register("controlled.inventory", lambda i, tz: str(i))
        naming.register("controlled.lossreport", lambda r, tz: f"Loss report: {r}")
