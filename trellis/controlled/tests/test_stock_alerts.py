"""A stock alert (no patient) reads like any other safety alert; a count discrepancy is closed
only by a prescriber, with an explanation."""

from django.core.exceptions import PermissionDenied

from trellis.controlled import services
from trellis.controlled.tests.helpers import vial
from trellis.safety import services as safety
from trellis.safety.models import AlertStatus, SafetyAlert
from trellis.testing import TrellisTestCase, actor_for

RULE = "A count discrepancy is resolved only by a prescriber, with an explanation"


class StockAlertPageTests(TrellisTestCase):
    def test_a_prescriber_reads_and_acknowledges_a_count_discrepancy(self) -> None:
        nurse = actor_for(self.nurse, self.clinic_a)
        container = vial(nurse, lot="K7731")
        alert = services.record_count(nurse, container, 495).alert
        self.sign_in(self.prescriber)
        queue = self.client.get("/alerts/")
        self.assertContains(queue, "Clinic stock")
        self.assertContains(queue, "Controlled-substance count discrepancy")
        page = self.client.get(f"/alerts/{alert.pk}/")
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "not a patient")
        self.assertContains(page, "Count of Ketamine lot K7731 #1 by Nurse")
        # What was done for a patient is not asked of an alert about stock.
        self.assertNotContains(page, "Spoke with the patient")
        response = self.client.post(
            f"/alerts/{alert.pk}/acknowledge/",
            {"note": "Recounted with the charge nurse; vial overfill, adjustment to follow."},
        )
        self.assertRedirects(response, "/alerts/", fetch_redirect_response=False)
        self.assertEqual(SafetyAlert.objects.get(pk=alert.pk).status, AlertStatus.ACKNOWLEDGED)

    def test_another_clinic_does_not_see_it(self) -> None:
        alert = services.record_count(
            actor_for(self.nurse, self.clinic_a), vial(actor_for(self.nurse, self.clinic_a)), 1
        ).alert
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(f"/alerts/{alert.pk}/").status_code, 404)


class DiscrepancyClosingTests(TrellisTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.nurse_actor = actor_for(cls.nurse, cls.clinic_a)

    def setUp(self) -> None:
        self.alert = services.record_count(self.nurse_actor, vial(self.nurse_actor), 495).alert

    def test_a_nurse_sees_it_with_the_rule_but_is_refused_closing_it(self) -> None:
        self.sign_in(self.nurse)
        page = self.client.get(f"/alerts/{self.alert.pk}/")
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, RULE)
        self.assertNotContains(page, f"/alerts/{self.alert.pk}/acknowledge/")
        response = self.client.post(
            f"/alerts/{self.alert.pk}/acknowledge/", {"note": "Recounted, all fine."}
        )
        self.assertContains(response, RULE, status_code=403)
        self.assertEqual(SafetyAlert.objects.get(pk=self.alert.pk).status, AlertStatus.OPEN)

    def test_the_service_refuses_every_role_but_a_prescriber_naming_the_rule(self) -> None:
        for user in (self.nurse, self.therapist):
            with self.subTest(user.username), self.assertRaises(PermissionDenied) as refused:
                safety.acknowledge_alert(actor_for(user, self.clinic_a), self.alert, "Recounted")
            self.assertEqual(str(refused.exception), RULE)
        self.assertEqual(SafetyAlert.objects.get(pk=self.alert.pk).status, AlertStatus.OPEN)

    def test_the_api_refuses_a_nurse_with_the_rule(self) -> None:
        from trellis.accounts.models import ApiToken

        row, token = ApiToken.new(self.nurse, self.clinic_a)
        row.save()
        response = self.client.post(
            f"/api/v1/alerts/{self.alert.pk}/acknowledge",
            data={"note": "Recounted"},
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(response.json()["detail"], RULE)

    def test_a_prescriber_must_write_an_explanation(self) -> None:
        self.sign_in(self.prescriber)
        page = self.client.get(f"/alerts/{self.alert.pk}/")
        self.assertContains(page, "Explanation")
        response = self.client.post(f"/alerts/{self.alert.pk}/acknowledge/", {"note": "  "})
        self.assertContains(response, "Explanation: is required: explain the difference")
        self.assertEqual(SafetyAlert.objects.get(pk=self.alert.pk).status, AlertStatus.OPEN)
        response = self.client.post(
            f"/alerts/{self.alert.pk}/acknowledge/",
            {"note": "Overfill drawn short; adjustment of -5 mg recorded."},
        )
        self.assertRedirects(response, "/alerts/", fetch_redirect_response=False)
        alert = SafetyAlert.objects.get(pk=self.alert.pk)
        self.assertEqual(
            (alert.status, alert.acknowledged_by), (AlertStatus.ACKNOWLEDGED, self.prescriber)
        )
