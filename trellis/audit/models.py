from django.conf import settings
from django.db import models
from django.utils import timezone

from trellis.lib.models import AppendOnlyModel, AppendOnlyQuerySet


class Action(models.TextChoices):
    """ASTM E2147 actions on patient data, and the sign-in events around them."""

    CREATE = "create", "Create"
    READ = "read", "Read"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"
    QUERY = "query", "Query"
    PRINT = "print", "Print"
    EXPORT = "export", "Export"
    LOGIN = "login", "Sign in"
    LOGOUT = "logout", "Sign out"
    LOGIN_FAILED = "login_failed", "Failed sign-in"


class AuditEventQuerySet(AppendOnlyQuerySet):
    pass


class AuditEvent(AppendOnlyModel):
    """Who saw or changed what, when and from where. Append-only and hash-chained.

    Written only by ``trellis.audit.services.record``; on PostgreSQL a trigger refuses UPDATE
    and DELETE, and ``manage.py audit_verify`` detects changes made around it.
    """

    seq = models.BigIntegerField(unique=True, editable=False)
    occurred_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    username = models.CharField(max_length=150, blank=True, editable=False)
    # covered by the (clinic, occurred_at) index
    clinic = models.ForeignKey(
        "accounts.Clinic",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        db_index=False,
    )
    # covered by the (patient, occurred_at) index
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        db_index=False,
    )
    action = models.CharField(max_length=16, choices=Action.choices, editable=False)
    object_type = models.CharField(max_length=64, blank=True, editable=False)
    object_id = models.CharField(max_length=64, blank=True, editable=False)
    source_address = models.CharField(max_length=64, blank=True, editable=False)
    detail = models.JSONField(default=dict, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["clinic", "occurred_at"]),
            models.Index(fields=["patient", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type} by {self.username or '—'}"

    def chain_fields(self) -> dict:
        return {
            "seq": self.seq,
            "occurred_at": self.occurred_at,
            "user_id": self.user_id,
            "username": self.username,
            "clinic_id": str(self.clinic_id) if self.clinic_id else None,
            "patient_id": str(self.patient_id) if self.patient_id else None,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "source_address": self.source_address,
            "detail": self.detail,
        }
