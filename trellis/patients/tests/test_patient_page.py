"""The patient's page: one authorisation path, one READ of the patient per page view.

The page's cards (questionnaires, courses, the safety-alert banner) get their data from the
page's view; each role sees the cards its rights allow and the view audits the patient once.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template import Context, Template

from trellis.audit.models import Action, AuditEvent
from trellis.measures import services as measures
from trellis.measures.tests.helpers import PHQ9_ITEM9, MeasuresTestCase
from trellis.patients import panels, selectors
from trellis.safety import selectors as safety
from trellis.safety.models import SafetyAlert
from trellis.testing import actor_for


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

    def test_each_role_gets_the_cards_its_rights_allow_from_the_view(self):
        # oral_home: at-home oral ketamine, loaded for clinicians (empty for a patient without).
        clinical = {
            "alerts",
            "measures",
            "courses",
            "appointments",
            "progress_notes",
            "aftercare",
            "oral_home",
        }
        cases = [
            (self.prescriber, clinical | {"insurance", "groups", "plans", "portal"}),
            (self.nurse, clinical | {"groups", "plans", "portal"}),
            (
                self.front_desk,
                {"courses", "appointments", "insurance", "groups", "plans", "portal"},
            ),
            (self.admin, {"alerts", "appointments", "insurance", "groups", "portal"}),
        ]
        # Every role sees the problem list and the account (billing.md).
        cases = [(user, cards | {"diagnoses", "billing"}) for user, cards in cases]
        for user, cards in cases:
            with self.subTest(user=user.username):
                self.sign_in(user)
                response = self.client.get(f"/patients/{self.patient.id}/")
                self.assertEqual(set(response.context["panels"]), cards)

    def test_the_cards_tags_only_render_what_the_view_loaded(self):
        self.sign_in(self.prescriber)
        cards = self.client.get(f"/patients/{self.patient.id}/").context["panels"]
        tags = {
            "alerts": "{% load safety_tags %}{% patient_alert_banner card %}",
            "measures": "{% load measures_tags %}{% patient_measures_panel card %}",
            "courses": "{% load treatments_tags %}{% patient_courses_panel card %}",
            "appointments": "{% load scheduling_tags %}{% patient_appointments_card card %}",
            "progress_notes": '{% include "therapy/includes/patient_card.html" %}',
            "aftercare": '{% include "aftercare/includes/patient_card.html" %}',
            "groups": '{% include "groups/includes/patient_card.html" %}',
            "plans": '{% include "plans/includes/patient_card.html" %}',
            "portal": '{% include "portal/includes/patient_card.html" %}',
        }
        for name, text in tags.items():
            with self.subTest(card=name), self.assertNumQueries(0):
                html = Template(text).render(Context({"card": cards[name]}))
            self.assertIn("<section", html)
            self.assertEqual(Template(text).render(Context({})).strip(), "")

    def test_another_clinics_patient_has_no_cards_at_all(self):
        self.sign_in(self.prescriber)
        self.assertEqual(self.client.get(f"/patients/{self.patient_b.id}/").status_code, 404)
        with self.assertRaises(Http404):
            panels.for_page(actor_for(self.prescriber_b, self.clinic_b), self.patient)


class PatientSelectorTests(MeasuresTestCase):
    def test_a_questionnaires_page_lists_the_alert_it_raised_to_who_may_see_alerts(self):
        measure = measures.record_measure(self.nurse_actor, self.patient, "phq9", PHQ9_ITEM9)
        alert = SafetyAlert.objects.get(source_id=str(measure.pk))
        self.assertEqual(safety.alerts_raised_by(self.nurse_actor, measure), [alert])
        self.sign_in(self.therapist)
        self.assertContains(self.client.get(f"/measures/{measure.id}/"), "open the alert")
        other = actor_for(self.prescriber_b, self.clinic_b)
        self.assertEqual(safety.alerts_raised_by(other, measure), [])

    def test_the_screening_history_needs_the_right_to_read_screenings(self):
        with self.assertRaises(PermissionDenied):
            selectors.screening_history(actor_for(self.front_desk, self.clinic_a), self.patient)
        self.sign_in(self.front_desk)
        page = self.client.get(f"/patients/{self.patient.id}/")
        self.assertNotIn("screenings", page.context)
        self.assertNotContains(page, "Screening history")
