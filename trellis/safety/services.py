"""Safety alerts: raised in the transaction of what caused them, shown until a clinician
acknowledges them with an action note, and escalated by e-mail to the clinic's prescribers and
administrators for as long as nobody does.

``raise_alert`` is the entry point for every kind: a PHQ-9 item 9 above 0 (measures), a vital
sign past its threshold, a seizure, a serious adverse event (session documentation). This app
imports none of the apps that raise alerts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, transaction
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from trellis.accounts.access import require
from trellis.accounts.models import Clinic, Membership
from trellis.accounts.permissions import Perm, Role
from trellis.audit.models import Action
from trellis.audit.services import record, record_for
from trellis.lib.errors import Conflict, InputError
from trellis.lib.http import site_url
from trellis.messaging.services import enqueue_email
from trellis.patients.models import Patient
from trellis.safety import closing
from trellis.safety.models import (
    SEVERITY_RANK,
    AlertAction,
    AlertKind,
    AlertSeverity,
    AlertStatus,
    SafetyAlert,
)

logger = logging.getLogger(__name__)

# How the system and the worker appear in the audit trail.
SYSTEM_USERNAME = "(system)"
ESCALATION_USERNAME = "(alert escalation)"


def raise_alert(
    actor,
    patient: Patient | None,
    kind: str,
    severity: str,
    summary: str,
    source=None,
    *,
    now: datetime | None = None,
    username: str = SYSTEM_USERNAME,
    source_address: str = "",
    clinic: Clinic | None = None,
) -> SafetyAlert:
    """Raise a safety alert for ``patient`` in the caller's transaction (call it inside the
    ``transaction.atomic`` that saves what caused it).

    ``actor`` is the member of staff whose action raised it, or None for the system. No role
    is needed: nothing may stop an alert being raised. ``kind`` is an AlertKind value
    (``suicide_item``, ``vital_sign``, ``seizure``, ``serious_adverse_event``), ``severity``
    an AlertSeverity value (``elevated``, ``high``, ``urgent``), ``summary`` one line a
    clinician reads in the queue (shortened to 300 characters), ``source`` the saved model
    instance that raised it (a measure, a session's vitals …). It escalates to the clinic's
    prescribers and administrator after the clinic's ``alert_escalation_minutes``. Without an
    ``actor`` the audit trail shows ``username`` (a patient's own link, say) and
    ``source_address``. An alert about the clinic rather than a patient (a controlled-substance
    count that does not add up) gives ``patient`` None and the ``clinic``.
    """
    return _raise_alert(
        actor,
        patient,
        kind,
        severity,
        summary,
        source=source,
        now=now,
        username=username,
        source_address=source_address,
        clinic=clinic,
    )


def _raise_alert(
    actor,
    patient: Patient | None,
    kind: str,
    severity: str,
    summary: str,
    *,
    source=None,
    now: datetime | None,
    username: str,
    source_address: str = "",
    clinic: Clinic | None = None,
) -> SafetyAlert:
    if patient is not None:
        clinic = patient.clinic
    if clinic is None:
        raise InputError("patient", "is required for an alert about a patient")
    if kind not in AlertKind.values:
        raise InputError("kind", f"must be one of {', '.join(AlertKind.values)}")
    if severity not in AlertSeverity.values:
        raise InputError("severity", f"must be one of {', '.join(AlertSeverity.values)}")
    summary = (summary or "").strip()
    if not summary:
        raise InputError("summary", "must say what happened")
    limit = SafetyAlert._meta.get_field("summary").max_length
    if len(summary) > limit:
        # Shortened, never refused: a long summary must not stop the alert (or roll back the
        # record that raised it).
        summary = summary[: limit - 1].rstrip() + "…"
    if actor is not None and actor.clinic.pk != clinic.pk:
        field = "patient" if patient is not None else "clinic"
        raise InputError(field, "belongs to another clinic")
    if source is not None and getattr(source, "pk", None) is None:
        raise InputError("source", "must be a saved record")
    now = now or timezone.now()
    minutes = clinic.setting("alert_escalation_minutes")
    with transaction.atomic():
        alert = SafetyAlert.objects.create(
            clinic_id=clinic.pk,
            patient=patient,
            kind=kind,
            severity=severity,
            summary=summary,
            source_type=source._meta.label_lower if source is not None else "",
            source_id=str(source.pk) if source is not None else "",
            raised_by=actor.user if actor is not None else None,
            created_at=now,
            next_escalation_at=now + timedelta(minutes=minutes),
        )
        detail = {"kind": kind, "severity": severity}
        if actor is not None:
            record_for(actor, Action.CREATE, patient=patient, obj=alert, detail=detail)
        else:
            record(
                Action.CREATE,
                clinic=clinic,
                patient=patient,
                obj=alert,
                username=username,
                source_address=source_address,
                detail=detail,
            )
    return alert


def acknowledge_alert(
    actor,
    alert: SafetyAlert,
    note: str,
    actions: Iterable[str] = (),
    *,
    now: datetime | None = None,
) -> SafetyAlert:
    """A clinician acknowledges an alert with what they did; it stops escalating.

    Some kinds are closed only by some roles, with a note of their own (``closing``: a count
    discrepancy by a prescriber, with an explanation); anyone else gets PermissionDenied naming
    the rule. Raises InputError for an empty note or an unknown action, Conflict when it was
    already acknowledged (by someone else a moment ago, say).
    """
    require(actor, Perm.ALERT_ACKNOWLEDGE)
    if alert.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    rule = closing.rule_for(alert.kind)
    if not closing.may_close(actor, alert.kind):
        raise PermissionDenied(rule.rule)
    note = (note or "").strip()
    if not note:
        raise InputError(
            "note",
            rule.note_required
            if rule is not None and rule.note_required
            else "say what was done, e.g. risk assessment done, safety plan reviewed",
        )
    if isinstance(actions, str):
        raise InputError("actions", "must be a list of action codes")
    actions = list(dict.fromkeys(actions))
    unknown = [a for a in actions if a not in AlertAction.values]
    if unknown:
        raise InputError(
            "actions", f"unknown action {unknown[0]!r}; use {', '.join(AlertAction.values)}"
        )
    now = now or timezone.now()
    with transaction.atomic():
        locked = SafetyAlert.objects.select_for_update().get(pk=alert.pk)
        if locked.status != AlertStatus.OPEN:
            who = locked.acknowledged_by
            raise Conflict(
                f"This alert was already acknowledged by {who} at "
                f"{timezone.localtime(locked.acknowledged_at, alert.clinic.tzinfo):%b %-d, %H:%M}.",
                code="already_acknowledged",
            )
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_by = actor.user
        alert.acknowledged_at = now
        alert.note = note
        alert.actions = actions
        alert.next_escalation_at = None
        alert.escalation_count = locked.escalation_count
        alert.save(
            update_fields=[
                "status",
                "acknowledged_by",
                "acknowledged_at",
                "note",
                "actions",
                "next_escalation_at",
            ]
        )
        record_for(
            actor,
            Action.UPDATE,
            patient=alert.patient,
            obj=alert,
            detail={
                "acknowledged": True,
                "actions": actions,
                "minutes_open": int((now - alert.created_at).total_seconds() // 60),
                "escalations": alert.escalation_count,
            },
        )
    return alert


def escalation_recipients(clinic: Clinic) -> list[Membership]:
    """The clinic's prescribers and administrators who can receive e-mail."""
    return list(
        Membership.objects.filter(
            clinic=clinic,
            is_active=True,
            role__in=[Role.PRESCRIBER, Role.CLINIC_ADMIN],
            user__is_active=True,
        )
        .exclude(user__email="")
        .select_related("user")
        .order_by("role", "user__username")
    )


def escalate_due_alerts(*, now: datetime | None = None, limit: int = 100) -> int:
    """Escalate every open alert whose time has come; returns how many were escalated.

    Each escalation e-mails the clinic's prescribers and administrators through the outbox,
    is audited, and sets the next one an ``alert_escalation_minutes`` later: again and again
    until a clinician acknowledges the alert. Safe with several workers.
    """
    now = now or timezone.now()
    due = list(
        SafetyAlert.objects.filter(status=AlertStatus.OPEN, next_escalation_at__lte=now)
        .order_by("next_escalation_at")
        .values_list("pk", flat=True)[:limit]
    )
    escalated = 0
    for pk in due:
        try:
            with transaction.atomic():
                alert = (
                    SafetyAlert.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("clinic", "patient")
                    .filter(pk=pk, status=AlertStatus.OPEN, next_escalation_at__lte=now)
                    .first()
                )
                if alert is None:
                    continue  # acknowledged meanwhile, or another worker has it
                _escalate(alert, now)
        except DatabaseError:
            raise  # the worker reports it and tries again on its next pass
        except Exception:
            # One alert's failure must not hold up every other clinic's escalations.
            logger.exception("Safety alert %s could not be escalated", pk)
            continue
        escalated += 1
    return escalated


def _escalate(alert: SafetyAlert, now: datetime) -> None:
    clinic = alert.clinic
    minutes = clinic.setting("alert_escalation_minutes")
    recipients = escalation_recipients(clinic)
    alert.escalation_count += 1
    alert.last_escalated_at = now
    alert.next_escalation_at = now + timedelta(minutes=minutes)
    url = site_url(reverse("alert_detail", args=[alert.pk]))
    raised = timezone.localtime(alert.created_at, clinic.tzinfo)
    open_minutes = int((now - alert.created_at).total_seconds() // 60)
    subject = (
        f"Safety alert not acknowledged ({alert.get_severity_display().lower()}) at {clinic.name}"
    )[:200]
    reached = []
    for membership in recipients:
        duty = (
            "Please make sure a clinician reviews and acknowledges it now."
            if membership.role == Role.CLINIC_ADMIN
            else "Please review it and acknowledge it with an action note now."
        )
        body = (
            f"A {alert.get_severity_display().lower()} safety alert at {clinic.name} has been "
            f"open since {raised:%b %-d, %H:%M} ({open_minutes} minutes) and no clinician has "
            f"acknowledged it.\n\n"
            f"Kind: {alert.get_kind_display()}\n"
            f"Escalation: {alert.escalation_count} (repeated every {minutes} minutes until "
            f"acknowledged)\n\n"
            f"{duty}\n{url}\n\n"
            "This message carries no patient details: sign in to Trellis to see them.\n"
        )
        try:
            enqueue_email(
                recipient=membership.user.email,
                subject=subject,
                body=body,
                purpose="alert_escalation",
                clinic=clinic,
                patient=alert.patient,
            )
        except InputError as error:
            # A mistyped address must not stop the others being told.
            logger.warning(
                "Safety alert %s: escalation not e-mailed to %s (%s)",
                alert.pk,
                membership.user.username,
                error,
            )
            continue
        reached.append(membership)
    if not reached:
        logger.error(
            "Safety alert %s escalated but %s has no prescriber or administrator with a "
            "usable e-mail address",
            alert.pk,
            clinic.slug,
        )
    alert.save(update_fields=["escalation_count", "last_escalated_at", "next_escalation_at"])
    record(
        Action.UPDATE,
        clinic=clinic,
        patient=alert.patient,
        obj=alert,
        username=ESCALATION_USERNAME,
        detail={
            "escalation": alert.escalation_count,
            "recipients": [m.user.username for m in reached],
        },
    )


def open_alerts_ordered(queryset):
    """Most severe first, then oldest first: the order a clinician should work them."""
    rank = Case(
        *[When(severity=code, then=Value(rank)) for code, rank in SEVERITY_RANK.items()],
        default=Value(0),
        output_field=IntegerField(),
    )
    return queryset.annotate(severity_rank_db=rank).order_by("-severity_rank_db", "created_at")


def alert_queue(actor, status: str = AlertStatus.OPEN, *, limit: int = 200) -> list[SafetyAlert]:
    """The clinic's alerts in ``status`` (open: most severe and oldest first), audited."""
    require(actor, Perm.ALERT_READ)
    if status not in (*AlertStatus.values, "all"):
        raise InputError("status", f"must be one of {', '.join(AlertStatus.values)} or all")
    rows = SafetyAlert.objects.filter(clinic=actor.clinic).select_related(
        "patient", "acknowledged_by"
    )
    if status == AlertStatus.OPEN:
        rows = open_alerts_ordered(rows.filter(status=AlertStatus.OPEN))
    elif status == AlertStatus.ACKNOWLEDGED:
        rows = rows.filter(status=AlertStatus.ACKNOWLEDGED).order_by("-acknowledged_at")
    else:
        rows = rows.order_by("-created_at")
    found = list(rows[:limit])
    record_for(
        actor,
        Action.QUERY,
        object_type="safety.safetyalert",
        detail={"status": status, "results": len(found)},
    )
    return found
