"""A stock alert (no patient) reads and is acknowledged like any other safety alert."""

from trellis.controlled import services
from trellis.controlled.tests.helpers import vial
from trellis.safety.models import AlertStatus, SafetyAlert
from trellis.testing import TrellisTestCase, actor_for


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
