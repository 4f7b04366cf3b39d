"""The stock page: what is on hand at this clinic, what expires soon."""

from datetime import timedelta

from django.db.models import F

from trellis.controlled.models import Container
from trellis.controlled.tests.helpers import receive, vial
from trellis.testing import TrellisTestCase, actor_for


class StockPageTests(TrellisTestCase):
    def test_a_nurse_sees_this_clinics_stock_with_what_expires_soon_marked(self) -> None:
        nurse = actor_for(self.nurse, self.clinic_a)
        receive(nurse, lot="FRESH1", containers=2)
        soon = vial(nurse, lot="SOON22", expires_in_days=10)
        vial(actor_for(self.prescriber_b, self.clinic_b), lot="OTHERCLINIC")
        empty = vial(nurse, lot="EMPTY9", mg=5)
        Container.objects.filter(pk=empty.pk).update(balance_ug=0, wasted_ug=F("received_ug"))
        self.sign_in(self.nurse)
        response = self.client.get("/controlled/")
        self.assertEqual(response.status_code, 200)
        page = response.content.decode()
        # One row for the lot, one for each of its two vials.
        self.assertEqual(page.count("FRESH1"), 3)
        self.assertContains(response, "2 vials")
        self.assertIn("SOON22", page)
        self.assertNotIn("OTHERCLINIC", page)
        self.assertNotIn("EMPTY9", page)
        self.assertContains(response, "1 expiring within 30 days")
        self.assertContains(response, "Expires soon", count=2)  # its lot and its vial
        self.assertEqual(response.context["containers"][0].pk, soon.pk)
        self.assertContains(response, "1,500 mg on hand")

    def test_expired_and_quarantined_containers_say_so(self) -> None:
        nurse = actor_for(self.nurse, self.clinic_a)
        old = vial(nurse, lot="OLD1")
        bad = vial(nurse, lot="BAD1")
        Container.objects.filter(pk=old.pk).update(
            expires_on=self.clinic_a.today() - timedelta(days=1)
        )
        Container.objects.filter(pk=bad.pk).update(quarantined=True, quarantine_reason="cracked")
        self.sign_in(self.nurse)
        response = self.client.get("/controlled/?substance=ketamine")
        self.assertContains(response, "Expired")
        self.assertContains(response, "Quarantined")
        self.assertContains(response, "cracked")

    def test_roles_without_the_ledger_are_refused(self) -> None:
        for user in (self.front_desk, self.therapist, self.tms):
            self.client.logout()
            self.sign_in(user)
            with self.subTest(user.username):
                self.assertEqual(self.client.get("/controlled/").status_code, 403)

    def test_the_nav_shows_stock_to_those_who_may_read_it(self) -> None:
        self.sign_in(self.nurse)
        self.assertContains(self.client.get("/controlled/"), 'href="/controlled/"')
