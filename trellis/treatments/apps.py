from django.apps import AppConfig


class TreatmentsConfig(AppConfig):
    name = "trellis.treatments"
    label = "treatments"
    verbose_name = "Treatment courses and sessions"

    def ready(self) -> None:
        from datetime import date

        from trellis.accounts.permissions import Perm
        from trellis.audit import naming
        from trellis.patients import panels
        from trellis.safety import sources
        from trellis.treatments import hooks, oral_selectors, selectors

        # The course card on the patient's page (the patients app imports none of this).
        panels.register("courses", Perm.COURSE_READ, selectors.course_card)
        # At-home oral ketamine: the patient's card, the bladder questions on an oral
        # session's page, and the alert page's link to the answers that raised an alert.
        panels.register("oral_home", Perm.SESSION_READ, oral_selectors.patient_card)
        hooks.on_session_page(oral_selectors.session_part)
        sources.register("treatments.bladdercheck", oral_selectors.describe_alert_source)
        # How the audit report names these records (the audit app imports none of them).
        naming.register(
            "treatments.course", lambda c, tz: f"Course from {naming.day(c.start_date, tz)}"
        )
        naming.register(
            "treatments.session",
            lambda s, tz: f"Session {s.number} of {naming.day(s.planned_date, tz)}",
        )
        naming.register(
            "treatments.vitalsign",
            lambda v, tz: (
                f"Vital signs of session {v.session.number}, {naming.day(v.taken_at, tz)}"
            ),
            related=["session"],
        )
        naming.register(
            "treatments.remsform",
            lambda f, tz: (
                f"REMS form of session {f.session.number}, {naming.day(f.session.planned_date, tz)}"
            ),
            related=["session"],
        )
        naming.register(
            "treatments.motorthreshold",
            lambda t, tz: f"Motor threshold of {naming.day(t.measured_on, tz)}",
        )
        naming.register(
            "treatments.oralprescription",
            lambda rx, tz: f"Oral ketamine prescription of {naming.day(rx.issued_on, tz)}",
        )
        naming.register(
            "treatments.pdmpcheck", lambda c, tz: f"PDMP check of {naming.day(c.checked_on, tz)}"
        )
        naming.register(
            "treatments.urinedrugscreen",
            lambda u, tz: f"Urine drug screen of {naming.day(u.collected_on, tz)}",
        )
        naming.register(
            "treatments.prescriptionfill",
            lambda f, tz: f"Prescription fill of {naming.day(f.filled_on, tz)}",
        )
        naming.register(
            "treatments.bladdercheck",
            lambda b, tz: f"Bladder symptoms of {naming.day(b.asked_on, tz)}",
        )
        naming.register(
            "treatments.closureday",
            from_id=lambda value: f"Closure day {naming.day(date.fromisoformat(value), None)}",
        )
