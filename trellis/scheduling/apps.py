from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "trellis.scheduling"
    label = "scheduling"
    verbose_name = "Appointment book"

    def ready(self) -> None:
        from trellis.audit import naming

        # How the audit report names these records (the audit app imports none of them).
        naming.register(
            "scheduling.appointment",
            lambda a, tz: f"{a.get_kind_display()} appointment, {naming.day(a.start, tz)}",
        )
