"""How an automated message reaches a patient: their choice, what is on file, their recorded
agreement to texts; and where staff and the API set them."""

from datetime import UTC, datetime

from django.db.migrations.executor import MigrationExecutor
from django.test import SimpleTestCase, TestCase
from django.utils import timezone

from trellis.audit.models import Action, AuditEvent
from trellis.messaging.models import Channel
from trellis.patients import contact
from trellis.patients.models import Patient
from trellis.patients.tests.test_api import NEW_PATIENT, ApiTestCase
from trellis.testing import TrellisTestCase, migration_database

PHONE, EMAIL = "+16175550134", "ada@example.org"
AGREED = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
SMS, MAIL = contact.SMS, contact.EMAIL

# (choice, phone, e-mail, agreed to texts, clinic default, consent required) -> channels
CASES = [
    # Not chosen: today's rule, text if a phone is on file else e-mail, or both by the clinic.
    ("", PHONE, EMAIL, AGREED, 1, True, [SMS]),
    ("", "", EMAIL, None, 1, True, [MAIL]),
    ("", PHONE, "", AGREED, 1, True, [SMS]),
    ("", "", "", None, 1, True, []),
    ("", PHONE, EMAIL, AGREED, 2, True, [SMS, MAIL]),
    ("", "", EMAIL, None, 2, True, [MAIL]),
    # No recorded agreement where the clinic requires it: e-mail instead, else nothing.
    ("", PHONE, EMAIL, None, 1, True, [MAIL]),
    ("", PHONE, "", None, 1, True, []),
    ("", PHONE, EMAIL, None, 2, True, [MAIL]),
    ("", PHONE, EMAIL, None, 1, False, [SMS]),
    # The patient's choice.
    ("text", PHONE, EMAIL, AGREED, 2, True, [SMS]),
    ("text", PHONE, EMAIL, None, 1, True, [MAIL]),
    ("text", PHONE, "", None, 1, True, []),
    ("text", PHONE, "", None, 1, False, [SMS]),
    ("email", PHONE, EMAIL, AGREED, 1, True, [MAIL]),
    ("email", PHONE, EMAIL, AGREED, 2, True, [MAIL]),
    ("both", PHONE, EMAIL, AGREED, 1, True, [SMS, MAIL]),
    ("both", PHONE, EMAIL, None, 1, True, [MAIL]),
    ("both", PHONE, EMAIL, None, 1, False, [SMS, MAIL]),
    ("none", PHONE, EMAIL, AGREED, 1, True, []),
    ("none", PHONE, EMAIL, AGREED, 2, False, []),
    # Whitespace is nothing on file.
    ("", "  ", EMAIL, AGREED, 1, True, [MAIL]),
]


class ChannelsTests(SimpleTestCase):
    def test_each_case(self):
        for choice, phone, email, agreed, default, required, expected in CASES:
            patient = Patient(contact_channel=choice, phone=phone, email=email)
            patient.sms_consent_at = agreed
            with self.subTest(choice=choice, phone=phone, email=email, agreed=agreed):
                self.assertEqual(
                    contact.channels(patient, default, consent_required=required), expected
                )

    def test_its_names_are_the_outboxs(self):
        self.assertEqual((contact.SMS, contact.EMAIL), (Channel.SMS, Channel.EMAIL))

    def test_in_words(self):
        self.assertEqual(contact.in_words([SMS, MAIL]), "Text message and e-mail")
        self.assertEqual(contact.in_words([MAIL]), "E-mail")
        self.assertEqual(contact.in_words([]), "")


class ValidationTests(SimpleTestCase):
    def errors(self, **fields) -> str:
        patient = Patient(**fields)
        try:
            patient.clean()
        except Exception as error:
            return " ".join(error.message_dict["contact_channel"])
        return ""

    def test_text_and_email_need_what_they_send_to(self):
        self.assertIn("fill in Phone", self.errors(contact_channel="text", email=EMAIL))
        self.assertIn("fill in E-mail", self.errors(contact_channel="email", phone=PHONE))
        both = self.errors(contact_channel="both")
        self.assertIn("fill in Phone", both)
        self.assertIn("fill in E-mail", both)
        self.assertEqual(self.errors(contact_channel="both", phone=PHONE, email=EMAIL), "")
        self.assertEqual(self.errors(contact_channel="none"), "")
        self.assertEqual(self.errors(contact_channel=""), "")


class EditFormTests(TrellisTestCase):
    def form(self, **changes):
        data = {
            "given_name": "Ada",
            "family_name": "Lovelace",
            "birth_date": "1980-05-17",
            "sex": "female",
            "phone": "",
            "email": "",
            "contact_channel": "",
            **changes,
        }
        return self.client.post(f"/patients/{self.patient.id}/edit/", data)

    def test_choosing_text_without_a_phone_says_which_field_to_fill(self):
        self.sign_in(self.front_desk)
        response = self.form(contact_channel="text", email=EMAIL)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Text messages need a mobile number: fill in Phone")
        self.patient.refresh_from_db()
        self.assertEqual(self.patient.contact_channel, "")

    def test_ticking_agreement_records_when_and_unticking_clears_it_audited(self):
        self.sign_in(self.front_desk)
        response = self.form(
            contact_channel="both", phone="(617) 555-0134", email=EMAIL, sms_consent="on"
        )
        self.assertRedirects(response, f"/patients/{self.patient.id}/")
        self.patient.refresh_from_db()
        self.assertEqual(self.patient.contact_channel, "both")
        self.assertLess(abs((timezone.now() - self.patient.sms_consent_at).total_seconds()), 60)
        event = AuditEvent.objects.filter(patient=self.patient, action=Action.UPDATE).latest("seq")
        self.assertIn("sms_consent_at", event.detail["changed"])
        self.assertIn("contact_channel", event.detail["changed"])
        # Saving again with the box ticked keeps the first date.
        agreed = self.patient.sms_consent_at
        self.form(contact_channel="both", phone="(617) 555-0134", email=EMAIL, sms_consent="on")
        self.patient.refresh_from_db()
        self.assertEqual(self.patient.sms_consent_at, agreed)
        self.form(contact_channel="email", phone="(617) 555-0134", email=EMAIL)
        self.patient.refresh_from_db()
        self.assertIsNone(self.patient.sms_consent_at)

    def test_the_page_shows_the_choice_and_how_messages_go(self):
        Patient.objects.filter(pk=self.patient.pk).update(
            phone=PHONE, email=EMAIL, contact_channel="both"
        )
        self.sign_in(self.front_desk)
        page = self.client.get(f"/patients/{self.patient.id}/")
        self.assertContains(page, "Text and e-mail")
        self.assertContains(page, "Reminders and links go by e-mail")
        self.assertContains(page, "no automated texts until recorded")
        Patient.objects.filter(pk=self.patient.pk).update(sms_consent_at=AGREED)
        page = self.client.get(f"/patients/{self.patient.id}/")
        self.assertContains(page, "Reminders and links go by text message and e-mail")
        self.assertContains(page, "Agreed Mar 2, 2026")
        Patient.objects.filter(pk=self.patient.pk).update(contact_channel="none")
        page = self.client.get(f"/patients/{self.patient.id}/")
        self.assertContains(page, "No reminders or links are sent")


class ApiContactTests(ApiTestCase):
    def test_the_preference_and_agreement_are_written_and_read(self):
        body = {
            **NEW_PATIENT,
            "email": EMAIL,
            "contact_channel": "both",
            "sms_consent_at": "2026-03-02T10:00:00-05:00",
        }
        response = self.call("post", "/api/v1/patients", body=body)
        self.assertEqual(response.status_code, 201, response.content)
        created = response.json()
        self.assertEqual(created["contact_channel"], "both")
        self.assertEqual(created["sms_consent_at"], "2026-03-02T10:00:00-05:00")
        read = self.call("get", f"/api/v1/patients/{created['id']}").json()
        self.assertEqual(
            (read["contact_channel"], read["sms_consent_at"]),
            ("both", "2026-03-02T10:00:00-05:00"),
        )

    def test_without_them_the_old_fields_still_register(self):
        response = self.call("post", "/api/v1/patients", body=NEW_PATIENT)
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(
            (response.json()["contact_channel"], response.json()["sms_consent_at"]), ("", None)
        )

    def test_bad_input_is_a_422_naming_the_field(self):
        cases = [
            ({"contact_channel": "email"}, "contact_channel"),
            ({"contact_channel": "pigeon"}, "contact_channel"),
            ({"sms_consent_at": "2999-01-01T00:00:00Z"}, "sms_consent_at"),
            ({"sms_consent_at": "yesterday"}, "sms_consent_at"),
            # Before text messages existed (and before zones had whole-minute offsets).
            ({"sms_consent_at": "1867-03-26T22:00:23-04:00"}, "sms_consent_at"),
        ]
        for extra, field in cases:
            with self.subTest(extra=extra):
                response = self.call("post", "/api/v1/patients", body={**NEW_PATIENT, **extra})
                self.assertEqual(response.status_code, 422, response.content)
                self.assertIn(field, response.json()["detail"])
        self.assertFalse(Patient.objects.filter(family_name="Shelley").exists())

    def test_openapi_documents_them(self):
        schema = self.client.get("/api/v1/openapi.json").json()
        fields = schema["components"]["schemas"]["PatientIn"]["properties"]
        self.assertIn("none (no automated messages)", fields["contact_channel"]["description"])
        self.assertIn("sms_consent_at", schema["components"]["schemas"]["PatientOut"]["required"])


class ExistingClinicsMigrationTests(TestCase):
    """The migrations run on an empty database of their own (``migration_database``), so the
    test database is never left at an older schema for the tests after this one."""

    def test_clinics_there_before_keep_texting_and_a_clinics_own_choice_stands(self):
        before = [
            ("patients", "0008_contact_preference_and_text_consent"),
            ("accounts", "0003_clinic_country_subdivision"),
        ]
        after = [("patients", "0009_existing_clinics_keep_texting")]
        with migration_database() as database:
            executor = MigrationExecutor(database)
            executor.migrate(before)
            Clinic = executor.loader.project_state(before).apps.get_model("accounts", "Clinic")
            Clinic.objects.create(slug="gamma", name="Gamma", mrn_prefix="GAM")
            Clinic.objects.create(
                slug="delta", name="Delta", mrn_prefix="DEL", settings={"sms_consent_required": 1}
            )
            executor = MigrationExecutor(database)
            executor.loader.build_graph()
            executor.migrate(after)
            Clinic = executor.loader.project_state(after).apps.get_model("accounts", "Clinic")
            self.assertEqual(
                {c.slug: c.settings["sms_consent_required"] for c in Clinic.objects.all()},
                {"gamma": 0, "delta": 1},
            )
