"""Reads of courses and sessions for pages: the clinic's lists, each audited here as one query
(never in the view), and the course card of the patient's page."""

from collections.abc import Iterable
from datetime import date, timedelta

from django.core.paginator import Page
from django.db.models import Count, F, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from trellis.accounts.access import Actor, require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.selectors import audited_page
from trellis.audit.services import record_for
from trellis.patients.models import Patient
from trellis.treatments import services
from trellis.treatments.models import (
    OPEN_STATUSES,
    Course,
    RemsForm,
    RemsStatus,
    SafetyOverride,
    Session,
    SessionStatus,
    delivered_q,
    undelivered_q,
)


def course_card(actor: Actor, patient: Patient) -> dict:
    """The patient's courses with their progress and authorisation, in one query.

    Registered as a patient-page card (``patients.panels``), which has checked the clinic and
    ``course.read`` and audited the patient."""
    today = services.clinic_today(actor.clinic)
    courses = list(
        Course.objects.filter(clinic=actor.clinic, patient=patient)
        .select_related("protocol")
        .annotate(
            total=Count("sessions"),
            delivered=Count("sessions", filter=delivered_q("sessions__")),
            undelivered=Count("sessions", filter=undelivered_q("sessions__")),
            next_date=Min(
                "sessions__planned_date",
                filter=Q(sessions__status=SessionStatus.PLANNED, sessions__planned_date__gte=today),
            ),
        )
    )
    units = services.authorised_units(courses)
    for course in courses:
        course.clinic = actor.clinic  # in hand: not joined into the counting query
        course.auth = services.authorisation(
            course,
            used=course.delivered,
            planned=course.total - course.undelivered,
            authorised=units.get(course.pk),
        )
    return {"patient": patient, "courses": courses, "can_start": actor.can(Perm.COURSE_CHANGE)}


def sessions_on(actor: Actor, day: date) -> list[Session]:
    """The clinic's sessions planned on ``day`` (not cancelled), timed ones first, each with its
    course's length and the earlier session of its course still open (audited as a query).

    The day's list is the course calendar (``course.read``): who comes when for which
    treatment, never the session's documentation, so the front desk reads it too."""
    require(actor, Perm.COURSE_READ)
    total = (
        Session.objects.filter(course=OuterRef("course"))
        .values("course")
        .annotate(n=Count("pk"))
        .values("n")
    )
    earlier_open = Session.objects.filter(
        course=OuterRef("course"), number__lt=OuterRef("number"), status__in=OPEN_STATUSES
    ).order_by("-number")
    rows = list(
        Session.objects.filter(clinic=actor.clinic, planned_date=day)
        .exclude(status=SessionStatus.CANCELLED)
        .select_related("patient", "course__protocol")
        .annotate(
            course_total=Subquery(total),
            waiting_id=Subquery(earlier_open.values("id")[:1]),
            waiting_number=Subquery(earlier_open.values("number")[:1]),
            waiting_status=Subquery(earlier_open.values("status")[:1]),
            waiting_date=Subquery(earlier_open.values("planned_date")[:1]),
        )
        .order_by(
            F("planned_time").asc(nulls_last=True),  # timed sessions first, on every database
            "patient__family_name",
            "patient__given_name",
            "number",
        )
    )
    record_for(
        actor,
        Action.QUERY,
        object_type="treatments.session",
        detail={"planned_date": day.isoformat(), "results": len(rows)},
    )
    return rows


def rems_forms(actor: Actor) -> list[RemsForm]:
    """The clinic's esketamine REMS forms by due date (audited as a query)."""
    require(actor, Perm.SESSION_READ)
    forms = list(
        RemsForm.objects.filter(clinic=actor.clinic)
        .select_related("patient", "session")
        .order_by("due_date")
    )
    record_for(
        actor, Action.QUERY, object_type="treatments.remsform", detail={"results": len(forms)}
    )
    return forms


def patient_courses(patient: Patient) -> list[Course]:
    """The patient's courses, newest first, for choosing one on a form (the page loaded, and
    audited, the patient)."""
    return list(
        Course.objects.filter(patient=patient).select_related("protocol").order_by("-start_date")
    )


# --- Work lists: a page at a time, each audited as one query ----------------------------------

# REMS forms show on the prescriber's list from this many days before they are due [R30].
REMS_DUE_SOON_DAYS = 7
# Safety overrides stay on the prescriber's list for review this many days.
OVERRIDE_REVIEW_DAYS = 7


def _in_modalities(rows: QuerySet, modalities: Iterable[str] | None, prefix: str = "") -> QuerySet:
    return rows if modalities is None else rows.filter(**{f"{prefix}modality__in": modalities})


def day_list(
    actor: Actor,
    page=1,
    *,
    modalities: Iterable[str] | None = None,
    status: str | None = None,
    name: str = "today",
) -> Page:
    """Today's sessions at the clinic (not cancelled), timed ones first: who comes, when and
    for which treatment; ``modalities`` narrows it to the actor's own treatments, ``status`` to
    one status (``planned``: not yet held by an appointment)."""
    require(actor, Perm.COURSE_READ)
    rows = Session.objects.filter(clinic=actor.clinic, planned_date=actor.clinic.today())
    rows = rows.filter(status=status) if status else rows.exclude(status=SessionStatus.CANCELLED)
    rows = rows.select_related("patient", "course__protocol").order_by(
        F("planned_time").asc(nulls_last=True),
        "patient__family_name",
        "patient__given_name",
        "number",
        "id",
    )
    return audited_page(
        actor,
        _in_modalities(rows, modalities, "course__"),
        object_type="treatments.session",
        name=name,
        page=page,
    )


def _begun_unsigned(actor: Actor) -> QuerySet:
    """Sessions begun and not delivered (``delivered_q``): documentation still to sign."""
    return (
        Session.objects.filter(clinic=actor.clinic, status=SessionStatus.IN_PROGRESS)
        .exclude(delivered_q())
        .select_related("patient", "course__protocol", "documented_by")
        .order_by("planned_date", F("started_at").asc(nulls_last=True), "id")
    )


def sessions_to_sign(actor: Actor, page=1, *, modalities: Iterable[str] | None = None) -> Page:
    """Sessions begun and not yet signed, the oldest first."""
    require(actor, Perm.SESSION_SIGN)
    return audited_page(
        actor,
        _in_modalities(_begun_unsigned(actor), modalities, "course__"),
        object_type="treatments.session",
        name="sessions_to_sign",
        page=page,
    )


def unsigned_past_day(actor: Actor, page=1) -> Page:
    """Sessions begun on an earlier day and still not signed: overdue documentation, for the
    administrator to follow up with whoever began them (no clinical content is shown)."""
    require(actor, Perm.CLINIC_CHANGE)
    rows = _begun_unsigned(actor).filter(planned_date__lt=actor.clinic.today())
    return audited_page(
        actor, rows, object_type="treatments.session", name="unsigned_past_day", page=page
    )


_REMS_OPEN = [status for status in RemsStatus.values if status != RemsStatus.SUBMITTED]


def _rems_unsubmitted(actor: Actor) -> QuerySet:
    return (
        # Named statuses, not "not submitted": the (clinic, status, due_date) index then reads
        # only the open forms in due order.
        RemsForm.objects.filter(clinic=actor.clinic, status__in=_REMS_OPEN)
        .select_related("patient", "session")
        .order_by("due_date", "id")
    )


def rems_due(actor: Actor, page=1) -> Page:
    """REMS forms not yet submitted that are due within ``REMS_DUE_SOON_DAYS`` or overdue,
    overdue first (by due date) [R30]."""
    require(actor, Perm.SESSION_READ)
    soon = actor.clinic.today() + timedelta(days=REMS_DUE_SOON_DAYS)
    return audited_page(
        actor,
        _rems_unsubmitted(actor).filter(due_date__lte=soon),
        object_type="treatments.remsform",
        name="rems_due",
        page=page,
    )


def rems_overdue(actor: Actor, page=1) -> Page:
    """REMS forms past their due date and not submitted, for the administrator to follow up."""
    require(actor, Perm.CLINIC_CHANGE)
    return audited_page(
        actor,
        _rems_unsubmitted(actor).filter(due_date__lt=actor.clinic.today()),
        object_type="treatments.remsform",
        name="rems_overdue",
        page=page,
    )


def recent_overrides(actor: Actor, page=1, *, now=None) -> Page:
    """Safety stops a prescriber overrode in the last ``OVERRIDE_REVIEW_DAYS`` days, newest
    first: for prescribers to review each other's decisions."""
    require(actor, Perm.COURSE_OVERRIDE)
    since = (now or timezone.now()) - timedelta(days=OVERRIDE_REVIEW_DAYS)
    rows = (
        SafetyOverride.objects.filter(clinic=actor.clinic, created_at__gte=since)
        .select_related("patient", "session", "prescriber")
        .order_by("-created_at", "id")
    )
    return audited_page(
        actor, rows, object_type="treatments.safetyoverride", name="recent_overrides", page=page
    )


def patient_course(patient: Patient, pk) -> Course | None:
    """One of the patient's courses by its id, or ``None`` when it is not one of theirs (the
    caller loaded, checked and audited the patient)."""
    return Course.objects.filter(pk=pk, patient=patient).first()


def course_sessions(course: Course) -> list[Session]:
    """The course's sessions in order (the caller loaded, checked and audited the course)."""
    return list(Session.objects.filter(course=course).order_by("number"))
