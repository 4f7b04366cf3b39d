"""Pages for combined plans, maintenance plans and relapse flags.

Thin views: load through ``access`` (clinic → 404, role → 403, audited read), call one service,
render. The calendar grid is arranged by ``selectors.plan_page``; the rules are in ``services``,
``sequencing`` and ``maintenance``.
"""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import capfirst
from django.views.decorators.http import require_POST

from trellis.accounts.permissions import Perm
from trellis.lib.errors import Conflict, InputError
from trellis.patients import access
from trellis.patients.modality import Modality
from trellis.plans import maintenance, selectors, services
from trellis.plans.forms import NEW, EndForm, MaintenanceForm, PlanForm, ReviewForm
from trellis.plans.models import MaintenancePlan, MaintenanceStatus, RelapseFlag, TreatmentPlan
from trellis.treatments import concomitant
from trellis.treatments import services as courses
from trellis.treatments.models import Course


def _error_on(form, error: InputError) -> None:
    form.add_error(error.field if error.field in form.fields else None, capfirst(error.message))


# --- Combined plans ------------------------------------------------------------------------------


@login_required
def plan_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    actor = request.actor
    patient = access.patient(actor, patient_id, Perm.COURSE_CHANGE)
    tms_courses, dose_courses = selectors.courses_for_plan(patient)
    library = courses.protocol_library(actor.clinic)
    form = PlanForm(
        request.POST or None,
        tms_courses=tms_courses,
        dose_courses=dose_courses,
        tms_protocols=[p for p in library if p.modality == Modality.TMS],
        dose_protocols=[p for p in library if p.modality in services.DOSE_MODALITIES],
        initial={
            "sequencing": services.sequencing_setting(actor.clinic),
            "start_date": courses.clinic_today(actor.clinic),
        },
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        by_id = {str(c.pk): c for c in tms_courses + dose_courses}
        try:
            plan = services.start_plan(
                actor,
                patient,
                tms_course=by_id.get(data["tms_course"]) if data["tms_course"] != NEW else None,
                dose_course=by_id.get(data["dose_course"]) if data["dose_course"] != NEW else None,
                tms_protocol=data["tms_protocol"],
                dose_protocol=data["dose_protocol"],
                start_date=data["start_date"],
                with_antidepressant=concomitant.Concomitant(
                    monotherapy=data["esketamine_monotherapy"],
                    name=data["concomitant_antidepressant"],
                    dose=data["concomitant_dose"],
                    started_on=data["concomitant_started_on"],
                ),
                rule=data["sequencing"],
                note=data["note"],
            )
        except InputError as error:
            _error_on(form, error)
            status = 422
        except Conflict as error:
            form.add_error(None, error.message)
            status = 409
        except PermissionDenied as error:
            form.add_error(None, str(error))
            status = 403
        else:
            messages.success(request, f"Combined plan {plan.name} created.")
            if plan.moved:
                messages.info(
                    request,
                    f"{len(plan.moved)} TMS sessions moved off dose days (separate days).",
                )
            return redirect("plan_detail", plan.id)
    elif request.method == "POST":
        status = 422
    return render(
        request,
        "plans/plan_new.html",
        {
            "patient": patient,
            "form": form,
            "rules_source": "[R94, R16, R22, R10]",
        },
        status=status,
    )


def _load_plan(request: HttpRequest, plan_id: UUID, perm: Perm) -> TreatmentPlan:
    return access.load(
        request.actor,
        TreatmentPlan.objects.select_related(
            "clinic", "patient", "tms_course__protocol", "dose_course__protocol"
        ),
        plan_id,
        perm,
    )


@login_required
def plan_detail(request: HttpRequest, plan_id: UUID) -> HttpResponse:
    plan = _load_plan(request, plan_id, Perm.COURSE_READ)
    actor = request.actor
    page = selectors.plan_page(actor, plan)
    return render(
        request,
        "plans/plan_detail.html",
        {
            "plan": plan,
            "patient": plan.patient,
            "page": page,
            "can_book": actor.can(Perm.APPOINTMENT_CHANGE) and page.counts["planned"] > 0,
            "can_read_outcome": actor.can(Perm.MEASURE_READ),
            "can_open_sessions": actor.can(Perm.SESSION_READ),
            "today": plan.clinic.today(),
            "weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        },
    )


@login_required
@require_POST
def plan_book(request: HttpRequest, plan_id: UUID) -> HttpResponse:
    plan = _load_plan(request, plan_id, Perm.APPOINTMENT_CHANGE)
    try:
        booked, unbooked = services.book_plan(request.actor, plan)
    except (Conflict, InputError) as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Booked {len(booked)} sessions of the plan.")
        for label, why in list(unbooked.items())[:5]:
            messages.warning(request, f"{label} {why}.")
    return redirect("plan_detail", plan.id)


# --- Maintenance ---------------------------------------------------------------------------------


@login_required
def maintenance_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    actor = request.actor
    patient = access.patient(actor, patient_id, Perm.COURSE_CHANGE)
    candidates = selectors.maintenance_candidates(patient)
    form = MaintenanceForm(request.POST or None, candidates=candidates)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        course = next(c for c in candidates if str(c.pk) == data["after_course"])
        try:
            plan = services.start_maintenance(
                actor,
                patient,
                after_course=course,
                interval_days=data["interval_days"],
                note=data["note"],
            )
        except InputError as error:
            _error_on(form, error)
            status = 422
        except Conflict as error:
            form.add_error(None, error.message)
            status = 409
        else:
            messages.success(request, f"{plan.get_modality_display()} maintenance planned.")
            return redirect("maintenance_detail", plan.id)
    elif request.method == "POST":
        status = 422
    return render(
        request,
        "plans/maintenance_new.html",
        {
            "patient": patient,
            "form": form,
            "intervals": [
                (Course(modality=m).get_modality_display(), i)
                for m, i in maintenance.INTERVALS.items()
            ],
        },
        status=status,
    )


def _load_maintenance(request: HttpRequest, plan_id: UUID, perm: Perm) -> MaintenancePlan:
    return access.load(
        request.actor,
        MaintenancePlan.objects.select_related("clinic", "patient", "after_course__protocol"),
        plan_id,
        perm,
    )


@login_required
def maintenance_detail(request: HttpRequest, plan_id: UUID) -> HttpResponse:
    plan = _load_maintenance(request, plan_id, Perm.COURSE_READ)
    actor = request.actor
    state = services.maintenance_state(plan)
    bookings = list(plan.bookings.select_related("appointment__resource").order_by("-created_at"))
    return render(
        request,
        "plans/maintenance_detail.html",
        {
            "plan": plan,
            "patient": plan.patient,
            "state": state,
            "interval": maintenance.INTERVALS[plan.modality],
            "bookings": bookings,
            "can_book": actor.can(Perm.APPOINTMENT_CHANGE)
            and plan.status == MaintenanceStatus.ACTIVE,
            "can_change": actor.can(Perm.COURSE_CHANGE) and plan.status == MaintenanceStatus.ACTIVE,
            "end_form": EndForm(),
            "flag_visible": actor.can(Perm.MEASURE_READ),
        },
    )


@login_required
@require_POST
def maintenance_book(request: HttpRequest, plan_id: UUID) -> HttpResponse:
    plan = _load_maintenance(request, plan_id, Perm.APPOINTMENT_CHANGE)
    try:
        row = services.book_maintenance(request.actor, plan)
    except (Conflict, InputError) as error:
        messages.error(request, error.message)
    else:
        tz = plan.clinic.tzinfo
        when = row.appointment.start.astimezone(tz)
        moved_from = getattr(row, "moved_from", None)
        if moved_from is not None:
            messages.success(
                request,
                f"Maintenance session moved from {moved_from.astimezone(tz):%a %b %-d, %H:%M} "
                f"to {when:%a %b %-d, %H:%M}.",
            )
        else:
            messages.success(request, f"Maintenance session booked for {when:%a %b %-d, %H:%M}.")
    return redirect("maintenance_detail", plan.id)


@login_required
@require_POST
def maintenance_end(request: HttpRequest, plan_id: UUID) -> HttpResponse:
    plan = _load_maintenance(request, plan_id, Perm.COURSE_CHANGE)
    form = EndForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the maintenance plan ends.")
        return redirect("maintenance_detail", plan.id)
    try:
        services.end_maintenance(request.actor, plan, form.cleaned_data["reason"])
    except (Conflict, InputError) as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Maintenance plan ended.")
    return redirect("maintenance_detail", plan.id)


# --- Relapse flags -------------------------------------------------------------------------------


@login_required
@require_POST
def flag_review(request: HttpRequest, flag_id: UUID) -> HttpResponse:
    flag = access.load(
        request.actor,
        RelapseFlag.objects.select_related("clinic", "patient"),
        flag_id,
        Perm.MEASURE_CHANGE,
    )
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say what was done before marking the flag reviewed.")
    else:
        try:
            services.review_flag(request.actor, flag, form.cleaned_data["note"])
        except (Conflict, InputError) as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Relapse flag reviewed.")
    return redirect("patient_detail", flag.patient_id)
