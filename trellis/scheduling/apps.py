from django.apps import AppConfig


def _reminded(count: int) -> str:
    return f"queued {count} appointment reminder{'s' * (count != 1)}"


class SchedulingConfig(AppConfig):
    name = "trellis.scheduling"
    label = "scheduling"
    verbose_name = "Appointment book"

    def ready(self) -> None:
        from trellis.accounts.permissions import Perm
        from trellis.audit import naming
        from trellis.messaging import jobs
        from trellis.patients import panels
        from trellis.scheduling import reminders, selectors
        from trellis.treatments import hooks

        # How the audit report names these records (the audit app imports none of them).
        naming.register(
            "scheduling.appointment",
            lambda a, tz: f"{a.get_kind_display()} appointment, {naming.day(a.start, tz)}",
        )
        naming.register(
            "scheduling.calendarfeed",
            lambda f, tz: f"Calendar address of {naming.day(f.created_at, tz)}",
        )
        # The patient page's card and the course page's booked times (treatments and patients
        # import nothing from here).
        panels.register("appointments", Perm.APPOINTMENT_READ, selectors.patient_card)
        hooks.on_session_bookings(selectors.session_bookings)
        # On every pass of the outbox worker, after safety's escalation.
        jobs.register(
            "appointment_reminders",
            lambda now: reminders.send_day_before_reminders(now=now),
            _reminded,
            order=25,
        )
