"""An assessment request's contact history, and what may happen to it once registered."""

from trellis.audit.models import Action, AuditEvent
from trellis.lib.errors import Conflict
from trellis.patients import services
from trellis.patients.models import (
    AssessmentRequest,
    ContactMethod,
    ContactOutcome,
    Patient,
    RequestStatus,
)
from trellis.testing import TrellisTestCase, actor_for


class RequestTestCase(TrellisTestCase):
    def setUp(self):
        self.request = services.submit_request(
            self.clinic_a,
            {
                "given_name": "Dana",
                "family_name": "Okafor",
                "phone": "(860) 555-0142",
                "consent_to_contact": True,
            },
            address="198.51.100.9",
        )
        self.desk = actor_for(self.front_desk, self.clinic_a)
        self.sign_in(self.front_desk)


class ContactHistoryTests(RequestTestCase):
    def test_each_call_is_kept_with_who_when_outcome_and_note(self):
        url = f"/requests/{self.request.id}/contacts/"
        self.client.post(url, {"method": "call", "outcome": "voicemail", "note": "Left a message"})
        self.client.post(url, {"method": "text", "outcome": "sent", "note": "Texted the times"})
        contacts = list(self.request.contacts.all())
        self.assertEqual(
            [(c.method, c.outcome, c.note, c.by) for c in contacts],
            [
                (ContactMethod.CALL, ContactOutcome.VOICEMAIL, "Left a message", self.front_desk),
                (ContactMethod.TEXT, ContactOutcome.SENT, "Texted the times", self.front_desk),
            ],
        )
        self.assertLessEqual(contacts[0].at, contacts[1].at)
        self.request.refresh_from_db()
        self.assertEqual(self.request.status, RequestStatus.CONTACTED)
        page = self.client.get(f"/requests/{self.request.id}/")
        self.assertContains(page, "Left a voicemail")
        self.assertContains(page, "Texted the times")
        event = AuditEvent.objects.filter(action=Action.UPDATE).order_by("-seq").first()
        self.assertEqual(event.object_id, str(self.request.id))
        self.assertEqual(event.detail["contact"], "text")

    def test_a_contact_needs_how_and_an_outcome(self):
        response = self.client.post(
            f"/requests/{self.request.id}/contacts/", {"method": "call", "outcome": ""}
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("outcome", response.context["contact_form"].errors)
        self.assertFalse(self.request.contacts.exists())

    def test_a_note_with_a_status_change_joins_the_history_instead_of_replacing_one(self):
        url = f"/requests/{self.request.id}/status/"
        self.client.post(url, {"status": "contacted", "note": "Spoke to her mother"})
        self.client.post(url, {"status": "booked", "note": "Assessment on Tuesday"})
        self.assertEqual(
            [c.note for c in self.request.contacts.all()],
            ["Marked contacted: Spoke to her mother", "Marked booked: Assessment on Tuesday"],
        )

    def test_other_clinics_and_roles_without_the_right_cannot_log_contacts(self):
        self.sign_in(self.prescriber_b)
        response = self.client.post(
            f"/requests/{self.request.id}/contacts/", {"method": "call", "outcome": "reached"}
        )
        self.assertEqual(response.status_code, 404)
        self.assertFalse(self.request.contacts.exists())


class RegisteredRequestTests(RequestTestCase):
    def register(self, **extra):
        return self.client.post(
            f"/requests/{self.request.id}/",
            {"birth_date": "1984-03-02", "sex": "female", **extra},
        )

    def test_a_registered_request_cannot_be_declined(self):
        self.register()
        self.request.refresh_from_db()
        self.assertEqual(self.request.status, RequestStatus.BOOKED)
        page = self.client.get(f"/requests/{self.request.id}/")
        self.assertNotContains(page, "Mark declined")
        response = self.client.post(
            f"/requests/{self.request.id}/status/", {"status": "declined"}, follow=True
        )
        self.assertContains(response, "cannot be declined")
        self.request.refresh_from_db()
        self.assertEqual(self.request.status, RequestStatus.BOOKED)
        with self.assertRaises(Conflict):
            services.set_request_status(self.desk, self.request, RequestStatus.DECLINED)

    def test_an_unregistered_request_can_still_be_declined(self):
        self.client.post(f"/requests/{self.request.id}/status/", {"status": "declined"})
        self.request.refresh_from_db()
        self.assertEqual(self.request.status, RequestStatus.DECLINED)

    def test_registering_a_request_warns_of_a_patient_already_registered(self):
        existing = services.register_patient(
            self.desk,
            given_name="Dana",
            family_name="Okafor",
            birth_date="1984-03-02",
            sex="female",
        )
        response = self.register()
        self.assertContains(response, "Dana Okafor</strong>, born 1984-03-02")
        self.assertContains(response, existing.mrn)
        self.assertContains(response, "Register anyway")
        self.assertEqual(Patient.objects.filter(family_name="Okafor").count(), 1)
        self.assertIsNone(AssessmentRequest.objects.get().patient)
        self.register(confirm_duplicate="yes")
        self.assertEqual(Patient.objects.filter(family_name="Okafor").count(), 2)
        self.assertIsNotNone(AssessmentRequest.objects.get().patient)
