"""Pages: the clinic's alert queue, one alert, and acknowledging it with an action note."""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from trellis.accounts.permissions import Perm
from trellis.lib.errors import Conflict, InputError
from trellis.patients import access
from trellis.safety import closing, services, sources
from trellis.safety.forms import AcknowledgeForm
from trellis.safety.models import AlertStatus, SafetyAlert


@login_required
def alert_queue(request: HttpRequest) -> HttpResponse:
    actor = access.require(request.actor, Perm.ALERT_READ)
    status = request.GET.get("status", AlertStatus.OPEN)
    if status not in AlertStatus.values:
        status = AlertStatus.OPEN
    rows = services.alert_queue(actor, status, limit=200)
    open_count = (
        len(rows)
        if status == AlertStatus.OPEN
        else SafetyAlert.objects.filter(clinic=actor.clinic, status=AlertStatus.OPEN).count()
    )
    return render(
        request,
        "safety/alert_queue.html",
        {
            "alerts": rows,
            "status": status,
            "statuses": AlertStatus.choices,
            "open_count": open_count,
            "now": timezone.now(),
        },
    )


def _clinic_elsewhere(request: HttpRequest, alert_id: UUID):
    """The clinic of an alert that is not at the clinic the user is working at now, when the
    user may see its alerts there: an escalation e-mail links to it from any clinic."""
    if request.actor is None:
        return None
    clinic_id = SafetyAlert.objects.filter(pk=alert_id).values_list("clinic_id", flat=True).first()
    if clinic_id is None or clinic_id == request.actor.clinic.pk:
        return None
    return next(
        (
            m.clinic
            for m in request.memberships
            if m.clinic_id == clinic_id and m.can(Perm.ALERT_READ)
        ),
        None,
    )


@login_required
def alert_detail(request: HttpRequest, alert_id: UUID) -> HttpResponse:
    elsewhere = _clinic_elsewhere(request, alert_id)
    if elsewhere is not None:
        return render(
            request,
            "safety/alert_elsewhere.html",
            {"clinic": elsewhere, "next": request.get_full_path()},
        )
    alert = access.load(
        request.actor,
        SafetyAlert.objects.select_related("patient", "raised_by", "acknowledged_by"),
        alert_id,
        Perm.ALERT_READ,
    )
    can_acknowledge = (
        alert.is_open
        and request.actor.can(Perm.ALERT_ACKNOWLEDGE)
        and closing.may_close(request.actor, alert.kind)
    )
    return render(
        request,
        "safety/alert_detail.html",
        _alert_context(request, alert, _form(alert) if can_acknowledge else None),
    )


def _form(alert: SafetyAlert, data=None) -> AcknowledgeForm:
    """The acknowledgement form, its note worded by the kind's closing rule if it has one."""
    form = AcknowledgeForm(data)
    if alert.patient_id is None:
        # The actions are what was done for a patient; an alert about the clinic's stock has
        # none to tick.
        del form.fields["actions"]
    rule = closing.rule_for(alert.kind)
    if rule is not None:
        note = form.fields["note"]
        note.label = rule.note_label
        note.help_text = rule.note_help or note.help_text
        if rule.note_required:
            note.error_messages["required"] = f"{rule.note_label}: {rule.note_required}."
    return form


def _alert_context(request: HttpRequest, alert: SafetyAlert, form) -> dict:
    return {
        "alert": alert,
        "patient": alert.patient,
        "form": form,
        "closing_rule": closing.rule_for(alert.kind),
        # What raised it, linked for a reader who may open it (the administrator follows an
        # escalation up but does not read questionnaires).
        "source": sources.describe(alert, request.actor),
        "now": timezone.now(),
    }


@require_POST
@login_required
def alert_acknowledge(request: HttpRequest, alert_id: UUID) -> HttpResponse:
    alert = access.load(
        request.actor,
        SafetyAlert.objects.select_related("patient", "raised_by", "acknowledged_by"),
        alert_id,
        Perm.ALERT_ACKNOWLEDGE,
    )
    form = _form(alert, request.POST)
    if form.is_valid():
        try:
            services.acknowledge_alert(
                request.actor,
                alert,
                form.cleaned_data["note"],
                form.cleaned_data.get("actions", []),
            )
        except InputError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        except Conflict as error:
            messages.warning(request, error.message)
            return redirect("alert_detail", alert.id)
        else:
            messages.success(request, "Alert acknowledged; it no longer escalates.")
            if request.POST.get("next") == "patient" and alert.patient_id:
                return redirect("patient_detail", alert.patient_id)
            return redirect("alert_queue")
    return render(request, "safety/alert_detail.html", _alert_context(request, alert, form))
