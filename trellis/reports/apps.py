from django.apps import AppConfig


def _built(count: int) -> str:
    return f"prepared {count} research export{'s' * (count != 1)}"


class ReportsConfig(AppConfig):
    name = "trellis.reports"
    label = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from trellis.messaging import jobs
        from trellis.reports import research

        # Research exports are prepared by the outbox worker, after the clinical jobs.
        jobs.register("research_export", research.run_pending, _built, order=920)
