"""Reads for the portal: what a signed-in patient sees, always of their own record only.

Every function takes the signed-in ``PortalAccount`` and reads rows of ``account.patient``
alone; there is no other way in. Each page's read is one audit event under the portal's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from trellis.accounts.access import Actor
from trellis.aftercare.models import CheckIn, JournalEntry
from trellis.aftercare.selectors import PortalPlan, plan_for_portal
from trellis.aftercare.services import open_check_ins as aftercare_open_check_ins
from trellis.audit.models import Action
from trellis.audit.services import record
from trellis.lib.models import one_or_none
from trellis.measures import instruments
from trellis.measures.contact import PATIENT_WORDS
from trellis.measures.models import Measure, ScheduledMeasure
from trellis.measures.services import open_unanswered
from trellis.patients import contact
from trellis.patients.models import Patient
from trellis.portal.models import PORTAL_USERNAME, PortalAccount, PortalInvitation
from trellis.scheduling.models import Appointment


def audit_read(account: PortalAccount, page: str, source_address: str = "") -> None:
    record(
        Action.READ,
        clinic=account.clinic,
        patient=account.patient,
        obj=account.patient,
        username=PORTAL_USERNAME,
        source_address=source_address,
        detail={"portal": page},
    )


def upcoming_appointments(
    account: PortalAccount, *, now: datetime | None = None, limit: int = 5
) -> list[Appointment]:
    """The patient's booked appointments that have not ended, soonest first."""
    return list(
        Appointment.objects.active()
        .filter(clinic=account.clinic, patient=account.patient, end__gt=now or timezone.now())
        .select_related("resource")
        .order_by("start")[:limit]
    )


@dataclass(frozen=True)
class DueQuestionnaire:
    id: str
    title: str
    due_on: object
    overdue: bool


def due_questionnaires(account: PortalAccount) -> list[DueQuestionnaire]:
    """The questionnaires open for the patient today and not yet answered (the one definition
    of *due*, ``measures.services.open_unanswered``), one per instrument, soonest due first."""
    today = account.clinic.today()
    rows = (
        open_unanswered(account.clinic, today)
        .filter(patient=account.patient)
        .order_by("due_on", "instrument")
    )
    seen: set[str] = set()
    due = []
    for item in rows:
        if item.instrument in seen:
            continue
        seen.add(item.instrument)
        due.append(
            DueQuestionnaire(
                id=str(item.pk),
                title=PATIENT_WORDS.get(item.instrument, item.get_instrument_display()),
                due_on=item.due_on,
                overdue=item.due_on < today,
            )
        )
    return due


def due_questionnaire(account: PortalAccount, scheduled_id) -> ScheduledMeasure | None:
    """One questionnaire due to the patient, or None (someone else's, answered or closed)."""
    today = account.clinic.today()
    return (
        open_unanswered(account.clinic, today)
        .filter(pk=scheduled_id, patient=account.patient)
        .first()
    )


@dataclass(frozen=True)
class ScoreLine:
    when: datetime
    total: int
    out_of: int
    band: str


@dataclass(frozen=True)
class ScoreHistory:
    title: str
    lines: list[ScoreLine]
    summary: str


def score_history(account: PortalAccount) -> list[ScoreHistory]:
    """The patient's questionnaire scores, by questionnaire, in plain words: each total out of
    its highest, with the band's name from the instrument's published cut points [R51, R54]."""
    rows = Measure.objects.filter(patient=account.patient).order_by("observed_at", "created_at")
    by_instrument: dict[str, list[Measure]] = {}
    for measure in rows:
        by_instrument.setdefault(measure.instrument, []).append(measure)
    histories = []
    for code, measures in by_instrument.items():
        definition = instruments.get_instrument(code)
        out_of = definition.max_total
        lines = [
            ScoreLine(
                when=m.observed_at,
                total=m.total,
                out_of=out_of,
                band=instruments.severity_band(code, m.total).label.lower(),
            )
            for m in measures
        ]
        histories.append(
            ScoreHistory(
                title=PATIENT_WORDS.get(code, definition.abbreviation),
                lines=lines,
                summary=_summary(lines),
            )
        )
    return histories


def _summary(lines: list[ScoreLine]) -> str:
    latest = lines[-1]
    text = f"Your latest score is {latest.total} out of {latest.out_of} ({latest.band})."
    if len(lines) == 1:
        return text + " A lower score means fewer symptoms."
    first = lines[0]
    if latest.total < first.total:
        change = f"{first.total - latest.total} points lower than your first score"
    elif latest.total > first.total:
        change = f"{latest.total - first.total} points higher than your first score"
    else:
        change = "the same as your first score"
    return f"{text} That is {change}, {first.total}. A lower score means fewer symptoms."


def aftercare_plan(account: PortalAccount) -> PortalPlan | None:
    return plan_for_portal(account.patient)


def open_check_ins(account: PortalAccount) -> list[CheckIn]:
    """The patient's check-ins open to answer now (``aftercare.services.open_check_ins``, the
    one definition the answer is claimed by), oldest due first."""
    return list(aftercare_open_check_ins(account.patient).order_by("due_at"))


def answered_check_ins(account: PortalAccount, limit: int = 10) -> list[CheckIn]:
    """The patient's own answered check-ins, newest first, to read back."""
    return list(
        CheckIn.objects.filter(patient=account.patient, answered_at__isnull=False).order_by(
            "-answered_at"
        )[:limit]
    )


def own_check_in(account: PortalAccount, check_in_id) -> tuple[CheckIn | None, bool]:
    """(the check-in, whether it is open to answer now), or (None, False) when it is not the
    patient's."""
    row = CheckIn.objects.filter(pk=check_in_id, patient=account.patient).first()
    if row is None:
        return None, False
    return row, aftercare_open_check_ins(account.patient).filter(pk=row.pk).exists()


def check_in_alerted(row: CheckIn) -> bool:
    """Whether answering ``row`` raised an alert: a rule its answers met, or crisis words in
    the note shared with it (``aftercare.services``, which raised them)."""
    if row.findings:
        return True
    return JournalEntry.objects.filter(check_in=row, crisis_language=True).exists()


# --- The staff side: the card on the patient's page ----------------------------------------


def patient_card(actor: Actor, patient: Patient) -> dict:
    """The portal card on the patient's page: whether they have set up their sign-in, the last
    invitation, and whether an invitation can reach them."""
    account = one_or_none(PortalAccount.objects.filter(patient=patient))
    invitation = PortalInvitation.objects.filter(patient=patient).first()
    return {
        "patient": patient,
        "account": account,
        # Loaded here: with no authenticator app, readiness asks whether a passkey exists.
        "ready": account is not None and account.ready,
        "invitation": invitation,
        "invitation_open": invitation is not None
        and invitation.used_at is None
        and invitation.expires_at > timezone.now(),
        "reachable": bool(contact.clinic_channels(patient)),
    }


def journal(account: PortalAccount, limit: int = 50) -> list[JournalEntry]:
    """The patient's own journal entries, newest first (whoever wrote them in)."""
    return list(
        JournalEntry.objects.filter(patient=account.patient).order_by("-written_at")[:limit]
    )
