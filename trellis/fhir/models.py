"""FHIR Bulk Data exports (``$export``) and the NDJSON files they produce [R136].

An export is requested by a member of staff at their clinic, built in the background by the
worker (``trellis.fhir.bulk``) a chunk at a time, and its files are kept until the clinic's
``bulk_export_hours`` have passed, when the cleanup deletes them.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ExportKind(models.TextChoices):
    SYSTEM = "system", "Every record of the clinic"
    PATIENT = "patient", "Every patient"
    GROUP = "group", "A group of patients"


class ExportStatus(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETE = "complete", "Complete"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


class ExportJob(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=ExportKind.choices)
    group = models.CharField(max_length=64, blank=True)
    # The request as given (``request``, ``types``, ``since``), the totals counted when the
    # export began and the cursor it resumes from (``type``, ``after``).
    params = models.JSONField(default=dict)
    status = models.CharField(
        max_length=12, choices=ExportStatus.choices, default=ExportStatus.ACCEPTED
    )
    progress = models.PositiveSmallIntegerField(default=0, help_text="Per cent done")
    transaction_time = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["clinic", "created_at"], name="fhir_export_clinic_idx"),
            models.Index(fields=["status", "created_at"], name="fhir_export_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} export ({self.get_status_display()})"


class ExportFile(models.Model):
    """One NDJSON file of an export: resources of one type, one per line."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(ExportJob, on_delete=models.CASCADE, related_name="files")
    resource_type = models.CharField(max_length=40)
    seq = models.PositiveIntegerField()
    count = models.PositiveIntegerField()
    # The NDJSON, gzip-compressed (about a tenth of its size): served as it is to a client that
    # accepts gzip, else expanded.
    content = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "resource_type", "seq"], name="fhir_export_file_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.resource_type} {self.seq}"


class SystemClient(models.Model):
    """A program registered by a clinic administrator to read the clinic's records through
    SMART Backend Services [R137]: it signs a JWT with one of its keys (the public JWK set
    kept here) and receives a short-lived token limited to its scopes.

    It acts through a service user of its own (``user``), so the audit trail names it; that user
    has no password and no role: what it may read is the token's scopes, nothing else.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(
        "accounts.Clinic", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    client_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    jwks = models.JSONField(help_text="The public keys (a JWK set), each with its kid")
    scope = models.TextField(help_text="The scopes it may ask for, e.g. system/Patient.rs")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="system_client"
    )
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["clinic", "created_at"], name="fhir_sysclient_clinic")]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"


class SystemToken(models.Model):
    """An access token issued to a system client: only its SHA-256 is stored, like the staff's
    API tokens; it lives five minutes [R137]."""

    PREFIX = "trs_"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(SystemClient, on_delete=models.CASCADE, related_name="tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    scope = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"token of {self.client} until {self.expires_at:%Y-%m-%d %H:%M}"


class UsedAssertion(models.Model):
    """A client assertion's ``jti``, kept until the assertion expires so it is never
    accepted twice [R137]."""

    client = models.ForeignKey(SystemClient, on_delete=models.CASCADE, related_name="+")
    jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "jti"], name="fhir_assertion_jti_once")
        ]

    def __str__(self) -> str:
        return f"jti {self.jti} of {self.client}"
