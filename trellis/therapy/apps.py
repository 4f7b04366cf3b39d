from django.apps import AppConfig


class TherapyConfig(AppConfig):
    name = "trellis.therapy"
    label = "therapy"
    verbose_name = "Psychotherapy"

    def ready(self) -> None:
        from trellis.accounts.permissions import Perm
        from trellis.audit import naming
        from trellis.patients import panels
        from trellis.safety import sources
        from trellis.therapy import selectors, views
        from trellis.treatments import hooks

        # How the audit report names these records: which record, never what it says.
        naming.register(
            "therapy.progressnote",
            lambda note, tz: f"Progress note of {naming.day(note.started_at, tz)}",
        )
        naming.register(
            "therapy.progressnoteaddendum", from_id=lambda value: "Progress note addendum"
        )
        naming.register("therapy.treatmentgoal", from_id=lambda value: "Treatment-plan goal")
        naming.register("therapy.psychotherapynote", from_id=lambda value: "Psychotherapy note")
        naming.register(
            "therapy.psychotherapynotegrant", from_id=lambda value: "Psychotherapy note grant"
        )
        # The card on the patient's page and the part of the session's page (patients and
        # treatments import nothing from here); the alert page's link to the note.
        panels.register("progress_notes", Perm.SESSION_READ, selectors.patient_card)
        hooks.on_session_page(selectors.session_part)
        sources.register("therapy.progressnote", views.describe_alert_source)
