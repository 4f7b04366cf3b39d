from django.apps import AppConfig


class MeasuresConfig(AppConfig):
    name = "trellis.measures"
    label = "measures"
    verbose_name = "Measurement and safety"

    def ready(self) -> None:
        from trellis.audit import naming

        # How the audit report names these records (the audit app imports none of them).
        naming.register(
            "measures.measure",
            lambda m, tz: f"{m.get_instrument_display()} of {naming.day(m.observed_at, tz)}",
        )
        naming.register(
            "measures.safetyalert",
            lambda a, tz: f"Safety alert of {naming.day(a.created_at, tz)}",
        )
