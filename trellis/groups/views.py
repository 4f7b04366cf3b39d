"""The groups' pages: programs and cohorts, a cohort's members and waitlist, a session's
attendance and note (for a tablet in the room), one member's record of a session, interest
requests, and the clinic's public listing.

Thin views: load through the selectors (clinic → 404, role → 403, audited), call one service,
render or redirect.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from trellis.accounts.access import require
from trellis.accounts.middleware import local_url
from trellis.accounts.models import Clinic
from trellis.accounts.permissions import Perm
from trellis.groups import rules, selectors, services
from trellis.groups.forms import (
    AddendumForm,
    CancelCohortForm,
    CapacityForm,
    CohortEditForm,
    CohortForm,
    EnrolForm,
    InterestEnrolForm,
    InterestForm,
    MeetingMoveForm,
    ProgramForm,
    WithdrawForm,
)
from trellis.groups.models import (
    AttendanceStatus,
    Enrolment,
    GroupProgram,
    InterestStatus,
    MemberSection,
)
from trellis.lib.errors import Conflict, InputError
from trellis.lib.forms import apply_validation_error
from trellis.lib.http import client_address
from trellis.patients.models import Patient
from trellis.patients.services import TooManyRequests
from trellis.safety.sources import Source
from trellis.therapy.models import RiskLevel


def _error(form, error: InputError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _enrolled_message(request, done: services.Enrolled) -> None:
    e = done.enrolment
    if e.status == "waitlisted":
        messages.info(request, f"{e.patient.full_name} is on the waitlist: the group is full.")
    else:
        messages.success(request, f"{e.patient.full_name} is enrolled.")
    if done.skipped:
        numbers = ", ".join(str(n) for n in done.skipped)
        messages.warning(
            request,
            f"Not booked for session {numbers}: {e.patient.full_name} has another "
            "appointment then.",
        )


# --- programs and cohorts ------------------------------------------------------------------------


@login_required
def group_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    return render(
        request,
        "groups/list.html",
        {
            "programs": selectors.programs(actor),
            "cohorts": selectors.cohorts(actor),
            "past": selectors.cohorts(actor, past=True)[:10],
            "can_manage": actor.can(Perm.GROUP_PROGRAM_CHANGE),
            "can_enrol": actor.can(Perm.GROUP_ENROL),
            "new_interest": selectors.new_interest_count(actor),
        },
    )


@login_required
def program_new(request: HttpRequest) -> HttpResponse:
    actor = require(request.actor, Perm.GROUP_PROGRAM_CHANGE)
    form = ProgramForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            program = services.create_program(actor, **form.cleaned_data)
        except InputError as error:
            _error(form, error)
        else:
            messages.success(request, f"Program {program.name} added. Now plan a cohort.")
            return redirect("group_cohort_new", program.id)
    return render(request, "groups/program_form.html", {"form": form}, status=_status(form))


@require_POST
@login_required
def program_active(request: HttpRequest, program_id: UUID) -> HttpResponse:
    """Retire a program, or bring it back (``active`` 1)."""
    actor = require(request.actor, Perm.GROUP_PROGRAM_CHANGE)
    program = get_object_or_404(GroupProgram, pk=program_id, clinic=actor.clinic)
    try:
        program = services.set_program_active(actor, program, request.POST.get("active") == "1")
    except Conflict as error:
        messages.error(request, error.message)
    else:
        if program.is_active:
            messages.success(request, f"{program.name} is back: new cohorts may be planned.")
        else:
            messages.success(
                request,
                f"{program.name} retired: no new cohorts, and it is no longer listed publicly. "
                "Its cohorts already planned run on.",
            )
    return redirect(reverse("group_list") + "#programs")


def _status(form) -> int:
    return 422 if form.is_bound and form.errors else 200


@login_required
def cohort_new(request: HttpRequest, program_id: UUID) -> HttpResponse:
    actor = require(request.actor, Perm.GROUP_PROGRAM_CHANGE)
    program = get_object_or_404(GroupProgram, pk=program_id, clinic=actor.clinic)
    if not program.is_active:
        messages.error(request, f"{program.name} is retired: bring it back to plan a cohort.")
        return redirect("group_list")
    form = CohortForm(actor.clinic, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            cohort = services.create_cohort(actor, program, **form.cleaned_data)
        except InputError as error:
            _error(form, error)
        except Conflict as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Cohort planned: {program.sessions} sessions booked.")
            return redirect("group_cohort", cohort.id)
    return render(
        request,
        "groups/cohort_form.html",
        {"form": form, "program": program},
        status=_status(form),
    )


@login_required
def cohort_detail(request: HttpRequest, cohort_id: UUID) -> HttpResponse:
    actor = request.actor
    cohort = selectors.cohort(actor, cohort_id)
    return _cohort_page(request, cohort, EnrolForm())


def _cohort_page(request, cohort, enrol_form, status: int = 200) -> HttpResponse:
    actor = request.actor
    page = selectors.cohort_page(actor, cohort)
    return render(
        request,
        "groups/cohort.html",
        {
            "page": page,
            "cohort": cohort,
            "enrol_form": enrol_form,
            "capacity_form": CapacityForm(initial={"capacity": cohort.capacity}),
            "can_enrol": actor.can(Perm.GROUP_ENROL),
            "can_manage": actor.can(Perm.GROUP_PROGRAM_CHANGE),
            "can_document": actor.can(Perm.GROUP_DOCUMENT) and actor.can(Perm.SESSION_READ),
            "today": actor.clinic.today(),
            "now": timezone.now(),
        },
        status=status,
    )


@require_POST
@login_required
def cohort_enrol(request: HttpRequest, cohort_id: UUID) -> HttpResponse:
    actor = require(request.actor, Perm.GROUP_ENROL)
    cohort = selectors.cohort(actor, cohort_id)
    form = EnrolForm(request.POST)
    if form.is_valid():
        mrn = form.cleaned_data["mrn"].strip()
        patient = Patient.objects.filter(clinic=actor.clinic, mrn__iexact=mrn).first()
        if patient is None:
            form.add_error("mrn", "No patient of this clinic has that MRN.")
        else:
            try:
                done = services.enrol(actor, cohort, patient)
            except Conflict as error:
                form.add_error("mrn", error.message)
            else:
                _enrolled_message(request, done)
                return redirect("group_cohort", cohort.id)
    return _cohort_page(request, cohort, form, status=422)


@require_POST
@login_required
def cohort_capacity(request: HttpRequest, cohort_id: UUID) -> HttpResponse:
    actor = require(request.actor, Perm.GROUP_PROGRAM_CHANGE)
    cohort = selectors.cohort(actor, cohort_id)
    form = CapacityForm(request.POST)
    if not form.is_valid():
        messages.error(request, "capacity: " + " ".join(form.errors.get("capacity", [])))
    else:
        try:
            promoted = services.set_capacity(actor, cohort, form.cleaned_data["capacity"])
        except InputError as error:
            messages.error(request, f"{error.field}: {error.message}")
        else:
            messages.success(
                request,
                f"Capacity is {form.cleaned_data['capacity']}."
                + (f" {len(promoted)} moved up from the waitlist." if promoted else ""),
            )
    return redirect("group_cohort", cohort.id)


@login_required
def cohort_edit(request: HttpRequest, cohort_id: UUID) -> HttpResponse:
    actor = require(request.actor, Perm.GROUP_PROGRAM_CHANGE)
    cohort = selectors.cohort(actor, cohort_id)
    if cohort.cancelled_at is not None:
        messages.error(request, "The cohort was cancelled: it no longer changes.")
        return redirect("group_cohort", cohort.id)
    initial = {
        "start_time": cohort.start_time,
        "room": cohort.room_id,
        "facilitators": [f.pk for f in cohort.facilitators.all()],
        "late_join_until": cohort.late_join_until,
        "listed": cohort.listed,
    }
    form = CohortEditForm(actor.clinic, request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.update_cohort(actor, cohort, **form.cleaned_data)
        except InputError as error:
            _error(form, error)
        except Conflict as error:
            form.add_error(None, error.message + " Nothing was changed.")
        else:
            if changed:
                messages.success(
                    request,
                    "Cohort changed: "
                    + ", ".join(CHANGE_WORDS.get(name, name) for name in changed)
                    + ".",
                )
            else:
                messages.info(request, "Nothing changed.")
            return redirect("group_cohort", cohort.id)
    return render(
        request,
        "groups/cohort_form.html",
        {"form": form, "program": cohort.program, "cohort": cohort},
        status=_status(form),
    )


CHANGE_WORDS = {
    "start_time": "the weekly time (sessions to come moved)",
    "room": "the room (sessions to come moved)",
    "facilitators": "the facilitators",
    "late_join_until": "late joining",
    "listed": "the public listing",
}


@login_required
def cohort_cancel(request: HttpRequest, cohort_id: UUID) -> HttpResponse:
    """The confirm step, naming what the cancellation affects, then the cancellation."""
    actor = require(request.actor, Perm.GROUP_PROGRAM_CHANGE)
    cohort = selectors.cohort(actor, cohort_id)
    if cohort.cancelled_at is not None:
        messages.info(request, "The cohort was cancelled already.")
        return redirect("group_cohort", cohort.id)
    form = CancelCohortForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            done = services.cancel_cohort(actor, cohort, form.cleaned_data["reason"])
        except InputError as error:
            _error(form, error)
        except Conflict as error:
            messages.error(request, error.message)
            return redirect("group_cohort", cohort.id)
        else:
            messages.success(
                request,
                f"Cohort cancelled: {done.sessions} session{'s' if done.sessions != 1 else ''} "
                f"cancelled and the room freed; {done.members} member"
                f"{'s' if done.members != 1 else ''} and {done.waitlisted} on the waitlist "
                "told.",
            )
            return redirect("group_cohort", cohort.id)
    enrolled, waiting = services.members_count([cohort]).get(cohort.pk, (0, 0))
    return render(
        request,
        "groups/cohort_cancel.html",
        {
            "cohort": cohort,
            "form": form,
            "enrolled": enrolled,
            "waiting": waiting,
            "sessions": cohort.meetings.filter(start__gt=timezone.now()).count(),
        },
        status=_status(form),
    )


@require_POST
@login_required
def cohort_close_waitlist(request: HttpRequest, cohort_id: UUID) -> HttpResponse:
    actor = require(request.actor, Perm.GROUP_ENROL)
    cohort = selectors.cohort(actor, cohort_id)
    try:
        count = services.close_waitlist(actor, cohort)
    except Conflict as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, f"Waitlist closed: {count} place{'s' if count != 1 else ''} ended, each told."
        )
    return redirect(reverse("group_cohort", args=[cohort.id]) + "#waitlist")


@require_POST
@login_required
def enrolment_withdraw(request: HttpRequest, enrolment_id: UUID) -> HttpResponse:
    actor = require(request.actor, Perm.GROUP_ENROL)
    enrolment = get_object_or_404(
        Enrolment.objects.select_related("patient", "cohort"), pk=enrolment_id, clinic=actor.clinic
    )
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, "reason: say why the patient is leaving the group.")
    else:
        try:
            promoted = services.withdraw(actor, enrolment, form.cleaned_data["reason"])
        except (Conflict, InputError) as error:
            messages.error(request, error.message)
        else:
            text = f"{enrolment.patient.full_name} withdrawn."
            if promoted:
                names = ", ".join(e.patient.full_name for e in promoted)
                text += f" Moved up from the waitlist: {names}."
            messages.success(request, text)
    return redirect("group_cohort", enrolment.cohort_id)


# --- a session: attendance and the group note ----------------------------------------------------


def _meeting_context(request, meeting, **extra) -> dict:
    actor = request.actor
    context = selectors.meeting_page(actor, meeting)
    note = context["note"]
    values, errors = extra.pop("values", {}), extra.pop("errors", {})
    for seat in context["seats"]:
        key = f"status_{seat.enrolment.pk}"
        seat.chosen = values.get(key) or (seat.attendance.status if seat.attendance else "")
        seat.error = errors.get(key, "")
        if seat.attendance is not None:
            prefix = f"section_{seat.attendance.pk}_"
            seat.prefix = prefix
            seat.values = {
                name: values.get(
                    prefix + name, getattr(seat.section, name, "") if seat.section else ""
                )
                for name in ("participation", "response", "risk_level", "risk_notes")
            }
            seat.errors = {
                name: errors[prefix + name]
                for name in ("participation", "response", "risk_level", "risk_notes")
                if prefix + name in errors
            }
    context.update(
        statuses=AttendanceStatus.choices,
        risks=RiskLevel.choices,
        can_document=actor.can(Perm.GROUP_DOCUMENT),
        is_author=note is None or note.author_id == actor.user.pk,
        addendum_form=AddendumForm(),
        today=actor.clinic.today(),
        topic=values.get("topic", note.topic if note else ""),
        interventions=values.get("interventions", note.interventions if note else ""),
        form_errors={k: v for k, v in errors.items() if k in ("topic", "interventions")},
        **extra,
    )
    return context


@login_required
def meeting_detail(request: HttpRequest, meeting_id: UUID) -> HttpResponse:
    meeting = selectors.meeting(request.actor, meeting_id)
    return render(request, "groups/meeting.html", _meeting_context(request, meeting))


@require_POST
@login_required
def meeting_attendance(request: HttpRequest, meeting_id: UUID) -> HttpResponse:
    actor = require(request.actor, Perm.GROUP_DOCUMENT)
    meeting = selectors.meeting(actor, meeting_id)
    statuses = {
        key.removeprefix("status_"): value
        for key, value in request.POST.items()
        if key.startswith("status_")
    }
    try:
        rows = services.take_attendance(actor, meeting, statuses)
    except InputError as error:
        context = _meeting_context(
            request, meeting, errors={error.field: error.message}, values=request.POST
        )
        return render(request, "groups/meeting.html", context, status=422)
    except Conflict as error:
        messages.error(request, error.message)
    else:
        count = rules.participant_count(a.status for a in rows)
        messages.success(request, f"Attendance taken: {count} of {len(rows)} took part.")
    return redirect(reverse("group_meeting", args=[meeting.id]) + "#note")


@require_POST
@login_required
def meeting_note(request: HttpRequest, meeting_id: UUID) -> HttpResponse:
    actor = require(request.actor, Perm.GROUP_DOCUMENT)
    meeting = selectors.meeting(actor, meeting_id)
    sections: dict[str, dict] = {}
    for key, value in request.POST.items():
        if key.startswith("section_"):
            _, attendance_id, name = key.split("_", 2)
            sections.setdefault(attendance_id, {})[name] = value
    try:
        note = services.save_note(
            actor,
            meeting,
            topic=request.POST.get("topic", ""),
            interventions=request.POST.get("interventions", ""),
            sections=sections,
        )
        if request.POST.get("sign"):
            services.sign_note(actor, note)
    except InputError as error:
        context = _meeting_context(
            request, meeting, errors={error.field: error.message}, values=request.POST
        )
        return render(request, "groups/meeting.html", context, status=422)
    except Conflict as error:
        messages.error(request, error.message)
    else:
        if request.POST.get("sign"):
            messages.success(
                request, "Group note signed. It can no longer change; corrections are addenda."
            )
        else:
            messages.success(request, "Group note saved as a draft.")
    return redirect(reverse("group_meeting", args=[meeting.id]) + "#note")


@require_POST
@login_required
def note_addendum(request: HttpRequest, meeting_id: UUID) -> HttpResponse:
    actor = require(request.actor, Perm.GROUP_DOCUMENT)
    meeting = selectors.meeting(actor, meeting_id)
    note = getattr(meeting, "note", None)
    form = AddendumForm(request.POST)
    section = None
    if request.POST.get("section"):
        section = MemberSection.objects.filter(
            pk=request.POST["section"], clinic=actor.clinic
        ).first()
    if note is None:
        messages.error(request, "There is no group note yet.")
    elif not form.is_valid():
        messages.error(request, "Give the reason and the text of the addendum.")
    else:
        try:
            services.add_addendum(actor, note, section=section, **form.cleaned_data)
        except (InputError, Conflict) as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Addendum added.")
    return redirect(reverse("group_meeting", args=[meeting.id]) + "#addenda")


@login_required
def meeting_move(request: HttpRequest, meeting_id: UUID) -> HttpResponse:
    """Move one session still to come (a holiday) to another day or time."""
    actor = require(request.actor, Perm.GROUP_PROGRAM_CHANGE)
    meeting = selectors.meeting(actor, meeting_id)
    local = timezone.localtime(meeting.start, actor.clinic.tzinfo)
    form = MeetingMoveForm(
        request.POST or None, initial={"day": meeting.day, "start_time": local.time()}
    )
    if request.method == "POST" and form.is_valid():
        try:
            moved = services.move_meeting(actor, meeting, **form.cleaned_data)
        except InputError as error:
            _error(form, error)
        except Conflict as error:
            form.add_error(None, error.message + " Nothing was changed.")
        else:
            start = timezone.localtime(moved.start, actor.clinic.tzinfo)
            messages.success(
                request,
                f"Session {moved.number} moved to {start:%a %b} {start.day}, {start:%H:%M}; "
                "its members are told the new time.",
            )
            return redirect(reverse("group_cohort", args=[meeting.cohort_id]) + "#sessions")
    return render(
        request,
        "groups/meeting_move.html",
        {"meeting": meeting, "cohort": meeting.cohort, "form": form},
        status=_status(form),
    )


@login_required
def member_record(request: HttpRequest, attendance_id: UUID) -> HttpResponse:
    """One member's record of one session: what their chart links to."""
    record = selectors.member_record(request.actor, attendance_id)
    return render(
        request,
        "groups/member_record.html",
        {"record": record, "patient": record.attendance.patient},
    )


def describe_alert_source(alert, actor) -> Source | None:
    """The member's section that raised ``alert``, for the alert's page."""
    section = (
        MemberSection.objects.filter(pk=alert.source_id, clinic=alert.clinic_id)
        .select_related("note__meeting")
        .first()
    )
    if section is None:
        return None
    day = section.note.meeting.day
    url = (
        reverse("group_member_record", args=[section.attendance_id])
        if actor.can(Perm.SESSION_READ)
        else ""
    )
    return Source(f"Group session of {day:%b} {day.day}: the facilitator's section", url)


# --- interest requests ---------------------------------------------------------------------------


@login_required
def interest_queue(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    status = request.GET.get("status", InterestStatus.NEW)
    rows, counts = selectors.interests(actor, status)
    return render(
        request,
        "groups/interest_queue.html",
        {
            "rows": rows,
            "status": status,
            "statuses": InterestStatus.choices,
            "counts": counts,
            "public_url": reverse("group_public", args=[actor.clinic.slug]),
        },
    )


@login_required
def interest_detail(request: HttpRequest, interest_id: UUID) -> HttpResponse:
    actor = request.actor
    row = selectors.interest(actor, interest_id)
    open_cohorts = selectors.open_cohorts(actor)
    initial = {"cohort": row.cohort_id} if row.cohort_id else {}
    form = InterestEnrolForm(open_cohorts, request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if request.POST.get("decline"):
            try:
                services.decline_interest(actor, row)
            except Conflict as error:
                messages.error(request, error.message)
            else:
                messages.success(request, f"Request from {row.given_name} declined.")
            return redirect(local_url(request.POST.get("next", "")) or "group_interest_queue")
        patient = Patient.objects.filter(
            clinic=actor.clinic, pk=_uuid(request.POST.get("patient"))
        ).first()
        if patient is None:
            form.add_error(None, "Choose the registered patient to enrol.")
        if form.is_valid() and patient is not None:
            try:
                done = services.enrol_from_interest(
                    actor, row, patient, form.cleaned_data["cohort"]
                )
            except (Conflict, InputError) as error:
                form.add_error("cohort", error.message)
            else:
                _enrolled_message(request, done)
                return redirect("group_cohort", done.enrolment.cohort_id)
        status = 422
    return render(
        request,
        "groups/interest_detail.html",
        {
            "row": row,
            "form": form,
            "matches": selectors.possible_patients(actor, row),
            "cohorts": open_cohorts,
        },
        status=status,
    )


def _uuid(value) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


# --- the public page -----------------------------------------------------------------------------


def public_listing(request: HttpRequest, clinic_slug: str) -> HttpResponse:
    """The clinic's groups, for its website: upcoming cohorts and a form to ask to join. It
    says nothing about who is in them."""
    clinic = get_object_or_404(Clinic, slug=clinic_slug)
    cohorts = selectors.public_cohorts(clinic)
    form = InterestForm(cohorts, request.POST or None)
    context = {"clinic": clinic, "cohorts": cohorts, "form": form}
    if request.method == "POST":
        if form.is_bot():
            return redirect("group_public_thanks", clinic.slug)
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "website"}
            try:
                services.submit_interest(clinic, data, address=client_address(request))
            except ValidationError as error:
                apply_validation_error(form, error)
            except TooManyRequests:
                return render(
                    request, "groups/public.html", {**context, "rate_limited": True}, status=429
                )
            else:
                return redirect("group_public_thanks", clinic.slug)
        return render(request, "groups/public.html", context, status=422)
    return render(request, "groups/public.html", context)


def public_thanks(request: HttpRequest, clinic_slug: str) -> HttpResponse:
    clinic = get_object_or_404(Clinic, slug=clinic_slug)
    return render(request, "groups/public_thanks.html", {"clinic": clinic})
