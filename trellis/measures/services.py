"""Named operations on questionnaires, patient links and schedules.

Each runs in one transaction with its audit events, and queues its messages in the outbox in
that same transaction: a questionnaire with a non-zero PHQ-9 item 9 and its safety alert are
saved together or not at all, whether or not the outbox worker is running.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import DatabaseError, transaction
from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from django.urls import reverse
from django.utils import dateformat, timezone

from trellis.accounts.access import require
from trellis.accounts.models import Clinic
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record, record_for
from trellis.lib import signed_tokens
from trellis.lib.errors import InputError
from trellis.measures import hooks, instruments, outcomes, schedule
from trellis.measures.contact import (
    CRISIS_LINE,
    EMERGENCY_NUMBER,
    PATIENT_WORDS,
    link_channel,
    link_until,
    site_url,
)
from trellis.measures.models import (
    EnteredVia,
    LinkChannel,
    Measure,
    QuestionnaireLink,
    ScheduledMeasure,
    hash_token,
)
from trellis.messaging.services import enqueue_email, enqueue_sms
from trellis.patients import contact
from trellis.patients.contact import may_text
from trellis.patients.models import Patient
from trellis.safety.models import AlertKind
from trellis.safety.services import SYSTEM_USERNAME, raise_alert
from trellis.safety.sources import Source
from trellis.treatments.models import (
    Course,
    CourseStatus,
    Session,
    SessionStatus,
    delivered_q,
    undelivered_q,
)

logger = logging.getLogger(__name__)

# How a patient answering through a link, and the reminder job, appear in the audit trail.
PATIENT_LINK_USERNAME = "(patient questionnaire link)"
REMINDER_USERNAME = "(questionnaire reminder)"

# A questionnaire's time may be a few minutes ahead of the server's clock, not more.
CLOCK_SKEW = timedelta(minutes=5)
# No questionnaire was answered before this day (when a patient's birth date is unknown).
EARLIEST_OBSERVED = date(1900, 1, 1)

# Automatic reminders go out between these hours of the clinic's day (clinic policy).
REMINDER_FIRST_HOUR = 9
REMINDER_LAST_HOUR = 20


# --- Link tokens ---------------------------------------------------------------------------

_TOKEN_SALT = "trellis.measures.questionnaire_link"  # noqa: S105 (an HMAC salt)
TOKEN_RANDOM_BYTES = signed_tokens.RANDOM_BYTES


def new_link_token() -> str:
    """``<random>.<signature>``: 192 random bits, signed with the server's secret key."""
    return signed_tokens.new_token(_TOKEN_SALT)


def token_is_signed(token: str) -> bool:
    """True when ``token`` carries this server's signature (or a fallback key's)."""
    return signed_tokens.is_signed(token, _TOKEN_SALT)


class LinkUnusable(Exception):
    """A patient link that cannot be answered: ``reason`` is unknown, used or expired."""

    def __init__(self, reason: str, link: QuestionnaireLink | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.link = link


def open_link(token: str, *, now: datetime | None = None) -> QuestionnaireLink:
    """The link ``token`` opens, or LinkUnusable. A token without our signature is never
    looked up; a signed one is found by its hash only."""
    if not token_is_signed(token):
        raise LinkUnusable("unknown")
    link = (
        QuestionnaireLink.objects.select_related("clinic")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if link is None:
        raise LinkUnusable("unknown")
    if link.used_at is not None:
        raise LinkUnusable("used", link)
    if (now or timezone.now()) >= link.expires_at:
        raise LinkUnusable("expired", link)
    return link


# --- Recording questionnaires --------------------------------------------------------------


def _observed_at(patient: Patient, value: datetime | None, now: datetime) -> datetime:
    if value is None:
        return now
    if not isinstance(value, datetime):
        raise InputError("observed_at", "must be a date and time")
    tz = patient.clinic.tzinfo
    if timezone.is_naive(value):
        value = timezone.make_aware(value, tz)
    if value > now + CLOCK_SKEW:
        raise InputError("observed_at", "is in the future")
    # Compared as aware datetimes, never converted: a year-1 time would overflow localtime().
    born = patient.birth_date or EARLIEST_OBSERVED
    if value < datetime.combine(born, time.min, tzinfo=tz):
        raise InputError("observed_at", "is before the patient was born")
    return value


def _check_course(patient: Patient, course: Course | None) -> None:
    if course is not None and course.patient_id != patient.pk:
        raise InputError("course", "is not a course of this patient")


def record_measure(
    actor,
    patient: Patient,
    instrument: str,
    answers: Sequence[int],
    *,
    difficulty: int | None = None,
    observed_at: datetime | None = None,
    course: Course | None = None,
    entered_via: str = EnteredVia.STAFF,
    scheduled: ScheduledMeasure | None = None,
    now: datetime | None = None,
) -> Measure:
    """Record a questionnaire a member of staff entered (on the patient's page or by API).

    Raises InputError naming ``instrument``, ``answers``, ``answers[i]``, ``difficulty``,
    ``observed_at`` or ``course``; nothing is written then. A non-zero PHQ-9 item 9 raises a
    SafetyAlert in the same transaction.
    """
    require(actor, Perm.MEASURE_CHANGE)
    if patient.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    if entered_via not in (EnteredVia.STAFF, EnteredVia.API):
        raise InputError("entered_via", "staff or api")
    now = now or timezone.now()
    with transaction.atomic():
        return _create_measure(
            patient=patient,
            instrument=instrument,
            answers=answers,
            difficulty=difficulty,
            observed_at=_observed_at(patient, observed_at, now),
            course=course,
            entered_via=entered_via,
            recorded_by=actor.user,
            scheduled=scheduled,
            now=now,
            actor=actor,
        )


def submit_link(
    token: str,
    answers: Sequence[int],
    *,
    difficulty: int | None = None,
    source_address: str = "",
    now: datetime | None = None,
) -> Measure:
    """A patient answers through their link: once, before it expires, for its one patient.

    Raises LinkUnusable, or InputError for incomplete answers (the link stays usable then).
    """
    now = now or timezone.now()
    with transaction.atomic():
        link = open_link(token, now=now)
        # The conditional update is the single use: of two submissions racing, one wins.
        claimed = QuestionnaireLink.objects.filter(
            pk=link.pk, used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
        if not claimed:
            raise LinkUnusable("used", link)
        patient = Patient.objects.select_related("clinic").get(pk=link.patient_id)
        measure = _create_measure(
            patient=patient,
            instrument=link.instrument,
            answers=answers,
            difficulty=difficulty,
            observed_at=now,
            course=link.course,
            entered_via=EnteredVia.PATIENT_LINK,
            recorded_by=None,
            scheduled=link.scheduled,
            now=now,
            source_address=source_address,
        )
        link.used_at = now
        link.measure = measure
        link.save(update_fields=["measure"])
    return measure


def submit_own(
    patient: Patient,
    scheduled_id,
    answers: Sequence[int],
    *,
    username: str,
    difficulty: int | None = None,
    source_address: str = "",
    now: datetime | None = None,
) -> Measure:
    """A patient signed in to their own portal answers a questionnaire due to them: the same
    scoring, schedule and PHQ-9 item 9 alert as a link (``username`` names them in the trail).

    Http404 when ``scheduled_id`` is not open and unanswered for this patient; InputError for
    incomplete answers.
    """
    now = now or timezone.now()
    with transaction.atomic():
        item = (
            open_unanswered(patient.clinic, patient.clinic.today())
            .select_for_update()
            .filter(pk=scheduled_id, patient=patient)
            .first()
        )
        if item is None:
            raise Http404("No such questionnaire.")
        return _create_measure(
            patient=patient,
            instrument=item.instrument,
            answers=answers,
            difficulty=difficulty,
            observed_at=now,
            course=item.course,
            entered_via=EnteredVia.PATIENT_LINK,
            recorded_by=None,
            scheduled=item,
            now=now,
            source_address=source_address,
            username=username,
        )


def _create_measure(
    *,
    patient: Patient,
    instrument: str,
    answers,
    difficulty,
    observed_at: datetime,
    course: Course | None,
    entered_via: str,
    recorded_by,
    scheduled: ScheduledMeasure | None,
    now: datetime,
    actor=None,
    source_address: str = "",
    username: str = PATIENT_LINK_USERNAME,
) -> Measure:
    scored = instruments.score(instrument, answers, difficulty)
    _check_course(patient, course)
    measure = Measure(
        clinic_id=patient.clinic_id,
        patient=patient,
        course=course,
        instrument=scored.instrument,
        answers=list(scored.item_answers),
        difficulty=scored.difficulty,
        total=scored.total,
        severity=scored.severity,
        suicide_item=scored.suicide_item,
        observed_at=observed_at,
        entered_via=entered_via,
        recorded_by=recorded_by,
        created_at=now,
    )
    measure.save(force_insert=True)
    detail = {"instrument": measure.instrument, "via": entered_via}
    if actor is not None:
        record_for(actor, Action.CREATE, patient=patient, obj=measure, detail=detail)
    else:
        record(
            Action.CREATE,
            clinic=patient.clinic,
            patient=patient,
            obj=measure,
            username=username,
            source_address=source_address,
            detail=detail,
        )
    _fulfil_schedule(measure, scheduled)
    severity = instruments.suicide_item_severity(scored.suicide_item or 0)
    if severity is not None:
        raise_alert(
            actor,
            patient,
            AlertKind.SUICIDE_ITEM,
            severity,
            _suicide_item_summary(measure),
            source=measure,
            now=now,
            username=SYSTEM_USERNAME if actor else username,
            source_address=source_address,
        )
    hooks.measure_recorded(measure)
    return measure


def _suicide_item_summary(measure: Measure) -> str:
    """Read after the alert's kind ("PHQ-9 item 9: thoughts of death or self-harm")."""
    words = {o.value: o.text for o in instruments.PHQ9.options}[measure.suicide_item]
    via = {
        EnteredVia.PATIENT_LINK: "answered on the patient's own device",
        EnteredVia.STAFF: "entered by staff",
        EnteredVia.API: "recorded through the API",
    }[measure.entered_via]
    return (
        f"Answered “{words}” ({measure.suicide_item} of 3) · PHQ-9 total {measure.total}, "
        f"{measure.get_severity_display().lower()} · {via}"
    )


def _fulfil_schedule(measure: Measure, hint: ScheduledMeasure | None) -> list[ScheduledMeasure]:
    """Mark the scheduled questionnaires this one answers.

    First the one its link asked for, else the earliest-due open one of the same instrument
    whose window holds the day it was answered (of its course, if it has one). Then, in each of
    the patient's other courses, the earliest-due open one of the same instrument whose window
    holds that day: one questionnaire moment is one answer, however many courses ask for it (a
    baseline shared by three courses starting together is answered once).
    """
    day = timezone.localtime(measure.observed_at, measure.patient.clinic.tzinfo).date()
    open_items = list(
        ScheduledMeasure.objects.filter(
            patient=measure.patient,
            instrument=measure.instrument,
            measure__isnull=True,
            opens_on__lte=day,
            closes_on__gte=day,
        )
    )
    chosen = None
    if (
        hint is not None
        and hint.measure_id is None
        and hint.instrument == measure.instrument
        and hint.patient_id == measure.patient_id
        and measure.course_id in (None, hint.course_id)
    ):
        chosen = hint
    else:
        own = [i for i in open_items if measure.course_id in (None, i.course_id)]
        chosen = schedule.match([(i, i.opens_on, i.due_on, i.closes_on) for i in own], day)
    if chosen is None:
        return []
    by_course: dict = defaultdict(list)
    for item in open_items:
        if item.course_id != chosen.course_id:
            by_course[item.course_id].append((item, item.opens_on, item.due_on, item.closes_on))
    others = [schedule.match(candidates, day) for candidates in by_course.values()]
    filled = []
    for item in [chosen, *others]:
        if item is not None and ScheduledMeasure.objects.filter(
            pk=item.pk, measure__isnull=True
        ).update(measure=measure):
            item.measure = measure
            filled.append(item)
    if filled and measure.course_id is None:
        measure.course_id = filled[0].course_id
        measure.save(update_fields=["course"])
    return filled


# --- Patient links -------------------------------------------------------------------------


@dataclass(frozen=True)
class SentLink:
    """A link just made; ``url`` holds the token and is never stored."""

    link: QuestionnaireLink
    url: str


def send_questionnaire_links(
    actor,
    patient: Patient,
    instrument_codes: Sequence[str],
    channel: str,
    *,
    course: Course | None = None,
    scheduled: Sequence[ScheduledMeasure] = (),
    now: datetime | None = None,
) -> list[SentLink]:
    """Send the patient one single-use link per questionnaire, in one message per channel.

    ``channel`` is ``sms``, ``email`` or ``both``, to the patient's phone and e-mail on file.
    ``scheduled`` are the scheduled questionnaires the links answer (a moment from the due list,
    perhaps of several courses): one link per instrument however many courses ask for it, for
    the earliest-due of them, whose course is the links' course. Raises InputError naming
    ``instruments``, ``channel``, ``course`` or ``scheduled``.
    """
    require(actor, Perm.MEASURE_CHANGE)
    if patient.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    codes = list(dict.fromkeys(instrument_codes))
    if not codes:
        raise InputError("instruments", "choose at least one questionnaire")
    for code in codes:
        instruments.get_instrument(code)
    _check_channel(patient, channel)
    by_instrument = _by_instrument(scheduled)
    if any(item.patient_id != patient.pk for item in scheduled):
        raise InputError("scheduled", "is not a questionnaire of this patient")
    if any(item.measure_id is not None for item in scheduled):
        raise InputError("scheduled", "is already answered; no link is needed")
    if scheduled:
        course = course or next(iter(by_instrument.values()))[0].course
    _check_course(patient, course)
    now = now or timezone.now()
    with transaction.atomic():
        sent = _issue_links(
            patient,
            [(code, by_instrument.get(code, [])) for code in codes],
            channel,
            course=course,
            created_by=actor.user,
            now=now,
        )
        for item in sent:
            record_for(
                actor,
                Action.CREATE,
                patient=patient,
                obj=item.link,
                detail={"instrument": item.link.instrument, "channel": channel},
            )
    return sent


def _check_channel(patient: Patient, channel: str) -> None:
    if channel not in LinkChannel.values:
        raise InputError("channel", f"must be one of {', '.join(LinkChannel.values)}")
    if channel in (LinkChannel.SMS, LinkChannel.BOTH) and not patient.phone.strip():
        raise InputError("channel", "the patient has no phone number on file")
    if channel in (LinkChannel.SMS, LinkChannel.BOTH) and not may_text(patient):
        raise InputError(
            "channel", "the patient's agreement to text messages is not recorded on their page"
        )
    if channel in (LinkChannel.EMAIL, LinkChannel.BOTH) and not patient.email.strip():
        raise InputError("channel", "the patient has no e-mail address on file")


def _by_instrument(items: Iterable[ScheduledMeasure]) -> dict[str, list[ScheduledMeasure]]:
    """The scheduled questionnaires per instrument (PHQ-9 first), earliest-due first."""
    order = list(instruments.INSTRUMENTS)
    grouped: dict[str, list[ScheduledMeasure]] = defaultdict(list)
    for item in sorted(
        items, key=lambda i: (order.index(i.instrument), i.due_on, i.opens_on, str(i.course_id))
    ):
        grouped[item.instrument].append(item)
    return dict(grouped)


def _issue_links(
    patient: Patient,
    wanted: list[tuple[str, list[ScheduledMeasure]]],
    channel: str,
    *,
    course: Course | None,
    created_by,
    now: datetime,
) -> list[SentLink]:
    """Make the links and queue the message(s) carrying them (inside a transaction).

    ``wanted`` is each instrument with the scheduled questionnaires its one link answers: the
    link names the first; all of them are marked as having had a link.
    """
    clinic = patient.clinic
    expires_at = now + timedelta(hours=clinic.setting("questionnaire_link_hours"))
    sent = []
    for code, items in wanted:
        scheduled = items[0] if items else None
        token = new_link_token()
        link = QuestionnaireLink.objects.create(
            clinic=clinic,
            patient=patient,
            course_id=scheduled.course_id if scheduled is not None else getattr(course, "pk", None),
            scheduled=scheduled,
            instrument=code,
            token_hash=hash_token(token),
            channel=channel,
            expires_at=expires_at,
            created_by=created_by,
            created_at=now,
        )
        sent.append(SentLink(link, site_url(reverse("questionnaire", args=[token]))))
        if items:
            ScheduledMeasure.objects.filter(pk__in=[i.pk for i in items]).update(link_sent_at=now)
    body = _link_message(clinic, sent, expires_at)
    if channel in (LinkChannel.SMS, LinkChannel.BOTH):
        enqueue_sms(
            recipient=patient.phone, body=body, purpose="questionnaire_link", patient=patient
        )
    if channel in (LinkChannel.EMAIL, LinkChannel.BOTH):
        enqueue_email(
            recipient=patient.email,
            subject=f"A short questionnaire from {clinic.name}"[:200],
            body=f"Hello,\n\n{body}\n\n{clinic.name}\n{clinic.phone}\n",
            purpose="questionnaire_link",
            patient=patient,
        )
    return sent


def _link_message(clinic: Clinic, sent: list[SentLink], expires_at: datetime) -> str:
    """The words a patient reads. No name, no diagnosis: others may see a phone's screen."""
    lines = [f"{clinic.name}: please answer before your next visit."]
    lines += [f"{PATIENT_WORDS[s.link.instrument]}: {s.url}" for s in sent]
    each = "Each link works" if len(sent) > 1 else "The link works"
    lines.append(f"{each} once, until {link_until(expires_at, clinic)}.")
    lines.append(
        f"In crisis? Call or text {CRISIS_LINE}, or call {EMERGENCY_NUMBER} in an emergency."
    )
    return "\n".join(lines)


# --- Schedules -----------------------------------------------------------------------------


def schedule_policy(clinic: Clinic) -> schedule.Policy:
    return schedule.Policy(
        tms_interval_days=clinic.setting("measure_tms_interval_days"),
        follow_up_months=tuple(clinic.setting(f"measure_follow_up_{n}_months") for n in (1, 2, 3)),
    )


def schedule_course(course: Course) -> int:
    """Plan (or re-plan) the questionnaires a course asks for; returns how many are open.

    Idempotent: call it when a course starts and whenever its sessions move or it stops.
    Answered questionnaires are kept as they are; unanswered ones follow the new dates, and
    those the course no longer asks for (a cancelled session, a stopped course) go.
    """
    clinic = course.clinic
    sessions = Session.objects.filter(course=course).exclude(status=SessionStatus.CANCELLED)
    if course.status == CourseStatus.STOPPED and course.ended_at is not None:
        stopped_on = timezone.localtime(course.ended_at, clinic.tzinfo).date()
        sessions = sessions.filter(planned_date__lte=stopped_on)
    planned = schedule.plan(
        course.modality,
        [schedule.PlannedSession(s.number, s.planned_date) for s in sessions],
        schedule_policy(clinic),
    )
    with transaction.atomic():
        existing = {
            (row.key, row.instrument): row
            for row in ScheduledMeasure.objects.select_for_update().filter(course=course)
        }
        wanted = set()
        for due in planned:
            wanted.add((due.key, due.instrument))
            fields = {
                "occasion": due.occasion.value,
                "label": due.label,
                "opens_on": due.opens_on,
                "due_on": due.due_on,
                "closes_on": due.closes_on,
            }
            row = existing.get((due.key, due.instrument))
            if row is None:
                ScheduledMeasure.objects.create(
                    clinic_id=course.clinic_id,
                    patient_id=course.patient_id,
                    course=course,
                    key=due.key,
                    instrument=due.instrument,
                    **fields,
                )
            elif row.measure_id is None and any(getattr(row, k) != v for k, v in fields.items()):
                for name, value in fields.items():
                    setattr(row, name, value)
                row.save(update_fields=list(fields))
        stale = [
            row.pk for key, row in existing.items() if key not in wanted and row.measure_id is None
        ]
        if stale:
            ScheduledMeasure.objects.filter(pk__in=stale).delete()
    return len(planned)


def schedule_unscheduled_courses(*, limit: int = 50) -> int:
    """Plan the schedule of active courses that have none yet (a safety net for courses
    started before measurement schedules existed, or by a path that did not plan them)."""
    going_ahead = Session.objects.filter(course=OuterRef("pk")).exclude(
        status=SessionStatus.CANCELLED
    )
    planned = ScheduledMeasure.objects.filter(course=OuterRef("pk"))
    courses = list(
        Course.objects.filter(status=CourseStatus.ACTIVE)
        .filter(Exists(going_ahead), ~Exists(planned))
        .select_related("clinic", "patient")[:limit]
    )
    for course in courses:
        with transaction.atomic():
            count = schedule_course(course)
            record(
                Action.UPDATE,
                clinic=course.clinic,
                patient=course.patient,
                obj=course,
                username=SYSTEM_USERNAME,
                detail={"scheduled_measures": count},
            )
    return len(courses)


def open_unanswered(clinic, today: date):
    """The clinic's scheduled questionnaires open on ``today`` and not yet answered: the one
    definition of *due or overdue* for the due list and the work lists."""
    return ScheduledMeasure.objects.filter(
        clinic=clinic, measure__isnull=True, opens_on__lte=today, closes_on__gte=today
    )


def due_and_overdue(
    actor, *, today: date | None = None, limit: int = 500
) -> list[ScheduledMeasure]:
    """The clinic's scheduled questionnaires that are due or overdue today, audited."""
    require(actor, Perm.MEASURE_READ)
    today = today or actor.clinic.today()
    rows = list(
        open_unanswered(actor.clinic, today)
        .select_related("patient", "course__protocol")
        .order_by("due_on", "patient__family_name", "patient__given_name", "instrument")[:limit]
    )
    record_for(
        actor,
        Action.QUERY,
        object_type="measures.scheduledmeasure",
        detail={"list": "due_and_overdue", "results": len(rows)},
    )
    return rows


def moment_key(item: ScheduledMeasure) -> tuple:
    """A questionnaire moment: what one patient's courses ask for on one day.

    A baseline's PHQ-9 and GAD-7 are one moment; so are the baselines of three courses that
    start together, or a ketamine pre-session PHQ-9 and a TMS weekly one due the same day. A
    moment is one line on the due list, one message and one link per questionnaire; one answer
    fills it for every course (``_fulfil_schedule``).
    """
    return (item.patient_id, item.due_on)


@dataclass
class Moment:
    """The open scheduled questionnaires of one moment, as the due list shows them."""

    items: list[ScheduledMeasure]
    today: date

    @property
    def first(self) -> ScheduledMeasure:
        return self.items[0]

    @property
    def patient(self) -> Patient:
        return self.first.patient

    @property
    def instruments(self) -> list[ScheduledMeasure]:
        """One scheduled questionnaire per instrument, PHQ-9 before GAD-7."""
        return [items[0] for items in _by_instrument(self.items).values()]

    @property
    def labels(self) -> list[str]:
        return list(dict.fromkeys(item.label for item in self.items))

    @property
    def courses(self) -> list[Course]:
        return list({item.course_id: item.course for item in self.items}.values())

    @property
    def status(self) -> schedule.DueStatus:
        return self.first.status(self.today)

    @property
    def closes_on(self) -> date:
        return max(item.closes_on for item in self.items)

    @property
    def link_sent_at(self) -> datetime | None:
        return max((i.link_sent_at for i in self.items if i.link_sent_at), default=None)

    @property
    def reminded_at(self) -> datetime | None:
        return max((i.reminded_at for i in self.items if i.reminded_at), default=None)


def due_moments(actor, *, today: date | None = None) -> list[Moment]:
    """The clinic's due and overdue questionnaires, one ``Moment`` each (audited)."""
    today = today or actor.clinic.today()
    groups: dict[tuple, list[ScheduledMeasure]] = {}
    for row in due_and_overdue(actor, today=today):
        groups.setdefault(moment_key(row), []).append(row)
    order = list(instruments.INSTRUMENTS)
    for items in groups.values():
        items.sort(key=lambda i: (order.index(i.instrument), str(i.course_id)))
    return [Moment(items, today) for items in groups.values()]


def open_moment(item: ScheduledMeasure) -> list[ScheduledMeasure]:
    """The unanswered scheduled questionnaires of ``item``'s moment, ``item``'s first."""
    patient_id, due_on = moment_key(item)
    rows = ScheduledMeasure.objects.filter(
        patient_id=patient_id, due_on=due_on, measure__isnull=True
    ).select_related("course")
    return sorted(rows, key=lambda row: (row.pk != item.pk, row.instrument, str(row.course_id)))


def send_measure_reminders(*, now: datetime | None = None, limit: int = 200) -> int:
    """Queue one reminder, with fresh links, for questionnaires that are due tomorrow, today or
    overdue and have had no link yet. Sent in the clinic's daytime; returns how many messages.

    The text goes to the patient's phone when there is one, else to their e-mail; a patient who
    chose in their portal how to hear of new questionnaires is reminded that way, or not at all.
    """
    now = now or timezone.now()
    # Clinic by clinic, each in its own day and reminder hours, so that clinics where it is
    # night cannot fill the batch and starve those where it is day.
    candidates: list[ScheduledMeasure] = []
    for clinic in Clinic.objects.all():
        local = timezone.localtime(now, clinic.tzinfo)
        if not REMINDER_FIRST_HOUR <= local.hour < REMINDER_LAST_HOUR:
            continue
        today = local.date()
        candidates += (
            ScheduledMeasure.objects.filter(
                clinic=clinic,
                measure__isnull=True,
                reminded_at__isnull=True,
                link_sent_at__isnull=True,
                # From the day before it is due, within its window.
                opens_on__lte=today,
                due_on__lte=today + timedelta(days=1),
                closes_on__gte=today,
            )
            .select_related("clinic", "patient__clinic", "course")
            .order_by("due_on")[: limit - len(candidates)]
        )
        if len(candidates) >= limit:
            break
    groups: dict[tuple, list[ScheduledMeasure]] = defaultdict(list)
    for item in candidates:
        groups[moment_key(item)].append(item)
    messages = 0
    for items in groups.values():
        try:
            with transaction.atomic():
                claimed = ScheduledMeasure.objects.filter(
                    pk__in=[i.pk for i in items],
                    reminded_at__isnull=True,
                    link_sent_at__isnull=True,
                ).update(reminded_at=now)
                if claimed != len(items):
                    continue  # another worker took it
                messages += _remind(items, now)
        except DatabaseError:
            raise  # the worker reports it and tries again on its next pass
        except Exception:
            # One patient's failure must not hold up everyone else's reminders.
            logger.exception("Reminder for %s failed; tried again next pass", items[0].patient.mrn)
    return messages


def _remind(items: list[ScheduledMeasure], now: datetime) -> int:
    patient = items[0].patient
    # The patient may have chosen, in their portal, how (or whether) to hear of questionnaires.
    channel = link_channel(patient, purpose=contact.QUESTIONNAIRE)
    if channel is None:
        logger.info("No reminder for %s: none wanted, or nothing on file", patient.mrn)
        return 0
    try:
        with transaction.atomic():
            sent = _issue_links(
                patient,
                list(_by_instrument(items).items()),
                channel,
                course=items[0].course,
                created_by=None,
                now=now,
            )
    except InputError as error:  # a phone number the outbox cannot use
        if channel != LinkChannel.SMS or not patient.email.strip():
            logger.warning("No reminder for %s: %s", patient.mrn, error)
            return 0
        channel = LinkChannel.EMAIL
        try:
            with transaction.atomic():
                sent = _issue_links(
                    patient,
                    list(_by_instrument(items).items()),
                    channel,
                    course=items[0].course,
                    created_by=None,
                    now=now,
                )
        except InputError as error:  # an e-mail address the outbox cannot use either
            logger.warning("No reminder for %s: %s", patient.mrn, error)
            return 0
    for item in sent:
        record(
            Action.CREATE,
            clinic=patient.clinic,
            patient=patient,
            obj=item.link,
            username=REMINDER_USERNAME,
            detail={"instrument": item.link.instrument, "channel": channel, "reminder": True},
        )
    return 1


# --- Reading: outcomes, trajectories -------------------------------------------------------


def course_outcome(course: Course, measures: Iterable[Measure] | None = None) -> outcomes.Outcome:
    """Baseline (earliest), latest, change, response, remission and MCID from the course's
    PHQ-9s inside the outcome window (``outcomes.in_outcome_window``) [R4, R52, R59].
    ``measures`` may be given already loaded (any instruments)."""
    if measures is None:
        measures = Measure.objects.filter(course=course, instrument=instruments.PHQ9.code)
    pairs = [
        (m.observed_at, m.total)
        for m in measures
        if m.instrument == instruments.PHQ9.code and m.course_id == course.pk
    ]
    return outcomes.course_outcome(pairs, ended_at=course.ended_at)


@dataclass
class CourseOutcome:
    course: Course
    outcome: outcomes.Outcome


@dataclass
class PatientMeasures:
    """Everything the patient page's questionnaire card shows."""

    measures: list[Measure]
    outcomes: list[CourseOutcome]
    due: list[ScheduledMeasure]
    links: list[QuestionnaireLink]
    chart: dict
    today: date


def patient_measures(actor, patient: Patient) -> PatientMeasures:
    """A patient's questionnaires, per-course outcomes, trajectory and what is due, for the
    patient's page (which has already loaded, and audited, the patient)."""
    require(actor, Perm.MEASURE_READ)
    if patient.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    today = patient.clinic.today()
    courses = list(
        Course.objects.filter(patient=patient).select_related("protocol").order_by("start_date")
    )
    # The questionnaires and the due list name their course, one of these: they take it from
    # here rather than joining the course and its protocol again in each of their queries.
    by_id = {course.pk: course for course in courses}
    measures = _with_course(Measure.objects.filter(patient=patient), by_id)
    # The chart marks treatment the patient was given: sessions started (documentation begun)
    # or signed, on the day given, never one closed without treatment. A planned session not
    # started is not a treatment yet, whatever its date, and one given ahead of its planned day
    # is marked on the day it was given.
    sessions = list(
        Session.objects.filter(patient=patient)
        .filter(Q(started_at__isnull=False) | delivered_q())
        .exclude(undelivered_q())
        .values("planned_date", "started_at", "number", "course_id")
    )
    due = _with_course(
        ScheduledMeasure.objects.filter(
            patient=patient, measure__isnull=True, opens_on__lte=today, closes_on__gte=today
        ),
        by_id,
    )
    links = list(QuestionnaireLink.objects.filter(patient=patient).order_by("-created_at")[:5])
    for link in links:
        link.clinic = patient.clinic
    # No audit event of its own: the card is part of the patient's page, whose READ of the
    # patient (access.patient) is the page view's one event.
    return PatientMeasures(
        measures=measures,
        outcomes=[
            CourseOutcome(course, course_outcome(course, measures)) for course in reversed(courses)
        ],
        due=due,
        links=links,
        chart=trajectory_chart(patient.clinic, measures, sessions, courses),
        today=today,
    )


def _with_course(rows, courses: dict) -> list:
    """``rows`` (a patient's questionnaires or due ones), each given its course from
    ``courses`` (the patient's, by id)."""
    rows = list(rows)
    for row in rows:
        if row.course_id is not None:
            row.course = courses[row.course_id]
    return rows


def trajectory_chart(clinic: Clinic, measures, sessions, courses) -> dict:
    """The data ``static/js/trajectory.js`` draws: totals over time, bands, session days."""
    tz = clinic.tzinfo
    protocol_names = {c.pk: c.protocol.name for c in courses}

    def millis(moment: datetime) -> int:
        return int(moment.timestamp() * 1000)

    series = {}
    for code in (instruments.PHQ9.code, instruments.GAD7.code):
        definition = instruments.get_instrument(code)
        series[code] = {
            "label": definition.abbreviation,
            "max": definition.max_total,
            "bands": [
                {"low": b.low, "high": b.high, "label": b.label, "code": b.code}
                for b in definition.bands
            ],
            "points": [
                {
                    "t": millis(m.observed_at),
                    "y": m.total,
                    "date": f"{timezone.localtime(m.observed_at, tz):%b %-d, %Y}",
                    "severity": m.get_severity_display(),
                    "item9": m.suicide_item,
                }
                for m in measures
                if m.instrument == code
            ],
        }
    marks = []
    for s in sessions:
        if s["started_at"] is not None:
            moment = s["started_at"]
            day = timezone.localtime(moment, tz).date()
        else:  # completed without documentation times: its planned day, at midday
            day = s["planned_date"]
            moment = datetime.combine(day, time(12), tzinfo=tz)
        marks.append(
            {
                "t": millis(moment),
                "number": s["number"],
                "date": f"{day:%b %-d, %Y}",
                "course": protocol_names.get(s["course_id"], ""),
            }
        )
    marks.sort(key=lambda m: (m["t"], m["number"]))
    return {"series": series, "sessions": marks}


def alert_source(alert, actor):
    """The questionnaire that raised ``alert``, in words, linked for a reader who may open it
    (the administrator follows an escalation up but does not read questionnaires)."""
    measure = Measure.objects.filter(pk=alert.source_id, clinic=alert.clinic_id).first()
    if measure is None:
        return None
    observed = dateformat.format(timezone.localtime(measure.observed_at), "M j, H:i")
    text = f"{measure.get_instrument_display()} of {observed}"
    if actor is None or not actor.can(Perm.MEASURE_READ):
        return Source(text)
    return Source(
        f"{text}: {measure.total}, {measure.get_severity_display().lower()}",
        reverse("measure_detail", args=[measure.pk]),
    )
