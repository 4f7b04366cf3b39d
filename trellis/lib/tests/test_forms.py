"""Every form refuses control characters (and invisible formatting in names) with a message on
the field, before anything reaches the database: PostgreSQL refuses NUL in text, so on the old
code a NUL typed into a lookup field was a 500."""

import importlib
import pkgutil

from django import forms

import trellis
from trellis.audit.models import AuditEvent
from trellis.lib.forms import TextRulesMixin
from trellis.patients import services as patient_services
from trellis.patients.models import AssessmentRequest
from trellis.testing import TrellisTestCase
from trellis.treatments.models import RemsForm, RemsStatus
from trellis.treatments.tests.test_sessions import SessionTestCase

REQUEST = {
    "given_name": "Virginia",
    "family_name": "Woolf",
    "phone": "+1 860 555 0199",
    "email": "vw@example.com",
    "preferred_times": "mornings",
    "reason": "Depression that has not lifted",
    "consent_to_contact": "on",
    "website": "",
}


def project_forms() -> list[type]:
    for module in pkgutil.walk_packages(trellis.__path__, "trellis."):
        if module.name.endswith("forms"):
            importlib.import_module(module.name)
    found, pending = [], [forms.BaseForm]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("trellis.") and cls.__module__ != "trellis.lib.forms":
            found.append(cls)
    return found


class EveryFormTests(TrellisTestCase):
    def test_every_form_in_trellis_keeps_the_character_rules(self):
        found = project_forms()
        self.assertGreater(len(found), 15)
        missing = [
            f"{c.__module__}.{c.__name__}" for c in found if not issubclass(c, TextRulesMixin)
        ]
        self.assertEqual(missing, [], "forms that must inherit trellis.lib.forms.Form/ModelForm")


class PublicFormTextTests(TrellisTestCase):
    def post(self, **changes):
        return self.client.post("/request/alpha/", {**REQUEST, **changes})

    def test_a_nul_in_a_name_is_refused_on_the_field_it_was_typed_in(self):
        response = self.post(given_name="Virginia\x00")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response.context["form"].errors["given_name"],
            ["First name must not contain control characters (found U+0000 NUL at character 9)."],
        )
        self.assertFalse(AssessmentRequest.objects.exists())

    def test_other_control_characters_are_refused(self):
        response = self.post(preferred_times="mornings\x1b[2J")
        self.assertIn(
            "Preferred times must not contain control characters (found U+001B ESCAPE",
            response.context["form"].errors["preferred_times"][0],
        )
        self.assertFalse(AssessmentRequest.objects.exists())

    def test_a_one_line_field_must_stay_on_one_line(self):
        response = self.post(phone="+1 555\n0199")
        self.assertIn("Phone must be on one line", response.context["form"].errors["phone"][0])

    def test_a_right_to_left_override_in_a_name_is_refused(self):
        response = self.post(family_name="Wo\u202eflo")
        self.assertContains(
            response,
            "Last name must not contain invisible formatting characters "
            "(found U+202E RIGHT-TO-LEFT OVERRIDE at character 3).",
        )
        self.assertFalse(AssessmentRequest.objects.exists())

    def test_a_zero_width_space_in_a_name_is_refused(self):
        response = self.post(given_name="Vir\u200bginia")
        self.assertIn("given_name", response.context["form"].errors)
        self.assertFalse(AssessmentRequest.objects.exists())

    def test_a_multi_line_reason_keeps_its_lines_and_tabs(self):
        response = self.post(reason="Low mood.\r\n\tSince spring.")
        self.assertEqual(response.status_code, 302)
        self.assertEqual(AssessmentRequest.objects.get().reason, "Low mood.\r\n\tSince spring.")

    def test_a_control_character_in_the_reason_is_refused_by_its_field_name(self):
        response = self.post(reason="Low mood\x07")
        self.assertIn(
            "Reason must not contain control characters",
            response.context["form"].errors["reason"][0],
        )

    def test_only_the_broken_field_is_reported(self):
        response = self.post(given_name="Vir\x00", email="not an address")
        self.assertEqual(list(response.context["form"].errors), ["given_name"])
        self.assertEqual(response.context["form"]["email"].value(), "not an address")


class StaffFormTextTests(TrellisTestCase):
    def test_a_nul_in_the_audit_trails_mrn_lookup_is_a_message_not_a_query(self):
        self.sign_in(self.admin)
        response = self.client.get("/audit/", {"patient": "ALP-000001\x00"})
        self.assertEqual(response.status_code, 400)  # a filter the report cannot use
        self.assertEqual(
            response.context["form"].errors["patient"],
            [
                "Patient (MRN) must not contain control characters "
                "(found U+0000 NUL at character 11)."
            ],
        )

    def test_an_invisible_character_in_a_patients_name_is_refused(self):
        self.sign_in(self.front_desk)
        data = {
            "given_name": "Ada",
            "family_name": "Love\u2066lace",
            "birth_date": "1980-05-17",
            "sex": "female",
        }
        response = self.client.post(f"/patients/{self.patient.id}/edit/", data)
        self.assertEqual(response.status_code, 200)
        self.assertIn(
            "Family name must not contain invisible formatting characters",
            response.context["form"].errors["family_name"][0],
        )
        self.patient.refresh_from_db()
        self.assertEqual(self.patient.family_name, "Lovelace")

    def test_a_nul_in_the_sign_in_username_is_a_message(self):
        events = AuditEvent.objects.count()
        response = self.client.post(
            "/accounts/login/", {"username": "nurse\x00", "password": "anything at all"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(
            response, "Username must not contain control characters (found U+0000 NUL"
        )
        self.assertEqual(AuditEvent.objects.count(), events)


class TextOutsideFormsTests(TrellisTestCase):
    """Fields a page reads without a form class keep the same rules."""

    def test_a_nul_in_the_patient_search_is_a_message(self):
        self.sign_in(self.front_desk)
        response = self.client.get("/patients/", {"q": "Love\x00"})
        self.assertEqual(response.status_code, 200)
        self.assertContains(
            response, "The search must not contain control characters (found U+0000 NUL"
        )
        self.assertEqual(response.context["patients"], [])

    def test_a_nul_in_a_requests_front_desk_note_is_refused(self):
        row = patient_services.submit_request(self.clinic_a, REQUEST_FIELDS, address="10.1.1.1")
        self.sign_in(self.front_desk)
        response = self.client.post(
            f"/requests/{row.id}/status/",
            {"status": "contacted", "note": "Voicemail\x00"},
            follow=True,
        )
        self.assertContains(response, "The front-desk note must not contain control characters")
        row.refresh_from_db()
        self.assertEqual((row.status, row.contacts.count()), ("new", 0))


REQUEST_FIELDS = {k: v for k, v in REQUEST.items() if k not in ("website", "consent_to_contact")}


class RemsReferenceTests(SessionTestCase):
    def test_a_nul_in_the_rems_submission_reference_is_refused(self):
        form = RemsForm.objects.create(
            clinic=self.clinic_a,
            patient=self.patient,
            session=self.session,
            due_date=self.day,
            status=RemsStatus.SIGNED,
        )
        self.sign_in(self.prescriber)
        response = self.client.post(
            f"/rems/{form.id}/submit/", {"method": "portal", "reference": "PMF\x00778"}
        )
        self.assertContains(
            response, "Reference must not contain control characters", status_code=422
        )
        form.refresh_from_db()
        self.assertEqual(form.status, RemsStatus.SIGNED)
