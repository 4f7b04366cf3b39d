from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "trellis.plans"
    label = "plans"
    verbose_name = "Combined and maintenance plans"

    def ready(self) -> None:
        from trellis.accounts.permissions import Perm
        from trellis.audit import naming
        from trellis.measures import hooks
        from trellis.patients import panels
        from trellis.plans import selectors, watch

        # The plans card on the patient's page (the patients app imports none of this).
        panels.register("plans", Perm.COURSE_READ, selectors.patient_card)
        # Every questionnaire recorded is read by the relapse watch, in its transaction.
        hooks.on_measure_recorded(watch.measure_recorded)
        naming.register(
            "plans.treatmentplan", lambda p, tz: f"Combined plan of {naming.day(p.created_at, tz)}"
        )
        naming.register(
            "plans.maintenanceplan",
            lambda p, tz: f"Maintenance plan of {naming.day(p.created_at, tz)}",
        )
        naming.register(
            "plans.relapseflag", lambda f, tz: f"Relapse flag of {naming.day(f.raised_at, tz)}"
        )
