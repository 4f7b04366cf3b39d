"""Named operations on aftercare plans, check-ins, journal entries and unreturned follow-ups.

Each runs in one transaction with its audit events and the messages it queues. A check-in
answered yes to thoughts of self-harm, or past the clinic's mood threshold, and a shared
journal entry with crisis language, are saved with their safety alert or not at all, whether or
not the outbox worker is running. Audit events and alert summaries never carry the patient's
words.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import DatabaseError, transaction
from django.db.models import Exists, OuterRef
from django.http import Http404
from django.urls import reverse
from django.utils import dateformat, timezone

from trellis.accounts.access import require
from trellis.accounts.models import Clinic, Membership
from trellis.accounts.permissions import Perm
from trellis.aftercare import checkins, coaching, crisis_words
from trellis.aftercare.models import (
    AftercarePlan,
    CheckIn,
    CheckInStatus,
    CoachingSession,
    FollowUpEscalation,
    FollowUpWith,
    JournalEntry,
    JournalVia,
    ReferralStatus,
)
from trellis.audit.models import Action
from trellis.audit.services import record, record_for
from trellis.lib import signed_tokens
from trellis.lib.errors import InputError
from trellis.lib.http import site_url
from trellis.measures import instruments
from trellis.measures.contact import CRISIS_LINE, EMERGENCY_NUMBER, link_until
from trellis.measures.models import ScheduledMeasure
from trellis.measures.schedule import Occasion
from trellis.messaging.services import enqueue_email, enqueue_sms
from trellis.patients import contact
from trellis.patients.modality import KETAMINE_FAMILY, Modality
from trellis.patients.models import Patient
from trellis.safety.models import AlertKind, AlertSeverity
from trellis.safety.services import SYSTEM_USERNAME, raise_alert
from trellis.treatments import urinary
from trellis.treatments.models import Course, OralPrescription

logger = logging.getLogger(__name__)

# How a patient answering a check-in, and the timed jobs, appear in the audit trail.
PATIENT_CHECK_IN_USERNAME = "(patient check-in link)"
CHECK_IN_JOB_USERNAME = "(check-in sender)"
FOLLOW_UP_JOB_USERNAME = "(follow-up escalation)"

# Check-in links go out between these hours of the clinic's day, as questionnaire reminders do
# (clinic policy); one due in the night waits for the morning.
SEND_FIRST_HOUR = 9
SEND_LAST_HOUR = 20

# A follow-up that was due longer ago than the escalation time and this many days more is not
# escalated any longer: the first pass after installing must not raise an alert for every
# follow-up a clinic ever missed. (A follow-up's window closes 28 days after its due day.)
ESCALATION_LOOKBACK_DAYS = 60


# --- The plan ------------------------------------------------------------------------------

PLAN_TEXT_LIMITS = {
    "referral_to": 200,
    "group_reference": 120,
    "coaching_goals": 2000,
    "coaching_progress": 4000,
    "mindfulness_resources": 2000,
    "notes": 4000,
}


@dataclass
class PlanInput:
    """What the care team sets on a plan (a form or the API fills it)."""

    course: Course | None = None
    check_ins: bool = True
    journal: bool = False
    follow_up: str = ""
    follow_up_clinician_id: int | None = None
    referral_to: str = ""
    referral_date: date | None = None
    referral_status: str = ""
    coaching: bool = False
    coaching_goals: str = ""
    coaching_sessions_planned: int | None = None
    coaching_progress: str = ""
    mindfulness: bool = False
    mindfulness_resources: str = ""
    group: bool = False
    group_reference: str = ""
    notes: str = ""


def _check_plan(patient: Patient, data: PlanInput, today: date) -> None:
    """Raise InputError naming the first field that breaks a rule; nothing is written then."""
    if data.course is not None and data.course.patient_id != patient.pk:
        raise InputError("course", "is not a course of this patient")
    for name, limit in PLAN_TEXT_LIMITS.items():
        if len(getattr(data, name) or "") > limit:
            raise InputError(name, f"must be at most {limit} characters")
    if not any(
        [data.check_ins, data.journal, data.follow_up, data.coaching, data.mindfulness, data.group]
    ):
        raise InputError("components", "choose at least one part of aftercare")
    if data.follow_up not in FollowUpWith.values:
        raise InputError("follow_up", "must be internal, external or none")
    if data.follow_up == FollowUpWith.INTERNAL:
        if data.follow_up_clinician_id is None:
            raise InputError("follow_up_clinician", "choose the clinician the patient will see")
        if not Membership.objects.filter(
            clinic_id=patient.clinic_id, user_id=data.follow_up_clinician_id, is_active=True
        ).exists():
            raise InputError("follow_up_clinician", "is not a member of staff of this clinic")
    if data.follow_up == FollowUpWith.EXTERNAL and not data.referral_to.strip():
        raise InputError("referral_to", "say who the patient is referred to")
    if data.follow_up and data.referral_status not in ReferralStatus.values:
        raise InputError("referral_status", "choose where the referral stands")
    needs_date = data.referral_status and data.referral_status != ReferralStatus.PROPOSED
    if needs_date and data.referral_date is None:
        raise InputError("referral_date", "give the date the referral was made")
    if data.referral_date is not None and data.referral_date > today:
        raise InputError("referral_date", "cannot be in the future")
    if data.coaching and not data.coaching_goals.strip():
        raise InputError("coaching_goals", "write at least one coaching goal")
    planned = data.coaching_sessions_planned
    if planned is not None and (isinstance(planned, bool) or not 1 <= planned <= 52):
        raise InputError("coaching_sessions_planned", "must be from 1 to 52 sessions")
    if data.mindfulness and not data.mindfulness_resources.strip():
        raise InputError("mindfulness_resources", "name the resources offered")
    if data.group and not data.group_reference.strip():
        raise InputError("group_reference", "name the group or cohort")


def save_plan(actor, patient: Patient, data: PlanInput, *, now: datetime | None = None):
    """Create or change the patient's aftercare plan. Raises InputError naming the field."""
    require(actor, Perm.AFTERCARE_CHANGE)
    if patient.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    now = now or timezone.now()
    _check_plan(patient, data, patient.clinic.today())
    values = {
        "course": data.course,
        "check_ins": data.check_ins,
        "journal": data.journal,
        "follow_up": data.follow_up,
        "follow_up_clinician_id": (
            data.follow_up_clinician_id if data.follow_up == FollowUpWith.INTERNAL else None
        ),
        "referral_to": data.referral_to.strip() if data.follow_up else "",
        "referral_date": data.referral_date if data.follow_up else None,
        "referral_status": data.referral_status if data.follow_up else "",
        "coaching": data.coaching,
        "coaching_goals": data.coaching_goals.strip(),
        "coaching_sessions_planned": data.coaching_sessions_planned if data.coaching else None,
        "coaching_progress": data.coaching_progress.strip(),
        "mindfulness": data.mindfulness,
        "mindfulness_resources": data.mindfulness_resources.strip(),
        "group": data.group,
        "group_reference": data.group_reference.strip() if data.group else "",
        "notes": data.notes.strip(),
    }
    with transaction.atomic():
        plan = AftercarePlan.objects.select_for_update().filter(patient=patient).first()
        created = plan is None
        if created:
            plan = AftercarePlan(clinic_id=patient.clinic_id, patient=patient, created_at=now)
        changed = [name for name, value in values.items() if getattr(plan, name) != value]
        for name, value in values.items():
            setattr(plan, name, value)
        plan.updated_at = now
        plan.updated_by = actor.user
        plan.save()
        # Which fields changed, never what they say.
        record_for(
            actor,
            Action.CREATE if created else Action.UPDATE,
            patient=patient,
            obj=plan,
            detail={"fields": changed, "components": plan.component_labels()},
        )
    return plan


def record_coaching_session(
    actor,
    plan: AftercarePlan,
    *,
    held_on: date,
    code: str,
    minutes: int,
    participants: int | None = None,
    progress: str = "",
    now: datetime | None = None,
) -> CoachingSession:
    """Record a coaching session with its Category III code (recorded, never charged) [R108].
    Raises InputError naming ``held_on``, ``code``, ``minutes``, ``participants`` or
    ``progress``."""
    require(actor, Perm.AFTERCARE_CHANGE)
    if plan.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    if not plan.coaching:
        raise InputError("code", "the plan has no health coaching; add it to the plan first")
    if not isinstance(held_on, date):
        raise InputError("held_on", "must be a date")
    if held_on > plan.clinic.today():
        raise InputError("held_on", "cannot be in the future")
    definition = coaching.check(code, minutes, participants)
    if len(progress or "") > 2000:
        raise InputError("progress", "must be at most 2000 characters")
    if (
        definition.code == "0591T"
        and CoachingSession.objects.filter(plan=plan, code="0591T").exists()
    ):
        raise InputError("code", "the initial assessment (0591T) is already recorded")
    now = now or timezone.now()
    with transaction.atomic():
        row = CoachingSession.objects.create(
            clinic_id=plan.clinic_id,
            patient_id=plan.patient_id,
            plan=plan,
            held_on=held_on,
            code=definition.code,
            minutes=minutes,
            participants=participants if definition.group else None,
            progress=(progress or "").strip(),
            recorded_by=actor.user,
            created_at=now,
        )
        record_for(actor, Action.CREATE, patient=plan.patient, obj=row, detail={"code": row.code})
    return row


# --- Check-ins -----------------------------------------------------------------------------

_TOKEN_SALT = "trellis.aftercare.check_in_link"  # noqa: S105 (an HMAC salt)


def new_token() -> str:
    return signed_tokens.new_token(_TOKEN_SALT)


def thresholds(clinic: Clinic) -> checkins.Thresholds:
    return checkins.Thresholds(
        mood_floor=clinic.setting("checkin_mood_floor"),
        mood_drop=clinic.setting("checkin_mood_drop"),
    )


def check_ins_wanted(patient: Patient) -> bool:
    """Check-ins follow every dosing session unless the patient's plan turned them off."""
    plan = AftercarePlan.objects.filter(patient=patient).only("check_ins").first()
    return plan is None or plan.check_ins


def plan_check_ins(actor, session) -> list[CheckIn]:
    """When a ketamine-family dosing session is signed, plan its check-ins at the clinic's
    hours after it (24 and 72 by default [R110]). Runs in the signing transaction
    (``treatments.hooks.on_session_signed``); signing twice plans nothing twice."""
    course = session.course
    if course.modality not in KETAMINE_FAMILY:
        return []
    patient = session.patient
    if not check_ins_wanted(patient):
        return []
    clinic = patient.clinic
    ended = session.ended_at or session.signed_at or timezone.now()
    planned = []
    for key in ("checkin_first_hours", "checkin_second_hours"):
        hours = clinic.setting(key)
        if not hours or CheckIn.objects.filter(session=session, hours_after=hours).exists():
            continue
        row = CheckIn.objects.create(
            clinic_id=clinic.pk,
            patient=patient,
            session=session,
            hours_after=hours,
            due_at=ended + timedelta(hours=hours),
        )
        planned.append(row)
    if planned:
        record(
            Action.CREATE,
            clinic=clinic,
            patient=patient,
            object_type="aftercare.checkin",
            username=SYSTEM_USERNAME,
            detail={"check_ins": [row.hours_after for row in planned], "session": session.number},
        )
    return planned


def plan_home_check_ins(actor, prescription, started_on: date, *, now: datetime | None = None):
    """An at-home oral ketamine supply began (the prescription issued, or a refill filled):
    plan a check-in every week of its days' supply (``checkins.home_check_in_days``, clinic
    policy), at the clinic's morning hour, sent and answered like those after a session.
    Runs in the caller's transaction (``treatments.hooks.on_home_supply``). The new supply
    replaces the unsent check-ins of any earlier one from its first day; the same supply
    told twice plans nothing twice; days already past are not planned."""
    patient = prescription.patient
    if prescription.cancelled_at is not None or not check_ins_wanted(patient):
        return []
    clinic = patient.clinic
    now = now or timezone.now()
    wanted = {
        days: datetime.combine(
            started_on + timedelta(days=days),
            datetime.min.time().replace(hour=checkins.HOME_HOUR),
            clinic.tzinfo,
        )
        for days in checkins.home_check_in_days(prescription.days_supply)
    }
    wanted = {days: due for days, due in wanted.items() if due > now}
    supply_begins = datetime.combine(started_on, datetime.min.time(), clinic.tzinfo)
    # One schedule at a time: an earlier supply's check-ins still to come give way.
    replaced = (
        CheckIn.objects.filter(
            patient=patient,
            prescription__isnull=False,
            status=CheckInStatus.PLANNED,
            due_at__gte=supply_begins,
        )
        .exclude(prescription=prescription, due_at__in=list(wanted.values()))
        .update(status=CheckInStatus.CANCELLED)
    )
    have = set(
        CheckIn.objects.filter(prescription=prescription, due_at__in=list(wanted.values()))
        .exclude(status=CheckInStatus.CANCELLED)
        .values_list("due_at", flat=True)
    )
    planned = [
        CheckIn.objects.create(
            clinic_id=clinic.pk,
            patient=patient,
            prescription=prescription,
            days_after=days,
            due_at=due,
            created_at=now,
        )
        for days, due in wanted.items()
        if due not in have
    ]
    if planned or replaced:
        record(
            Action.CREATE,
            clinic=clinic,
            patient=patient,
            object_type="aftercare.checkin",
            username=SYSTEM_USERNAME,
            detail={
                "home_check_ins": [row.days_after for row in planned],
                "supply_from": started_on.isoformat(),
                "replaced": replaced,
            },
        )
    return planned


def stop_home_check_ins(actor, prescription) -> int:
    """A cancelled prescription's check-ins not yet sent are not sent (in the cancelling
    transaction); those already sent stay open to answer. Returns how many were stopped."""
    stopped = CheckIn.objects.filter(
        prescription=prescription, status=CheckInStatus.PLANNED
    ).update(status=CheckInStatus.CANCELLED)
    if stopped:
        record(
            Action.UPDATE,
            clinic=prescription.patient.clinic,
            patient=prescription.patient,
            object_type="aftercare.checkin",
            username=SYSTEM_USERNAME,
            detail={"home_check_ins_cancelled": stopped},
        )
    return stopped


@dataclass(frozen=True)
class SentCheckIn:
    check_in: CheckIn
    url: str  # holds the token; never stored; empty when the check-in waits in the portal alone
    channels: tuple[str, ...] = ()


def check_in_channels(patient: Patient) -> list[str] | None:
    """How a check-in's link reaches the patient (``patients.contact``, asked for check-ins,
    where the patient's portal may have a say): the channels; empty when the patient chose in
    their portal to be sent none, so that it waits there alone; None when nothing reaches
    them."""
    found = contact.chosen(patient, contact.CHECK_IN)
    if found is not None:
        return list(found)
    return contact.clinic_channels(patient) or None


def send_check_in(actor, patient: Patient, *, now: datetime | None = None) -> SentCheckIn:
    """The care team sends a check-in now, by link the way the patient is reached, or to their
    portal alone when they chose there to be sent none. Raises InputError naming ``channel``
    when there is no way to reach them."""
    require(actor, Perm.AFTERCARE_CHANGE)
    if patient.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    if check_in_channels(patient) is None:
        raise InputError(
            "channel",
            "the patient has no automated messages, or no usable phone or e-mail on file",
        )
    now = now or timezone.now()
    with transaction.atomic():
        row = CheckIn.objects.create(
            clinic_id=patient.clinic_id,
            patient=patient,
            due_at=now,
            created_by=actor.user,
            created_at=now,
        )
        sent = issue_link(row, now)
        record_for(actor, Action.CREATE, patient=patient, obj=row, detail={"sent": bool(sent.url)})
    return sent


def issue_link(row: CheckIn, now: datetime) -> SentCheckIn:
    """Open ``row`` for its answer for the clinic's link hours, and queue a fresh single-use
    link the way the patient is reached (``check_in_channels``); when they chose in their
    portal to be sent none, no link is made and it waits in the portal alone (inside a
    transaction)."""
    patient = row.patient
    clinic = patient.clinic
    channels = check_in_channels(patient)
    row.expires_at = now + timedelta(hours=clinic.setting("checkin_link_hours"))
    if channels == []:
        row.status = CheckInStatus.IN_PORTAL
        row.save(update_fields=["expires_at", "status"])
        return SentCheckIn(row, "")
    channels = channels or []
    token = new_token()
    row.token_hash = signed_tokens.hash_token(token)
    row.link_sent_at = now
    row.status = CheckInStatus.SENT
    row.save(update_fields=["token_hash", "link_sent_at", "expires_at", "status"])
    url = site_url(reverse("check_in", args=[token]))
    body = "\n".join(
        [
            f"{clinic.name}: how are you since your treatment? A one-minute check-in:",
            url,
            f"The link works once, until {link_until(row.expires_at, clinic)}.",
            f"In crisis? Call or text {CRISIS_LINE}, or call {EMERGENCY_NUMBER} in an emergency.",
        ]
    )
    if contact.SMS in channels:
        enqueue_sms(recipient=patient.phone, body=body, purpose="check_in_link", patient=patient)
    if contact.EMAIL in channels:
        enqueue_email(
            recipient=patient.email,
            subject=f"A short check-in from {clinic.name}"[:200],
            body=f"Hello,\n\n{body}\n\n{clinic.name}\n{clinic.phone}\n",
            purpose="check_in_link",
            patient=patient,
        )
    return SentCheckIn(row, url, tuple(channels))


def send_due_check_ins(*, now: datetime | None = None, limit: int = 200) -> int:
    """The timed job: send the link of every planned check-in whose time has come, in the
    clinic's daytime (or open it in the portal alone for a patient who chose there to be sent
    none); one whose link would already have expired is marked missed. Returns how many links
    went out."""
    now = now or timezone.now()
    sent = 0
    for clinic in Clinic.objects.all():
        local = timezone.localtime(now, clinic.tzinfo)
        if not SEND_FIRST_HOUR <= local.hour < SEND_LAST_HOUR:
            continue
        window = timedelta(hours=clinic.setting("checkin_link_hours"))
        due = list(
            CheckIn.objects.filter(clinic=clinic, status=CheckInStatus.PLANNED, due_at__lte=now)
            .select_related("patient__clinic")
            .order_by("due_at")[:limit]
        )
        for row in due:
            try:
                with transaction.atomic():
                    claimed = CheckIn.objects.filter(
                        pk=row.pk, status=CheckInStatus.PLANNED
                    ).update(status=CheckInStatus.SENT)
                    if not claimed:
                        continue  # another worker took it
                    if row.due_at + window <= now:
                        _close(row, CheckInStatus.MISSED)
                    elif check_in_channels(row.patient) is None:
                        _close(row, CheckInStatus.UNREACHABLE)
                    else:
                        opened = issue_link(row, now)
                        record(
                            Action.UPDATE,
                            clinic=clinic,
                            patient=row.patient,
                            obj=row,
                            username=CHECK_IN_JOB_USERNAME,
                            detail={"sent": bool(opened.url), "hours_after": row.hours_after},
                        )
                        sent += bool(opened.url)
            except DatabaseError:
                raise
            except InputError as error:  # an address the outbox cannot use
                logger.warning("Check-in for %s not sent: %s", row.patient.mrn, error)
                CheckIn.objects.filter(pk=row.pk).update(status=CheckInStatus.UNREACHABLE)
    return sent


def _close(row: CheckIn, status: str) -> None:
    row.status = status
    row.save(update_fields=["status"])


class CheckInUnusable(Exception):
    """A check-in link that cannot be answered: ``reason`` is unknown, used or expired."""

    def __init__(self, reason: str, check_in: CheckIn | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.check_in = check_in


def open_check_in(token: str, *, now: datetime | None = None) -> CheckIn:
    """The check-in ``token`` opens, or CheckInUnusable. An unsigned token is never looked up."""
    if not signed_tokens.is_signed(token, _TOKEN_SALT):
        raise CheckInUnusable("unknown")
    row = (
        CheckIn.objects.select_related("clinic")
        .filter(token_hash=signed_tokens.hash_token(token))
        .first()
    )
    if row is None:
        raise CheckInUnusable("unknown")
    if row.answered_at is not None:
        raise CheckInUnusable("used", row)
    if row.expires_at is None or (now or timezone.now()) >= row.expires_at:
        raise CheckInUnusable("expired", row)
    return row


@dataclass
class CheckInResult:
    check_in: CheckIn
    findings: list[checkins.Finding]
    journal: JournalEntry | None = None
    alerts: list = field(default_factory=list)
    # Not a crisis: the bladder alert reaches the care team but shows no crisis screen.
    bladder_alert: object = None

    @property
    def crisis(self) -> bool:
        """Show the crisis screen at once: any alert from the answers or the journal."""
        return bool(self.alerts)

    @property
    def harm(self) -> bool:
        return any(f.rule == checkins.Rule.HARM_THOUGHTS for f in self.findings)


def open_check_ins(patient, *, now: datetime | None = None):
    """The patient's check-ins open to answer now: due, sent (by link, or to the portal
    alone), not answered and not expired.
    The one definition, for the portal's pages and for claiming an answer by link or in the
    portal alike."""
    now = now or timezone.now()
    return CheckIn.objects.filter(
        patient=patient,
        status__in=[CheckInStatus.SENT, CheckInStatus.IN_PORTAL],
        answered_at__isnull=True,
        due_at__lte=now,
        expires_at__gt=now,
    )


def submit_check_in(
    token: str,
    *,
    mood,
    sleep,
    side_effects,
    harm_thoughts,
    journal_text: str = "",
    share_journal: bool = False,
    source_address: str = "",
    now: datetime | None = None,
) -> CheckInResult:
    """A patient answers their check-in: once, before the link expires. A yes to thoughts of
    harming themselves, or a mood past the clinic's threshold, raises a safety alert in this
    transaction. Raises CheckInUnusable, or InputError for an incomplete answer (the link
    stays usable then)."""
    answers, journal_text = _clean_answers(mood, sleep, side_effects, harm_thoughts, journal_text)
    now = now or timezone.now()
    with transaction.atomic():
        row = open_check_in(token, now=now)
        return _answer(
            row,
            answers,
            journal_text,
            share_journal,
            username=PATIENT_CHECK_IN_USERNAME,
            source_address=source_address,
            now=now,
        )


def answer_own_check_in(
    patient: Patient,
    check_in_id,
    *,
    mood,
    sleep,
    side_effects,
    harm_thoughts,
    journal_text: str = "",
    share_journal: bool = False,
    username: str,
    source_address: str = "",
    now: datetime | None = None,
) -> CheckInResult:
    """A patient signed in to their own portal (``username`` names them in the trail) answers
    one of their open check-ins: the same rules, alerts and single use as the link, whose
    link then answers "already answered". Http404 when the check-in is not the patient's;
    CheckInUnusable when it is answered or expired; InputError for an incomplete answer."""
    answers, journal_text = _clean_answers(mood, sleep, side_effects, harm_thoughts, journal_text)
    now = now or timezone.now()
    with transaction.atomic():
        row = CheckIn.objects.select_related("clinic").filter(pk=check_in_id, patient=patient)
        row = row.first()
        if row is None:
            raise Http404("No such check-in.")
        return _answer(
            row,
            answers,
            journal_text,
            share_journal,
            username=username,
            source_address=source_address,
            now=now,
        )


def _clean_answers(mood, sleep, side_effects, harm_thoughts, journal_text):
    answers = checkins.clean(mood, sleep, side_effects, harm_thoughts)
    journal_text = (journal_text or "").strip()
    if len(journal_text) > JOURNAL_LIMIT:
        raise InputError("journal", f"must be at most {JOURNAL_LIMIT} characters")
    return answers, journal_text


def _answer(
    row: CheckIn,
    answers: checkins.Answers,
    journal_text: str,
    share_journal: bool,
    *,
    username: str,
    source_address: str,
    now: datetime,
) -> CheckInResult:
    """Claim ``row`` (a conditional UPDATE: one answer, however it comes) and record the
    answers, their alerts and any journal entry, inside the caller's transaction."""
    claimed = (
        open_check_ins(row.patient_id, now=now)
        .filter(pk=row.pk)
        .update(answered_at=now, status=CheckInStatus.ANSWERED)
    )
    if not claimed:
        answered = CheckIn.objects.filter(pk=row.pk, answered_at__isnull=False).exists()
        raise CheckInUnusable("used" if answered else "expired", row)
    patient = Patient.objects.select_related("clinic").get(pk=row.patient_id)
    previous = (
        CheckIn.objects.filter(patient=patient, answered_at__isnull=False, mood__isnull=False)
        .exclude(pk=row.pk)
        .order_by("-answered_at")
        .values_list("mood", flat=True)
        .first()
    )
    findings = checkins.evaluate(answers, previous, thresholds(patient.clinic))
    row.answered_at = now
    row.status = CheckInStatus.ANSWERED
    row.mood = answers.mood
    row.sleep = answers.sleep
    row.side_effects = list(answers.side_effects)
    row.harm_thoughts = answers.harm_thoughts
    row.findings = [f.rule.value for f in findings]
    row.save(update_fields=["mood", "sleep", "side_effects", "harm_thoughts", "findings"])
    record(
        Action.UPDATE,
        clinic=patient.clinic,
        patient=patient,
        obj=row,
        username=username,
        source_address=source_address,
        detail={"answered": True, "findings": row.findings},
    )
    result = CheckInResult(row, findings)
    result.alerts += _check_in_alerts(row, findings, patient, now, source_address, username)
    bladder = _bladder_alert(row, patient, now, source_address, username)
    if bladder is not None:
        result.bladder_alert = bladder
    if journal_text:
        entry, alert = _journal_entry(
            patient,
            journal_text,
            shared=share_journal,
            via=JournalVia.CHECK_IN,
            written_at=now,
            check_in=row,
            recorded_by=None,
            now=now,
            username=username,
            source_address=source_address,
        )
        result.journal = entry
        if alert is not None:
            result.alerts.append(alert)
    return result


def _check_in_alerts(row, findings, patient, now, source_address, username) -> list:
    alerts = []
    harm = [f for f in findings if f.rule == checkins.Rule.HARM_THOUGHTS]
    mood = [f for f in findings if f.rule != checkins.Rule.HARM_THOUGHTS]
    label = row.label()
    if harm:
        alerts.append(
            raise_alert(
                None,
                patient,
                AlertKind.CHECK_IN_HARM,
                AlertSeverity.URGENT,
                f"Answered yes to “{checkins.HARM_QUESTION}” · check-in {label} · mood "
                f"{row.mood} of 10 · answered on the patient's own device",
                source=row,
                now=now,
                username=username,
                source_address=source_address,
            )
        )
    if mood:
        finding = mood[0]
        alerts.append(
            raise_alert(
                None,
                patient,
                AlertKind.CHECK_IN_WORSENING,
                finding.severity,
                f"{finding.says}: mood {row.mood} of 10 · check-in {label} · answered on the "
                "patient's own device",
                source=row,
                now=now,
                username=username,
                source_address=source_address,
            )
        )
    return alerts


def takes_oral_ketamine(patient) -> bool:
    """Prescribed oral ketamine for home, or on a course of it in the clinic."""
    return (
        OralPrescription.objects.filter(patient=patient).exists()
        or Course.objects.filter(patient=patient, modality=Modality.ORAL_KETAMINE).exists()
    )


def _bladder_alert(row, patient, now, source_address, username):
    """A bladder or urinary side effect ticked by a patient on oral ketamine raises the bladder
    alert of the follow-up's questions (ketamine cystitis with repeated use [R90, R10]), in the
    answer's transaction: high for blood in the urine or bladder pain, elevated otherwise, as
    ``treatments.urinary`` grades them. The care team then asks the six questions."""
    ticked = [code for code in row.side_effects if code in checkins.BLADDER_SIDE_EFFECTS]
    if not ticked or not takes_oral_ketamine(patient):
        return None
    symptoms = tuple(s for code in ticked for s in checkins.BLADDER_SIDE_EFFECTS[code])
    answers = urinary.Answers(symptoms)
    said = "; ".join(checkins.SIDE_EFFECTS[code].lower() for code in ticked)
    return raise_alert(
        None,
        patient,
        AlertKind.URINARY_SYMPTOMS,
        answers.severity,
        f"Bladder or urinary symptoms on ketamine, ticked at a check-in: {said} · check-in "
        f"{row.label()} · ask the bladder questions at a follow-up",
        source=row,
        now=now,
        username=username,
        source_address=source_address,
    )


# --- The journal ---------------------------------------------------------------------------

JOURNAL_LIMIT = 5000


def add_journal_entry(
    actor,
    patient: Patient,
    text: str,
    *,
    shared: bool,
    written_at: datetime | None = None,
    now: datetime | None = None,
) -> JournalEntry:
    """A member of staff enters a journal entry for the patient (read to them on the phone,
    say), shared or private as the patient asks. A shared entry passes the crisis-language net;
    a phrase found raises a safety alert in this transaction. Raises InputError naming
    ``text`` or ``written_at``."""
    require(actor, Perm.AFTERCARE_CHANGE)
    if patient.clinic_id != actor.clinic.pk:
        raise Http404("No such record.")
    now = now or timezone.now()
    text = (text or "").strip()
    if not text:
        raise InputError("text", "write the entry")
    if len(text) > JOURNAL_LIMIT:
        raise InputError("text", f"must be at most {JOURNAL_LIMIT} characters")
    written_at = written_at or now
    if written_at > now + timedelta(minutes=5):
        raise InputError("written_at", "is in the future")
    with transaction.atomic():
        entry, _ = _journal_entry(
            patient,
            text,
            shared=bool(shared),
            via=JournalVia.STAFF,
            written_at=written_at,
            check_in=None,
            recorded_by=actor,
            now=now,
        )
    return entry


def write_own_journal_entry(
    patient: Patient,
    text: str,
    *,
    shared: bool,
    username: str,
    source_address: str = "",
    now: datetime | None = None,
):
    """The patient writes in their journal from their own portal (which signed them in and
    names them by ``username``): private, or shared with the care team and then screened by
    the crisis-language net. Returns (entry, alert or None); InputError naming ``text``."""
    now = now or timezone.now()
    text = (text or "").strip()
    if not text:
        raise InputError("text", "write the entry")
    if len(text) > JOURNAL_LIMIT:
        raise InputError("text", f"must be at most {JOURNAL_LIMIT} characters")
    with transaction.atomic():
        return _journal_entry(
            patient,
            text,
            shared=bool(shared),
            via=JournalVia.PORTAL,
            written_at=now,
            check_in=None,
            recorded_by=None,
            now=now,
            username=username,
            source_address=source_address,
        )


def _journal_entry(
    patient,
    text,
    *,
    shared,
    via,
    written_at,
    check_in,
    recorded_by,
    now,
    username="",
    source_address="",
):
    """Save the entry; screen it when shared (inside the caller's transaction)."""
    phrases = crisis_words.matches(text) if shared else []
    entry = JournalEntry.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        written_at=written_at,
        text=text,
        shared=shared,
        via=via,
        check_in=check_in,
        crisis_language=bool(phrases),
        recorded_by=recorded_by.user if recorded_by is not None else None,
        created_at=now,
    )
    detail = {"shared": shared, "via": via, "crisis_language": bool(phrases)}
    if recorded_by is not None:
        record_for(recorded_by, Action.CREATE, patient=patient, obj=entry, detail=detail)
    else:
        record(
            Action.CREATE,
            clinic=patient.clinic,
            patient=patient,
            obj=entry,
            username=username,
            source_address=source_address,
            detail=detail,
        )
    alert = None
    if phrases:
        count = len(phrases)
        alert = raise_alert(
            recorded_by,
            patient,
            AlertKind.JOURNAL_CRISIS_LANGUAGE,
            AlertSeverity.HIGH,
            f"A journal entry the patient shared has {count} phrase{'s' * (count != 1)} from "
            f"the crisis-language list · {JournalVia(via).label.lower()} · read the entry",
            source=entry,
            now=now,
            username=SYSTEM_USERNAME if recorded_by is not None else username,
            source_address=source_address,
        )
    return entry, alert


# --- Unreturned follow-up questionnaires ---------------------------------------------------


def escalate_unreturned_follow_ups(*, now: datetime | None = None, limit: int = 200) -> int:
    """The timed job: each follow-up questionnaire moment (a patient's follow-ups due on one
    day) still unanswered ``follow_up_escalation_days`` after its due day raises one safety
    alert for the care team. Returns how many were escalated.

    An alert, not only a mark on the due list: a patient who stops answering after a course may
    be the one relapsing [R58], the due list forgets a follow-up once its window closes, and
    an alert stays open, reaches the prescribers by escalation and is closed only by a
    clinician saying what they did (spoke with the patient, say).
    """
    now = now or timezone.now()
    escalated = 0
    for clinic in Clinic.objects.all():
        today = timezone.localtime(now, clinic.tzinfo).date()
        last_due = today - timedelta(days=clinic.setting("follow_up_escalation_days"))
        # Moments already escalated are left out in the query, so that they can never fill
        # the batch and hold back new ones.
        escalated_before = FollowUpEscalation.objects.filter(
            patient=OuterRef("patient"), due_on=OuterRef("due_on")
        )
        rows = list(
            ScheduledMeasure.objects.filter(
                clinic=clinic,
                occasion=Occasion.FOLLOW_UP.value,
                measure__isnull=True,
                due_on__lte=last_due,
                due_on__gt=last_due - timedelta(days=ESCALATION_LOOKBACK_DAYS),
            )
            .filter(~Exists(escalated_before))
            .select_related("patient__clinic", "course")
            .order_by("due_on", "patient_id", "instrument")[:limit]
        )
        moments: dict[tuple, list[ScheduledMeasure]] = {}
        for row in rows:
            moments.setdefault((row.patient_id, row.due_on), []).append(row)
        for items in moments.values():
            try:
                with transaction.atomic():
                    if _escalate_follow_up(items, now):
                        escalated += 1
            except DatabaseError:
                raise
            except Exception:
                logger.exception("Follow-up escalation for %s failed", items[0].patient.mrn)
    return escalated


def _escalate_follow_up(items: list[ScheduledMeasure], now: datetime) -> bool:
    first = items[0]
    patient = first.patient
    order = list(instruments.INSTRUMENTS)
    codes = sorted({i.instrument for i in items}, key=order.index)
    escalation, created = FollowUpEscalation.objects.get_or_create(
        patient=patient,
        due_on=first.due_on,
        defaults={
            "clinic_id": patient.clinic_id,
            "course": first.course,
            "label": first.label,
            "instruments": codes,
            "created_at": now,
        },
    )
    if not created:
        return False  # another worker escalated it
    names = ", ".join(instruments.get_instrument(c).abbreviation for c in codes)
    days = (timezone.localtime(now, patient.clinic.tzinfo).date() - first.due_on).days
    raise_alert(
        None,
        patient,
        AlertKind.FOLLOW_UP_UNRETURNED,
        AlertSeverity.ELEVATED,
        f"{first.label} ({names}) due {dateformat.format(first.due_on, 'M j')} not returned "
        f"after {days} days · contact the patient",
        source=escalation,
        now=now,
        username=FOLLOW_UP_JOB_USERNAME,
    )
    return True
