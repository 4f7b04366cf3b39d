from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "trellis.reports"
    label = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from trellis.reports import checks  # noqa: F401 (registers the check)
