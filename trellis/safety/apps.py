from django.apps import AppConfig


def _escalated(count: int) -> str:
    return f"escalated {count} safety alert{'s' * (count != 1)}"


class SafetyConfig(AppConfig):
    name = "trellis.safety"
    label = "safety"
    verbose_name = "Safety alerts"

    def ready(self) -> None:
        from trellis.accounts.permissions import Perm
        from trellis.audit import naming
        from trellis.messaging import jobs
        from trellis.patients import panels
        from trellis.safety import selectors, services

        # How the audit report names these records (the audit app imports none of them);
        # events written before alerts had their own app name them measures.safetyalert.
        def name(alert, tz) -> str:
            return f"Safety alert of {naming.day(alert.created_at, tz)}"

        naming.register("safety.safetyalert", name)
        naming.register("measures.safetyalert", name, model="safety.safetyalert")
        # Escalation runs first on every pass of the outbox worker.
        jobs.register(
            "escalated", lambda now: services.escalate_due_alerts(now=now), _escalated, order=10
        )
        # The open-alert banner on the patient's page (the patients app imports none of this).
        panels.register("alerts", Perm.ALERT_READ, selectors.alert_banner)
