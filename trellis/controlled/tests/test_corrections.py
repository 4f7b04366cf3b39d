"""A prescriber corrects a balance, quarantines a container and releases it, on the container's
page reached from the stock page and from a discrepancy alert; nobody else may."""

from trellis.audit.models import AuditEvent
from trellis.controlled import services
from trellis.controlled.models import Container, EntryKind, LedgerEntry
from trellis.controlled.tests.helpers import vial
from trellis.lib.errors import Conflict
from trellis.testing import TrellisTestCase, actor_for


class CorrectionPageTests(TrellisTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.nurse_actor = actor_for(cls.nurse, cls.clinic_a)
        cls.prescriber_actor = actor_for(cls.prescriber, cls.clinic_a)

    def setUp(self) -> None:
        self.container = vial(self.nurse_actor, mg=500, lot="K4410")
        self.url = f"/controlled/containers/{self.container.pk}/"

    def adjust(self, **data):
        body = {
            "step": "adjust",
            "adjust-corrects": "",
            "adjust-amount_mg": "",
            "adjust-reason": "",
        }
        body.update({f"adjust-{k}": v for k, v in data.items()})
        return self.client.post(self.url, body)

    def test_the_stock_page_links_each_container_for_a_prescriber_only(self) -> None:
        self.sign_in(self.prescriber)
        self.assertContains(self.client.get("/controlled/"), self.url)
        self.sign_in(self.nurse)
        self.assertNotContains(self.client.get("/controlled/"), self.url)

    def test_a_prescriber_corrects_a_discrepancy_from_its_alert(self) -> None:
        result = services.record_count(self.nurse_actor, self.container, 497.5)
        self.sign_in(self.prescriber)
        alert_page = self.client.get(f"/alerts/{result.alert.pk}/")
        link = f"{self.url}?corrects={result.entry.pk}&amp;alert={result.alert.pk}"
        self.assertContains(alert_page, link)
        self.assertContains(alert_page, "Correct the balance or quarantine the container")
        page = self.client.get(f"{self.url}?corrects={result.entry.pk}&alert={result.alert.pk}")
        self.assertContains(page, "counted 497.5 mg, the ledger expected 500 mg")
        self.assertContains(page, f'value="{result.entry.pk}" selected')
        response = self.client.post(
            self.url,
            {
                "step": "adjust",
                "alert": str(result.alert.pk),
                "adjust-corrects": str(result.entry.pk),
                "adjust-amount_mg": "−2.5",
                "adjust-reason": "Overfill drawn short on the last dose",
            },
        )
        self.assertRedirects(response, f"/alerts/{result.alert.pk}/", fetch_redirect_response=False)
        entry = LedgerEntry.objects.get(container=self.container, kind=EntryKind.ADJUSTMENT)
        self.assertEqual((entry.amount_ug, entry.refers_to_id), (-2_500, result.entry.pk))
        self.assertEqual(
            (entry.actor, entry.note), (self.prescriber, "Overfill drawn short on the last dose")
        )
        self.container.refresh_from_db()
        self.assertEqual(self.container.balance_ug, 497_500)
        self.assertEqual(services.verify_container(self.container), [])
        self.assertTrue(services.verify_chain(self.clinic_a).ok)
        self.assertTrue(
            AuditEvent.objects.filter(object_type="controlled.ledgerentry", object_id=str(entry.pk))
        )

    def test_a_positive_correction_adds_stock_back(self) -> None:
        count = services.record_count(self.nurse_actor, self.container, 501).entry
        self.sign_in(self.prescriber)
        response = self.adjust(corrects=str(count.pk), amount_mg="1", reason="Overfill")
        self.assertRedirects(response, self.url, fetch_redirect_response=False)
        self.container.refresh_from_db()
        self.assertEqual(self.container.balance_ug, 501_000)

    def test_bad_corrections_name_the_field_and_the_rule(self) -> None:
        count = services.record_count(self.nurse_actor, self.container, 400).entry
        self.sign_in(self.prescriber)
        cases = [
            (
                {"corrects": str(count.pk), "amount_mg": "-600", "reason": "Spill"},
                "Amount (mg): a correction of -600 mg would take the container below zero; "
                "500 mg remains.",
            ),
            (
                {"corrects": str(count.pk), "amount_mg": "99999999", "reason": "Overfill"},
                "Amount (mg): a correction of +99,999,999 mg is more than the container was "
                "received with (500 mg).",
            ),
            (
                {"corrects": str(count.pk), "amount_mg": "-5", "reason": "   "},
                "Reason: say why the balance is corrected.",
            ),
            (
                {"corrects": str(count.pk), "amount_mg": "-5", "reason": "Spill\x07"},
                "Reason must not contain control characters",
            ),
            ({"corrects": "", "amount_mg": "-5", "reason": "Spill"}, "Corrects: choose the"),
            (
                {"corrects": str(count.pk), "amount_mg": "0", "reason": "Spill"},
                "Amount (mg): must be",
            ),
            (
                {"corrects": str(count.pk), "amount_mg": "lots", "reason": "Spill"},
                "Amount (mg): must be",
            ),
        ]
        for data, message in cases:
            with self.subTest(data):
                response = self.adjust(**data)
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, message)
        self.assertFalse(LedgerEntry.objects.filter(kind=EntryKind.ADJUSTMENT).exists())

    def test_a_prescriber_quarantines_and_releases_with_reasons(self) -> None:
        self.sign_in(self.prescriber)
        response = self.client.post(self.url, {"step": "quarantine", "quarantine-reason": ""})
        self.assertContains(response, "Reason: say why the container is set aside.")
        response = self.client.post(
            self.url, {"step": "quarantine", "quarantine-reason": "Seal broken"}
        )
        self.assertRedirects(response, self.url, fetch_redirect_response=False)
        self.container.refresh_from_db()
        self.assertEqual(
            (self.container.quarantined, self.container.quarantine_reason), (True, "Seal broken")
        )
        with self.assertRaises(Conflict):
            services.administer(self.nurse_actor, self.container, self.patient, 5)
        page = self.client.get(self.url)
        self.assertContains(page, "Release from quarantine")
        response = self.client.post(self.url, {"step": "release", "release-reason": "\x00"})
        self.assertContains(response, "Reason must not contain control characters")
        response = self.client.post(
            self.url,
            {"step": "release", "release-reason": "Seal checked by the pharmacist: intact"},
        )
        self.assertRedirects(response, self.url, fetch_redirect_response=False)
        self.container.refresh_from_db()
        self.assertEqual(
            (self.container.quarantined, self.container.quarantine_reason), (False, "")
        )
        services.administer(self.nurse_actor, self.container, self.patient, 5)
        kinds = list(
            LedgerEntry.objects.filter(container=self.container)
            .order_by("seq")
            .values_list("kind", "note")
        )
        self.assertEqual(
            kinds[1:3],
            [("quarantine", "Seal broken"), ("release", "Seal checked by the pharmacist: intact")],
        )
        release = LedgerEntry.objects.get(container=self.container, kind=EntryKind.RELEASE)
        self.assertEqual(release.refers_to.kind, EntryKind.QUARANTINE)
        self.assertTrue(services.verify_chain(self.clinic_a).ok)
        self.assertEqual(services.verify_container(self.container), [])
        released = (
            AuditEvent.objects.filter(
                object_type="controlled.container",
                object_id=str(self.container.pk),
                action="update",
            )
            .order_by("-id")
            .first()
        )
        self.assertEqual(released.detail["was_quarantined_for"], "Seal broken")

    def test_releasing_a_container_in_use_is_a_conflict(self) -> None:
        with self.assertRaises(Conflict) as caught:
            services.release_quarantine(self.prescriber_actor, self.container, "why")
        self.assertEqual(caught.exception.code, "not_quarantined")

    def test_a_nurse_is_refused_the_page_and_every_change(self) -> None:
        count = services.record_count(self.nurse_actor, self.container, 400).entry
        self.sign_in(self.nurse)
        self.assertContains(self.client.get(self.url), "Only a prescriber", status_code=403)
        for body in (
            {
                "step": "adjust",
                "adjust-corrects": str(count.pk),
                "adjust-amount_mg": "-5",
                "adjust-reason": "Spill",
            },
            {"step": "quarantine", "quarantine-reason": "Seal broken"},
        ):
            with self.subTest(body["step"]):
                self.assertEqual(self.client.post(self.url, body).status_code, 403)
        self.container.refresh_from_db()
        self.assertEqual((self.container.balance_ug, self.container.quarantined), (500_000, False))

    def test_another_clinics_container_does_not_exist_for_you(self) -> None:
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(self.url).status_code, 404)
        response = self.client.post(self.url, {"step": "quarantine", "quarantine-reason": "x"})
        self.assertEqual(response.status_code, 404)
        self.assertFalse(Container.objects.get(pk=self.container.pk).quarantined)

    def test_the_page_shows_the_containers_entries(self) -> None:
        services.administer(self.nurse_actor, self.container, self.patient, 25)
        self.sign_in(self.prescriber)
        page = self.client.get(self.url)
        self.assertContains(page, "Administration")
        self.assertContains(page, "475 mg")
