"""The dose a session gives, drawn from the containers chosen at its dosing step.

At the dosing step the nurse chooses the vial(s), tablet bottle or Spravato device(s) the dose
comes from; the lot shows on the session page and on the REMS form [R30]. Signing the session
draws each chosen amount from its container in the signing transaction (registered with
``treatments.hooks.on_session_signed``): the administration entries are written with the
signature, or not at all, and exactly once (each choice keeps the entry it drew). Nothing is
chosen or drawn from an expired or quarantined container, nor from a Spravato device labelled
for another patient [R129]. A clinic that keeps a substance on the ledger must choose before
signing; a clinic that keeps none of it signs as before.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.urls import reverse

from trellis.accounts.access import Actor, require
from trellis.accounts.models import Membership
from trellis.accounts.permissions import Perm
from trellis.audit.models import Action
from trellis.audit.services import record_for
from trellis.controlled import balance, services
from trellis.controlled.models import (
    Container,
    DosageForm,
    EntryKind,
    LedgerEntry,
    SessionDraw,
    Substance,
)
from trellis.lib.errors import Conflict, InputError
from trellis.patients.modality import Modality
from trellis.treatments.models import Session, SessionStatus

DEVICE_UG = services.ESKETAMINE_DEVICE_MG * balance.UG_PER_MG

# How the remainder is usually destroyed, as the waste form's starting text.
WASTE_METHODS = {
    DosageForm.VIAL: "Drawn into a syringe and emptied into a drug-disposal container",
    DosageForm.TABLETS: "Crushed and put into a drug-disposal container",
}


@dataclass(frozen=True)
class Stocked:
    """What a session's dose is drawn from: the substance and the kind of container."""

    substance: str
    form: str
    label: str


STOCKED = {
    Modality.IV_KETAMINE: Stocked(Substance.KETAMINE, DosageForm.VIAL, "vial"),
    Modality.ORAL_KETAMINE: Stocked(Substance.KETAMINE, DosageForm.TABLETS, "tablet bottle"),
    Modality.ESKETAMINE: Stocked(Substance.ESKETAMINE, DosageForm.NASAL_DEVICE, "device"),
}

_RECORD = {
    Modality.IV_KETAMINE: "infusion",
    Modality.ORAL_KETAMINE: "oral",
    Modality.ESKETAMINE: "esketamine",
}


def stocked(session: Session) -> Stocked | None:
    return STOCKED.get(session.course.modality)


def dose_ug(session: Session) -> int | None:
    """The dose the session's note records, in micrograms, or None while it has none."""
    name = _RECORD.get(session.course.modality)
    record = getattr(session, name, None) if name else None
    if record is None or record.dose_mg is None:
        return None
    return int(Decimal(str(record.dose_mg)) * balance.UG_PER_MG)


def keeps_stock(session: Session) -> bool:
    """Does the clinic keep what this session gives on the ledger?"""
    kind = stocked(session)
    return kind is not None and (
        Container.objects.filter(
            clinic_id=session.clinic_id, substance=kind.substance, form=kind.form
        ).exists()
    )


def draws(session: Session) -> list[SessionDraw]:
    return list(
        SessionDraw.objects.filter(session=session)
        .select_related("container", "entry")
        .order_by("chosen_at")
    )


def _usable_problem(container: Container, today) -> str | None:
    where = f"lot {container.lot} #{container.number}"
    if container.quarantined:
        reason = f" ({container.quarantine_reason})" if container.quarantine_reason else ""
        return f"{where} is quarantined{reason}; nothing may be given from it"
    if container.is_expired(today):
        return f"{where} expired on {container.expires_on:%b %-d, %Y}; nothing may be given from it"
    return None


def choose(actor: Actor, session: Session, container: Container, amount_mg=None) -> SessionDraw:
    """The dosing step: the dose (or ``amount_mg`` of it) comes from ``container``. A Spravato
    device always gives its 28 mg [R130]; a vial or bottle gives the part of the dose no other
    chosen container covers unless ``amount_mg`` says otherwise."""
    require(actor, Perm.CONTROLLED_CHANGE)
    kind = stocked(session)
    if session.clinic_id != actor.clinic.pk:
        raise InputError("session", "is another clinic's")
    if kind is None:
        raise InputError("session", "gives no ketamine or esketamine")
    if container.clinic_id != actor.clinic.pk:
        raise InputError("container", "is another clinic's")
    if (container.substance, container.form) != (kind.substance, kind.form):
        raise InputError(
            "container",
            f"must be a {kind.label} of {Substance(kind.substance).label} for this session",
        )
    if container.patient_id is not None and container.patient_id != session.patient_id:
        raise InputError("container", "is a device labelled for another patient [R129]")
    problem = _usable_problem(container, actor.clinic.today())
    if problem:
        raise InputError("container", problem)
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if locked.is_signed or locked.status != SessionStatus.IN_PROGRESS:
            raise Conflict(
                "Containers are chosen while the session is in progress, before it is signed.",
                code="session_not_in_progress",
            )
        if SessionDraw.objects.filter(session=session, container=container).exists():
            raise InputError("container", "is already chosen for this session")
        if kind.form == DosageForm.NASAL_DEVICE:
            amount_ug = DEVICE_UG
            if amount_mg not in (None, "") and balance.to_ug("amount_mg", amount_mg) != DEVICE_UG:
                raise InputError("amount_mg", "a Spravato device gives 28 mg [R130]")
        elif amount_mg not in (None, ""):
            amount_ug = balance.to_ug("amount_mg", amount_mg)
        else:
            dose = dose_ug(session)
            if dose is None:
                raise InputError("amount_mg", "is required until the note records the dose")
            chosen = (
                SessionDraw.objects.filter(session=session).aggregate(total=Sum("amount_ug"))[
                    "total"
                ]
                or 0
            )
            amount_ug = dose - chosen
            if amount_ug <= 0:
                raise InputError("container", "the dose is already covered by the chosen ones")
        container.refresh_from_db(fields=["balance_ug"])
        if amount_ug > container.balance_ug:
            raise InputError(
                "amount_mg",
                f"{balance.mg_text(amount_ug)} is more than the "
                f"{balance.mg_text(container.balance_ug)} left in lot {container.lot} "
                f"#{container.number}",
            )
        draw = SessionDraw.objects.create(
            clinic=actor.clinic,
            session=session,
            container=container,
            amount_ug=amount_ug,
            chosen_by=actor.user,
        )
        record_for(
            actor,
            Action.CREATE,
            patient=session.patient,
            obj=draw,
            detail={"lot": container.lot, "mg": balance.to_mg(amount_ug)},
        )
    return draw


def unchoose(actor: Actor, draw: SessionDraw) -> None:
    """Take a chosen container off the dosing step again, while the session is unsigned."""
    require(actor, Perm.CONTROLLED_CHANGE)
    if draw.clinic_id != actor.clinic.pk:
        raise InputError("draw", "is another clinic's")
    with transaction.atomic():
        session = Session.objects.select_for_update().get(pk=draw.session_id)
        locked = SessionDraw.objects.select_for_update().get(pk=draw.pk)
        if session.is_signed or locked.entry_id is not None:
            raise Conflict("The session is signed: its dose was drawn.", code="signed")
        record_for(
            actor,
            Action.DELETE,
            patient=session.patient,
            obj=locked,
            detail={"lot": locked.container.lot},
        )
        locked.delete()


def signing_missing(session: Session) -> list[str]:
    """What the ledger still needs before signing (``treatments.hooks.on_signing_missing``)."""
    if not keeps_stock(session):
        return []
    kind = stocked(session)
    chosen = list(SessionDraw.objects.filter(session=session).values_list("amount_ug", flat=True))
    if not chosen:
        return [f"the {kind.label} the dose was drawn from (the dosing step's stock)"]
    dose = dose_ug(session)
    if dose is not None and sum(chosen) != dose:
        return [
            f"the chosen stock gives {balance.mg_text(sum(chosen))} but the dose is "
            f"{balance.mg_text(dose)}"
        ]
    return []


def draw_at_signing(actor: Actor, session: Session) -> list[LedgerEntry]:
    """Draw each chosen amount from its container, in the signing transaction
    (``treatments.hooks.on_session_signed``). A choice already drawn is never drawn again, so a
    retried signature draws once; an expired or quarantined container refuses the signature."""
    if stocked(session) is None:
        return []
    pending = list(
        SessionDraw.objects.select_for_update()
        .filter(session=session, entry__isnull=True)
        .select_related("container")
        .order_by("chosen_at")
    )
    if not pending:
        return []
    missing = signing_missing(session)
    if missing:
        raise Conflict("Cannot sign yet. Missing: " + "; ".join(missing) + ".", code="incomplete")
    today = actor.clinic.today()
    entries = []
    for draw in pending:
        container = Container.objects.get(pk=draw.container_id)
        problem = _usable_problem(container, today)
        if problem:
            raise Conflict(
                f"Cannot sign: {problem}. Choose another container at the dosing step.",
                code="container_unusable",
            )
        entry = services.administer(
            actor,
            container,
            session.patient,
            Decimal(draw.amount_ug) / balance.UG_PER_MG,
            session=session,
        )
        SessionDraw.objects.filter(pk=draw.pk, entry__isnull=True).update(entry=entry)
        entries.append(entry)
    return entries


def session_lots(session: Session) -> list[str]:
    """The lots the session's dose came from, for the REMS form (``hooks.on_session_lots``)."""
    lots = []
    for lot in (
        SessionDraw.objects.filter(session=session)
        .order_by("chosen_at")
        .values_list("container__lot", flat=True)
    ):
        if lot not in lots:
            lots.append(lot)
    return lots


def _wastes(session: Session) -> list[LedgerEntry]:
    wastes = list(
        LedgerEntry.objects.filter(session=session, kind=EntryKind.WASTE)
        .select_related("container", "witness", "actor")
        .order_by("seq")
    )
    for waste in wastes:
        waste.witnessed = services.witnessed_at(waste)
        waste.amount_text = balance.mg_text(-waste.amount_ug)
    return wastes


def choosable(session: Session, today) -> list[Container]:
    """Containers the dosing step may offer: this substance and form, in date, not
    quarantined, with stock left, not labelled for another patient; soonest expiry first."""
    kind = stocked(session)
    rows = Container.objects.filter(
        clinic_id=session.clinic_id,
        substance=kind.substance,
        form=kind.form,
        quarantined=False,
        expires_on__gte=today,
        balance_ug__gt=0,
    )
    chosen = SessionDraw.objects.filter(session=session).values("container_id")
    found = []
    for container in rows.exclude(pk__in=chosen).order_by("expires_on", "lot", "number")[:60]:
        if container.patient_id is not None and container.patient_id != session.patient_id:
            continue
        container.remaining_text = balance.mg_text(container.balance_ug)
        found.append(container)
    return found


def waste_problem(session: Session, today) -> str | None:
    """Why the session's remainder cannot be wasted against it now, or None. A vial's or
    bottle's remainder is wasted right after dosing [R69]: while the session is open, or on its
    day once signed; a difference found later is a count's discrepancy, explained there."""
    if session.status not in (SessionStatus.IN_PROGRESS, SessionStatus.SIGNED):
        return "Waste is recorded against a session that has begun."
    if session.status == SessionStatus.SIGNED and session.planned_date < today:
        return (
            f"The remainder of a session is wasted on its day ({session.planned_date:%b %-d}). "
            "A difference found later is recorded at a count, with its reason."
        )
    return None


def record_session_waste(
    actor: Actor,
    session: Session,
    container: Container | None,
    amount_mg,
    method: str,
    witness,
) -> LedgerEntry:
    """The remainder of one of the session's containers wasted on the session's day, naming the
    witness (``services.record_waste`` keeps the ledger and its rules)."""
    if (
        container is None
        or not SessionDraw.objects.filter(session=session, container=container).exists()
    ):
        raise InputError("container", "choose one of the session's containers")
    problem = waste_problem(session, actor.clinic.today())
    if problem:
        raise Conflict(problem, code="waste_not_on_session_day")
    return services.record_waste(
        actor, container, amount_mg, method, witness, patient=session.patient, session=session
    )


def session_part(actor: Actor, session: Session) -> dict | None:
    """The dosing step's stock on the session's page (``treatments.hooks.on_session_page``)."""
    kind = stocked(session)
    if kind is None or not actor.can(Perm.CONTROLLED_READ):
        return None
    if session.status in (SessionStatus.PLANNED, SessionStatus.BOOKED) or session.is_undelivered:
        return None
    chosen = draws(session)
    if not chosen and not keeps_stock(session):
        return None
    today = actor.clinic.today()
    for draw in chosen:
        draw.amount_text = balance.mg_text(draw.amount_ug)
        draw.problem = None if draw.entry_id else _usable_problem(draw.container, today)
    can_change = actor.can(Perm.CONTROLLED_CHANGE)
    can_choose = can_change and session.status == SessionStatus.IN_PROGRESS
    dose = dose_ug(session)
    witnesses = []
    if can_change:
        witnesses = [
            m.user
            for m in Membership.objects.filter(
                clinic=actor.clinic,
                is_active=True,
                user__is_active=True,
                role__in=services.WITNESS_ROLES,
            )
            .exclude(user=actor.user)
            .select_related("user")
            .order_by("user__last_name", "user__first_name")
        ]
    return {
        "template": "controlled/includes/session_stock.html",
        "kind": kind,
        "draws": chosen,
        "dose_text": balance.mg_text(dose) if dose is not None else "",
        "chosen_text": balance.mg_text(sum(d.amount_ug for d in chosen)),
        "is_device": kind.form == DosageForm.NASAL_DEVICE,
        "choosable": choosable(session, today) if can_choose else [],
        "can_choose": can_choose,
        # Spravato devices are single-use and drawn whole [R130]: nothing of theirs is wasted
        # here. A vial's or bottle's remainder is, right after dosing [R69].
        "can_waste": can_change
        and kind.form != DosageForm.NASAL_DEVICE
        and waste_problem(session, today) is None,
        "wastable": [d for d in chosen if d.container.balance_ug > 0],
        "waste_method": WASTE_METHODS.get(kind.form, ""),
        "witnesses": witnesses,
        "witness_required": services.witness_required(actor.clinic),
        "wastes": _wastes(session),
        "choose_url": reverse("controlled_session_choose", args=[session.id]),
        "waste_url": reverse("controlled_session_waste", args=[session.id]),
        "witness_url": reverse("controlled_witness"),
        "user_id": actor.user.pk,
    }
