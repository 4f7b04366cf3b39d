"""Registering a patient once: possible duplicates are shown before a second chart is made;
phone numbers are stored in E.164 and shown in the national format; sex is always chosen."""

import importlib
import io
import json

from django.apps import apps
from django.core.management import call_command
from django.test import override_settings

from trellis.accounts.permissions import Perm
from trellis.audit.models import Action, AuditEvent
from trellis.patients import services
from trellis.patients.models import AssessmentRequest, Patient
from trellis.testing import TrellisTestCase, actor_for

ADA = {  # the same person as the persona Ada Lovelace, born 1980-05-17
    "given_name": "ada",
    "family_name": "LOVELACE",
    "birth_date": "1980-05-17",
    "sex": "female",
}
SOMEONE_NEW = {
    "given_name": "Dana",
    "family_name": "Okafor",
    "birth_date": "1984-03-02",
    "sex": "female",
}


class DuplicateWarningTests(TrellisTestCase):
    def setUp(self):
        self.sign_in(self.front_desk)

    def register(self, **data):
        return self.client.post("/patients/new/", data)

    def test_the_same_name_and_birth_date_shows_the_existing_chart_and_registers_nothing(self):
        before = Patient.objects.count()
        response = self.register(**ADA)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "may already be registered")
        self.assertContains(response, "Ada Lovelace</strong>, born 1980-05-17")
        self.assertContains(response, self.patient.mrn)
        self.assertContains(response, "the same name and date of birth")
        self.assertContains(response, f'href="/patients/{self.patient.id}/"')
        self.assertContains(response, "Open Ada's chart")
        self.assertContains(response, 'name="confirm_duplicate" value="yes"')
        self.assertEqual(Patient.objects.count(), before)
        # The warning showed who Ada is: a query of her record, in the audit trail.
        event = AuditEvent.objects.order_by("-seq").first()
        self.assertEqual(
            (event.action, event.patient, event.detail),
            (Action.QUERY, self.patient, {"duplicate_check": ["name_and_birth_date"]}),
        )

    def test_register_anyway_makes_a_second_chart(self):
        response = self.register(**ADA, confirm_duplicate="yes")
        created = Patient.objects.exclude(pk=self.patient.pk).get(family_name="LOVELACE")
        self.assertRedirects(response, f"/patients/{created.id}/")
        self.assertNotEqual(created.mrn, self.patient.mrn)

    def test_the_same_phone_or_e_mail_is_a_possible_duplicate_too(self):
        Patient.objects.filter(pk=self.other_patient.pk).update(
            phone="+16175550134", email="grace@example.org"
        )
        for extra, reason in (
            ({"phone": "617.555.0134"}, "the same phone number"),
            ({"email": "Grace@Example.org"}, "the same e-mail address"),
        ):
            with self.subTest(extra=extra):
                response = self.register(**SOMEONE_NEW, **extra)
                self.assertContains(response, "Grace Hopper</strong>")
                self.assertContains(response, reason)
        self.assertFalse(Patient.objects.filter(family_name="Okafor").exists())

    def test_someone_new_is_registered_at_once(self):
        response = self.register(**SOMEONE_NEW)
        patient = Patient.objects.get(family_name="Okafor")
        self.assertRedirects(response, f"/patients/{patient.id}/")

    def test_another_clinics_patient_is_never_shown(self):
        turing = {**SOMEONE_NEW, "given_name": "Alan", "family_name": "Turing"}
        turing.update(birth_date="1972-06-23", sex="male")
        response = self.register(**turing)
        self.assertEqual(response.status_code, 302)
        self.assertEqual(Patient.objects.filter(family_name="Turing").count(), 2)


class RegisterFormTests(TrellisTestCase):
    def test_sex_has_no_preselected_answer_and_must_be_chosen(self):
        self.sign_in(self.front_desk)
        page = self.client.get("/patients/new/")
        self.assertContains(page, '<option value="" selected>Choose…</option>', html=True)
        self.assertNotContains(page, 'value="female" selected')
        response = self.client.post("/patients/new/", {**SOMEONE_NEW, "sex": ""})
        self.assertEqual(response.status_code, 200)
        self.assertIn("sex", response.context["form"].errors)
        self.assertFalse(Patient.objects.filter(family_name="Okafor").exists())

    def test_registering_from_a_request_has_no_preselected_sex_either(self):
        request = services.submit_request(
            self.clinic_a,
            {"given_name": "Dana", "family_name": "Okafor", "email": "dana@example.org"},
            address="198.51.100.9",
        )
        self.sign_in(self.front_desk)
        page = self.client.get(f"/requests/{request.id}/")
        self.assertContains(page, '<option value="" selected>Choose…</option>', html=True)

    def test_the_patient_list_links_to_registration_for_those_who_may_register(self):
        self.sign_in(self.front_desk)
        self.assertContains(self.client.get("/patients/"), 'href="/patients/new/"')
        self.sign_in(self.therapist)  # may read patients, not register them
        self.assertFalse(actor_for(self.therapist, self.clinic_a).can(Perm.PATIENT_CHANGE))
        self.assertNotContains(self.client.get("/patients/"), 'href="/patients/new/"')


class PhoneNumberTests(TrellisTestCase):
    def setUp(self):
        self.sign_in(self.front_desk)

    def test_a_number_is_stored_in_e164_and_shown_in_the_national_format(self):
        self.client.post("/patients/new/", {**SOMEONE_NEW, "phone": "617.555.0134"})
        patient = Patient.objects.get(family_name="Okafor")
        self.assertEqual(patient.phone, "+16175550134")
        self.assertContains(self.client.get(f"/patients/{patient.id}/"), "(617) 555-0134")

    def test_an_invalid_number_is_refused_beside_its_field(self):
        for field in ("phone", "emergency_contact_phone"):
            with self.subTest(field=field):
                response = self.client.post("/patients/new/", {**SOMEONE_NEW, field: "555-0141"})
                self.assertEqual(response.status_code, 200)
                self.assertIn("not a valid phone number", response.context["form"].errors[field][0])
        self.assertFalse(Patient.objects.filter(family_name="Okafor").exists())

    def test_editing_a_patient_stores_the_number_in_e164(self):
        self.client.post(
            f"/patients/{self.patient.id}/edit/",
            {**ADA, "given_name": "Ada", "family_name": "Lovelace", "phone": "+44 20 7946 0958"},
        )
        self.patient.refresh_from_db()
        self.assertEqual(self.patient.phone, "+442079460958")
        page = self.client.get(f"/patients/{self.patient.id}/")
        self.assertContains(page, "+44 20 7946 0958")  # another country: international

    def test_a_request_from_the_public_page_is_stored_in_e164(self):
        self.client.logout()
        self.client.post(
            "/request/alpha/",
            {
                "given_name": "Dana",
                "family_name": "Okafor",
                "phone": "(860) 555-0142",
                "consent_to_contact": "on",
            },
        )
        self.assertEqual(AssessmentRequest.objects.get().phone, "+18605550142")

    def test_numbers_on_file_are_migrated_where_they_can_be_read(self):
        Patient.objects.filter(pk=self.patient.pk).update(
            phone="(617) 555-0134", emergency_contact_phone="+1 555 0141 8623"
        )
        migration = importlib.import_module("trellis.patients.migrations.0006_phones_in_e164")
        migration.to_e164(apps, None)
        self.patient.refresh_from_db()
        self.assertEqual(
            (self.patient.phone, self.patient.emergency_contact_phone),
            ("+16175550134", "+1 555 0141 8623"),  # unreadable: left for a person to correct
        )


class ApiRegistrationTests(TrellisTestCase):
    def call(self, body):
        token = self._token()
        return self.client.post(
            "/api/v1/patients",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    def _token(self) -> str:
        out = io.StringIO()
        call_command("issue_token", "frontdesk", stdout=out)
        return out.getvalue().strip()

    def test_a_possible_duplicate_is_a_409_naming_the_existing_patient(self):
        response = self.call(ADA)
        self.assertEqual(response.status_code, 409, response.content)
        body = response.json()
        self.assertEqual(body["code"], "possible_duplicate")
        self.assertEqual(body["existing_id"], str(self.patient.id))
        self.assertEqual(body["existing"][0]["mrn"], self.patient.mrn)
        self.assertEqual(body["existing"][0]["matched_on"], ["name_and_birth_date"])
        self.assertEqual(Patient.objects.filter(birth_date="1980-05-17").count(), 1)

    def test_confirm_duplicate_registers_all_the_same(self):
        response = self.call({**ADA, "confirm_duplicate": True})
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(Patient.objects.filter(birth_date="1980-05-17").count(), 2)

    def test_phones_are_stored_in_e164_and_invalid_ones_refused_by_field(self):
        response = self.call({**SOMEONE_NEW, "phone": "(617) 555-0134"})
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["phone"], "+16175550134")
        response = self.call({**SOMEONE_NEW, "given_name": "Other", "phone": "555-0141"})
        self.assertEqual(response.status_code, 422)
        self.assertIn("phone:", response.json()["detail"])

    def test_the_schema_documents_the_409_and_confirm_duplicate(self):
        schema = self.client.get("/api/v1/openapi.json").json()
        operation = schema["paths"]["/api/v1/patients"]["post"]
        self.assertIn("409", operation["responses"])
        self.assertIn("confirm_duplicate", json.dumps(schema["components"]["schemas"]["PatientIn"]))


@override_settings(TRELLIS_BASE_URL="https://trellis.example.org")
class RequestQueueAddressTests(TrellisTestCase):
    def test_the_public_form_address_is_the_configured_one(self):
        self.sign_in(self.front_desk)
        page = self.client.get("/requests/", HTTP_HOST="127.0.0.1")
        self.assertContains(page, "https://trellis.example.org/request/alpha/")
