"""JSON API for safety alerts (DESIGN.md §5): the clinic's queue, one alert, acknowledging it."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from ninja import Field, Router, Schema

from trellis.accounts.permissions import Perm
from trellis.lib.apidoc import errors
from trellis.lib.schema import RequiredNote
from trellis.patients import access
from trellis.safety import services
from trellis.safety.models import AlertAction, SafetyAlert

router = Router(tags=["safety"])


class AlertOut(Schema):
    id: UUID
    patient: UUID | None
    patient_mrn: str | None
    kind: str
    kind_label: str
    severity: str
    status: str
    summary: str
    created_at: datetime
    source_type: str
    source_id: str
    escalation_count: int
    next_escalation_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    actions: list[str]
    note: str


def _alert_out(alert: SafetyAlert) -> dict:
    return {
        "id": alert.pk,
        "patient": alert.patient_id,
        "patient_mrn": alert.patient.mrn if alert.patient_id else None,
        "kind": alert.kind,
        "kind_label": alert.get_kind_display(),
        "severity": alert.severity,
        "status": alert.status,
        "summary": alert.summary,
        "created_at": alert.created_at,
        "source_type": alert.source_type,
        "source_id": alert.source_id,
        "escalation_count": alert.escalation_count,
        "next_escalation_at": alert.next_escalation_at,
        "acknowledged_at": alert.acknowledged_at,
        "acknowledged_by": alert.acknowledged_by.username if alert.acknowledged_by_id else None,
        "actions": alert.actions,
        "note": alert.note,
    }


@router.get(
    "/alerts",
    response={200: list[AlertOut], **errors(403)},
    summary="Your clinic's safety alerts: open (most severe, then oldest, first), "
    "acknowledged, or all",
)
def list_alerts(request, status: Literal["open", "acknowledged", "all"] = "open"):
    return [_alert_out(a) for a in services.alert_queue(request.auth, status)]


@router.get("/alerts/{alert_id}", response={200: AlertOut, **errors(403)}, summary="A safety alert")
def get_alert(request, alert_id: str):
    alert = access.load(
        request.auth,
        SafetyAlert.objects.select_related("patient", "acknowledged_by"),
        alert_id,
        Perm.ALERT_READ,
    )
    return _alert_out(alert)


class AcknowledgeIn(Schema):
    note: RequiredNote = Field(..., description="What was done: risk assessment, safety plan …")
    actions: list[AlertAction] = Field(
        default_factory=list, max_length=20, description="What was done besides the note"
    )


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response={200: AlertOut, **errors(403, 409)},
    summary="Acknowledge an alert with an action note; 409 when already acknowledged",
)
def acknowledge_alert(request, alert_id: str, payload: AcknowledgeIn):
    alert = access.load(
        request.auth,
        SafetyAlert.objects.select_related("patient", "acknowledged_by"),
        alert_id,
        Perm.ALERT_ACKNOWLEDGE,
    )
    actions = [a.value for a in payload.actions]
    services.acknowledge_alert(request.auth, alert, payload.note, actions)
    return _alert_out(alert)
