"""Session pages: documenting at the chair, vitals, signing, addenda, and REMS forms."""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from trellis.accounts import access
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.lib.errors import Conflict, InputError
from trellis.lib.http import is_htmx
from trellis.lib.text import text_problem
from trellis.treatments import documentation as doc
from trellis.treatments import sessions
from trellis.treatments.forms import (
    FORMS,
    AddendumForm,
    MotorThresholdForm,
    VitalsForm,
)
from trellis.treatments.models import RemsForm, RemsStatus, Session, SessionStatus

_SESSIONS = Session.objects.select_related(
    "course__protocol", "patient", "clinic", "documented_by", "signed_by"
)


def _load(request, session_id, perm=Perm.SESSION_READ) -> Session:
    return access.load(request.actor, _SESSIONS, session_id, perm)


_RECORD = {"iv_ketamine": "infusion", "esketamine": "esketamine", "tms": "tms"}


def _record(session: Session):
    """The session's modality record, once the session has begun."""
    if session.status == SessionStatus.PLANNED:
        return None
    return getattr(session, _RECORD[session.course.modality], None)


def _context(request, session: Session, form=None, vitals_form=None, **extra) -> dict:
    actor = request.actor
    record = _record(session)
    vitals = list(session.vitals.select_related("recorded_by"))
    if form is None and record is not None:
        form = FORMS[session.course.modality](session=session, record=record)
    warnings = []
    if session.course.modality == "esketamine":
        pre = next((v for v in vitals if v.label == "pre-dose" and v.bp_systolic), None)
        later = [
            (v.bp_systolic, v.bp_diastolic)
            for v in vitals
            if v.bp_systolic and v.label != "pre-dose"
        ]
        warnings += doc.esketamine_bp_warnings(
            (pre.bp_systolic, pre.bp_diastolic) if pre else None,
            later,
            sessions.esketamine_limits(session.clinic),
        )
    if session.course.modality == "tms":
        last = session.patient.motor_thresholds.first()
        days = session.clinic.setting("tms_mt_remeasure_days")
        if doc.mt_remeasure_due(
            last.measured_on if last else None,
            timezone.localdate(timezone=session.clinic.tzinfo),
            days,
        ):
            warnings.append(
                f"Motor threshold not measured in the last {days} days: re-measure it "
                "(billable as 90869) [R40]."
                if last
                else "No motor threshold recorded for this patient: measure it first [R39]."
            )
    escalation = None
    if session.course.modality == "iv_ketamine":
        escalation = sessions.dose_escalation(session.patient)
    total = session.course.sessions.count()
    return {
        "session": session,
        "course": session.course,
        "patient": session.patient,
        "total": total,
        "record": record,
        "form": form,
        "vitals": vitals,
        "vitals_form": vitals_form or VitalsForm(session=session),
        "vitals_interval": session.clinic.setting("vitals_interval_minutes"),
        "monitoring_required": session.clinic.setting("esketamine_monitoring_minutes"),
        "missing": sessions.missing_for_signing(session) if not session.is_signed else [],
        "warnings": warnings,
        "escalation": escalation,
        "addenda": session.addenda.select_related("author"),
        "addendum_form": AddendumForm(),
        "mt_form": MotorThresholdForm(initial={"measured_on": timezone.localdate()}),
        "can_change": actor.can(Perm.SESSION_CHANGE) and not session.is_signed,
        "can_sign": actor.can(Perm.SESSION_SIGN) and not session.is_signed,
        "can_annotate": actor.can(Perm.SESSION_CHANGE) and session.is_signed,
        "rems_form": getattr(session, "rems_form", None)
        if session.course.modality == "esketamine"
        else None,
        **extra,
    }


@login_required
def session_detail(request: HttpRequest, session_id: UUID) -> HttpResponse:
    session = _load(request, session_id)
    return render(request, "treatments/session_detail.html", _context(request, session))


@require_POST
@login_required
def session_begin(request: HttpRequest, session_id: UUID) -> HttpResponse:
    session = _load(request, session_id, Perm.SESSION_CHANGE)
    try:
        sessions.begin_session(request.actor, session)
    except Conflict as error:
        messages.error(request, error.message)
    return redirect("session_detail", session.id)


_SAVE = {
    "iv_ketamine": lambda actor, session, values, form: sessions.save_infusion(
        actor, session, values, override_reason=form.cleaned_data.get("override_reason", "")
    ),
    "esketamine": lambda actor, session, values, form: sessions.save_esketamine(
        actor, session, values
    ),
    "tms": lambda actor, session, values, form: sessions.save_tms(actor, session, values),
}


@require_POST
@login_required
def session_save(request: HttpRequest, session_id: UUID) -> HttpResponse:
    session = _load(request, session_id, Perm.SESSION_CHANGE)
    record = _record(session)
    if record is None:
        messages.error(request, "Begin the session first.")
        return redirect("session_detail", session.id)
    modality = session.course.modality
    form = FORMS[modality](request.POST, session=session)
    if form.is_valid():
        try:
            _SAVE[modality](request.actor, session, form.values(), form)
        except InputError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        except Conflict as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Saved.")
            return redirect("session_detail", session.id)
    session.refresh_from_db()
    return render(
        request, "treatments/session_detail.html", _context(request, session, form=form), status=422
    )


@require_POST
@login_required
def session_vitals(request: HttpRequest, session_id: UUID) -> HttpResponse:
    session = _load(request, session_id, Perm.SESSION_CHANGE)
    form = VitalsForm(request.POST, session=session)
    if form.is_valid():
        values = form.values()
        taken_at, label = values.pop("taken_at"), values.pop("label")
        try:
            vital = sessions.record_vitals(
                request.actor, session, values, taken_at=taken_at, label=label
            )
        except InputError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        except Conflict as error:
            form.add_error(None, error.message)
        else:
            if any(flag["level"] == doc.ALERT for flag in vital.flags):
                messages.error(
                    request,
                    "A vital sign is past the alert level: a safety alert "
                    "was raised for the clinicians.",
                )
            form = None
    if is_htmx(request):
        context = _context(request, session, vitals_form=form)
        return render(request, "treatments/session_detail.html#vitals", context)
    if form is not None and form.errors:
        return render(
            request,
            "treatments/session_detail.html",
            _context(request, session, vitals_form=form),
            status=422,
        )
    return redirect("session_detail", session.id)


@require_POST
@login_required
def session_sign(request: HttpRequest, session_id: UUID) -> HttpResponse:
    session = _load(request, session_id, Perm.SESSION_SIGN)
    try:
        sessions.sign_session(request.actor, session)
    except Conflict as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, "Session signed. It can no longer change; corrections are addenda."
        )
    return redirect("session_detail", session.id)


@require_POST
@login_required
def session_addendum(request: HttpRequest, session_id: UUID) -> HttpResponse:
    session = _load(request, session_id, Perm.SESSION_CHANGE)
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            sessions.add_addendum(request.actor, session, **form.cleaned_data)
        except (InputError, Conflict) as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Addendum added.")
    else:
        messages.error(request, "An addendum needs a reason and the correction.")
    return redirect("session_detail", session.id)


@require_POST
@login_required
def motor_threshold_new(request: HttpRequest, session_id: UUID) -> HttpResponse:
    session = _load(request, session_id, Perm.SESSION_CHANGE)
    form = MotorThresholdForm(request.POST)
    if form.is_valid():
        try:
            threshold = sessions.record_motor_threshold(
                request.actor, session.patient, **form.cleaned_data
            )
            if hasattr(session, "tms") and not session.is_signed:
                sessions.save_tms(request.actor, session, {"motor_threshold": threshold})
        except (InputError, Conflict) as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Motor threshold {threshold.percent_output} % recorded.")
    else:
        messages.error(request, "Give the date, the threshold as % of output and the method.")
    return redirect("session_detail", session.id)


# --- REMS forms --------------------------------------------------------------------------------


@login_required
def rems_list(request: HttpRequest) -> HttpResponse:
    actor = access.require(request.actor, Perm.SESSION_READ)
    forms = list(
        RemsForm.objects.filter(clinic=actor.clinic)
        .select_related("patient", "session")
        .order_by("due_date")
    )
    today = timezone.localdate(timezone=actor.clinic.tzinfo)
    open_forms = [f for f in forms if f.status != RemsStatus.SUBMITTED]
    record_for(
        actor, Action.QUERY, object_type="treatments.remsform", detail={"results": len(forms)}
    )
    return render(
        request,
        "treatments/rems_list.html",
        {
            "overdue": [f for f in open_forms if f.due_date < today],
            "due": [f for f in open_forms if f.due_date >= today],
            "submitted": [f for f in forms if f.status == RemsStatus.SUBMITTED][-50:],
            "today": today,
        },
    )


@login_required
def rems_detail(request: HttpRequest, form_id: UUID) -> HttpResponse:
    form = access.load(
        request.actor,
        RemsForm.objects.select_related("patient", "session"),
        form_id,
        Perm.SESSION_READ,
    )
    return render(
        request,
        "treatments/rems_form.html",
        {
            "form": form,
            "f": form.fields,
            "today": timezone.localdate(),
            "can_sign": request.actor.can(Perm.SESSION_SIGN) and form.status == RemsStatus.DRAFT,
            "can_submit": request.actor.can(Perm.SESSION_CHANGE)
            and form.status == RemsStatus.SIGNED,
        },
    )


@login_required
def rems_print(request: HttpRequest, form_id: UUID) -> HttpResponse:
    form = access.load(
        request.actor,
        RemsForm.objects.select_related("patient", "session"),
        form_id,
        Perm.SESSION_READ,
        action=Action.PRINT,
    )
    return render(
        request, "treatments/rems_form.html", {"form": form, "f": form.fields, "printing": True}
    )


@require_POST
@login_required
def rems_sign(request: HttpRequest, form_id: UUID) -> HttpResponse:
    form = access.load(request.actor, RemsForm.objects.all(), form_id, Perm.SESSION_SIGN)
    try:
        sessions.sign_rems_form(request.actor, form)
    except Conflict as error:
        messages.error(request, error.message)
    return redirect("rems_detail", form.id)


@require_POST
@login_required
def rems_submit(request: HttpRequest, form_id: UUID) -> HttpResponse:
    form = access.load(request.actor, RemsForm.objects.all(), form_id, Perm.SESSION_CHANGE)
    reference = request.POST.get("reference", "")
    if problem := text_problem(reference, multiline=False, name=False):
        messages.error(request, f"The submission reference {problem}.")
        return redirect("rems_detail", form.id)
    try:
        sessions.submit_rems_form(request.actor, form, reference=reference)
    except Conflict as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Submission recorded.")
    return redirect("rems_detail", form.id)
