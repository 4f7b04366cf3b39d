from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "trellis.patients"
    label = "patients"
    verbose_name = "Patients"

    def ready(self) -> None:
        from trellis.audit import naming

        # How the audit report names these records (the audit app imports none of them).
        # The patient's name is in the report's own column: no query for it here.
        naming.register("patients.patient", from_id=lambda value: "Patient record")
        naming.register(
            "patients.screening", lambda s, tz: f"Screening of {naming.day(s.created_at, tz)}"
        )
        naming.register(
            "patients.assessmentrequest",
            lambda r, tz: (
                f"Assessment request of {naming.day(r.submitted_at, tz)} — "
                f"{r.given_name} {r.family_name}"
            ),
        )
        naming.register(
            "patients.bodymeasurement",
            lambda m, tz: f"Weight and height of {naming.day(m.measured_on, tz)}",
        )
