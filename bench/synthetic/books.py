"""A synthetic clinic's books: its appointment book, charges, controlled-substance ledger and
therapy groups, written alongside the treatment history of ``bench.synthetic.synth``.

Per patient, as the sessions are written (``appointments``, ``session_charges``): one
appointment per treatment session on a chair (IV ketamine, esketamine) or a TMS device, first
free at its time, so that no resource and no patient is booked twice at once (the rule of
``scheduling`` migration 0002); a problem-list diagnosis for each treated patient; and each
signed session's charge lines, coded as ``billing.services.session_codes`` codes them
(``billing.coding``), priced from the clinic's fee schedule.

Per clinic, once its patients are done (``finish``), because these rows depend on several
patients at once:

- the controlled-substance ledger, in time order: ketamine vials and Spravato kits received on
  invoices when stock runs out, every signed IV ketamine or esketamine session's dose drawn
  from them (an administration entry and the session's draw), the rest of a multi-dose vial
  wasted 28 days after it was opened or when the next dose does not fit, each waste confirmed
  by a witness. Balances never go below zero, each container's running totals add up, and the
  clinic's chain hashes as ``controlled.services._append`` would (``verify_chain`` passes);
- the therapy groups: a ketamine integration group running a cohort every two weeks in one of
  four rooms, a share of the ketamine and esketamine patients enrolled in the first cohort with
  a place after their course starts, each weekly meeting's room held and a group appointment
  per member, and for the meetings held the attendance, the signed group note with a section
  per attendee, and a 90853 charge per attendee present with the participant count [R103, R104].

Clinic-level rows take their ids from a series after the clinic's last patient
(``_Series``): still ordered, still version 8.
"""

from __future__ import annotations

import json
from decimal import Decimal

from bench.synthetic.bulk import MAX_PATIENT, IdRandom, hyphenated
from trellis.audit import chain
from trellis.billing import coding
from trellis.billing.ndc import eleven_digits
from trellis.controlled.models import CHAIN_FIELDS
from trellis.demo.billing import FEES as DEMO_FEES

# The demo's example self-pay fees, and group psychotherapy's [R118, R120].
FEES = {**DEMO_FEES, "90853": "65"}
DIAGNOSES = (
    ("F33.1", "Major depressive disorder, recurrent, moderate"),
    ("F33.2", "Major depressive disorder, recurrent, severe without psychotic features"),
    ("F32.2", "Major depressive disorder, single episode, severe without psychotic features"),
)

# Ketamine 50 mg/mL, 10 mL multi-dose vials, discarded 28 days after first use.
KETAMINE_NDC = "0409-2053-10"
KETAMINE_NDC_11 = eleven_digits(KETAMINE_NDC)
VIAL_UG = 500_000
VIALS_PER_RECEIPT = 10
VIAL_DAYS = 28
# Spravato: 28 mg devices, in 56 mg kits of 2 and 84 mg kits of 3 [R130].
DEVICE_UG = 28_000
SPRAVATO_NDC = {2: "50458-028-02", 3: "50458-028-03"}
KITS_PER_RECEIPT = 6
SHELF_DAYS = 3 * 365
SUPPLIER = ("Cardinal Health (synthetic)", "7000 Cardinal Place, Dublin, OH 43017", "RC1234563")
WASTE_METHOD = "Drawn up and discarded into a drug disposal container"

GROUP_PROGRAM = "Ketamine integration group"
GROUP_SESSIONS = 8
GROUP_MINUTES = 90
GROUP_START = 18 * 3600  # after the last treatment session of the day ends
GROUP_EVERY_DAYS = 14
GROUP_ROOMS = 4  # a cohort runs 8 weeks: four run at once, each in its own room
GROUP_CAPACITY = 12
GROUP_SHARE = 0.25  # of patients treated with ketamine or esketamine
ATTENDANCE = (("present", 0.8), ("late", 0.05), ("left_early", 0.03), ("absent", 0.12))

_SLOT = 600  # the appointment book's grain here: 10 minutes


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class _Series:
    """Ordered ids for a clinic's own rows: ``IdRandom``'s, numbered after its last patient."""

    def __init__(self, seed: int, clinic: int, after: int) -> None:
        self.seed, self.clinic, self.number = seed, clinic, after + 1
        self._ids = self._next()

    def _next(self) -> IdRandom:
        if self.number > MAX_PATIENT:
            raise OverflowError("too many clinic rows for the id layout: add clinics")
        return IdRandom(self.seed, self.clinic, self.number)

    def uuid(self) -> str:
        try:
            return self._ids.uuid()
        except OverflowError:
            self.number += 1
            self._ids = self._next()
            return self._ids.uuid()

    def random(self) -> float:
        return self._ids.random()


class ClinicBooks:
    """One clinic's books while its patients are generated; ``finish`` writes the rest."""

    def __init__(self, network, ctx, patients: int, seed: int) -> None:
        self.t, self.clock, self.ctx = network.t, network.clock, ctx
        self.now = network.now
        self.ids = _Series(seed, ctx.number, patients)
        self.resources: dict[str, list[str]] = {}  # kind -> ids, in name order
        self.busy: dict[tuple[str, int], list[int]] = {}  # (kind, day) -> each one's slots
        self.doses: list[tuple] = []  # the ledger's administrations, made at ``finish``
        self.members: list[tuple] = []  # patients for the groups
        self.fees = {code: int(Decimal(amount) * 100) for code, amount in FEES.items()}
        self.front_desk = ctx.staff["front_desk"][0][0]
        licensed = ctx.staff["nurse"] + ctx.staff["prescriber"]
        self.licensed = [user for user, _ in licensed]
        self.visit = str(ctx.visit_code)
        self.medicare = ctx.payer_type == coding.PayerType.MEDICARE
        admin = ctx.staff["clinic_admin"][0][0]
        created = self.clock.ts(ctx.opened)
        for code in sorted(FEES):
            self.t["fee"].rows.append((self.ids.uuid(), ctx.id, code, FEES[code], admin, created))

    # -- the appointment book ----------------------------------------------------------------

    def _resource(self, kind: str, index: int) -> str:
        have = self.resources.setdefault(kind, [])
        while len(have) <= index:
            number = len(have) + 1
            name = {"chair": "Chair", "tms_device": "TMS", "room": "Group room"}[kind]
            device = kind == "tms_device"
            rid = self.ids.uuid()
            self.t["resource"].rows.append(
                (rid, self.ctx.id, kind, f"{name} {number}",
                 "Neuronetics" if device else "", "NeuroStar Advanced Therapy" if device else "",
                 "Figure-8" if device else "", {"chair": 0, "tms_device": 20, "room": 40}[kind]
                 + number)
            )  # fmt: skip
            have.append(rid)
        return have[index]

    def _free(self, kind: str, day: int, local: int, minutes: int) -> str:
        """The first resource of ``kind`` free from ``local`` seconds for ``minutes`` on ``day``
        (a new one when all are taken), now taken."""
        first = local // _SLOT
        wanted = ((1 << -(-(local + minutes * 60) // _SLOT) - first) - 1) << first
        taken = self.busy.setdefault((kind, day), [])
        for index, slots in enumerate(taken):
            if not slots & wanted:
                taken[index] = slots | wanted
                return self._resource(kind, index)
        taken.append(wanted)
        return self._resource(kind, len(taken) - 1)

    def appointments(self, patient, r, course, minutes: int, ended_at) -> None:
        """One appointment per session of a course: ``course.booked`` holds (session id, day,
        local seconds, status, started, ended), status ``signed``, ``planned`` or ``cancelled``."""
        clock, tz, ctx = self.clock, self.ctx.tz, self.ctx
        kind = {"iv_ketamine": "iv_ketamine", "esketamine": "esketamine"}.get(
            course.modality, "tms"
        )
        resource_kind = "tms_device" if kind == "tms" else "chair"
        nurse = course.documenter[0]
        created = course.created
        rows = self.t["appointment"].rows
        for sid, day, local, status, started, ended in course.booked:
            if started is None:
                started = clock.utc(tz, day, local)
                ended = started + minutes * 60
            confirmed = checked_in = completed = cancelled = None
            reason = ""
            if status == "cancelled":
                resource = self._resource(resource_kind, 0)
                state = "cancelled"
                cancelled = max(created, min(ended_at, started - 60))
                reason = "Course stopped"
            else:
                resource = self._free(resource_kind, day, local, minutes)
                if status == "signed":
                    state = "completed"
                    confirmed = started - 2 * 86400
                    checked_in = started - 600
                    completed = ended
                elif started - self.now < 2 * 86400 and ids_even(sid):
                    state, confirmed = "confirmed", self.now - 3600
                else:
                    state = "booked"
            rows.append(
                (r.uuid(), ctx.id, patient.id, kind, clock.ts(started),
                 clock.ts(ended), clock.day(day), resource, nurse, sid, state, reason,
                 self.front_desk, clock.ts(min(created, started - 86400)),
                 clock.ts(max(confirmed, created)) if confirmed else None,
                 clock.ts(checked_in) if checked_in else None,
                 clock.ts(completed) if completed else None,
                 clock.ts(cancelled) if cancelled else None, None)
            )  # fmt: skip

    # -- charges -------------------------------------------------------------------------------

    def diagnosis(self, patient, r, at: int) -> None:
        code, label = DIAGNOSES[int(r.random() * len(DIAGNOSES))]
        patient.diagnoses = json.dumps([code])
        self.t["diagnosis"].rows.append(
            (r.uuid(), self.ctx.id, patient.id, code, label, patient.prescriber[0],
             self.clock.ts(at))
        )  # fmt: skip

    def session_charges(self, patient, r, course, session, lines, drug=None) -> None:
        """The lines ``lines`` (code, units) of a signed session, as signing writes them."""
        sid, day, signed = session
        provider = course.signer[0]
        at = self.clock.ts(signed)
        for number, (code, units) in enumerate(lines, start=1):
            fee = self.fees[code]
            carries = drug if code in coding.NDC_CODES else None
            self.t["charge"].rows.append(
                (r.uuid(), self.ctx.id, patient.id, "session", sid, number, sid,
                 self.clock.day(day), "11", code, units, _money(fee), _money(fee * units),
                 patient.diagnoses, None, carries[0] if carries else None,
                 carries[1] if carries else None, provider, provider, at)
            )  # fmt: skip

    def esketamine_lines(self, dose: int) -> list[tuple[str, int]]:
        if self.medicare:
            return [("G2082" if dose <= coding.G2082_MAX_MG else "G2083", 1)]
        return [(self.visit, 1), ("J0013", dose)]

    # -- the ledger, and the groups ------------------------------------------------------------

    def dose(self, signed: int, sid: str, pid: str, modality: str, ug: int, nurse: int, chosen):
        self.doses.append((signed, sid, pid, modality, ug, nurse, chosen))

    def finish(self) -> None:
        _Ledger(self).write()
        self._groups()

    def _groups(self) -> None:
        if not self.members:
            return
        ctx, clock, t, ids = self.ctx, self.clock, self.t, self.ids
        therapist = ctx.staff["therapist"][0][0]
        program = ids.uuid()
        t["program"].rows.append(
            (program, ctx.id, GROUP_PROGRAM, GROUP_SESSIONS, GROUP_MINUTES,
             "Eight weekly sessions for people having ketamine or esketamine treatment.",
             therapist, clock.ts(ctx.opened))
        )  # fmt: skip
        first = ctx.today - ctx.days - 30
        members: dict[int, list[tuple]] = {}
        for start, pid, diagnoses in sorted(self.members):
            k = max(0, -(-(start + 7 - first) // GROUP_EVERY_DAYS))
            while len(members.get(k, ())) >= GROUP_CAPACITY:
                k += 1
            members.setdefault(k, []).append((pid, diagnoses, start))
        for k in sorted(members):
            self._cohort(program, first + k * GROUP_EVERY_DAYS, k, members[k], therapist)

    def _cohort(self, program, start_day, k, members, therapist) -> None:
        ctx, clock, t, ids, r = self.ctx, self.clock, self.t, self.ids, self.ids
        room = self._resource("room", k % GROUP_ROOMS)
        cohort = ids.uuid()
        created = clock.utc(ctx.tz, start_day - 28, 10 * 3600)
        t["cohort"].rows.append(
            (cohort, ctx.id, program, clock.day(start_day), "18:00:00", room, GROUP_CAPACITY,
             therapist, clock.ts(created))
        )  # fmt: skip
        t["facilitator"].rows.append((cohort, therapist))
        enrolments = []
        for pid, diagnoses, course_start in members:
            joined = clock.utc(ctx.tz, min(course_start, start_day - 1), 12 * 3600)
            eid = ids.uuid()
            enrolments.append((eid, pid, diagnoses))
            t["enrolment"].rows.append(
                (eid, ctx.id, cohort, pid, "enrolled", clock.ts(joined), clock.ts(joined),
                 therapist)
            )  # fmt: skip
        for number in range(1, GROUP_SESSIONS + 1):
            day = start_day + 7 * (number - 1)
            start = clock.utc(ctx.tz, day, GROUP_START)
            end = start + GROUP_MINUTES * 60
            held = end < self.now
            meeting, block = ids.uuid(), ids.uuid()
            t["block"].rows.append(
                (block, ctx.id, room, clock.ts(start), clock.ts(end), "group",
                 f"{GROUP_PROGRAM}, session {number}", therapist, clock.ts(created))
            )  # fmt: skip
            t["meeting"].rows.append(
                (meeting, ctx.id, cohort, number, clock.ts(start), clock.ts(end), clock.day(day),
                 block, clock.ts(end + 300) if held else None, therapist if held else None)
            )  # fmt: skip
            statuses = []
            for _enrolment in enrolments:
                roll, status = r.random(), "absent"
                for name, share in ATTENDANCE:
                    roll -= share
                    if roll < 0:
                        status = name
                        break
                statuses.append(status if held else None)
            present = sum(1 for s in statuses if s not in (None, "absent"))
            note = ids.uuid() if held else None
            signed = end + 1800
            if held:
                t["note"].rows.append(
                    (note, ctx.id, meeting, therapist, f"Integration, week {number}",
                     "Psychoeducation; mindfulness practice; sharing of integration goals.",
                     present, "signed", clock.ts(signed), therapist, clock.ts(end + 600))
                )  # fmt: skip
            for (eid, pid, diagnoses), status in zip(enrolments, statuses, strict=True):
                appointment = ids.uuid()
                attended = status not in (None, "absent")
                state = "booked" if not held else "completed" if attended else "no_show"
                t["appointment"].rows.append(
                    (appointment, ctx.id, pid, "group", clock.ts(start), clock.ts(end),
                     clock.day(day), None, therapist, None, state, "", self.front_desk,
                     clock.ts(created), None, clock.ts(start - 300) if attended else None,
                     clock.ts(end) if attended else None, None,
                     clock.ts(end) if state == "no_show" else None)
                )  # fmt: skip
                t["booking"].rows.append((ids.uuid(), ctx.id, meeting, eid, appointment))
                if not held:
                    continue
                attendance = ids.uuid()
                t["attendance"].rows.append(
                    (attendance, ctx.id, meeting, eid, pid, status, therapist, clock.ts(end + 300),
                     "90853" if attended else "", 1 if attended else 0, present)
                )  # fmt: skip
                t["section"].rows.append(
                    (ids.uuid(), ctx.id, note, attendance, pid,
                     "Took part in the discussion." if attended else "Absent.",
                     "Engaged; no concerns." if attended else "")
                )  # fmt: skip
                if attended:
                    fee = self.fees["90853"]
                    t["charge"].rows.append(
                        (ids.uuid(), ctx.id, pid, "group_attendance", attendance, 1, None,
                         clock.day(day), "11", "90853", 1, _money(fee), _money(fee),
                         diagnoses, present, None, None, therapist, therapist, clock.ts(signed))
                    )  # fmt: skip


def ids_even(sid: str) -> bool:
    """A fair coin that needs no generator: the id's last hex digit."""
    return sid[-1] in "02468ace"


class _Ledger:
    """The clinic's controlled-substance ledger, written in time order (see the module)."""

    def __init__(self, books: ClinicBooks) -> None:
        self.books = books
        self.t, self.clock, self.ctx, self.ids = books.t, books.clock, books.ctx, books.ids
        self.clinic = hyphenated(books.ctx.id)
        self.seq, self.prev, self.last = 0, chain.GENESIS, 0
        self.stock: dict[str, list[dict]] = {}  # product -> containers not yet opened
        self.containers: list[dict] = []
        self.vial = None

    def write(self) -> None:
        for signed, sid, pid, modality, ug, nurse, chosen in sorted(self.books.doses):
            at = max(signed, self.last)
            if modality == "iv_ketamine":
                vial = self.vial
                if vial is not None and (
                    vial["balance"] < ug
                    or at - vial["opened"] > VIAL_DAYS * 86400
                    or vial["expires"] < self.clock.local_day(self.ctx.tz, at)
                ):
                    self._waste(vial, at, nurse)
                    vial = None
                if vial is None:
                    vial = self.vial = self._take("ketamine", at, nurse)
                    vial["opened"] = at
                self._administer(vial, ug, at, sid, pid, nurse, chosen)
            else:
                devices = ug // DEVICE_UG
                for _ in range(devices):
                    device = self._take(f"spravato-{devices}", at, nurse)
                    self._administer(device, DEVICE_UG, at, sid, pid, nurse, chosen)
        rows = self.t["container"].rows
        for c in self.containers:
            rows.append(
                (c["id"], self.ctx.id, c["receipt"], c["number"], c["substance"], c["form"],
                 c["lot"], self.clock.day(c["expires"]), c["received"], c["balance"],
                 c["administered"], c["wasted"], c["kit"])
            )  # fmt: skip

    def _take(self, product: str, at: int, nurse: int) -> dict:
        day = self.clock.local_day(self.ctx.tz, at)
        stock = self.stock.setdefault(product, [])
        while stock and stock[0]["expires"] < day:  # unopened past its date: discarded
            self._waste(stock.pop(0), at, nurse, note="Expired before it was opened.")
        if not stock:
            self._receive(product, at, nurse)
        return stock.pop(0)

    def _receive(self, product: str, at: int, nurse: int) -> None:
        clock, ctx = self.clock, self.ctx
        at = self.last = max(self.last, at - 1800)
        day = clock.local_day(ctx.tz, at)
        if product == "ketamine":
            substance, form, ndc, count, amount, kit = (
                "ketamine", "vial", KETAMINE_NDC, VIALS_PER_RECEIPT, VIAL_UG, 0,
            )  # fmt: skip
            volume = "10.00"
        else:
            per_kit = int(product[-1])
            substance, form, ndc, amount, kit = (
                "esketamine", "nasal_device", SPRAVATO_NDC[per_kit], DEVICE_UG, per_kit,
            )  # fmt: skip
            count, volume = KITS_PER_RECEIPT * per_kit, None
        receipt = self.ids.uuid()
        lot = f"{'KT' if substance == 'ketamine' else 'EK'}{day % 100000:05d}"
        expires = day + SHELF_DAYS
        name, address, dea = SUPPLIER
        self.t["receipt"].rows.append(
            (receipt, ctx.id, substance, ndc, form, amount, volume, lot, clock.day(expires),
             count, name, address, dea, f"INV-{day}-{self.seq + 1}", clock.day(day - 2),
             clock.day(day), nurse, clock.ts(at))
        )  # fmt: skip
        stock = self.stock[product]
        for number in range(1, count + 1):
            container = {
                "id": self.ids.uuid(), "receipt": receipt, "number": number,
                "substance": substance, "form": form, "lot": lot, "expires": expires,
                "received": amount, "balance": amount, "administered": 0, "wasted": 0,
                "kit": (number - 1) // kit + 1 if kit else None,
            }  # fmt: skip
            self.containers.append(container)
            stock.append(container)
            self._entry(container, "receipt", amount, at, nurse)

    def _administer(self, container, ug, at, sid, pid, nurse, chosen) -> None:
        container["balance"] -= ug
        container["administered"] += ug
        entry = self._entry(container, "administration", -ug, at, nurse, pid, sid)
        self.t["draw"].rows.append(
            (self.ids.uuid(), self.ctx.id, sid, container["id"], ug, nurse,
             self.clock.ts(chosen), entry)
        )  # fmt: skip

    def _waste(self, container, at, nurse, note: str = "") -> None:
        left = container["balance"]
        if left <= 0:
            return
        witness = next(u for u in self.books.licensed if u != nurse)
        at = self.last = max(self.last, at - 60)
        container["balance"] = 0
        container["wasted"] += left
        waste = self._entry(
            container, "waste", -left, at, nurse, witness=witness, method=WASTE_METHOD, note=note
        )
        self._entry(container, "witness", 0, at, witness, witness=witness, refers_to=waste)

    def _entry(self, container, kind, amount, at, actor, pid=None, sid=None, *, witness=None,
               method="", note="", refers_to=None) -> str:  # fmt: skip
        """Append one entry to the clinic's chain, hashed as ``controlled.services._append``
        hashes it (``created_at`` as an aware datetime's ISO text); its id."""
        self.seq += 1
        self.last = max(self.last, at)
        eid = self.ids.uuid()
        created = self.clock.ts(at)
        fields = {
            "seq": self.seq,
            "clinic_id": self.clinic,
            "container_id": hyphenated(container["id"]),
            "kind": kind,
            "amount_ug": amount,
            "balance_after_ug": container["balance"],
            "counted_ug": None,
            "patient_id": hyphenated(pid) if pid else None,
            "session_id": hyphenated(sid) if sid else None,
            "actor_id": actor,
            "witness_id": witness,
            "method": method,
            "note": note,
            "refers_to_id": hyphenated(refers_to) if refers_to else None,
            "created_at": f"{created[:10]}T{created[11:19]}.000000+00:00",
            "id": hyphenated(eid),
        }
        digest = chain.event_hash(fields, self.prev, CHAIN_FIELDS)
        self.t["ledger"].rows.append(
            (eid, self.seq, self.ctx.id, container["id"], kind, amount, container["balance"],
             pid, sid, actor, witness, method, note, refers_to, created, self.prev, digest)
        )  # fmt: skip
        self.prev = digest
        return eid
