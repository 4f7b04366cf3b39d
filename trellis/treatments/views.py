"""Session pages: documenting at the chair, vitals, signing, addenda, and REMS forms."""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.forms import CheckboxSelectMultiple, RadioSelect
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.views.decorators.http import require_POST

from trellis.accounts.middleware import idle_neutral, touch_idle_clock
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.lib.errors import Conflict, InputError
from trellis.lib.http import is_htmx
from trellis.patients import access
from trellis.patients.modality import Modality
from trellis.treatments import documentation as doc
from trellis.treatments import dosing, drafts, hooks, prescriptions, selectors, sessions, targeting
from trellis.treatments.forms import (
    FORMS,
    AddendumForm,
    MotorThresholdForm,
    RemsSubmitForm,
    VitalsForm,
)
from trellis.treatments.models import (
    OPEN_STATUSES,
    RemsForm,
    RemsStatus,
    Session,
    SessionStatus,
)
from trellis.treatments.rems import Deadline

_SESSIONS = Session.objects.select_related(
    "course__protocol", "patient", "clinic", "documented_by", "signed_by"
)


def _load(request, session_id, perm=Perm.SESSION_READ) -> Session:
    return access.load(request.actor, _SESSIONS, session_id, perm)


_RECORD = {
    Modality.IV_KETAMINE: "infusion",
    Modality.ESKETAMINE: "esketamine",
    Modality.TMS: "tms",
    Modality.ORAL_KETAMINE: "oral",
}


def _record(session: Session):
    """The session's modality record, once the session has begun."""
    if session.status in (SessionStatus.PLANNED, SessionStatus.BOOKED):
        return None
    return getattr(session, _RECORD[session.course.modality], None)


def begin_panel(actor, session: Session, today, waiting_for: Session | None) -> dict | None:
    """What a page offers to begin ``session``: the button, or why it cannot begin yet and, for
    a prescriber, a reason field to begin it anyway. None when it has begun or is over, or the
    actor does not document sessions."""
    if session.status not in (SessionStatus.PLANNED, SessionStatus.BOOKED):
        return None
    if not actor.can(Perm.SESSION_CHANGE):
        return None
    return {
        "session": session,
        "check": sessions.check_begin(session, today, waiting_for),
        "can_override": actor.can(Perm.COURSE_OVERRIDE),
    }


# The ways to close a session without treatment, as the page offers them.
CLOSINGS = {
    SessionStatus.CANCELLED: ("Cancelled", "called off beforehand", sessions.cancel_session),
    SessionStatus.NO_SHOW: ("No-show", "the patient did not come", sessions.mark_no_show),
    SessionStatus.NOT_GIVEN: (
        "Not given",
        "the patient came but the treatment was not given",
        sessions.mark_not_given,
    ),
}


def closing_choices(actor, session: Session, today) -> list[tuple[str, str, str]]:
    """(status, label, meaning) of each closing the actor may record for the session now, by
    the rules of ``sessions.cancel_session``, ``mark_no_show`` and ``mark_not_given``."""
    if session.status not in OPEN_STATUSES:
        return []
    begun = session.status == SessionStatus.IN_PROGRESS
    due = begun or session.planned_date <= today
    allowed = {
        SessionStatus.CANCELLED: not begun and actor.can(Perm.COURSE_CHANGE),
        SessionStatus.NO_SHOW: not begun and due and actor.can(Perm.COURSE_CHANGE),
        SessionStatus.NOT_GIVEN: due and actor.can(Perm.SESSION_SIGN),
    }
    return [
        (status, label, meaning)
        for status, (label, meaning, _close) in CLOSINGS.items()
        if allowed[status]
    ]


def _context(
    request,
    session: Session,
    form=None,
    vitals_form=None,
    values=None,
    stop=None,
    **extra,
) -> dict:
    """The session page. ``values`` are the note's values as submitted (a refused save): the
    computed boxes follow them, never the note saved before."""
    actor = request.actor
    record = _record(session)
    vitals = list(session.vitals.select_related("recorded_by"))
    if form is None and record is not None:
        form = FORMS[session.course.modality](session=session, record=record)
    warnings = _warnings(session, record, vitals, shown=stop.problems if stop else [])
    if form is not None and actor.can(Perm.SESSION_CHANGE):
        _keep_note_as_draft(actor, session, form, record)
    escalation = None
    if session.course.modality == Modality.IV_KETAMINE:
        escalation = sessions.dose_escalation(session.patient)
    elif session.course.modality == Modality.ORAL_KETAMINE:
        escalation = prescriptions.oral_dose_escalation(session.patient)
    total = session.course.sessions.count()
    today = session.clinic.today()
    begin = None
    if session.status in (SessionStatus.PLANNED, SessionStatus.BOOKED):
        begin = begin_panel(actor, session, today, sessions.earlier_open_session(session))
    return {
        "session": session,
        "course": session.course,
        "patient": session.patient,
        "total": total,
        "record": record,
        "form": form,
        "calc": _computed(session, record, values) if record is not None else {},
        "problems": _problems(form, vitals_form),
        "stop": stop,
        "can_override": actor.can(Perm.COURSE_OVERRIDE),
        "overrides": list(session.overrides.select_related("prescriber")),
        "vitals": vitals,
        "vitals_form": vitals_form or VitalsForm(session=session),
        "vitals_interval": session.clinic.setting("vitals_interval_minutes"),
        "monitoring_required": session.clinic.setting("esketamine_monitoring_minutes"),
        "missing": sessions.missing_for_signing(session) if session.is_open else [],
        "warnings": warnings,
        "escalation": escalation,
        "addenda": session.addenda.select_related("author"),
        "addendum_form": AddendumForm(),
        "mt_form": MotorThresholdForm(initial={"measured_on": today}),
        # The free-text therapist's note that came before progress notes: kept, read only.
        "earlier_therapy_note": getattr(record, "therapy_note", ""),
        "can_change": actor.can(Perm.SESSION_CHANGE) and session.is_open,
        "can_sign": actor.can(Perm.SESSION_SIGN) and session.is_open,
        "can_annotate": actor.can(Perm.SESSION_NOTE) and session.is_signed,
        "rems_form": getattr(session, "rems_form", None)
        if session.course.modality == Modality.ESKETAMINE
        else None,
        "keepalive_url": reverse("session_keepalive", args=[session.id])
        if drafts.keeps_sign_in(actor, session)
        else None,
        "begin": begin,
        "closings": closing_choices(actor, session, today),
        "session_day": sessions.session_day(session),
        "today": today,
        "session_parts": hooks.session_page_parts(actor, session),
        **extra,
    }


def _draft_status(draft) -> str:
    saved = timezone.localtime(draft.saved_at).strftime("%H:%M")
    return f"Draft saved {saved}. Save note to put it in the record."


def _keep_note_as_draft(actor, session: Session, form, record) -> None:
    """The note field saves itself as a draft while it is typed; the page shows the draft."""
    if session.is_signed or session.status != SessionStatus.IN_PROGRESS:
        return
    field = form.fields["note"]
    draft = drafts.unsaved_note_draft(actor, session, record.note)
    if draft is not None and not form.is_bound:
        form.initial["note"] = draft.text
    field.help_text = _draft_status(draft) if draft else "Kept as a draft while you type."
    # A form that was validated (a refused save) already holds its bound field, which copied
    # the help text when made: give it the status line too, which the draft answers into.
    form["note"].help_text = field.help_text
    url = reverse("session_note_draft", args=[session.id])
    field.widget.attrs.update(
        {
            "hx-post": url,
            # Every few seconds while it changes (trellis.js sends draft-due) and on leaving it.
            "hx-trigger": "input changed delay:2s, blur changed, draft-due",
            "hx-params": "note",
            "hx-target": "#id_note_help",
            "hx-swap": "innerHTML",
            "hx-sync": "this:queue last",
            "aria-describedby": "id_note_help",
            "data-draft": "note",
        }
    )


_DOSE_START = {
    Modality.IV_KETAMINE: "infusion_started_at",
    Modality.ESKETAMINE: "first_device_at",
    Modality.ORAL_KETAMINE: "given_at",
}


def _warnings(session: Session, record, vitals: list, shown=()) -> list[str]:
    """What to check before going on: pre-dose readings past the hold, esketamine blood
    pressure, a motor threshold due for re-measuring. Not what the refusal banner (``shown``)
    already says."""
    shown = {problem.rule for problem in shown}
    warnings = []
    modality = session.course.modality
    start_field = _DOSE_START.get(modality)
    if record is not None and start_field and getattr(record, start_field) is None:
        reading = sessions.predose_reading(session, None)
        for problem in doc.predose_problems(
            start_field, reading["bp"], reading["spo2"], sessions.predose_limits(session.clinic)
        ):
            if problem.rule in shown:
                continue
            warnings.append(
                capfirst(problem.message) + ". Re-check after rest, or a prescriber may "
                "override with a reason."
            )
    if modality == Modality.ESKETAMINE:
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
    if modality == Modality.TMS:
        # The threshold the note uses, else the patient's latest.
        used = record.motor_threshold if record is not None else None
        last = used or session.patient.motor_thresholds.first()
        days = session.clinic.setting("tms_mt_remeasure_days")
        if doc.mt_remeasure_due(
            last.measured_on if last else None,
            session.clinic.today(),
            days,
        ):
            warnings.append(
                f"The motor threshold used ({last.percent_output} % on "
                f"{last.measured_on:%b %-d}) is more than {days} days old: re-measure it "
                "(billable as 90869) [R40]."
                if last
                else "No motor threshold recorded for this patient: measure it first [R39]."
            )
    return warnings


def _computed(session: Session, record, values: dict | None) -> dict:
    """The read-only computed boxes: from the saved note, or (after a refused save) from the
    values submitted, blank where those cannot be computed. Never the note's old values."""
    modality = session.course.modality
    if values is None:
        if modality == Modality.IV_KETAMINE:
            if record.rate_ml_per_h is None:
                return {}
            return {
                name: getattr(record, name)
                for name in (*sessions.INFUSION_INPUTS, *_INFUSION_OUTPUTS)
            }
        if modality == Modality.ESKETAMINE:
            return {"monitoring_minutes": record.monitoring_minutes}
        if modality == Modality.ORAL_KETAMINE:
            return _oral_limit(session)
        return {
            "motor_threshold": record.motor_threshold,
            "intensity_pct_mt": record.intensity_pct_mt,
            "intensity_pct_output": record.intensity_pct_output,
            "beam_x_cm": record.beam_x_cm if record.target_method == "beam_f3" else None,
            "beam_y_cm": record.beam_y_cm,
        }
    if modality == Modality.IV_KETAMINE:
        inputs = [values.get(name) for name in sessions.INFUSION_INPUTS]
        if any(value is None for value in inputs):
            return {}
        try:
            infusion = dosing.calculate_infusion(*inputs)
        except InputError:
            return {}
        return {
            **dict(zip(sessions.INFUSION_INPUTS, inputs, strict=True)),
            **{name: getattr(infusion, name) for name in _INFUSION_OUTPUTS},
        }
    if modality == Modality.ESKETAMINE:
        return {"monitoring_minutes": doc.monitoring_minutes(values)}
    if modality == Modality.ORAL_KETAMINE:
        return _oral_limit(session)
    threshold, pct_mt = values.get("motor_threshold"), values.get("intensity_pct_mt")
    calc = {
        "motor_threshold": threshold,
        "intensity_pct_mt": pct_mt,
        "intensity_pct_output": sessions.tms_output(threshold, pct_mt),
        "beam_x_cm": None,
    }
    head = [values.get(n) for n in ("tragus_tragus_cm", "nasion_inion_cm", "circumference_cm")]
    if values.get("target_method") == "beam_f3" and all(v is not None for v in head):
        try:
            beam = targeting.beam_f3(*head)
        except InputError:
            pass
        else:
            calc["beam_x_cm"], calc["beam_y_cm"] = beam.x_cm, beam.y_cm
    return calc


def _oral_limit(session: Session) -> dict:
    """The dose limit the oral note is checked against: the lower of the protocol's maximum
    and the clinic's."""
    protocol_max, clinic_max = sessions.oral_dose_limits(session)
    if protocol_max is not None and protocol_max <= clinic_max:
        return {"max_dose_mg": protocol_max, "max_dose_whose": "protocol maximum"}
    return {"max_dose_mg": clinic_max, "max_dose_whose": "clinic limit"}


_INFUSION_OUTPUTS = ("dose_mg", "drug_ml", "total_ml", "bag_mg_per_ml", "rate_ml_per_h")


def _problems(*forms) -> list[dict]:
    """Every error on the page's forms, for the one banner at the top: the field's label, the
    rule, and a link to the field."""
    problems = []
    for form in forms:
        if form is None or not form.is_bound:
            continue
        for name, errors in form.errors.items():
            field = form.fields.get(name)
            anchor = ""
            if field is not None:
                anchor = form[name].auto_id
                if isinstance(field.widget, RadioSelect | CheckboxSelectMultiple):
                    anchor += "_0"
            label = field.label if field is not None and field.label else name.replace("_", " ")
            for message in errors:
                problems.append(
                    {
                        "label": capfirst(label) if field is not None else "",
                        "message": message,
                        "anchor": anchor,
                    }
                )
    return problems


@login_required
def session_detail(request: HttpRequest, session_id: UUID) -> HttpResponse:
    session = _load(request, session_id)
    return render(request, "treatments/session_detail.html", _context(request, session))


@require_POST
@login_required
def session_begin(request: HttpRequest, session_id: UUID) -> HttpResponse:
    session = _load(request, session_id, Perm.SESSION_CHANGE)
    reason = request.POST.get("reason", "")
    try:
        sessions.begin_session(request.actor, session, reason=reason)
    except (Conflict, PermissionDenied) as error:
        messages.error(request, getattr(error, "message", None) or str(error))
    else:
        if session.begin_override_reason:
            messages.success(request, f"Session {session.number} begun; your reason is recorded.")
    return redirect("session_detail", session.id)


@require_POST
@login_required
def session_close(request: HttpRequest, session_id: UUID) -> HttpResponse:
    """Record a session as cancelled, a no-show or not given, with the reason."""
    session = _load(request, session_id, Perm.SESSION_READ)
    closing = CLOSINGS.get(request.POST.get("status", ""))
    if closing is None:
        messages.error(request, "Choose cancelled, no-show or not given.")
        return redirect("session_detail", session.id)
    label, _meaning, close = closing
    try:
        close(request.actor, session, request.POST.get("reason", ""))
    except InputError as error:
        messages.error(request, f"Reason: {error.message}.")
    except (Conflict, PermissionDenied) as error:
        messages.error(request, getattr(error, "message", None) or str(error))
    else:
        messages.success(request, f"Session {session.number} recorded as {label.lower()}.")
    return redirect("session_detail", session.id)


_SAVE = {
    Modality.IV_KETAMINE: sessions.save_infusion,
    Modality.ESKETAMINE: sessions.save_esketamine,
    Modality.TMS: sessions.save_tms,
    Modality.ORAL_KETAMINE: sessions.save_oral,
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
    stop = None
    if form.is_valid():
        values = form.values()
        try:
            _SAVE[modality](
                request.actor,
                session,
                values,
                override_reason=form.cleaned_data.get("override_reason", ""),
            )
        except sessions.SafetyStop as error:
            stop = error
            _add_problems(form, error.problems)
        except InputError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        except Conflict as error:
            form.add_error(None, error.message)
        else:
            drafts.discard_note_draft(request.actor, session)
            messages.success(request, "Saved.")
            return redirect("session_detail", session.id)
    else:
        # Check what could be read too, so the banner lists every problem at once.
        values = form.values()
        _add_problems(form, sessions.note_problems(session, values))
    session = _SESSIONS.get(pk=session.pk)  # as saved: nothing of the refused note
    context = _context(request, session, form=form, values=values, stop=stop)
    return render(request, "treatments/session_detail.html", context, status=422)


def _add_problems(form, problems) -> None:
    for problem in problems:
        field = problem.field
        if field.startswith("cadss6["):  # cadss6[2] is the form's cadss_2
            field = "cadss_" + field[len("cadss6[") : -1]
        if field in form.fields:
            form.add_error(field, problem.message)
        else:
            form.add_error(None, f"{field.replace('_', ' ').capitalize()}: {problem.message}")


@require_POST
@login_required
def session_note_draft(request: HttpRequest, session_id: UUID) -> HttpResponse:
    """Keep the note as typed so far; answers the status line ("Draft saved 14:02")."""
    session = _load(request, session_id, Perm.SESSION_CHANGE)
    try:
        draft = drafts.save_note_draft(request.actor, session, request.POST.get("note", ""))
    except InputError as error:
        return HttpResponse(f"Draft not saved: {error.message}.", status=422)
    except Conflict as error:
        return HttpResponse(f"Draft not saved: {error.message}", status=409)
    return HttpResponse(_draft_status(draft))


@idle_neutral
@require_POST
@login_required
def session_keepalive(request: HttpRequest, session_id: UUID) -> HttpResponse:
    """An open page of a session in progress keeps its user signed in (esketamine's two hours of
    monitoring must not be cut short by idle logoff); any other session is refused (409) and
    leaves the idle clock running."""
    session = _load(request, session_id, Perm.SESSION_CHANGE)
    if not drafts.keeps_sign_in(request.actor, session):
        return HttpResponse("This session is not in progress.", status=409)
    touch_idle_clock(request)
    return HttpResponse(status=204)


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
        # The vitals panel, and out of band what the new reading changes: the list of what
        # signing still needs, and the warnings at the top.
        context = _context(request, session, vitals_form=form)
        page = "treatments/session_detail.html"
        return HttpResponse(
            render_to_string(f"{page}#vitals", context, request)
            + render_to_string(f"{page}#checklist", {**context, "oob": True}, request)
            + render_to_string(f"{page}#warnings", {**context, "oob": True}, request)
        )
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
    session = _load(request, session_id, Perm.SESSION_NOTE)
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
    forms = selectors.rems_forms(actor)
    today = actor.clinic.today()
    for form in forms:
        form.state = form.deadline(today)
    submitted = [f for f in forms if f.state == Deadline.SUBMITTED]
    submitted.sort(key=lambda f: f.submitted_at, reverse=True)
    return render(
        request,
        "treatments/rems_list.html",
        {
            "overdue": [f for f in forms if f.state == Deadline.OVERDUE],
            "due": [f for f in forms if f.state in (Deadline.DUE, Deadline.DUE_TODAY)],
            "submitted": submitted[:50],
            "today": today,
        },
    )


_REMS_FORMS = RemsForm.objects.select_related(
    "clinic", "patient", "session", "signed_by", "submitted_by"
)


def _rems_context(request, form: RemsForm, submit_form=None, **extra) -> dict:
    can_submit = request.actor.can(Perm.SESSION_CHANGE) and form.status == RemsStatus.SIGNED
    return {
        "form": form,
        "f": form.fields,
        "state": form.deadline(form.clinic.today()),
        "can_sign": request.actor.can(Perm.SESSION_SIGN) and form.status == RemsStatus.DRAFT,
        "can_submit": can_submit,
        "submit_form": (submit_form or RemsSubmitForm()) if can_submit else None,
        **extra,
    }


@login_required
def rems_detail(request: HttpRequest, form_id: UUID) -> HttpResponse:
    form = access.load(request.actor, _REMS_FORMS, form_id, Perm.SESSION_READ)
    return render(request, "treatments/rems_form.html", _rems_context(request, form))


@login_required
def rems_print(request: HttpRequest, form_id: UUID) -> HttpResponse:
    form = access.load(request.actor, _REMS_FORMS, form_id, Perm.SESSION_READ, action=Action.PRINT)
    return render(
        request,
        "treatments/rems_form.html",
        {"form": form, "f": form.fields, "printing": True},
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
    form = access.load(request.actor, _REMS_FORMS, form_id, Perm.SESSION_CHANGE)
    submit_form = RemsSubmitForm(request.POST)
    if submit_form.is_valid():
        try:
            sessions.submit_rems_form(request.actor, form, **submit_form.cleaned_data)
        except InputError as error:
            label = submit_form.fields[error.field].label
            submit_form.add_error(error.field, f"{label} {error.message}.")
        except Conflict as error:
            messages.error(request, error.message)
            return redirect("rems_detail", form.id)
        else:
            messages.success(request, "Submission recorded.")
            return redirect("rems_detail", form.id)
    return render(
        request,
        "treatments/rems_form.html",
        _rems_context(request, form, submit_form),
        status=422,
    )
