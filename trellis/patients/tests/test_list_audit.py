"""Every list or search page writes exactly one QUERY event, from the selector that runs it.

The event is written in one layer: the function that queries the list (``access`` for patients
and requests, the owning app's selector or service for the others), never the view. A page view
is one event, whatever the page shows, and an API call of the same list is one event too.
"""

from django.core.exceptions import PermissionDenied

from trellis.audit import selectors as audit
from trellis.audit.models import Action, AuditEvent
from trellis.measures import services as measures
from trellis.measures.tests.helpers import PHQ9_ITEM9, MeasuresTestCase
from trellis.patients import access
from trellis.safety import services as alerts
from trellis.testing import actor_for
from trellis.treatments import selectors as courses

LIST_PAGES = [
    ("/patients/", "patients.patient"),
    ("/patients/?q=Lovelace", "patients.patient"),
    ("/requests/", "patients.assessmentrequest"),
    ("/requests/?status=all", "patients.assessmentrequest"),
    ("/alerts/", "safety.safetyalert"),
    ("/measures/due/", "measures.scheduledmeasure"),
    ("/rems/", "treatments.remsform"),
    ("/sessions/today/", "treatments.session"),
    ("/audit/", "audit.auditevent"),
]


class ListAuditTests(MeasuresTestCase):
    def setUp(self):
        self.start_course()
        measures.record_measure(self.nurse_actor, self.patient, "phq9", PHQ9_ITEM9)

    def test_each_list_page_writes_exactly_one_query_event(self):
        for url, object_type in LIST_PAGES:
            with self.subTest(url=url):
                user = self.admin if url == "/audit/" else self.prescriber
                self.sign_in(user)
                before = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True)[0]
                response = self.client.get(url)
                self.assertEqual(response.status_code, 200)
                events = list(AuditEvent.objects.filter(seq__gt=before))
                self.assertEqual(
                    [(e.action, e.object_type, e.username) for e in events],
                    [(Action.QUERY, object_type, user.username)],
                )

    def test_the_selectors_write_the_event_and_the_views_write_none(self):
        """Called directly (as an API endpoint or a view would), each list selector writes its
        one QUERY; the views that show them add nothing (the page test above)."""
        admin = actor_for(self.admin, self.clinic_a)
        calls = [
            (lambda: access.search_patients(self.prescriber_actor, ""), "patients.patient"),
            (
                lambda: access.assessment_requests(self.prescriber_actor, "new"),
                "patients.assessmentrequest",
            ),
            (lambda: alerts.alert_queue(self.prescriber_actor), "safety.safetyalert"),
            (lambda: measures.due_and_overdue(self.prescriber_actor), "measures.scheduledmeasure"),
            (lambda: courses.rems_forms(self.prescriber_actor), "treatments.remsform"),
            (
                lambda: courses.sessions_on(self.prescriber_actor, self.clinic_a.today()),
                "treatments.session",
            ),
            (lambda: list(audit.report_events(admin, {})), "audit.auditevent"),
        ]
        for call, object_type in calls:
            with self.subTest(object_type=object_type):
                before = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True)[0]
                call()
                self.assertEqual(
                    list(
                        AuditEvent.objects.filter(seq__gt=before).values_list(
                            "action", "object_type"
                        )
                    ),
                    [(Action.QUERY, object_type)],
                )

    def test_a_role_without_the_right_gets_no_list_and_no_event(self):
        front = actor_for(self.front_desk, self.clinic_a)
        admin = actor_for(self.admin, self.clinic_a)
        before = AuditEvent.objects.count()
        for call in (
            lambda: alerts.alert_queue(front),
            lambda: audit.report_events(front, {}),
            lambda: courses.sessions_on(admin, self.clinic_a.today()),
        ):
            with self.assertRaises(PermissionDenied):
                call()
        self.assertEqual(AuditEvent.objects.count(), before)

    def test_the_audit_report_shows_the_trail_as_it_stood_when_asked(self):
        admin = actor_for(self.admin, self.clinic_a)
        latest = AuditEvent.objects.filter(clinic=self.clinic_a).order_by("-seq").first()
        self.assertEqual(audit.report_events(admin, {}).first(), latest)
