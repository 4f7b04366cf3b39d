"""The therapist's pages: a progress note for a session or a therapy appointment, its signing,
addenda and risk alert; the plan's goals; the psychotherapy notes kept apart.

Thin views: load through ``access`` (clinic → 404, role → 403, audited read) or the
psychotherapy-note wall (``selectors.psychotherapy_notes``: 404 for all without a grant), call
one service, render or redirect.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from trellis.accounts.models import Membership
from trellis.accounts.permissions import Perm
from trellis.lib.errors import Conflict, InputError
from trellis.patients import access
from trellis.patients.models import Patient
from trellis.safety.sources import Source
from trellis.scheduling.models import Appointment
from trellis.therapy import rules, selectors, services
from trellis.therapy.forms import (
    AddendumForm,
    GoalForm,
    GoalStatusForm,
    GrantForm,
    ProgressNoteForm,
    PsychotherapyNoteForm,
)
from trellis.therapy.models import (
    KapPhase,
    ProgressNote,
    PsychotherapyNote,
    PsychotherapyNoteGrant,
    TherapyModality,
    TreatmentGoal,
)
from trellis.treatments.models import Session

_NOTES = ProgressNote.objects.select_related(
    "clinic", "patient", "author", "session", "appointment"
)
# The service's field → the form's field it was typed in.
_FORM_FIELD = {"started_at": "start", "ended_at": "end"}


def _values(form: ProgressNoteForm, tz) -> dict:
    data = dict(form.cleaned_data)
    day, start, end = data.pop("day"), data.pop("start"), data.pop("end")
    data["started_at"] = datetime.combine(day, start, tz)
    data["ended_at"] = datetime.combine(day, end, tz)
    return data


def _initial(note: ProgressNote, tz) -> dict:
    start = timezone.localtime(note.started_at, tz)
    end = timezone.localtime(note.ended_at, tz)
    initial = {name: getattr(note, name) for name in ("modality", "phase", *services.TEXT_FIELDS)}
    initial.update(
        day=start.date(),
        start=start.time(),
        end=end.time(),
        risk_level=note.risk_level,
        themes=", ".join(note.themes),
    )
    return initial


def _save(request, form: ProgressNoteForm, clinic, write) -> ProgressNote | None:
    """Run ``write(values)`` for a valid form; a refusal is put on the field it names."""
    if not form.is_valid():
        return None
    try:
        return write(_values(form, clinic.tzinfo))
    except InputError as error:
        field = _FORM_FIELD.get(error.field, error.field)
        form.add_error(field if field in form.fields else None, error.message)
    except Conflict as error:
        form.add_error(None, error.message)
    return None


def _new_note_page(request, form, *, patient, occasion: str, back: str, status=200):
    return render(
        request,
        "therapy/progress_note_form.html",
        {"form": form, "patient": patient, "occasion": occasion, "back": back, "note": None},
        status=status,
    )


@login_required
def progress_note_for_session(request: HttpRequest, session_id: UUID) -> HttpResponse:
    queryset = Session.objects.select_related("clinic", "patient", "course")
    session = access.load(request.actor, queryset, session_id, Perm.PROGRESS_NOTE_CHANGE)
    back = reverse("session_detail", args=[session.id])
    occasion = f"Session {session.number} of the {session.course.get_modality_display()} course"
    if request.method == "POST":
        form = ProgressNoteForm(request.POST)
        note = _save(
            request,
            form,
            session.clinic,
            lambda values: services.create_progress_note(request.actor, session=session, **values),
        )
        if note is not None:
            messages.success(request, "Progress note saved as a draft. Sign it when complete.")
            return redirect(note_url(note))
        return _new_note_page(
            request, form, patient=session.patient, occasion=occasion, back=back, status=422
        )
    tz = session.clinic.tzinfo
    start = timezone.localtime(session.started_at or timezone.now(), tz)
    form = ProgressNoteForm(
        initial={
            "modality": TherapyModality.KAP,
            "phase": KapPhase.DOSING,
            "day": start.date(),
            "start": start.time().replace(second=0, microsecond=0),
            "end": (start + timedelta(minutes=45)).time().replace(second=0, microsecond=0),
        }
    )
    return _new_note_page(request, form, patient=session.patient, occasion=occasion, back=back)


@login_required
def progress_note_for_appointment(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    queryset = Appointment.objects.select_related("clinic", "patient")
    appointment = access.load(request.actor, queryset, appointment_id, Perm.PROGRESS_NOTE_CHANGE)
    back = reverse("patient_detail", args=[appointment.patient_id])
    tz = appointment.clinic.tzinfo
    start = timezone.localtime(appointment.start, tz)
    occasion = (
        f"{appointment.get_kind_display()} appointment of {start:%b} {start.day}, {start:%H:%M}"
    )
    if request.method == "POST":
        form = ProgressNoteForm(request.POST)
        note = _save(
            request,
            form,
            appointment.clinic,
            lambda values: services.create_progress_note(
                request.actor, appointment=appointment, **values
            ),
        )
        if note is not None:
            messages.success(request, "Progress note saved as a draft. Sign it when complete.")
            return redirect(note_url(note))
        return _new_note_page(
            request, form, patient=appointment.patient, occasion=occasion, back=back, status=422
        )
    end = timezone.localtime(appointment.end, tz)
    form = ProgressNoteForm(
        initial={
            "modality": TherapyModality.SUPPORTIVE,
            "day": start.date(),
            "start": start.time(),
            "end": end.time(),
        }
    )
    return _new_note_page(request, form, patient=appointment.patient, occasion=occasion, back=back)


def note_url(note: ProgressNote) -> str:
    return reverse("progress_note_detail", args=[note.id])


def _occasion(note: ProgressNote, tz) -> str:
    if note.session_id:
        return f"Session {note.session.number} of a treatment course"
    start = timezone.localtime(note.appointment.start, tz)
    return f"{note.appointment.get_kind_display()} appointment of {start:%b} {start.day}"


@login_required
def progress_note_detail(request: HttpRequest, note_id: UUID) -> HttpResponse:
    actor = request.actor
    note = access.load(actor, _NOTES, note_id, Perm.SESSION_READ)
    tz = note.clinic.tzinfo
    editable = (
        not note.is_signed
        and note.author_id == actor.user.pk
        and actor.can(Perm.PROGRESS_NOTE_CHANGE)
    )
    status = 200
    form = None
    if editable:
        if request.method == "POST":
            form = ProgressNoteForm(request.POST)
            saved = _save(
                request,
                form,
                note.clinic,
                lambda values: services.update_progress_note(actor, note, **values),
            )
            if saved is not None:
                messages.success(request, "Progress note saved.")
                return redirect(note_url(note))
            status = 422
        else:
            form = ProgressNoteForm(initial=_initial(note, tz))
    elif request.method == "POST":
        raise Http404("No such record.")
    note.addon = rules.addon(note.minutes)
    back = (
        reverse("session_detail", args=[note.session_id])
        if note.session_id
        else reverse("patient_detail", args=[note.patient_id])
    )
    context = {
        "note": note,
        "patient": note.patient,
        "form": form,
        "occasion": _occasion(note, tz),
        "back": back,
        "missing": rules.missing_for_signing(
            {name: getattr(note, name) for name in (*services.TEXT_FIELDS, "risk_level")}
        ),
        "can_sign": editable,
        "can_annotate": note.is_signed and actor.can(Perm.PROGRESS_NOTE_CHANGE),
        "can_alert": actor.can(Perm.PROGRESS_NOTE_CHANGE)
        and note.risk_level in rules.RISK_TO_ALERT
        and note.alert_id is None,
        "addenda": note.addenda.select_related("author"),
        "addendum_form": AddendumForm(),
    }
    template = "therapy/progress_note_form.html" if form else "therapy/progress_note_detail.html"
    return render(request, template, context, status=status)


@require_POST
@login_required
def progress_note_sign(request: HttpRequest, note_id: UUID) -> HttpResponse:
    note = access.load(request.actor, _NOTES, note_id, Perm.PROGRESS_NOTE_CHANGE)
    try:
        services.sign_progress_note(request.actor, note)
    except Conflict as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, "Progress note signed. It can no longer change; corrections are addenda."
        )
    return redirect(note_url(note))


@require_POST
@login_required
def progress_note_addendum(request: HttpRequest, note_id: UUID) -> HttpResponse:
    note = access.load(request.actor, _NOTES, note_id, Perm.PROGRESS_NOTE_CHANGE)
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            services.add_progress_addendum(request.actor, note, **form.cleaned_data)
        except (InputError, Conflict) as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Addendum added.")
    else:
        messages.error(request, "An addendum needs a reason and the correction.")
    return redirect(note_url(note))


@require_POST
@login_required
def progress_note_alert(request: HttpRequest, note_id: UUID) -> HttpResponse:
    note = access.load(request.actor, _NOTES, note_id, Perm.PROGRESS_NOTE_CHANGE)
    try:
        alert = services.raise_risk_alert(request.actor, note)
    except Conflict as error:
        messages.error(request, error.message)
        return redirect(note_url(note))
    messages.success(
        request, "Safety alert raised. It stays open until a clinician acknowledges it."
    )
    return redirect("alert_detail", alert.id)


def describe_alert_source(alert, actor) -> Source | None:
    """The progress note that raised ``alert``, for the alert's page."""
    note = ProgressNote.objects.filter(pk=alert.source_id, clinic=alert.clinic_id).first()
    if note is None:
        return None
    when = timezone.localtime(note.started_at, alert.clinic.tzinfo)
    text = f"Therapist's progress note of {when:%b} {when.day}, {when:%H:%M}"
    return Source(text, note_url(note) if actor.can(Perm.SESSION_READ) else "")


# --- goals ---------------------------------------------------------------------------------------


def _card_url(patient_id) -> str:
    return reverse("patient_detail", args=[patient_id]) + "#progress-notes"


@require_POST
@login_required
def goal_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = access.patient(request.actor, patient_id, Perm.PROGRESS_NOTE_CHANGE)
    form = GoalForm(request.POST)
    if form.is_valid():
        try:
            services.add_goal(request.actor, patient, form.cleaned_data["text"])
        except InputError as error:
            messages.error(request, f"Goal: {error.message}.")
        else:
            messages.success(request, "Goal added to the plan.")
    else:
        messages.error(request, "Write the goal (at most 300 characters).")
    return redirect(_card_url(patient.id))


@require_POST
@login_required
def goal_status(request: HttpRequest, goal_id: UUID) -> HttpResponse:
    queryset = TreatmentGoal.objects.select_related("patient")
    goal = access.load(request.actor, queryset, goal_id, Perm.PROGRESS_NOTE_CHANGE)
    form = GoalStatusForm(request.POST)
    if form.is_valid():
        services.set_goal_status(request.actor, goal, form.cleaned_data["status"])
        messages.success(request, f"Goal marked {goal.get_status_display().lower()}.")
    else:
        messages.error(request, "Choose active, met or dropped.")
    return redirect(_card_url(goal.patient_id))


# --- psychotherapy notes -----------------------------------------------------------------------


def _patient_or_404(actor, patient_id: UUID) -> Patient:
    """The patient, checked for the clinic only: the wall (not a role) answers who reads, and
    the read of each note is what is audited."""
    patient = Patient.objects.select_related("clinic").filter(pk=patient_id).first()
    if patient is None or actor is None or patient.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    return patient


def _colleagues(actor) -> list[tuple[str, str]]:
    members = (
        Membership.objects.filter(clinic=actor.clinic)
        .exclude(user=actor.user)
        .select_related("user")
        .order_by("user__last_name", "user__username")
    )
    return [
        (str(m.user_id), f"{m.user.get_full_name() or m.user.username} ({m.get_role_display()})")
        for m in members
        if m.can(Perm.PSYCHOTHERAPY_NOTE_READ)
    ]


@login_required
def psychotherapy_notes(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    actor = request.actor
    patient = _patient_or_404(actor, patient_id)
    form = PsychotherapyNoteForm()
    status = 200
    if request.method == "POST":
        if not actor.can(Perm.PSYCHOTHERAPY_NOTE_WRITE):
            raise Http404("No such record.")
        form = PsychotherapyNoteForm(request.POST)
        if form.is_valid():
            try:
                services.write_psychotherapy_note(actor, patient, form.cleaned_data["text"])
            except InputError as error:
                form.add_error("text", error.message)
            else:
                messages.success(request, "Psychotherapy note saved, apart from the record.")
                return redirect("psychotherapy_notes", patient.id)
        status = 422
    notes = selectors.psychotherapy_notes(actor, patient)
    own = [n for n in notes if n.author_id == actor.user.pk]
    can_write = actor.can(Perm.PSYCHOTHERAPY_NOTE_WRITE)
    grant_form = None
    if can_write:
        tz = patient.clinic.tzinfo
        grant_form = GrantForm(
            colleagues=_colleagues(actor),
            notes=[
                (str(n.id), f"The note of {timezone.localtime(n.created_at, tz):%b %-d, %H:%M}")
                for n in own
            ],
        )
    return render(
        request,
        "therapy/psychotherapy_notes.html",
        {
            "patient": patient,
            "notes": notes,
            "form": form if can_write else None,
            "grant_form": grant_form,
            "grants": selectors.own_grants(actor, patient) if can_write else [],
        },
        status=status,
    )


@require_POST
@login_required
def psychotherapy_grant(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    actor = request.actor
    patient = _patient_or_404(actor, patient_id)
    if not actor.can(Perm.PSYCHOTHERAPY_NOTE_WRITE):
        raise Http404("No such record.")
    # The author's own notes, to choose from: not a read of their words, so not audited.
    own = list(PsychotherapyNote.objects.filter(patient=patient, author=actor.user))
    form = GrantForm(
        request.POST,
        colleagues=_colleagues(actor),
        notes=[(str(n.id), "") for n in own],
    )
    if not form.is_valid():
        messages.error(request, "Choose the colleague, and one of your notes or all of them.")
        return redirect("psychotherapy_notes", patient.id)
    grantee = Membership.objects.get(clinic=actor.clinic, user_id=form.cleaned_data["grantee"]).user
    note = next((n for n in own if str(n.id) == form.cleaned_data["note"]), None)
    try:
        services.grant_psychotherapy_notes(actor, patient, grantee, note)
    except InputError as error:
        messages.error(request, f"Colleague: {error.message}.")
    else:
        messages.success(
            request, f"{grantee.get_full_name() or grantee.username} may now read them."
        )
    return redirect("psychotherapy_notes", patient.id)


@require_POST
@login_required
def psychotherapy_grant_revoke(request: HttpRequest, grant_id: UUID) -> HttpResponse:
    actor = request.actor
    grant = PsychotherapyNoteGrant.objects.select_related("grantee").filter(pk=grant_id).first()
    if grant is None or actor is None or grant.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    if grant.author_id != actor.user.pk or not actor.can(Perm.PSYCHOTHERAPY_NOTE_WRITE):
        raise Http404("No such record.")
    services.revoke_psychotherapy_grant(actor, grant)
    messages.success(request, "Grant revoked.")
    return redirect("psychotherapy_notes", grant.patient_id)
