"""Named operations on treatment sessions: beginning one, documenting it as it happens, signing
it, and correcting it afterwards by addendum; or closing it without treatment (cancelled,
no-show, not given). Each runs in one transaction and is audited; a vital sign past the alert
level or a seizure raises a safety alert in the same transaction.

Dates are the clinic's: a session's day is its clinic-local date (``session_day``), and
"today" is ``Clinic.today()``.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from trellis.accounts.access import require
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.lib.errors import Conflict, InputError
from trellis.patients.modality import Modality
from trellis.patients.models import BodyMeasurement
from trellis.safety.services import raise_alert
from trellis.treatments import documentation as doc
from trellis.treatments import dosing, hooks, rems, targeting
from trellis.treatments.models import (
    OPEN_STATUSES,
    UNDELIVERED_STATUSES,
    Addendum,
    Course,
    CourseStatus,
    EsketamineRecord,
    InfusionRecord,
    MotorThreshold,
    OralDoseRecord,
    OralForm,
    OralRoute,
    RemsForm,
    RemsStatus,
    RemsSubmissionMethod,
    SafetyOverride,
    Session,
    SessionStatus,
    TmsRecord,
    VitalSign,
    delivered_q,
)


class IncompleteRecord(Conflict):
    """A session cannot be signed while required fields are missing; ``missing`` lists them."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__("Cannot sign yet. Missing: " + "; ".join(missing) + ".", code="incomplete")
        self.missing = missing


_CLOSED_MESSAGES = {
    SessionStatus.CANCELLED: "This session was cancelled",
    SessionStatus.NO_SHOW: "This session was marked as a no-show",
    SessionStatus.NOT_GIVEN: "This session was marked not given",
}


def _editable(session: Session) -> Session:
    """Lock the session row; a signed session is never changed again, nor is one closed without
    treatment (cancelled, no-show, not given)."""
    locked = Session.objects.select_for_update().get(pk=session.pk)
    if locked.is_signed:
        raise Conflict(
            "This session is signed and cannot change; add an addendum instead.", code="signed"
        )
    if locked.is_undelivered:
        raise Conflict(f"{_CLOSED_MESSAGES[locked.status]}; it cannot change.", code=locked.status)
    return locked


def session_day(session: Session) -> date:
    """The session's date at the clinic: the day it began, else the day it is planned for."""
    if session.started_at is not None:
        return timezone.localtime(session.started_at, session.clinic.tzinfo).date()
    return session.planned_date


def _today(clinic, now: datetime | None) -> date:
    """The clinic's today, or the clinic-local date of ``now`` when one is given."""
    return clinic.today() if now is None else timezone.localtime(now, clinic.tzinfo).date()


def _day(value: date) -> str:
    return f"{value:%a %b %-d}"


# --- Clinic limits -----------------------------------------------------------------------------


def vital_limits(clinic) -> doc.VitalLimits:
    return doc.VitalLimits(
        bp_systolic_flag=clinic.setting("vitals_bp_systolic_flag"),
        bp_systolic_alert=clinic.setting("vitals_bp_systolic_alert"),
        bp_diastolic_flag=clinic.setting("vitals_bp_diastolic_flag"),
        bp_diastolic_alert=clinic.setting("vitals_bp_diastolic_alert"),
        hr_flag=clinic.setting("vitals_hr_flag"),
        hr_alert=clinic.setting("vitals_hr_alert"),
        spo2_flag=clinic.setting("vitals_spo2_flag"),
        spo2_alert=clinic.setting("vitals_spo2_alert"),
        rr_low_flag=clinic.setting("vitals_rr_low_flag"),
        rr_low_alert=clinic.setting("vitals_rr_low_alert"),
    )


def esketamine_limits(clinic) -> doc.EsketamineLimits:
    return doc.EsketamineLimits(
        predose_systolic=clinic.setting("esketamine_predose_bp_systolic"),
        predose_diastolic=clinic.setting("esketamine_predose_bp_diastolic"),
        monitoring_minutes=clinic.setting("esketamine_monitoring_minutes"),
    )


# --- Beginning a session -----------------------------------------------------------------------


@dataclass(frozen=True)
class BeginCheck:
    """Whether a session may begin today without a prescriber's reason, and if not, why.

    A session begins on its planned day (the clinic's date) and after every earlier session of
    its course is over: signed, cancelled, no-show or not given. ``planned_date`` is set when
    today is another day; ``waiting_for`` is the latest earlier session still open.
    """

    number: int
    today: date
    planned_date: date | None = None
    waiting_for: Session | None = None

    @property
    def allowed(self) -> bool:
        return self.planned_date is None and self.waiting_for is None

    @property
    def reasons(self) -> list[str]:
        reasons = []
        if self.planned_date is not None:
            tense = "is planned" if self.planned_date > self.today else "was planned"
            reasons.append(f"Session {self.number} {tense} for {_day(self.planned_date)}.")
        if self.waiting_for is not None:
            earlier = self.waiting_for
            if earlier.status == SessionStatus.IN_PROGRESS:
                reasons.append(
                    f"Session {earlier.number} is still in progress: sign it or mark it not "
                    "given first."
                )
            else:
                reasons.append(
                    f"Session {earlier.number} ({_day(earlier.planned_date)}) has not been "
                    "given: begin and sign it, or mark it cancelled, no-show or not given first."
                )
        return reasons

    @property
    def message(self) -> str:
        return " ".join(self.reasons)


def earlier_open_session(session: Session) -> Session | None:
    """The latest session of the course before this one that is not over yet."""
    return (
        Session.objects.filter(
            course_id=session.course_id, number__lt=session.number, status__in=OPEN_STATUSES
        )
        .order_by("-number")
        .first()
    )


def check_begin(session: Session, today: date, waiting_for: Session | None) -> BeginCheck:
    """``BeginCheck`` for ``session`` on ``today``; ``waiting_for`` is its
    ``earlier_open_session`` (looked up by the caller, so a list page can look up all at once)."""
    return BeginCheck(
        number=session.number,
        today=today,
        planned_date=session.planned_date if session.planned_date != today else None,
        waiting_for=waiting_for,
    )


def begin_session(
    actor, session: Session, *, reason: str = "", now: datetime | None = None
) -> Session:
    """Open the session's note, pre-filled from the protocol and the patient's last session.

    Only on the session's planned day and once every earlier session of the course is over
    (``BeginCheck``). Otherwise a prescriber may begin it with a reason, kept on the session and
    in the audit trail; a session begun on another day moves to that day, so its date, its
    times and its forms agree. Beginning a session already begun changes nothing.
    """
    require(actor, Perm.SESSION_CHANGE)
    now = now or timezone.now()
    today = _today(session.clinic, now)
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = _editable(session)
        if locked.status not in _NOT_BEGUN:
            return session
        check = check_begin(locked, today, earlier_open_session(locked))
        detail = {"status": SessionStatus.IN_PROGRESS}
        fields = ["status", "started_at", "documented_by"]
        if not check.allowed:
            if not reason:
                raise Conflict(
                    check.message + " A prescriber may begin it anyway, with a reason.",
                    code="not_due",
                )
            if not actor.can(Perm.COURSE_OVERRIDE):
                raise PermissionDenied(
                    "Only a prescriber may begin a session on another day than planned or "
                    "before the sessions ahead of it are over."
                )
            session.begin_override_reason = reason
            session.begin_override_by = actor.user
            fields += ["begin_override_reason", "begin_override_by"]
            detail["begin_override_reason"] = reason
            if check.waiting_for is not None:
                detail["earlier_session_open"] = check.waiting_for.number
            if check.planned_date is not None:
                session.planned_date_before_begin = check.planned_date
                session.planned_date = today
                fields += ["planned_date_before_begin", "planned_date"]
                detail["planned_date"] = {
                    "from": check.planned_date.isoformat(),
                    "to": today.isoformat(),
                }
        session.status = SessionStatus.IN_PROGRESS
        session.started_at = now
        session.documented_by = actor.user
        session.save(update_fields=fields)
        _create_record(session)
        record_for(actor, Action.UPDATE, patient=session.patient, obj=session, detail=detail)
    return session


# --- Closing a session without treatment --------------------------------------------------------

_NOT_BEGUN = (SessionStatus.PLANNED, SessionStatus.BOOKED)
# What each closing needs: the permission, the statuses it may follow, its words.
_CLOSINGS = {
    SessionStatus.CANCELLED: (Perm.COURSE_CHANGE, _NOT_BEGUN, "cancelled"),
    SessionStatus.NO_SHOW: (Perm.COURSE_CHANGE, _NOT_BEGUN, "marked a no-show"),
    SessionStatus.NOT_GIVEN: (Perm.SESSION_SIGN, OPEN_STATUSES, "marked not given"),
}
CLOSED_REASON_MAX = 500


def cancel_session(actor, session: Session, reason: str, *, now: datetime | None = None):
    """Call off a session that has not begun, with the reason."""
    return _close(actor, session, SessionStatus.CANCELLED, reason, now)


def mark_no_show(
    actor, session: Session, reason: str, *, now: datetime | None = None, perm: Perm | None = None
):
    """The patient did not come to a session due today or earlier. ``perm`` replaces the
    permission it needs when the appointment book marks its appointment a no-show
    (``Perm.APPOINTMENT_CHANGE``: front desk marks who did not come)."""
    return _close(actor, session, SessionStatus.NO_SHOW, reason, now, perm=perm)


def mark_not_given(actor, session: Session, reason: str, *, now: datetime | None = None):
    """The patient came (the session may have begun) but the treatment was not given, e.g. a
    blood pressure too high to dose. What was documented stays; the note then no longer
    changes."""
    return _close(actor, session, SessionStatus.NOT_GIVEN, reason, now)


def _close(
    actor,
    session: Session,
    status: str,
    reason: str,
    now: datetime | None,
    *,
    perm: Perm | None = None,
) -> Session:
    """Close a session without treatment. It is not delivered and uses no authorised session;
    the course's questionnaires follow, and a course with nothing left open is completed."""
    needed, after, words = _CLOSINGS[status]
    require(actor, perm or needed)
    reason = (reason or "").strip()
    if not reason:
        raise InputError("reason", f"say why the session is {words}")
    if len(reason) > CLOSED_REASON_MAX:
        raise InputError("reason", f"must be at most {CLOSED_REASON_MAX} characters")
    now = now or timezone.now()
    today = _today(session.clinic, now)
    with transaction.atomic():
        locked = _editable(session)
        if locked.status not in after:
            raise Conflict(
                f"Session {locked.number} has begun: it can be signed or marked not given, "
                f"not {words}.",
                code="begun",
            )
        if (
            status != SessionStatus.CANCELLED
            and locked.status != SessionStatus.IN_PROGRESS
            and locked.planned_date > today
        ):
            raise Conflict(
                f"Session {locked.number} is planned for {_day(locked.planned_date)}: a session "
                f"still to come can be cancelled, not {words}.",
                code="not_yet",
            )
        session.status = status
        session.closed_reason = reason
        session.closed_by = actor.user
        session.closed_at = now
        fields = ["status", "closed_reason", "closed_by", "closed_at"]
        if locked.started_at is not None:
            session.ended_at = locked.ended_at or now
            fields.append("ended_at")
        session.save(update_fields=fields)
        record_for(
            actor,
            Action.UPDATE,
            patient=session.patient,
            obj=session,
            detail={"status": status, "reason": reason},
        )
        hooks.course_planned(session.course)
        _complete_course_if_done(actor, session.course, now)
    return session


# --- The appointment book ----------------------------------------------------------------------


def mark_booked(actor, session: Session, *, planned_date: date, planned_time: time) -> Session:
    """An appointment now holds this session (``scheduling.services.book_appointment``): it is
    ``booked`` for that day and time. Runs in the caller's transaction; a session that is
    over or has begun is refused."""
    with transaction.atomic():
        locked = _editable(session)
        if locked.status not in _NOT_BEGUN:
            raise Conflict(
                f"Session {locked.number} has begun; it cannot be booked again.", code="begun"
            )
        moved = locked.planned_date != planned_date
        session.status = SessionStatus.BOOKED
        session.planned_date = planned_date
        session.planned_time = planned_time
        session.save(update_fields=["status", "planned_date", "planned_time"])
        record_for(
            actor,
            Action.UPDATE,
            patient=session.patient,
            obj=session,
            detail={"status": SessionStatus.BOOKED, "planned": f"{planned_date} {planned_time}"},
        )
        if moved:
            hooks.course_planned(session.course)
    return session


def mark_unbooked(actor, session: Session) -> Session:
    """The appointment holding this session was cancelled: it is ``planned`` again, on the
    same day, to be booked anew. A session already begun or over is left as it is."""
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if locked.status != SessionStatus.BOOKED:
            return locked
        session.status = SessionStatus.PLANNED
        session.save(update_fields=["status"])
        record_for(
            actor,
            Action.UPDATE,
            patient=session.patient,
            obj=session,
            detail={"status": SessionStatus.PLANNED},
        )
    return session


def _create_record(session: Session) -> None:
    modality = session.course.modality
    defaults = session.course.protocol.defaults
    patient = session.patient
    if modality == Modality.IV_KETAMINE:
        weight = patient.latest_measurement("weight_kg")
        InfusionRecord.objects.create(
            session=session,
            weight_kg=weight.weight_kg if weight else None,
            weight_measured_on=weight.measured_on if weight else None,
            dose_mg_per_kg=defaults.get("dose_mg_per_kg"),
            minutes=defaults.get("minutes"),
        )
    elif modality == Modality.ESKETAMINE:
        earlier = EsketamineRecord.objects.filter(
            delivered_q("session__"), session__patient=patient
        ).exists()
        dose = defaults.get("dose_mg") if earlier else defaults.get("first_dose_mg")
        EsketamineRecord.objects.create(session=session, dose_mg=dose, first_treatment=not earlier)
    elif modality == Modality.ORAL_KETAMINE:
        OralDoseRecord.objects.create(
            session=session,
            route=defaults.get("route", ""),
            form=defaults.get("form", ""),
            dose_mg=defaults.get("dose_mg"),
        )
    else:
        previous = (
            TmsRecord.objects.filter(session__patient=patient)
            .exclude(session=session)
            .order_by("-session__started_at")
            .first()
        )
        threshold = patient.motor_thresholds.first()
        record = TmsRecord(
            session=session,
            motor_threshold=threshold,
            intensity_pct_mt=defaults.get("intensity_pct_mt"),
            pulses_planned=defaults.get("pulses"),
        )
        if previous is not None:
            for field in (
                "device",
                "coil",
                "target_method",
                "tragus_tragus_cm",
                "nasion_inion_cm",
                "circumference_cm",
                "beam_x_cm",
                "beam_y_cm",
                "neuronav_coordinates",
            ):
                setattr(record, field, getattr(previous, field))
        if threshold and record.intensity_pct_mt:
            record.intensity_pct_output = doc.intensity_pct_output(
                threshold.percent_output, record.intensity_pct_mt
            )
        record.save(force_insert=True)


# --- Vital signs -------------------------------------------------------------------------------


def record_vitals(
    actor, session: Session, values: dict, *, taken_at: datetime, label: str = ""
) -> VitalSign:
    """Record a set of vitals; a value past the clinic's alert level raises a safety alert."""
    require(actor, Perm.SESSION_CHANGE)
    reading = doc.validate_reading(values)
    if taken_at > timezone.now() + timedelta(minutes=5):
        raise InputError("taken_at", "is in the future")
    flags = doc.flag_reading(reading, vital_limits(session.clinic))
    with transaction.atomic():
        _editable(session)
        vital = VitalSign.objects.create(
            clinic=session.clinic,
            patient=session.patient,
            session=session,
            taken_at=taken_at,
            label=label.strip(),
            flags=[f.as_dict() for f in flags],
            recorded_by=actor.user,
            **reading,
        )
        record_for(actor, Action.CREATE, patient=session.patient, obj=vital)
        alerts = [f for f in flags if f.level == doc.ALERT]
        if alerts:
            raise_alert(
                actor,
                session.patient,
                "vital_sign",
                "high",
                "; ".join(f.message for f in alerts) + f" (session {session.number})",
                source=vital,
            )
    return vital


# --- Safety stops ------------------------------------------------------------------------------
#
# Saving a note runs every check first and collects what fails, so the page can list every
# problem at once. A stop a prescriber may override needs a written reason from a prescriber;
# the override is kept (SafetyOverride) and audited, and the same problem on the same session
# is not asked again. Others are refused with a message that a prescriber may override.


class SafetyStop(Conflict):
    """The note was not saved: ``problems`` lists every reason, each naming its field and rule.
    ``prescriber_may_override`` says a prescriber's written reason would let it through."""

    def __init__(self, problems: list[doc.Problem], *, override_refused: bool = False) -> None:
        self.problems = problems
        self.prescriber_may_override = all(p.overridable for p in problems)
        self.override_refused = override_refused
        message = "Not saved: " + "; ".join(f"{p.field}: {p.message}" for p in problems) + "."
        if override_refused:
            message += " Only a prescriber may override a safety stop."
        elif self.prescriber_may_override:
            message += " A prescriber may override with a written reason."
        super().__init__(message, code="safety_stop")


def _gather(problems: list[doc.Problem], check, *args) -> None:
    """Run a check that raises InputError; keep its complaint as a problem."""
    try:
        check(*args)
    except InputError as error:
        problems.append(doc.Problem(error.field, "input", error.message))


def _overrides_needed(
    actor, session: Session, problems: list[doc.Problem], override_reason: str
) -> list[doc.Problem]:
    """The stops this save overrides; SafetyStop when anything stands in the way."""
    if not problems:
        return []
    done = set(session.overrides.values_list("rule", "problem"))
    problems = [p for p in problems if not (p.overridable and (p.rule, p.message) in done)]
    if not problems:
        return []
    if any(not p.overridable for p in problems) or not override_reason.strip():
        raise SafetyStop(problems)
    if not actor.can(Perm.COURSE_OVERRIDE):
        raise SafetyStop(problems, override_refused=True)
    return problems


def _record_overrides(
    actor, session: Session, problems: list[doc.Problem], reason: str
) -> list[SafetyOverride]:
    overrides = []
    for problem in problems:
        override = SafetyOverride.objects.create(
            clinic=session.clinic,
            patient=session.patient,
            session=session,
            rule=problem.rule,
            problem=problem.message,
            reason=reason.strip(),
            prescriber=actor.user,
        )
        record_for(
            actor,
            Action.CREATE,
            patient=session.patient,
            obj=override,
            detail={"rule": problem.rule, "problem": problem.message, "reason": override.reason},
        )
        overrides.append(override)
    return overrides


def predose_limits(clinic) -> doc.PredoseLimits:
    return doc.PredoseLimits(
        systolic_hold=clinic.setting("predose_bp_systolic_hold"),
        diastolic_hold=clinic.setting("predose_bp_diastolic_hold"),
        spo2_floor=clinic.setting("predose_spo2_floor"),
    )


def predose_reading(session: Session, start: datetime | None) -> dict:
    """The latest blood pressure and SpO₂ before dosing: readings labelled pre-dose or taken
    at or before ``start`` (every reading, while dosing has not started)."""
    reading = {"bp": None, "spo2": None}
    for vital in session.vitals.order_by("taken_at"):
        if start is not None and vital.taken_at > start and vital.label != "pre-dose":
            continue
        if vital.bp_systolic is not None:
            reading["bp"] = (vital.bp_systolic, vital.bp_diastolic)
        if vital.spo2 is not None:
            reading["spo2"] = vital.spo2
    return reading


def _dosing_problems(session: Session, field: str, start: datetime | None) -> list[doc.Problem]:
    """Stops for starting a ketamine-family dose at ``start``: the pre-dose hold and a second
    dose the same clinic day."""
    if start is None:
        return []
    reading = predose_reading(session, start)
    problems = doc.predose_problems(
        field, reading["bp"], reading["spo2"], predose_limits(session.clinic)
    )
    problems += doc.same_day_dose_problem(field, _doses_on_day(session, start))
    return problems


def _doses_on_day(session: Session, start: datetime) -> list[str]:
    """Other ketamine-family doses the patient was given on ``start``'s clinic-local day."""
    tz = session.clinic.tzinfo
    day = timezone.localtime(start, tz).date()
    since = datetime.combine(day, time.min, tz)
    until = datetime.combine(day + timedelta(days=1), time.min, tz)
    found = []
    for model, field, label in (
        (InfusionRecord, "infusion_started_at", "IV ketamine"),
        (EsketamineRecord, "first_device_at", "esketamine"),
        (OralDoseRecord, "given_at", "oral ketamine"),
    ):
        records = (
            model.objects.filter(
                session__patient=session.patient,
                **{f"{field}__gte": since, f"{field}__lt": until},
            )
            .exclude(session=session)
            .exclude(session__status=SessionStatus.CANCELLED)
            .select_related("session")
        )
        for record in records:
            at = timezone.localtime(getattr(record, field), tz)
            found.append(f"{label} at {at:%H:%M}, session {record.session.number}")
    return found


def note_problems(session: Session, data: dict) -> list[doc.Problem]:
    """Every problem with these note values, without saving: for a page that could not read
    all of them, so the rest are still checked."""
    modality = session.course.modality
    if modality == Modality.IV_KETAMINE:
        return _infusion_checks(session, data)[0]
    if modality == Modality.ESKETAMINE:
        return _esketamine_checks(session, data)
    if modality == Modality.ORAL_KETAMINE:
        return _oral_checks(session, data)
    return _tms_checks(session, data)[0]


# --- IV ketamine -------------------------------------------------------------------------------

INFUSION_INPUTS = ("weight_kg", "dose_mg_per_kg", "minutes", "vial_mg_per_ml", "diluent_ml")


def _infusion_checks(
    session: Session, data: dict
) -> tuple[list[doc.Problem], dosing.Infusion | None]:
    clinic = session.clinic
    problems: list[doc.Problem] = []
    infusion = None
    if all(data.get(name) is not None for name in INFUSION_INPUTS):
        try:
            infusion = dosing.calculate_infusion(*(data[name] for name in INFUSION_INPUTS))
        except InputError as error:
            problems.append(doc.Problem(error.field, "input", error.message))
        else:
            for violation in dosing.check_dose_limits(
                data["dose_mg_per_kg"],
                infusion.dose_mg,
                Decimal(str(clinic.setting("ketamine_max_mg_per_kg"))),
                Decimal(str(clinic.setting("ketamine_max_mg"))),
            ):
                # The clinic's dose limit (DOMAIN.md §8.2).
                problems.append(
                    doc.Problem(
                        "dose_mg_per_kg",
                        f"ketamine_{violation.field}_limit",
                        violation.message,
                        overridable=True,
                    )
                )
    if data.get("cadss6"):
        _gather(problems, doc.cadss6_total, data["cadss6"])
    _gather(problems, _check_choice, "moaas_lowest", data.get("moaas_lowest"), doc.MOAAS)
    _gather(
        problems,
        _check_subset,
        "side_effects",
        data.get("side_effects", []),
        doc.KETAMINE_SIDE_EFFECTS,
    )
    _gather(
        problems, _check_order, data, "infusion_started_at", "infusion_ended_at", "discharged_at"
    )
    start = _effective(session.infusion, data, "infusion_started_at")
    problems += _dosing_problems(session, "infusion_started_at", start)
    return problems, infusion


def _effective(record, data: dict, field: str):
    """The value a field will have after saving ``data``."""
    return data[field] if field in data else getattr(record, field)


def save_infusion(
    actor, session: Session, data: dict, *, override_reason: str = ""
) -> dosing.Infusion | None:
    """Save the infusion note. The pump arithmetic is recomputed from its five inputs. A dose
    past the clinic's limits, dosing started at a pre-dose reading past the hold level, or a
    second ketamine-family dose the same day is refused unless a prescriber overrides it with a
    reason."""
    require(actor, Perm.SESSION_CHANGE)
    problems, infusion = _infusion_checks(session, data)
    overriding = _overrides_needed(actor, session, problems, override_reason)
    with transaction.atomic():
        _editable(session)
        record = session.infusion
        weight_before = record.weight_kg
        for name, value in data.items():
            setattr(record, name, value)
        _weight_to_history(actor, session, record, data, weight_before)
        if infusion is not None:
            record.dose_mg = infusion.dose_mg
            record.drug_ml = infusion.drug_ml
            record.total_ml = infusion.total_ml
            record.bag_mg_per_ml = infusion.bag_mg_per_ml
            record.rate_ml_per_h = infusion.rate_ml_per_h
        _save_dosing(actor, session, record, data, overriding, override_reason, "dose_mg_per_kg")
    return infusion


def _weight_to_history(actor, session: Session, record, data: dict, weight_before) -> None:
    """A weight measured at the session joins the patient's weight history, dated on the
    session's day. Measured here: it differs from the weight the note held, or the note says it
    was weighed on the session's day. The history only grows: the same weight on the same day
    is not written twice."""
    weight = data.get("weight_kg")
    day = session_day(session)
    if weight is None or (weight == weight_before and data.get("weight_measured_on") != day):
        return
    record.weight_measured_on = day
    patient = session.patient
    if patient.measurements.filter(measured_on=day, weight_kg=weight).exists():
        return
    measurement = BodyMeasurement(
        clinic=session.clinic,
        patient=patient,
        measured_on=day,
        weight_kg=weight,
        recorded_by=actor.user,
    )
    try:
        measurement.clean_fields(exclude=["clinic", "patient", "recorded_by"])
    except ValidationError as error:
        raise InputError("weight_kg", " ".join(error.message_dict["weight_kg"])) from None
    measurement.save(force_insert=True)
    record_for(
        actor,
        Action.CREATE,
        patient=patient,
        obj=measurement,
        detail={
            "weight_kg": str(weight),
            "measured_on": day.isoformat(),
            "session": session.number,
        },
    )


def _check_choice(field: str, value, allowed) -> None:
    if value is not None and value not in allowed:
        raise InputError(field, f"must be one of {', '.join(str(a) for a in allowed)}")


def _check_subset(field: str, values, allowed) -> None:
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise InputError(field, f"unknown: {', '.join(unknown)}")


def _check_order(data: dict, *fields: str) -> None:
    """Times that must not run backwards (start ≤ end ≤ discharge)."""
    times = [(name, data.get(name)) for name in fields if data.get(name) is not None]
    for (first, a), (second, b) in pairwise(times):
        if b < a:
            raise InputError(second, f"is before {first.replace('_', ' ')}")


# --- Esketamine --------------------------------------------------------------------------------


def _esketamine_checks(session: Session, data: dict) -> list[doc.Problem]:
    problems: list[doc.Problem] = []
    dose = data.get("dose_mg")
    if dose is not None:
        _gather(problems, _check_choice, "dose_mg", dose, (28, *doc.DOSES_MG))
        if dose == 84 and not _had_56mg(session):
            # 84 mg only after a 56 mg start [R22].
            problems.append(
                doc.Problem(
                    "dose_mg",
                    "esketamine_84_after_56",
                    "84 mg only after a first session at 56 mg (label [R22])",
                )
            )
    _gather(
        problems,
        _check_subset,
        "co_medications",
        data.get("co_medications", []),
        doc.CO_MEDICATIONS,
    )
    _gather(
        problems,
        _check_subset,
        "side_effects",
        data.get("side_effects", []),
        doc.ESKETAMINE_SIDE_EFFECTS,
    )
    for effect in ("sedation", "dissociation", "respiratory_depression"):
        _gather(problems, _check_order, data, "first_device_at", f"{effect}_resolved_at")
    _gather(problems, _check_order, data, "first_device_at", "ready_to_leave_at")
    _gather(problems, _check_order, data, "first_device_at", "monitoring_ended_at")
    start = _effective(session.esketamine, data, "first_device_at")
    problems += _dosing_problems(session, "first_device_at", start)
    return problems


def save_esketamine(
    actor, session: Session, data: dict, *, override_reason: str = ""
) -> EsketamineRecord:
    """Save the esketamine note. Dosing started at a pre-dose reading past the hold level, or a
    second ketamine-family dose the same day, is refused unless a prescriber overrides it."""
    require(actor, Perm.SESSION_CHANGE)
    problems = _esketamine_checks(session, data)
    overriding = _overrides_needed(actor, session, problems, override_reason)
    with transaction.atomic():
        _editable(session)
        record = session.esketamine
        for name, value in data.items():
            setattr(record, name, value)
        record.save()
        record_for(
            actor,
            Action.UPDATE,
            patient=session.patient,
            obj=session,
            detail={"changed": sorted(data)},
        )
        _record_overrides(actor, session, overriding, override_reason)
    return record


# --- Oral and sublingual ketamine ---------------------------------------------------------------


def oral_dose_limits(session: Session) -> tuple[int | None, int]:
    """(the protocol's maximum, the clinic's limit) for an oral or sublingual dose, in mg."""
    return (
        session.course.protocol.defaults.get("max_dose_mg"),
        session.clinic.setting("oral_ketamine_max_mg"),
    )


def _oral_checks(session: Session, data: dict) -> list[doc.Problem]:
    problems = doc.oral_dose_problems(data.get("dose_mg"), *oral_dose_limits(session))
    _gather(problems, _check_choice, "route", data.get("route") or None, OralRoute.values)
    _gather(problems, _check_choice, "form", data.get("form") or None, OralForm.values)
    if data.get("cadss6"):
        _gather(problems, doc.cadss6_total, data["cadss6"])
    _gather(problems, _check_choice, "moaas_lowest", data.get("moaas_lowest"), doc.MOAAS)
    _gather(
        problems,
        _check_subset,
        "side_effects",
        data.get("side_effects", []),
        doc.ORAL_KETAMINE_SIDE_EFFECTS,
    )
    _gather(problems, _check_order, data, "given_at", "discharged_at")
    start = _effective(session.oral, data, "given_at")
    problems += _dosing_problems(session, "given_at", start)
    return problems


def save_oral(actor, session: Session, data: dict, *, override_reason: str = "") -> OralDoseRecord:
    """Save the oral or sublingual ketamine note. A dose above the protocol's or the clinic's
    maximum, a dose given at a pre-dose reading past the hold level, or a second ketamine-family
    dose the same day is refused unless a prescriber overrides it with a reason."""
    require(actor, Perm.SESSION_CHANGE)
    problems = _oral_checks(session, data)
    overriding = _overrides_needed(actor, session, problems, override_reason)
    with transaction.atomic():
        _editable(session)
        record = session.oral
        for name, value in data.items():
            setattr(record, name, value)
        _save_dosing(actor, session, record, data, overriding, override_reason, "dose_mg")
    return record


def _save_dosing(actor, session, record, data, overriding, override_reason, dose_field) -> None:
    """Save a ketamine dosing record (infusion or oral) with the changed fields audited; a dose
    past its limit that a prescriber overrode keeps the reason and who gave it on the record."""
    dose_overridden = any(p.field == dose_field for p in overriding)
    if dose_overridden:
        record.dose_override_reason = override_reason.strip()
        record.dose_override_by = actor.user
    record.save()
    detail = {"changed": sorted(data)}
    if dose_overridden:
        detail["dose_override_reason"] = record.dose_override_reason
    record_for(actor, Action.UPDATE, patient=session.patient, obj=session, detail=detail)
    _record_overrides(actor, session, overriding, override_reason)


def _had_56mg(session: Session) -> bool:
    return (
        EsketamineRecord.objects.filter(
            delivered_q("session__"), session__patient=session.patient, dose_mg=56
        )
        .exclude(session=session)
        .exists()
    )


# --- TMS ---------------------------------------------------------------------------------------


def record_motor_threshold(
    actor, patient, *, measured_on: date, percent_output: int, method: str, device: str = ""
) -> MotorThreshold:
    require(actor, Perm.SESSION_CHANGE)
    if (
        isinstance(percent_output, bool)
        or not isinstance(percent_output, int)
        or not 10 <= percent_output <= 100
    ):
        raise InputError("percent_output", "must be a whole % of output from 10 to 100")
    if method not in MotorThreshold.Method.values:
        raise InputError("method", "must be emg or visual")
    if measured_on > patient.clinic.today():
        raise InputError("measured_on", "is in the future")
    with transaction.atomic():
        threshold = MotorThreshold.objects.create(
            clinic=patient.clinic,
            patient=patient,
            measured_on=measured_on,
            percent_output=percent_output,
            method=method,
            device=device,
            measured_by=actor.user,
        )
        record_for(actor, Action.CREATE, patient=patient, obj=threshold)
    return threshold


def tms_output(threshold: MotorThreshold | None, pct_mt: int | None) -> int | None:
    """Stimulator output (% of the device) for an intensity in % MT, or None."""
    if threshold is None or not pct_mt:
        return None
    return doc.intensity_pct_output(threshold.percent_output, pct_mt)


def _tms_checks(session: Session, data: dict) -> tuple[list[doc.Problem], dict]:
    """Problems with a TMS note, and the values to save (Beam F3 computed)."""
    data = dict(data)
    problems: list[doc.Problem] = []
    record = session.tms
    threshold = data.get("motor_threshold")
    if threshold is not None and threshold.patient_id != session.patient_id:
        problems.append(doc.Problem("motor_threshold", "input", "belongs to another patient"))
        threshold = None
    if data.get("discomfort") is not None and not 0 <= data["discomfort"] <= 10:
        problems.append(doc.Problem("discomfort", "input", "must be from 0 to 10"))
    _gather(
        problems, _check_subset, "side_effects", data.get("side_effects", []), doc.TMS_SIDE_EFFECTS
    )
    planned, delivered = data.get("pulses_planned"), data.get("pulses_delivered")
    if planned is not None and delivered is not None and delivered > planned:
        problems.append(
            doc.Problem("pulses_delivered", "input", "cannot exceed the pulses planned")
        )
    head = [data.get(n) for n in ("tragus_tragus_cm", "nasion_inion_cm", "circumference_cm")]
    if data.get("target_method") == "beam_f3" and all(v is not None for v in head):
        try:
            beam = targeting.beam_f3(*head)
        except InputError as error:
            problems.append(doc.Problem(error.field, "input", error.message))
        else:
            data["beam_x_cm"], data["beam_y_cm"] = beam.x_cm, beam.y_cm
    if "motor_threshold" not in data:
        threshold = record.motor_threshold
    pct_mt = _effective(record, data, "intensity_pct_mt")
    problems += doc.tms_intensity_problems(
        pct_mt, tms_output(threshold, pct_mt), session.clinic.setting("tms_max_pct_mt")
    )
    return problems, data


def save_tms(actor, session: Session, data: dict, *, override_reason: str = "") -> TmsRecord:
    """Save the TMS note: output intensity follows the motor threshold, Beam F3 the head
    measurements. An intensity above the clinic's maximum % MT is refused unless a prescriber
    overrides it; above 100 % of the device's output, always. A seizure raises a safety alert."""
    require(actor, Perm.SESSION_CHANGE)
    problems, data = _tms_checks(session, data)
    overriding = _overrides_needed(actor, session, problems, override_reason)
    with transaction.atomic():
        _editable(session)
        record = session.tms
        was_seizure = record.seizure is True
        for name, value in data.items():
            setattr(record, name, value)
        record.intensity_pct_output = tms_output(record.motor_threshold, record.intensity_pct_mt)
        record.save()
        record_for(
            actor,
            Action.UPDATE,
            patient=session.patient,
            obj=session,
            detail={"changed": sorted(data)},
        )
        _record_overrides(actor, session, overriding, override_reason)
        if record.seizure is True and not was_seizure:
            raise_alert(
                actor,
                session.patient,
                "seizure",
                "urgent",
                f"Seizure during TMS session {session.number}",
                source=session,
            )
    return record


# --- Signing and addenda -----------------------------------------------------------------------


def missing_for_signing(session: Session) -> list[str]:
    missing = _note_missing(session)
    if session.status in (SessionStatus.PLANNED, SessionStatus.BOOKED):
        return missing
    return missing + hooks.signing_missing(session)


def _note_missing(session: Session) -> list[str]:
    modality = session.course.modality
    if session.status in (SessionStatus.PLANNED, SessionStatus.BOOKED):
        return ["the session has not begun"]
    if modality == Modality.IV_KETAMINE:
        return doc.infusion_missing(_values(session.infusion), session.vitals.count())
    if modality == Modality.ESKETAMINE:
        labels = set(
            session.vitals.filter(bp_systolic__isnull=False).values_list("label", flat=True)
        )
        values = _values(session.esketamine)
        # The lots of the devices chosen from the clinic's stock count as written (hooks).
        values["lot_numbers"] = values["lot_numbers"] or ", ".join(hooks.session_lots(session))
        return doc.esketamine_missing(values, labels, esketamine_limits(session.clinic))
    if modality == Modality.ORAL_KETAMINE:
        record = session.oral
        predose = predose_reading(session, record.given_at)["bp"] is not None
        return doc.oral_missing(_values(record), session.vitals.count(), predose)
    return doc.tms_missing(_values(session.tms))


def _values(record) -> dict:
    return {field.attname: getattr(record, field.attname) for field in record._meta.concrete_fields}


def sign_session(actor, session: Session, *, now: datetime | None = None) -> Session:
    """Sign a complete note; afterwards it never changes. Esketamine sessions produce their
    REMS Patient Monitoring Form, due 7 days later [R30]."""
    require(actor, Perm.SESSION_SIGN)
    now = now or timezone.now()
    with transaction.atomic():
        _editable(session)
        missing = missing_for_signing(session)
        if missing:
            raise IncompleteRecord(missing)
        session.signed_by = actor.user
        session.signed_at = now
        session.status = SessionStatus.SIGNED
        session.ended_at = session.ended_at or now
        session.save(update_fields=["signed_by", "signed_at", "status", "ended_at"])
        record_for(
            actor, Action.UPDATE, patient=session.patient, obj=session, detail={"signed": True}
        )
        if session.course.modality == Modality.ESKETAMINE:
            _file_rems_form(actor, session)
        hooks.session_signed(actor, session)
        _complete_course_if_done(actor, session.course, now)
    return session


def _complete_course_if_done(actor, course: Course, now: datetime) -> None:
    """Nothing left open (every session signed, cancelled, no-show or not given): the course
    is completed."""
    open_sessions = course.sessions.exclude(
        status__in=[SessionStatus.SIGNED, *UNDELIVERED_STATUSES]
    )
    if course.status == CourseStatus.ACTIVE and not open_sessions.exists():
        course.status = CourseStatus.COMPLETED
        course.ended_at = now
        course.save(update_fields=["status", "ended_at"])
        record_for(
            actor,
            Action.UPDATE,
            patient=course.patient,
            obj=course,
            detail={"status": CourseStatus.COMPLETED},
        )


def add_addendum(actor, session: Session, *, reason: str, text: str) -> Addendum:
    require(actor, Perm.SESSION_NOTE)
    if not session.is_signed:
        raise Conflict("The session is not signed yet: correct the note itself.", code="unsigned")
    if not reason.strip():
        raise InputError("reason", "say why the signed note is being corrected")
    if not text.strip():
        raise InputError("text", "write the correction")
    with transaction.atomic():
        addendum = Addendum.objects.create(
            clinic=session.clinic,
            patient=session.patient,
            session=session,
            author=actor.user,
            reason=reason.strip(),
            text=text.strip(),
        )
        record_for(
            actor,
            Action.CREATE,
            patient=session.patient,
            obj=addendum,
            detail={"reason": addendum.reason},
        )
    return addendum


# --- REMS Patient Monitoring Form --------------------------------------------------------------


def rems_fields(session: Session) -> dict:
    """Every field of the Patient Monitoring Form, from the signed session (DOMAIN.md §2.3)."""
    record = session.esketamine
    patient = session.patient
    clinic = session.clinic
    tz = clinic.tzinfo

    def bp(label: str) -> str:
        vital = session.vitals.filter(label=label, bp_systolic__isnull=False).last()
        return vital.bp if vital else ""

    def at(value) -> str:
        return timezone.localtime(value, tz).strftime("%Y-%m-%d %H:%M") if value else ""

    staff = session.documented_by
    return {
        "patient_name": patient.full_name,
        "patient_birth_date": patient.birth_date.isoformat(),
        "patient_sex": patient.get_sex_display(),
        "first_treatment": record.first_treatment,
        "co_medications": list(record.co_medications),
        "monitoring_hcp": staff.get_full_name() or staff.username if staff else "",
        "setting_name": clinic.name,
        "setting_address": clinic.address,
        "setting_phone": clinic.phone,
        "treatment_date": timezone.localtime(record.first_device_at, tz).date().isoformat(),
        "dose": f"{record.dose_mg} mg"
        if record.dose_mg in doc.DOSES_MG
        else f"other: {record.dose_mg} mg",
        "devices": record.devices,
        "lot_numbers": ", ".join(hooks.session_lots(session)) or record.lot_numbers,
        "first_device_at": at(record.first_device_at),
        "monitoring_ended_at": at(record.monitoring_ended_at),
        "total_monitoring_minutes": record.monitoring_minutes,
        "ready_to_leave_at": at(record.ready_to_leave_at),
        "vitals_acceptable_pre": record.vitals_acceptable_pre,
        "vitals_acceptable_end": record.vitals_acceptable_end,
        "bp_pre_dose": bp("pre-dose"),
        "bp_40_min": bp("40 min"),
        "bp_pre_discharge": bp("pre-discharge"),
        "sedation": record.sedation,
        "sedation_resolved_at": at(record.sedation_resolved_at),
        "dissociation": record.dissociation,
        "dissociation_resolved_at": at(record.dissociation_resolved_at),
        "respiratory_depression": record.respiratory_depression,
        "respiratory_depression_resolved_at": at(record.respiratory_depression_resolved_at),
    }


def _file_rems_form(actor, session: Session) -> RemsForm:
    fields = rems_fields(session)
    due = rems.due_date(date.fromisoformat(fields["treatment_date"]))
    form, created = RemsForm.objects.update_or_create(
        session=session,
        defaults={
            "clinic": session.clinic,
            "patient": session.patient,
            "due_date": due,
            "fields": fields,
        },
    )
    record_for(
        actor,
        Action.CREATE if created else Action.UPDATE,
        patient=session.patient,
        obj=form,
        detail={"due_date": due.isoformat()},
    )
    return form


def sign_rems_form(actor, form: RemsForm) -> RemsForm:
    require(actor, Perm.SESSION_SIGN)
    with transaction.atomic():
        locked = RemsForm.objects.select_for_update().get(pk=form.pk)
        if locked.status != RemsStatus.DRAFT:
            raise Conflict("This form is already signed.", code="already_signed")
        form.status = RemsStatus.SIGNED
        form.signed_by = actor.user
        form.signed_at = timezone.now()
        form.save(update_fields=["status", "signed_by", "signed_at"])
        record_for(actor, Action.UPDATE, patient=form.patient, obj=form, detail={"signed": True})
    return form


def submit_rems_form(
    actor, form: RemsForm, *, method: str, reference: str, now: datetime | None = None
) -> RemsForm:
    """Record that the signed form was submitted to the REMS, online or by fax, with the proof
    of it: the portal's confirmation id or the fax confirmation."""
    require(actor, Perm.SESSION_CHANGE)
    reference = (reference or "").strip()
    if not reference:
        raise InputError(
            "reference",
            "is required: the REMS portal's confirmation id, or the fax confirmation number",
        )
    limit = RemsForm._meta.get_field("submission_reference").max_length
    if len(reference) > limit:
        raise InputError("reference", f"must be at most {limit} characters")
    if method not in RemsSubmissionMethod.values:
        raise InputError("method", "is required: online (REMS portal) or fax")
    with transaction.atomic():
        locked = RemsForm.objects.select_for_update().get(pk=form.pk)
        if locked.status != RemsStatus.SIGNED:
            raise Conflict(
                "Sign the form before recording its submission."
                if locked.status == RemsStatus.DRAFT
                else "This form's submission is already recorded.",
                code="not_signed",
            )
        form.status = RemsStatus.SUBMITTED
        form.submitted_by = actor.user
        form.submitted_at = now or timezone.now()
        form.submission_method = method
        form.submission_reference = reference
        form.save(
            update_fields=[
                "status",
                "submitted_by",
                "submitted_at",
                "submission_method",
                "submission_reference",
            ]
        )
        record_for(
            actor,
            Action.UPDATE,
            patient=form.patient,
            obj=form,
            detail={"submitted": True, "method": method, "reference": reference},
        )
    return form


# --- Dose over time ----------------------------------------------------------------------------


def dose_history(patient) -> list[tuple[date, Decimal, Session]]:
    """Every documented IV ketamine dose in mg/kg, oldest first, across courses."""
    records = (
        InfusionRecord.objects.filter(
            session__patient=patient,
            dose_mg_per_kg__isnull=False,
            session__started_at__isnull=False,
        )
        .select_related("session__course")
        .order_by("session__started_at")
    )
    return [
        (
            timezone.localtime(r.session.started_at, patient.clinic.tzinfo).date(),
            r.dose_mg_per_kg,
            r.session,
        )
        for r in records
    ]


def dose_escalation(patient) -> dosing.DoseEscalation:
    """The clinic's rule for a dose that keeps rising (tolerance and dependence concern)."""
    doses = [float(dose) for _, dose, _ in dose_history(patient)]
    clinic = patient.clinic
    return dosing.check_dose_escalation(
        doses,
        consecutive_increases=clinic.setting("escalation_consecutive_increases"),
        rise_pct=clinic.setting("escalation_rise_pct"),
    )
