"""The dose a session gives is drawn from the containers chosen at its dosing step, when the
session is signed: in the signing transaction, exactly once, never from an expired or
quarantined container, and the lot on the session page and the REMS form [R30, R129, R130]."""

from datetime import datetime, time, timedelta
from unittest import mock

from django.core.exceptions import PermissionDenied

from trellis.controlled import session_stock
from trellis.controlled.models import Container, EntryKind, LedgerEntry, SessionDraw
from trellis.controlled.tests.helpers import receive
from trellis.lib.errors import Conflict, InputError
from trellis.testing import actor_for
from trellis.treatments import hooks, sessions
from trellis.treatments.models import (
    EsketamineRecord,
    InfusionRecord,
    RemsForm,
    Session,
    SessionStatus,
)
from trellis.treatments.tests.test_sessions import SessionTestCase

# The note's own checks are covered by the treatments tests; here the ledger's are.
NOTE_COMPLETE = mock.patch("trellis.treatments.sessions._note_missing", return_value=[])


def administrations(session):
    return list(
        LedgerEntry.objects.filter(session=session, kind=EntryKind.ADMINISTRATION).order_by("seq")
    )


class EsketamineDrawTests(SessionTestCase):
    protocol = "esketamine-trd"

    def setUp(self):
        super().setUp()
        self.begin()
        start = datetime.combine(self.day, time(9, 0), self.tz)
        EsketamineRecord.objects.filter(session=self.session).update(
            dose_mg=56, first_device_at=start, monitoring_ended_at=start + timedelta(hours=2)
        )
        # A 56 mg kit: two 28 mg devices [R130].
        receipt = receive(self.nurse_actor, substance="esketamine", containers=2, mg=28, lot="EK7")
        self.devices = list(receipt.items.order_by("number"))

    def sign(self):
        with NOTE_COMPLETE:
            return sessions.sign_session(self.nurse_actor, self.session)

    def test_signing_draws_each_chosen_device_once_and_the_lot_goes_on_the_rems_form(self):
        self.assertEqual([d.kit for d in self.devices], [1, 1])
        for device in self.devices:
            session_stock.choose(self.nurse_actor, self.session, device)
        self.sign()
        entries = administrations(self.session)
        self.assertEqual([e.amount_ug for e in entries], [-28_000, -28_000])
        self.assertEqual({e.patient_id for e in entries}, {self.patient.pk})
        self.assertEqual(
            list(
                Container.objects.filter(receipt=self.devices[0].receipt).values_list(
                    "balance_ug", flat=True
                )
            ),
            [0, 0],
        )
        self.assertEqual(RemsForm.objects.get(session=self.session).fields["lot_numbers"], "EK7")

        # Signing again is refused by the signature itself, and the receiver run again (a
        # retried delivery of the hook) finds nothing left to draw.
        with self.assertRaises(Conflict):
            self.sign()
        self.assertEqual(session_stock.draw_at_signing(self.nurse_actor, self.session), [])
        self.assertEqual(len(administrations(self.session)), 2)

    def test_a_signature_that_fails_later_draws_nothing_and_its_retry_draws_once(self):
        session_stock.choose(self.nurse_actor, self.session, self.devices[0])
        session_stock.choose(self.nurse_actor, self.session, self.devices[1])

        def fails(actor, session):
            raise Conflict("the other receiver refused", code="test")

        # Another app's receiver, registered before or after this one, fails the signature.
        for position in (0, len(hooks._SESSION_SIGNED)):
            hooks._SESSION_SIGNED.insert(position, fails)
            try:
                with self.assertRaises(Conflict):
                    self.sign()
            finally:
                hooks._SESSION_SIGNED.remove(fails)
            self.assertEqual(administrations(self.session), [])
            self.assertFalse(SessionDraw.objects.filter(entry__isnull=False).exists())
            self.session.refresh_from_db()
            self.assertFalse(self.session.is_signed)

        self.sign()
        self.assertEqual(len(administrations(self.session)), 2)
        self.assertEqual(
            SessionDraw.objects.filter(session=self.session, entry__isnull=False).count(), 2
        )

    def test_signing_needs_the_devices_once_the_clinic_keeps_esketamine_on_the_ledger(self):
        with NOTE_COMPLETE:
            self.assertEqual(
                sessions.missing_for_signing(self.session),
                ["the device the dose was drawn from (the dosing step's stock)"],
            )
            session_stock.choose(self.nurse_actor, self.session, self.devices[0])
            self.assertEqual(
                sessions.missing_for_signing(self.session),
                ["the chosen stock gives 28 mg but the dose is 56 mg"],
            )
        with NOTE_COMPLETE, self.assertRaises(sessions.IncompleteRecord):
            sessions.sign_session(self.nurse_actor, self.session)
        self.assertEqual(administrations(self.session), [])

    def test_a_device_labelled_for_another_patient_is_refused(self):
        labelled = receive(
            self.nurse_actor,
            substance="esketamine",
            containers=1,
            mg=28,
            lot="EK8",
            patient=self.other_patient,
        ).created_items[0]
        with self.assertRaises(InputError) as refused:
            session_stock.choose(self.nurse_actor, self.session, labelled)
        self.assertIn("labelled for another patient", refused.exception.message)
        self.assertNotIn(labelled, session_stock.choosable(self.session, self.clinic_a.today()))

    def test_a_ketamine_vial_is_not_a_spravato_device(self):
        vial = receive(self.nurse_actor, mg=500).created_items[0]
        with self.assertRaises(InputError) as refused:
            session_stock.choose(self.nurse_actor, self.session, vial)
        self.assertEqual(refused.exception.field, "container")


class InfusionDrawTests(SessionTestCase):
    protocol = "ketamine-iv-induction"

    def setUp(self):
        super().setUp()
        self.begin()
        InfusionRecord.objects.filter(session=self.session).update(dose_mg="40.00")
        self.vial = receive(self.nurse_actor, mg=500, lot="K100").created_items[0]
        self.prescriber_actor = actor_for(self.prescriber, self.clinic_a)

    def sign(self):
        with NOTE_COMPLETE:
            return sessions.sign_session(self.prescriber_actor, self.session)

    def test_a_vial_gives_the_rest_of_the_dose_unless_told_otherwise(self):
        second = receive(self.nurse_actor, mg=500, lot="K200").created_items[0]
        first = session_stock.choose(self.nurse_actor, self.session, self.vial, "12.5")
        rest = session_stock.choose(self.nurse_actor, self.session, second)
        self.assertEqual((first.amount_ug, rest.amount_ug), (12_500, 27_500))
        self.sign()
        self.assertEqual(
            [(e.container_id, e.amount_ug) for e in administrations(self.session)],
            [(self.vial.pk, -12_500), (second.pk, -27_500)],
        )
        self.vial.refresh_from_db()
        self.assertEqual(self.vial.balance_ug, 487_500)

    def test_an_expired_vial_is_refused_when_chosen(self):
        Container.objects.filter(pk=self.vial.pk).update(
            expires_on=self.clinic_a.today() - timedelta(days=1)
        )
        self.vial.refresh_from_db()
        with self.assertRaises(InputError) as refused:
            session_stock.choose(self.nurse_actor, self.session, self.vial)
        self.assertIn("expired on", refused.exception.message)
        self.assertIn("nothing may be given from it", refused.exception.message)
        self.assertFalse(SessionDraw.objects.exists())

    def test_a_quarantined_vial_is_refused_when_chosen(self):
        self.vial.quarantined = True
        self.vial.quarantine_reason = "cracked cap"
        self.vial.save()
        with self.assertRaises(InputError) as refused:
            session_stock.choose(self.nurse_actor, self.session, self.vial)
        self.assertIn("quarantined (cracked cap)", refused.exception.message)

    def test_a_vial_quarantined_or_expired_after_it_was_chosen_refuses_the_signature(self):
        session_stock.choose(self.nurse_actor, self.session, self.vial)
        Container.objects.filter(pk=self.vial.pk).update(
            quarantined=True, quarantine_reason="recalled lot"
        )
        with self.assertRaises(Conflict) as refused:
            self.sign()
        self.assertIn("quarantined (recalled lot)", refused.exception.message)
        self.assertIn("Choose another container", refused.exception.message)
        self.session.refresh_from_db()
        self.assertFalse(self.session.is_signed)

        Container.objects.filter(pk=self.vial.pk).update(
            quarantined=False, expires_on=self.clinic_a.today() - timedelta(days=1)
        )
        with self.assertRaises(Conflict) as refused:
            self.sign()
        self.assertIn("expired on", refused.exception.message)
        self.assertEqual(administrations(self.session), [])
        self.vial.refresh_from_db()
        self.assertEqual(self.vial.balance_ug, 500_000)

    def test_more_than_the_vial_holds_is_refused(self):
        small = receive(self.nurse_actor, mg=20, lot="K300").created_items[0]
        with self.assertRaises(InputError) as refused:
            session_stock.choose(self.nurse_actor, self.session, small)
        self.assertIn("more than the 20 mg left", refused.exception.message)

    def test_only_staff_who_keep_the_ledger_choose(self):
        with self.assertRaises(PermissionDenied):
            session_stock.choose(actor_for(self.admin, self.clinic_a), self.session, self.vial)

    def test_the_choice_is_fixed_once_signed(self):
        draw = session_stock.choose(self.nurse_actor, self.session, self.vial)
        self.sign()
        with self.assertRaises(Conflict):
            session_stock.unchoose(self.nurse_actor, draw)
        with self.assertRaises(Conflict):
            session_stock.choose(
                self.nurse_actor, self.session, receive(self.nurse_actor).created_items[0]
            )


class SessionPageTests(SessionTestCase):
    protocol = "ketamine-iv-induction"

    def setUp(self):
        super().setUp()
        self.begin()
        InfusionRecord.objects.filter(session=self.session).update(dose_mg="40.00")
        self.vial = receive(self.nurse_actor, mg=500, lot="KPAGE1").created_items[0]
        self.url = f"/sessions/{self.session.id}/"

    def test_the_dosing_step_chooses_the_vial_and_shows_its_lot(self):
        self.sign_in(self.nurse)
        page = self.client.get(self.url)
        self.assertContains(page, "Stock the dose is drawn from")
        self.assertContains(page, "Lot KPAGE1 #1 · 500 mg left")
        self.assertContains(page, "<li>The vial the dose was drawn from", html=False)

        response = self.client.post(
            f"/controlled/sessions/{self.session.id}/choose/", {"container": self.vial.id}
        )
        self.assertRedirects(response, self.url)
        page = self.client.get(self.url)
        self.assertContains(page, "Drawn when signed")
        self.assertContains(page, '<td class="mono">KPAGE1</td>', html=True)
        self.assertNotContains(page, "<li>The vial the dose was drawn from")

    def test_an_expired_vial_is_refused_on_the_page_with_its_reason(self):
        Container.objects.filter(pk=self.vial.pk).update(
            expires_on=self.clinic_a.today() - timedelta(days=1)
        )
        self.sign_in(self.nurse)
        page = self.client.post(
            f"/controlled/sessions/{self.session.id}/choose/",
            {"container": self.vial.id},
            follow=True,
        )
        self.assertContains(page, "Container: lot KPAGE1 #1 expired on")
        self.assertFalse(SessionDraw.objects.exists())

    def test_waste_after_dosing_names_a_witness_who_confirms_with_their_own_sign_in(self):
        session_stock.choose(self.nurse_actor, self.session, self.vial)
        self.sign_in(self.nurse)
        page = self.client.post(
            f"/controlled/sessions/{self.session.id}/waste/",
            {
                "container": self.vial.id,
                "amount_mg": "10",
                "method": "Emptied into a drug-disposal container",
                "witness": self.prescriber.pk,
            },
            follow=True,
        )
        self.assertContains(page, "Waste recorded.")
        self.assertContains(page, "Witness to confirm")
        waste = LedgerEntry.objects.get(kind=EntryKind.WASTE)
        self.assertEqual(
            (waste.session_id, waste.witness_id), (self.session.pk, self.prescriber.pk)
        )

        # The nurse cannot confirm her own waste; the prescriber does, signed in as himself.
        self.client.post(f"/controlled/witness/{waste.id}/")
        self.assertFalse(LedgerEntry.objects.filter(kind=EntryKind.WITNESS).exists())
        self.sign_in(self.prescriber)
        self.assertContains(self.client.get("/controlled/witness/"), "I witnessed this")
        self.client.post(f"/controlled/witness/{waste.id}/")
        confirmation = LedgerEntry.objects.get(kind=EntryKind.WITNESS)
        self.assertEqual(
            (confirmation.refers_to_id, confirmation.actor_id), (waste.pk, self.prescriber.pk)
        )
        self.assertContains(self.client.get(self.url), "Confirmed")

    def waste_without_a_witness(self):
        session_stock.choose(self.nurse_actor, self.session, self.vial)
        self.sign_in(self.nurse)
        return self.client.post(
            f"/controlled/sessions/{self.session.id}/waste/",
            {"container": self.vial.id, "amount_mg": "10", "method": "Sharps", "witness": ""},
            follow=True,
        )

    def test_waste_without_a_witness_is_refused_where_the_clinic_requires_one(self):
        page = self.waste_without_a_witness()
        self.assertContains(page, "Witness: is required: another licensed member of staff")
        self.assertFalse(LedgerEntry.objects.filter(kind=EntryKind.WASTE).exists())

    def test_where_the_clinic_requires_no_witness_waste_is_recorded_saying_so(self):
        self.clinic_a.settings = {"controlled_waste_witness_required": 0}
        self.clinic_a.save()
        page = self.waste_without_a_witness()
        self.assertContains(page, "not required at this clinic")
        self.assertContains(page, "Waste recorded without a witness")
        self.assertContains(page, "no witness (not required by the clinic)")
        waste = LedgerEntry.objects.get(kind=EntryKind.WASTE)
        self.assertIsNone(waste.witness_id)
        self.assertTrue(waste.note.startswith("No witness: this clinic does not require one"))

    def test_a_signed_sessions_remainder_is_not_wasted_against_it_after_its_day(self):
        session_stock.choose(self.nurse_actor, self.session, self.vial)
        Session.objects.filter(pk=self.session.pk).update(
            planned_date=self.clinic_a.today() - timedelta(days=1),
            status=SessionStatus.SIGNED,
            signed_at=self.session.started_at + timedelta(hours=2),
            signed_by=self.nurse,
        )
        self.sign_in(self.nurse)
        self.assertNotContains(self.client.get(self.url), "Record waste")
        page = self.client.post(
            f"/controlled/sessions/{self.session.id}/waste/",
            {
                "container": self.vial.id,
                "amount_mg": "10",
                "method": "Emptied into a drug-disposal container",
                "witness": self.prescriber.pk,
            },
            follow=True,
        )
        self.assertContains(page, "The remainder of a session is wasted on its day")
        self.assertFalse(LedgerEntry.objects.filter(kind=EntryKind.WASTE).exists())


class EsketamineLotTests(SessionTestCase):
    protocol = "esketamine-trd"

    def test_the_chosen_devices_lot_needs_no_typing_in_the_note(self):
        self.begin()
        EsketamineRecord.objects.filter(session=self.session).update(dose_mg=56, lot_numbers="")
        self.assertIn("device lot numbers", sessions.missing_for_signing(self.session))
        for device in receive(
            self.nurse_actor, substance="esketamine", containers=2, mg=28, lot="EK9"
        ).created_items:
            session_stock.choose(self.nurse_actor, self.session, device)
        self.assertNotIn("device lot numbers", sessions.missing_for_signing(self.session))
