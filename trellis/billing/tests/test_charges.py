"""Charges written at signing: one line per code from the coding rules, with units, place of
service, rendering and billing NPI and the problem list's diagnoses; exactly once, even when
signing is retried; corrected only by a credit and a new line."""

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import DatabaseError, IntegrityError, connection, transaction

from trellis.accounts.models import Clinic, User
from trellis.billing import api, services
from trellis.billing.models import Charge, Fee
from trellis.controlled import session_stock
from trellis.controlled.tests.helpers import receive, vial
from trellis.lib.errors import Conflict, InputError
from trellis.testing import actor_for
from trellis.treatments import hooks, sessions
from trellis.treatments.models import MotorThreshold, Session, SessionStatus, TmsRecord
from trellis.treatments.tests.test_sessions import SessionTestCase

PRESCRIBER_NPI = "1234567893"
CLINIC_NPI = "1245319599"


def codes(rows) -> list[tuple[str, int]]:
    return [(row.code, row.units) for row in rows]


class ChargeTestCase(SessionTestCase):
    protocol = "ketamine-iv-induction"

    def setUp(self):
        super().setUp()
        User.objects.filter(pk=self.prescriber.pk).update(npi=PRESCRIBER_NPI, credentials="MD")
        self.prescriber.refresh_from_db()
        Clinic.objects.filter(pk=self.clinic_a.pk).update(
            billing_npi=CLINIC_NPI, tax_id="12-3456789"
        )
        self.clinic_a.refresh_from_db()
        self.patient.clinic.refresh_from_db()
        self.prescriber_actor = actor_for(self.prescriber, self.clinic_a)
        self.desk = actor_for(self.front_desk, self.clinic_a)
        for code, amount in (("96365", "450"), ("96366", "150"), ("J3490", "25"), ("96374", "200")):
            Fee.objects.create(
                clinic=self.clinic_a, code=code, amount=Decimal(amount), updated_by=self.admin
            )

    def at(self, hour, minute=0, day=None):
        return datetime.combine(day or self.day, time(hour, minute), self.tz)

    def document_infusion(self, session=None, start=(9, 5), end=(9, 45)):
        session = Session.objects.get(pk=(session or self.session).pk)
        sessions.save_infusion(
            self.nurse_actor,
            session,
            {
                "weight_kg": Decimal("80"),
                "dose_mg_per_kg": Decimal("0.5"),
                "minutes": 40,
                "vial_mg_per_ml": Decimal("50"),
                "diluent_ml": Decimal("100"),
                "infusion_started_at": self.at(*start),
                "infusion_ended_at": self.at(*end),
                "cadss6": [0] * 6,
                "moaas_lowest": 5,
                "discharge_vitals_in_range": True,
                "discharge_moaas_5": True,
                "escort_present": True,
                "discharged_at": self.at(*end) + timedelta(minutes=40),
            },
        )
        sessions.record_vitals(
            self.nurse_actor,
            session,
            {"bp_systolic": 120, "bp_diastolic": 80},
            taken_at=self.at(9, 10),
        )
        return Session.objects.get(pk=session.pk)


class SigningWritesChargesTests(ChargeTestCase):
    def test_a_signed_iv_session_is_charged_from_its_documentation(self):
        services.add_diagnosis(self.prescriber_actor, self.patient, "F33.2")
        services.add_diagnosis(self.prescriber_actor, self.patient, "F41.1")
        self.begin()
        session = self.document_infusion(start=(9, 0), end=(10, 31))  # 91 minutes
        sessions.sign_session(self.prescriber_actor, session)
        rows = list(Charge.objects.filter(session=session).order_by("line"))
        self.assertEqual(codes(rows), [("96365", 1), ("96366", 1), ("J3490", 1)])
        self.assertEqual([r.amount for r in rows], [Decimal("450"), Decimal("150"), Decimal("25")])
        first = rows[0]
        self.assertEqual(first.place_of_service, "11")
        self.assertEqual(first.service_date, self.day)
        self.assertEqual(first.diagnosis_codes, ["F33.2", "F41.1"])
        self.assertEqual(first.pointers, "AB")
        self.assertEqual(
            (first.rendering_provider, first.rendering_npi), (self.prescriber, PRESCRIBER_NPI)
        )
        self.assertEqual(first.billing_npi, CLINIC_NPI)

    def test_signing_twice_or_capturing_again_writes_no_second_set(self):
        self.begin()
        session = self.document_infusion()
        sessions.sign_session(self.prescriber_actor, session)
        self.assertEqual(
            codes(Charge.objects.filter(session=session)), [("96365", 1), ("J3490", 1)]
        )
        with self.assertRaises(Conflict):
            sessions.sign_session(self.prescriber_actor, Session.objects.get(pk=session.pk))
        again = services.capture_session(self.prescriber_actor, Session.objects.get(pk=session.pk))
        self.assertEqual(len(again), 2)
        self.assertEqual(Charge.objects.filter(session=session).count(), 2)

    def test_a_signing_that_fails_after_the_charges_leaves_none_and_a_retry_writes_them_once(self):
        self.begin()
        session = self.document_infusion()

        def fails(actor, signed):
            raise RuntimeError("the stock could not be drawn")

        hooks.on_session_signed(fails)
        try:
            with self.assertRaises(RuntimeError):
                sessions.sign_session(self.prescriber_actor, session)
        finally:
            hooks._SESSION_SIGNED.remove(fails)
        self.assertFalse(Charge.objects.exists())
        session = Session.objects.get(pk=session.pk)
        self.assertFalse(session.is_signed)
        sessions.sign_session(self.prescriber_actor, session)
        self.assertEqual(Charge.objects.filter(session=session).count(), 2)

    def test_the_database_refuses_a_second_line_of_the_same_signing(self):
        self.begin()
        session = self.document_infusion()
        sessions.sign_session(self.prescriber_actor, session)
        line = Charge.objects.filter(session=session).order_by("line").first()
        duplicate = Charge(
            **{
                f.attname: getattr(line, f.attname)
                for f in Charge._meta.concrete_fields
                if f.attname != "id"
            }
        )
        with self.assertRaises(IntegrityError), transaction.atomic():
            duplicate.save()

    def test_a_charge_is_never_edited_or_deleted(self):
        self.begin()
        sessions.sign_session(self.prescriber_actor, self.document_infusion())
        line = Charge.objects.first()
        line.units = 3
        with self.assertRaises(TypeError):
            line.save()
        with self.assertRaises(TypeError):
            line.delete()
        with self.assertRaises(TypeError):
            Charge.objects.update(units=2)

    def test_the_database_refuses_to_change_or_delete_a_charge(self):
        self.begin()
        sessions.sign_session(self.prescriber_actor, self.document_infusion())
        for sql in ("UPDATE billing_charge SET units = 9", "DELETE FROM billing_charge"):
            with (
                self.subTest(sql=sql),
                self.assertRaises(DatabaseError),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(sql)
        self.assertEqual(Charge.objects.filter(units=1).count(), 2)

    def test_a_missing_fee_is_charged_at_zero_and_flagged(self):
        Fee.objects.filter(code="J3490").delete()
        self.begin()
        sessions.sign_session(self.prescriber_actor, self.document_infusion())
        drug = Charge.objects.get(code="J3490")
        self.assertEqual((drug.amount, drug.fee_missing), (Decimal("0.00"), True))


class CaptureCase(ChargeTestCase):
    def signed(self, session=None):
        session = session or self.session
        Session.objects.filter(pk=session.pk).update(
            status=SessionStatus.SIGNED, signed_at=self.at(11), signed_by=self.prescriber
        )
        return Session.objects.select_related("course", "clinic", "patient").get(pk=session.pk)

    def capture(self, session=None):
        return codes(services.capture_session(self.prescriber_actor, self.signed(session)))

    def coded(self, session=None):
        """The lines signing would write, without writing them (charges are never deleted)."""
        return codes(services.session_codes(self.signed(session)))


class InfusionCodesTests(CaptureCase):
    def test_minutes_choose_the_infusion_codes(self):
        cases = [
            (15, [("96374", 1), ("J3490", 1)]),
            (16, [("96365", 1), ("J3490", 1)]),
            (90, [("96365", 1), ("J3490", 1)]),
            (91, [("96365", 1), ("96366", 1), ("J3490", 1)]),
            (151, [("96365", 1), ("96366", 2), ("J3490", 1)]),
        ]
        self.begin()
        for minutes, expected in cases:
            with self.subTest(minutes=minutes):
                record = Session.objects.get(pk=self.session.pk).infusion
                record.infusion_started_at = self.at(9)
                record.infusion_ended_at = self.at(9) + timedelta(minutes=minutes)
                record.save()
                self.assertEqual(self.coded(), expected)
        self.assertEqual(self.capture(), expected)  # the last case, written


class EsketamineCodesTests(CaptureCase):
    protocol = "esketamine-trd"

    def test_payer_setting_and_dose_choose_g_codes_or_j0013_and_a_visit(self):
        cases = [
            (1, 56, [("G2082", 1)]),
            (1, 84, [("G2083", 1)]),
            (2, 56, [("99213", 1), ("J0013", 56)]),
            (3, 84, [("99213", 1), ("J0013", 84)]),
        ]
        self.begin()
        for payer, dose, expected in cases:
            with self.subTest(payer=payer, dose=dose):
                Clinic.objects.filter(pk=self.clinic_a.pk).update(
                    settings={"billing_default_payer": payer}
                )
                record = Session.objects.get(pk=self.session.pk).esketamine
                record.dose_mg = dose
                record.save()
                self.assertEqual(self.coded(), expected)


class TmsCodesTests(CaptureCase):
    protocol = "tms-10hz"

    def test_first_later_and_remeasured_sessions(self):
        first, second, third = list(self.course.sessions.order_by("number")[:3])
        self.begin()
        self.assertEqual(self.capture(first), [("90867", 1)])
        for session in (second, third):
            Session.objects.filter(pk=session.pk).update(planned_date=self.day)
            TmsRecord.objects.get_or_create(session=session)
        self.assertEqual(self.capture(second), [("90868", 1)])
        threshold = MotorThreshold.objects.create(
            clinic=self.clinic_a,
            patient=self.patient,
            measured_on=self.day,
            percent_output=55,
            method="visual",
            measured_by=self.tms,
        )
        TmsRecord.objects.update_or_create(session=third, defaults={"motor_threshold": threshold})
        self.assertEqual(self.capture(third), [("90869", 1)])


class CorrectionTests(ChargeTestCase):
    def setUp(self):
        super().setUp()
        self.begin()
        sessions.sign_session(self.prescriber_actor, self.document_infusion())
        self.drug = Charge.objects.get(code="J3490")

    def test_a_correction_is_a_credit_naming_the_original_and_a_new_line(self):
        credit, new = services.correct_charge(
            self.desk, self.drug, reason="Two vials drawn", units=2, modifiers="jw"
        )
        self.assertEqual((credit.amount, credit.credits), (Decimal("-25.00"), self.drug))
        self.assertEqual(
            (new.code, new.units, new.modifiers, new.amount), ("J3490", 2, "JW", Decimal("50.00"))
        )
        self.drug.refresh_from_db()
        self.assertEqual((self.drug.units, self.drug.amount), (1, Decimal("25.00")))
        self.assertEqual(services.owing_charges(self.patient)[-1].owing, Decimal("50.00"))
        with self.assertRaises(Conflict):
            services.correct_charge(self.desk, self.drug, reason="again")
        with self.assertRaises(Conflict):
            services.correct_charge(self.desk, credit, reason="credit of a credit")

    def test_zero_units_only_credits(self):
        _credit, new = services.correct_charge(self.desk, self.drug, reason="Not given", units=0)
        self.assertIsNone(new)
        self.assertEqual(sum(c.amount for c in Charge.objects.filter(code="J3490")), 0)

    def test_bad_corrections_are_named_and_write_nothing(self):
        for kwargs, field in (
            ({"reason": ""}, "reason"),
            ({"reason": "x", "modifiers": "25 59 76 77 91"}, "modifiers"),
            ({"reason": "x", "modifiers": "2"}, "modifiers"),
            ({"reason": "x", "code": "99999"}, "code"),
            ({"reason": "x", "units": -1}, "units"),
        ):
            with self.subTest(kwargs=kwargs), self.assertRaises(InputError) as caught:
                services.correct_charge(self.desk, self.drug, **kwargs)
            self.assertEqual(caught.exception.field, field)
        self.assertEqual(Charge.objects.count(), 2)

    def test_a_paid_charge_is_not_credited(self):
        services.record_payment(self.desk, self.patient, method="cash", amount="475")
        with self.assertRaises(Conflict):
            services.correct_charge(self.desk, self.drug, reason="late")

    def test_only_the_front_desk_and_administrator_correct(self):
        from django.core.exceptions import PermissionDenied

        with self.assertRaises(PermissionDenied):
            services.correct_charge(self.nurse_actor, self.drug, reason="x")


class NoRecordTests(ChargeTestCase):
    def test_a_session_signed_without_its_record_is_not_charged_and_the_audit_says_why(self):
        from trellis.audit.models import AuditEvent

        Session.objects.filter(pk=self.session.pk).update(
            status=SessionStatus.SIGNED, signed_by=self.prescriber
        )
        session = Session.objects.select_related("course", "clinic", "patient").get(
            pk=self.session.pk
        )
        self.assertEqual(services.capture_session(self.prescriber_actor, session), [])
        self.assertFalse(Charge.objects.exists())
        event = AuditEvent.objects.filter(object_id=str(session.pk)).latest("seq")
        self.assertIn("no treatment record", event.detail["not_charged"])


class DrugNdcTests(ChargeTestCase):
    """J3490 carries the NDC of the vial the dose was drawn from, and the milligrams [R127]."""

    def setUp(self):
        super().setUp()
        self.begin()
        self.session = self.document_infusion()  # 80 kg × 0.5 mg/kg = 40 mg

    @property
    def vials(self):
        if not hasattr(self, "_vials"):
            receipt = receive(self.nurse_actor, containers=2, mg=500)
            self._vials = list(receipt.items.order_by("number"))
        return self._vials

    def choose(self, vial, amount_mg=None):
        session_stock.choose(self.nurse_actor, self.session, vial, amount_mg)

    def test_the_drug_line_carries_the_drawn_vials_ndc_in_eleven_digits_and_the_mg(self):
        self.choose(self.vials[0])
        sessions.sign_session(self.prescriber_actor, self.session)
        drug = Charge.objects.get(session=self.session, code="J3490")
        self.assertEqual((drug.ndc, drug.ndc_quantity, drug.ndc_problem), ("00409205310", 40, None))
        self.assertEqual(drug.ndc_line, "N400409205310 ME40")
        self.assertEqual(drug.units, 1)
        self.assertEqual(
            api._charge(drug) | {},
            api._charge(drug)
            | {"ndc": "00409205310", "ndc_quantity_mg": "40", "ndc_missing": None},
        )
        infusion = Charge.objects.get(session=self.session, code="96365")
        self.assertEqual((infusion.ndc, infusion.ndc_line), (None, ""))

    def test_two_vials_of_one_ndc_add_up(self):
        self.choose(self.vials[0], "15")
        self.choose(self.vials[1])
        sessions.sign_session(self.prescriber_actor, self.session)
        drug = Charge.objects.get(session=self.session, code="J3490")
        self.assertEqual(drug.ndc_line, "N400409205310 ME40")

    def test_vials_of_two_ndcs_leave_the_ndc_missing_and_say_why(self):
        other = vial(self.nurse_actor, ndc="42023-113-01", lot="B7")
        self.choose(self.vials[0], "15")
        self.choose(other)
        sessions.sign_session(self.prescriber_actor, self.session)
        drug = Charge.objects.get(session=self.session, code="J3490")
        self.assertIsNone(drug.ndc)
        self.assertEqual(drug.ndc_quantity, 40)
        self.assertIn("2 NDCs", drug.ndc_problem)

    def test_without_a_drawn_vial_no_ndc_and_the_account_page_says_it_is_missing(self):
        # A clinic that keeps no ketamine on the ledger signs without choosing a vial.
        sessions.sign_session(self.prescriber_actor, self.session)
        drug = Charge.objects.get(session=self.session, code="J3490")
        self.assertEqual((drug.ndc, drug.ndc_line), (None, ""))
        self.assertIn("no container", drug.ndc_problem)
        self.sign_in(self.front_desk)
        page = self.client.get(f"/billing/patients/{self.patient.id}/").content.decode()
        self.assertIn("NDC missing", page)
        self.assertIn("no container of the ledger was drawn for the dose", page)

    def test_a_corrected_drug_line_keeps_its_ndc(self):
        self.choose(self.vials[0])
        sessions.sign_session(self.prescriber_actor, self.session)
        drug = Charge.objects.get(session=self.session, code="J3490")
        credit, new = services.correct_charge(self.desk, drug, reason="Modifier", modifiers="JW")
        self.assertEqual((credit.ndc, new.ndc, new.ndc_quantity), (drug.ndc, drug.ndc, 40))
