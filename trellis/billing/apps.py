from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "trellis.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from trellis.audit import naming

        # How the audit report names a fee ("Fee for 90868").
        naming.register("billing.fee", lambda fee, tz: f"Fee for {fee.code}")
