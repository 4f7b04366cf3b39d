"""The reconciliation of a busy month adds up to the milligram, and the records for inspection
come out as tables, CSV and PDF, every read audited (21 CFR 1304.22(c) [R66, R62])."""

import csv
import io
import random
from datetime import datetime, time, timedelta
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

from pypdf import PdfReader

from trellis.audit.models import Action, AuditEvent
from trellis.controlled import balance, records, services, session_stock
from trellis.controlled.models import Container, EntryKind, LedgerEntry
from trellis.controlled.tests.helpers import receive
from trellis.patients import services as patient_services
from trellis.patients.tests.test_api import SAFE_ANSWERS, TRD_TRIALS
from trellis.testing import TrellisTestCase, actor_for
from trellis.treatments import services as treatment_services
from trellis.treatments import sessions
from trellis.treatments.models import InfusionRecord, Session, SessionStatus
from trellis.treatments.tests.helpers import antidepressant

UTC = ZoneInfo("UTC")


def at(moment: datetime):
    return mock.patch("django.utils.timezone.now", return_value=moment)


class BusyMonthTests(TrellisTestCase):
    """A month of a busy clinic: 8 infusions and 3 esketamine sessions a day, vials opened
    and their remainders wasted, two adjustments; a few sessions signed through the page's own
    path, the rest recorded through the ledger's services with the same invariants."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.nurse_actor = actor_for(cls.nurse, cls.clinic_a)
        cls.prescriber_actor = actor_for(cls.prescriber, cls.clinic_a)
        today = cls.clinic_a.today()
        cls.first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        cls.last = today.replace(day=1) - timedelta(days=1)
        cls.middle = cls.first + timedelta(days=14)
        rng = random.Random(17)
        cls.expected = {"received": 0, "administered": 0, "wasted": 0, "adjusted": 0}
        cls.balance_at_middle = None

        def moment(day, minute):
            return datetime.combine(day, time(14, 0), UTC) + timedelta(minutes=minute)

        with at(moment(cls.first, 0)):
            vials = list(
                receive(
                    cls.nurse_actor,
                    containers=40,
                    mg=500,
                    lot="KM-NOV",
                    received_on=cls.first,
                    invoice_date=cls.first,
                    expires_in_days=400,
                ).created_items
            )
            devices = list(
                receive(
                    cls.nurse_actor,
                    substance="esketamine",
                    containers=280,
                    mg=28,
                    lot="EK-NOV",
                    received_on=cls.first,
                    invoice_date=cls.first,
                    expires_in_days=400,
                ).created_items
            )
        cls.expected["received"] = 40 * 500_000
        courses = {}
        for patient, protocol in (
            (cls.patient, "ketamine-iv-induction"),
            (cls.other_patient, "esketamine-trd"),
        ):
            screening = patient_services.create_screening(
                cls.prescriber_actor, patient, SAFE_ANSWERS, TRD_TRIALS
            )
            patient_services.sign_screening(cls.prescriber_actor, screening)
            patient_services.record_measurement(
                cls.prescriber_actor, patient, measured_on=today, weight_kg=80
            )
            courses[protocol] = treatment_services.start_course(
                cls.prescriber_actor,
                patient,
                protocol,
                cls.first,
                with_antidepressant=antidepressant(protocol),
            )
        iv_course = courses["ketamine-iv-induction"]
        esk_course = courses["esketamine-trd"]
        planned = []
        days = [cls.first + timedelta(days=n) for n in range((cls.last - cls.first).days + 1)]
        for number, (day, course) in enumerate(
            ((day, course) for day in days for course in [iv_course] * 8 + [esk_course] * 3),
            start=100,
        ):
            planned.append(
                Session(
                    clinic=cls.clinic_a,
                    patient=course.patient,
                    course=course,
                    number=number,
                    planned_date=day,
                    phase="induction",
                    status=SessionStatus.SIGNED,
                    signed_at=moment(day, 0),
                    signed_by=cls.prescriber,
                )
            )
        Session.objects.bulk_create(planned)
        cls.session_count = len(planned)
        vial_iter = iter(vials)
        device_iter = iter(devices)
        vial = next(vial_iter)
        minute = 0
        for session in planned:
            minute += 1
            when = moment(session.planned_date, minute % 600)
            if session.planned_date == cls.middle and cls.balance_at_middle is None:
                cls.balance_at_middle = sum(
                    Container.objects.filter(clinic=cls.clinic_a, substance="ketamine").values_list(
                        "balance_ug", flat=True
                    )
                )
            with at(when):
                if session.course_id == esk_course.pk:
                    for _ in range(rng.choice([2, 3])):
                        services.administer(
                            cls.nurse_actor, next(device_iter), session.patient, 28, session
                        )
                    continue
                dose_ug = rng.randint(300, 600) * 100  # 30–60 mg, to 0.1 mg
                vial.refresh_from_db()
                if vial.balance_ug < dose_ug:
                    # The remainder of the vial is wasted, witnessed; the next one is opened.
                    if vial.balance_ug:
                        cls.expected["wasted"] += vial.balance_ug
                        services.record_waste(
                            cls.nurse_actor,
                            vial,
                            Decimal(vial.balance_ug) / 1000,
                            "Emptied into a drug-disposal container",
                            cls.prescriber,
                            patient=session.patient,
                        )
                    vial = next(vial_iter)
                services.administer(
                    cls.nurse_actor, vial, session.patient, Decimal(dose_ug) / 1000, session
                )
                cls.expected["administered"] += dose_ug
        # Two corrections after counts, each a new entry: −0.5 mg and +0.2 mg.
        with at(moment(cls.last, 700)):
            services.record_adjustment(cls.prescriber_actor, vial, "-0.5", "Spill at the count")
            services.record_adjustment(cls.prescriber_actor, vial, "0.2", "Recount")
        cls.expected["adjusted"] = 300
        # And a few through the session page's own path: chosen at dosing, drawn at signing.
        cls.signed = []
        vial = next(vial_iter)
        with at(moment(cls.last, 800)):
            for session in iv_course.sessions.order_by("number")[:3]:
                Session.objects.filter(pk=session.pk).update(
                    status=SessionStatus.IN_PROGRESS, started_at=moment(cls.last, 800)
                )
                session.refresh_from_db()
                InfusionRecord.objects.create(session=session, dose_mg=Decimal("42.50"))
                session_stock.choose(cls.nurse_actor, session, vial)
                with mock.patch("trellis.treatments.sessions._note_missing", return_value=[]):
                    sessions.sign_session(cls.prescriber_actor, session)
                cls.expected["administered"] += 42_500
                cls.signed.append(session)

    def span(self, start=None):
        return records.Range(start or self.first, self.last)

    def test_a_busy_month_adds_up_to_the_milligram(self):
        self.assertGreater(self.session_count, 300)
        report = records.reconciliation(self.prescriber_actor, "ketamine", self.span())
        self.assertEqual(report.problems, [])
        self.assertTrue(all(line.adds_up for line in report.lines))
        self.assertEqual(report.total("opening"), 0)
        self.assertEqual(report.total("received"), self.expected["received"])
        self.assertEqual(report.total("administered"), self.expected["administered"])
        self.assertEqual(report.total("wasted"), self.expected["wasted"])
        self.assertEqual(report.total("adjusted"), self.expected["adjusted"])
        on_hand = sum(
            Container.objects.filter(clinic=self.clinic_a, substance="ketamine").values_list(
                "balance_ug", flat=True
            )
        )
        self.assertEqual(report.total("closing"), on_hand)
        self.assertEqual(
            on_hand,
            self.expected["received"]
            - self.expected["administered"]
            - self.expected["wasted"]
            - self.expected["adjusted"],
        )
        for line in report.lines:
            self.assertEqual(line.closing, line.container.balance_ug)
        self.assertFalse(services.verify_chain(self.clinic_a).first_break)

        # Esketamine: every device received was either given whole or is still on hand.
        esk = records.reconciliation(self.prescriber_actor, "esketamine", self.span())
        self.assertEqual(esk.problems, [])
        self.assertEqual(esk.total("received"), 280 * 28_000)
        self.assertEqual(
            esk.total("administered") % 28_000, 0, "devices are given whole, 28 mg each"
        )
        self.assertEqual(esk.total("closing"), esk.total("received") - esk.total("administered"))

    def test_the_second_half_opens_with_the_first_halfs_closing_balance(self):
        second = records.reconciliation(
            self.prescriber_actor, "ketamine", self.span(start=self.middle)
        )
        self.assertEqual(second.total("opening"), self.balance_at_middle)
        self.assertEqual(second.total("received"), 0)
        first = records.reconciliation(
            self.prescriber_actor,
            "ketamine",
            records.Range(self.first, self.middle - timedelta(days=1)),
        )
        self.assertEqual(first.total("closing"), self.balance_at_middle)

    def test_signed_sessions_drew_their_doses_once(self):
        for session in self.signed:
            self.assertEqual(
                list(
                    LedgerEntry.objects.filter(
                        session=session, kind=EntryKind.ADMINISTRATION
                    ).values_list("amount_ug", flat=True)
                ),
                [-42_500],
            )

    def test_a_balance_changed_behind_the_ledgers_back_is_named(self):
        vial = Container.objects.filter(
            clinic=self.clinic_a, substance="ketamine", balance_ug__gte=1000
        ).first()
        # Balance and total together (the database refuses a balance that does not add up).
        Container.objects.filter(pk=vial.pk).update(
            balance_ug=vial.balance_ug - 1000, wasted_ug=vial.wasted_ug + 1000
        )
        report = records.reconciliation(self.prescriber_actor, "ketamine", self.span())
        self.assertEqual(len(report.problems), 1)
        self.assertIn(f"lot KM-NOV #{vial.number}", report.problems[0])
        self.assertIn(f"but {balance.mg_text(vial.balance_ug - 1000)} remains", report.problems[0])

    def test_the_reconciliation_page_csv_and_pdf(self):
        self.sign_in(self.admin)
        query = f"substance=ketamine&start={self.first}&end={self.last}"
        page = self.client.get(f"/controlled/reconciliation/?{query}")
        self.assertContains(page, "Every container adds up")
        self.assertContains(page, "KM-NOV")

        response = self.client.get(f"/controlled/reconciliation/?{query}&format=csv")
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        self.assertEqual(
            rows[0][3:9], ["opening", "received", "administered", "wasted", "adjusted", "closing"]
        )
        self.assertEqual(rows[-1][0], "Total")
        self.assertEqual(rows[-1][4], balance.mg_text(self.expected["received"]))
        self.assertEqual(rows[-1][-1], "yes")

        response = self.client.get(f"/controlled/reconciliation/?{query}&format=pdf")
        self.assertEqual(response["Content-Type"], "application/pdf")
        reader = PdfReader(io.BytesIO(response.content))
        first_page = reader.pages[0]
        self.assertGreater(first_page.mediabox.width, first_page.mediabox.height)  # landscape
        text = " ".join(p.extract_text() for p in reader.pages)
        self.assertIn("Reconciliation: Ketamine", text)
        self.assertIn("Every container adds up", text)
        self.assertIn("KM-NOV", text)
        self.assertIn(balance.mg_text(self.expected["administered"]), text)

        reads = AuditEvent.objects.filter(user=self.admin, object_type="controlled.ledgerentry")
        self.assertEqual(
            sorted(reads.values_list("action", flat=True)),
            sorted([Action.QUERY] * 3 + [Action.EXPORT, Action.PRINT]),
        )

    def test_the_administration_log_names_patient_amount_giver_and_lot(self):
        rows = records.administration_log(self.nurse_actor, self.span(start=self.last))
        given = [r for r in rows if r.kind == "Administration"]
        self.assertTrue(given)
        self.assertEqual({r.by for r in given}, {"Nurse", "Prescriber"} & {r.by for r in given})
        self.assertIn("KM-NOV", {r.lot for r in given})
        self.assertTrue(all(r.patient for r in given))
        wasted = [
            r
            for r in records.administration_log(self.nurse_actor, self.span())
            if r.kind == "Waste"
        ]
        self.assertTrue(wasted)
        self.assertTrue(all(r.witness for r in wasted))


class InspectionRecordTests(TrellisTestCase):
    def setUp(self):
        self.nurse_actor = actor_for(self.nurse, self.clinic_a)
        self.vial = receive(self.nurse_actor, mg=500, lot="=1+2").created_items[0]
        services.administer(self.nurse_actor, self.vial, self.patient, 35)
        self.today = self.clinic_a.today()

    def test_each_record_shows_as_a_table_csv_and_pdf(self):
        self.sign_in(self.nurse)
        for report, heading in (
            ("administrations", "Administration and waste log"),
            ("receipts", "Receipt log"),
            ("inventories", "Inventories and counts"),
        ):
            with self.subTest(report=report):
                page = self.client.get(f"/controlled/records/?report={report}")
                self.assertContains(page, heading)
                response = self.client.get(f"/controlled/records/?report={report}&format=csv")
                self.assertEqual(response.status_code, 200)
                response = self.client.get(f"/controlled/records/?report={report}&format=pdf")
                self.assertIn(
                    heading, PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
                )

    def test_csv_cells_that_would_run_as_formulas_are_neutralised(self):
        self.sign_in(self.nurse)
        response = self.client.get("/controlled/records/?report=administrations&format=csv")
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        self.assertEqual(rows[1][5], "'=1+2")
        self.assertEqual(rows[1][7], "Ada Lovelace")
        self.assertEqual(rows[1][9], "35 mg")

    def test_a_lots_history_lists_its_entries_in_ledger_order(self):
        self.sign_in(self.nurse)
        page = self.client.get("/controlled/records/?report=lot&lot==1%2B2")
        self.assertEqual(
            [e.get_kind_display() for e in page.context["rows"]], ["Receipt", "Administration"]
        )
        self.assertContains(page, "465 mg")

    def test_a_backwards_or_too_long_range_is_refused_with_its_rule(self):
        self.sign_in(self.nurse)
        page = self.client.get(
            f"/controlled/records/?start={self.today}&end={self.today - timedelta(days=1)}"
        )
        self.assertContains(page, "Start: must be on or before the end date")
        page = self.client.get(
            f"/controlled/records/?start={self.today - timedelta(days=900)}&end={self.today}"
        )
        self.assertContains(page, "a report covers at most two years")

    def test_front_desk_reads_no_controlled_records(self):
        self.sign_in(self.front_desk)
        self.assertEqual(self.client.get("/controlled/records/").status_code, 403)
        self.assertEqual(self.client.get("/controlled/reconciliation/").status_code, 403)
