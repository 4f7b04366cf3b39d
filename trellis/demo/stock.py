"""Demo controlled-substance stock at Riverside: ketamine vials, Spravato kits and sublingual
troches received on invoices before the first course, the doses of the demo's signed sessions
drawn from them at signing (chosen at the dosing step, as a nurse would), and a closing count.
Through the same services staff use, so the ledger, its chain and the reconciliation hold."""

from datetime import date, timedelta
from decimal import Decimal

from trellis.accounts.access import Actor
from trellis.accounts.models import Clinic
from trellis.controlled import counting, services, session_stock
from trellis.controlled.models import Container, InventoryKind
from trellis.patients.modality import Modality
from trellis.treatments.models import Session

STOCKED_CLINICS = {"riverside"}
SUPPLIER = services.Supplier(
    name="Henry Schein Medical",
    address="135 Duryea Road, Melville, NY 11747",
    dea_number="BH1234563",
)

# (substance, NDC, form, mg per container, ml, lot, containers, days to expiry, invoice)
RECEIPTS = [
    ("ketamine", "0409-2053-10", "vial", 500, 10, "KT24A117", 10, 300, "HS-558201"),
    ("ketamine", "0409-2053-10", "vial", 500, 10, "KT24B031", 4, 21, "HS-558201"),
    # Ten 56 mg kits (NDC -02, two devices each) and fifteen 84 mg kits (-03, three each) [R130].
    ("esketamine", "50458-028-02", "nasal_device", 28, None, "SPV2409M", 20, 240, "HS-558544"),
    ("esketamine", "50458-028-03", "nasal_device", 28, None, "SPV2411K", 45, 240, "HS-558544"),
    ("ketamine", "71923-0100-30", "tablets", 3000, None, "TR100-0925", 3, 180, "HS-559120"),
]


def add_stock(clinic: Clinic, nurse: Actor, today: date) -> int:
    """Receive the demo's stock once; returns how many containers came in."""
    if clinic.slug not in STOCKED_CLINICS or Container.objects.filter(clinic=clinic).exists():
        return 0
    received_on = today - timedelta(days=50)
    count = 0
    for substance, ndc, form, mg, ml, lot, containers, expiry, invoice in RECEIPTS:
        services.receive(
            nurse,
            substance=substance,
            ndc=ndc,
            form=form,
            lot=lot,
            expires_on=today + timedelta(days=expiry),
            containers=containers,
            amount_per_container_mg=mg,
            volume_per_container_ml=ml,
            supplier=SUPPLIER,
            invoice_number=invoice,
            invoice_date=received_on - timedelta(days=2),
            received_on=received_on,
        )
        count += containers
    # The initial inventory, taken when the first stock came in (21 CFR 1304.11 [R67]).
    counting.take_inventory(
        nurse,
        InventoryKind.INITIAL,
        [
            counting.Counted(c, Decimal(c.balance_ug) / 1000)
            for c in Container.objects.filter(clinic=clinic, balance_ug__gt=0)
        ],
        taken_on=received_on,
        time_of_day="close",
        note="Initial inventory on the first delivery",
    )
    return count


def choose_for_dose(session: Session, nurse: Actor) -> None:
    """The dosing step: the vial with enough left (soonest expiry first), a device per 28 mg,
    or the troche bottle. Nothing when the clinic keeps no stock."""
    if session.course.modality not in session_stock.STOCKED or not session_stock.keeps_stock(
        session
    ):
        return
    session = Session.objects.select_related("course", "patient", "clinic").get(pk=session.pk)
    dose = session_stock.dose_ug(session)
    if not dose:
        return
    available = session_stock.choosable(session, session.clinic.today())
    if session.course.modality == Modality.ESKETAMINE:
        for device in available[: dose // session_stock.DEVICE_UG]:
            session_stock.choose(nurse, session, device)
        return
    for container in available:
        if container.balance_ug >= dose:
            session_stock.choose(nurse, session, container)
            return


def closing_count(clinic: Clinic, nurse: Actor) -> None:
    """The evening's count of every container on hand, matching the ledger."""
    if clinic.slug not in STOCKED_CLINICS:
        return
    on_hand = Container.objects.filter(clinic=clinic, balance_ug__gt=0)
    counting.take_inventory(
        nurse,
        InventoryKind.SHIFT,
        [counting.Counted(c, Decimal(c.balance_ug) / 1000) for c in on_hand],
        time_of_day="close",
        note="End-of-day count",
    )
