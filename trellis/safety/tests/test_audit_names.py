"""The audit report names an alert in words, whether its events were written before alerts had
their own app (object type measures.safetyalert) or after (safety.safetyalert)."""

from trellis.audit.models import Action
from trellis.audit.services import record
from trellis.safety.services import raise_alert
from trellis.testing import TrellisTestCase


class AlertNamesInTheAuditReportTests(TrellisTestCase):
    def test_old_and_new_alert_events_both_read_as_a_safety_alert(self):
        alert = raise_alert(None, self.patient, "suicide_item", "high", "Item 9 answered 2")
        record(
            Action.READ,
            user=self.nurse,
            clinic=self.clinic_a,
            patient=self.patient,
            object_type="measures.safetyalert",  # as written before the move
            object_id=str(alert.pk),
        )
        self.sign_in(self.admin)
        page = self.client.get("/audit/")
        self.assertEqual(page.status_code, 200)
        local = alert.created_at.astimezone(self.clinic_a.tzinfo)
        names = {
            row.event.object_type: row.record
            for row in page.context["rows"]
            if row.event.object_id == str(alert.pk)
        }
        expected = f"Safety alert of {local:%b} {local.day}, {local.year}"
        self.assertEqual(
            names, {"safety.safetyalert": expected, "measures.safetyalert": expected}
        )
