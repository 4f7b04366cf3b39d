"""The patient's page: one authorisation path, one READ of the patient per page view.

The page's cards (questionnaires, courses, the safety-alert banner) get their data from the
page's view; each role sees the cards its rights allow and the view audits the patient once.
"""

from trellis.audit.models import Action, AuditEvent
from trellis.measures.tests.helpers import PHQ9_ITEM9, MeasuresTestCase
from trellis.measures import services as measures


class PatientPageAuditTests(MeasuresTestCase):
    def setUp(self):
        self.course = self.start_course()
        measures.record_measure(self.nurse_actor, self.patient, "phq9", PHQ9_ITEM9)

    def events_of(self, user):
        self.sign_in(user)
        before = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
        response = self.client.get(f"/patients/{self.patient.id}/")
        self.assertEqual(response.status_code, 200)
        return list(AuditEvent.objects.filter(seq__gt=before))

    def test_one_page_view_writes_one_read_of_the_patient(self):
        for user in (self.prescriber, self.nurse, self.front_desk, self.admin):
            with self.subTest(user=user.username):
                events = self.events_of(user)
                reads = [e for e in events if e.action == Action.READ]
                self.assertEqual(
                    [(e.object_type, e.object_id) for e in reads],
                    [("patients.patient", str(self.patient.id))],
                )
                self.assertEqual(len(events), 1)
