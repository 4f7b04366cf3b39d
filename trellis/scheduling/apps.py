from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "trellis.scheduling"
    label = "scheduling"
    verbose_name = "Appointment book"

    def ready(self) -> None:
        from trellis.accounts.permissions import Perm
        from trellis.audit import naming
        from trellis.patients import panels
        from trellis.scheduling import selectors
        from trellis.treatments import hooks

        # How the audit report names these records (the audit app imports none of them).
        naming.register(
            "scheduling.appointment",
            lambda a, tz: f"{a.get_kind_display()} appointment, {naming.day(a.start, tz)}",
        )
        panels.register("appointments", Perm.APPOINTMENT_READ, selectors.patient_card)
        hooks.on_session_bookings(selectors.session_bookings)
