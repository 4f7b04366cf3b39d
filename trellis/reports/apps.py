from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save, pre_save


def _built(count: int) -> str:
    return f"prepared {count} research export{'s' * (count != 1)}"


class ReportsConfig(AppConfig):
    name = "trellis.reports"
    label = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from trellis.measures.models import Measure
        from trellis.reports import receivers
        from trellis.treatments.models import Course

        uid = "trellis.reports.course_outcome"
        post_save.connect(receivers.course_saved, sender=Course, dispatch_uid=f"{uid}.course")
        pre_save.connect(receivers.measure_changing, sender=Measure, dispatch_uid=f"{uid}.pre")
        post_save.connect(receivers.measure_saved, sender=Measure, dispatch_uid=f"{uid}.measure")
        post_delete.connect(
            receivers.measure_deleted, sender=Measure, dispatch_uid=f"{uid}.deleted"
        )
        from trellis.messaging import jobs
        from trellis.reports import research

        # Research exports are prepared by the outbox worker, after the clinical jobs.
        jobs.register("research_export", research.run_pending, _built, order=920)
