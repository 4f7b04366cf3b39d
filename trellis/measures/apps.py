from django.apps import AppConfig


def _reminders(count: int) -> str:
    return f"queued {count} questionnaire reminder{'s' * (count != 1)}"


def _scheduled(count: int) -> str:
    return f"planned {count} course schedule{'s' * (count != 1)}"


class MeasuresConfig(AppConfig):
    name = "trellis.measures"
    label = "measures"
    verbose_name = "Measurement"

    def ready(self) -> None:
        from trellis.accounts.permissions import Perm
        from trellis.audit import naming
        from trellis.measures import selectors, services
        from trellis.messaging import jobs
        from trellis.patients import panels
        from trellis.safety import sources
        from trellis.treatments import hooks

        # How the audit report names these records (the audit app imports none of them).
        naming.register(
            "measures.measure",
            lambda m, tz: f"{m.get_instrument_display()} of {naming.day(m.observed_at, tz)}",
        )
        # How an alert a questionnaire raised names it (the safety app imports none of this).
        sources.register("measures.measure", services.alert_source)
        # The questionnaire card on the patient's page.
        panels.register("measures", Perm.MEASURE_READ, selectors.patient_card)
        # A course's questionnaires are planned whenever its plan changes.
        hooks.on_course_planned(services.schedule_course)
        # On every pass of the outbox worker, after safety's escalation.
        jobs.register(
            "reminders", lambda now: services.send_measure_reminders(now=now), _reminders, order=20
        )
        jobs.register(
            "scheduled", lambda now: services.schedule_unscheduled_courses(), _scheduled, order=30
        )
