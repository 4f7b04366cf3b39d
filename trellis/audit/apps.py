from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "trellis.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from trellis.audit import naming, signals  # noqa: F401  (connects the sign-in and accounts receivers)

        naming.register("accounts.clinic", lambda clinic, tz: clinic.name)
        naming.register(
            "accounts.user", lambda user, tz: f"Staff account of {user.get_full_name() or user}"
        )
        naming.register("audit.auditevent", from_id=lambda value: "Audit report")
