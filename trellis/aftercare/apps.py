from django.apps import AppConfig


def _sent(count: int) -> str:
    return f"sent {count} check-in link{'s' * (count != 1)}"


def _escalated(count: int) -> str:
    return f"escalated {count} unreturned follow-up{'s' * (count != 1)}"


class AftercareConfig(AppConfig):
    name = "trellis.aftercare"
    label = "aftercare"
    verbose_name = "Aftercare"

    def ready(self) -> None:
        from trellis.accounts.permissions import Perm
        from trellis.aftercare import selectors, services
        from trellis.audit import naming
        from trellis.messaging import jobs
        from trellis.patients import panels
        from trellis.safety import sources
        from trellis.treatments import hooks

        # How the audit report names these records: which record, never what it says.
        naming.register("aftercare.aftercareplan", from_id=lambda value: "Aftercare plan")
        naming.register("aftercare.coachingsession", from_id=lambda value: "Coaching session")
        naming.register("aftercare.checkin", from_id=lambda value: "Check-in")
        naming.register("aftercare.journalentry", from_id=lambda value: "Journal entry")
        naming.register(
            "aftercare.followupescalation", from_id=lambda value: "Unreturned follow-up"
        )
        # What raised an aftercare alert, on the alert's page.
        sources.register("aftercare.checkin", selectors.check_in_source)
        sources.register("aftercare.journalentry", selectors.journal_source)
        sources.register("aftercare.followupescalation", selectors.follow_up_source)
        # The card on the patient's page.
        panels.register("aftercare", Perm.AFTERCARE_READ, selectors.patient_card)
        # A signed dosing session plans its check-ins, in the signing transaction. Checked
        # here rather than planned with the course: a check-in is timed from when the session
        # actually ended, which only signing knows.
        hooks.on_session_signed(services.plan_check_ins)
        # At-home oral ketamine: a check-in every week of each supply (issue, refill); a
        # cancelled prescription's unsent ones are not sent.
        hooks.on_home_supply(services.plan_home_check_ins, services.stop_home_check_ins)
        # On every pass of the outbox worker, after escalation and questionnaire reminders.
        jobs.register(
            "check_ins", lambda now: services.send_due_check_ins(now=now), _sent, order=25
        )
        jobs.register(
            "follow_up_escalations",
            lambda now: services.escalate_unreturned_follow_ups(now=now),
            _escalated,
            order=40,
        )
