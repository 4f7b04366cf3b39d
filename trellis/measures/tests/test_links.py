"""The patient's own form through a single-use, expiring, signed link: sending it through the
outbox, answering it on a phone, and every way it must refuse (reuse, expiry, tampering,
guessing, another patient)."""

import math
from datetime import UTC, datetime, timedelta
from unittest import mock

from django.core import mail
from django.test import override_settings
from django.utils import timezone

from trellis.audit.models import Action, AuditEvent
from trellis.lib.errors import InputError
from trellis.measures import services
from trellis.measures.models import Measure, QuestionnaireLink, hash_token
from trellis.measures.tests.helpers import (
    GAD7_MILD,
    PHQ9_CLEAN,
    PHQ9_ITEM9,
    MeasuresTestCase,
    form_data,
)
from trellis.messaging.models import Channel, OutboxMessage
from trellis.patients.models import Patient
from trellis.safety.models import SafetyAlert
from trellis.testing import actor_for


class LinkTestCase(MeasuresTestCase):
    def send(self, instruments=("phq9",), channel="sms", patient=None, **extra):
        return services.send_questionnaire_links(
            self.nurse_actor, patient or self.patient, list(instruments), channel, **extra
        )

    def path(self, sent) -> str:
        return sent.url.removeprefix("http://127.0.0.1:8000")


class SendingTests(LinkTestCase):
    def test_a_link_is_queued_in_the_outbox_with_the_link_and_crisis_lines_but_no_name(self):
        sent = self.send(("phq9", "gad7"), "sms")
        message = OutboxMessage.objects.get()
        self.assertEqual((message.channel, message.recipient), (Channel.SMS, "+15550104477"))
        self.assertEqual((message.purpose, message.patient), ("questionnaire_link", self.patient))
        for item in sent:
            self.assertIn(item.url, message.body)
        self.assertIn("988", message.body)
        self.assertIn("911", message.body)
        for private in ("Ada", "Lovelace", self.patient.mrn):
            self.assertNotIn(private, message.body)

    def test_both_channels_carry_the_same_single_link(self):
        sent = self.send(("gad7",), "both")
        self.assertEqual(QuestionnaireLink.objects.count(), 1)
        sms, email = (
            OutboxMessage.objects.get(channel=Channel.SMS),
            OutboxMessage.objects.get(channel=Channel.EMAIL),
        )
        self.assertEqual(email.recipient, "ada@example.com")
        self.assertIn(sent[0].url, sms.body)
        self.assertIn(sent[0].url, email.body)

    def test_only_the_hash_of_the_token_is_stored(self):
        sent = self.send()
        token = sent[0].url.rstrip("/").rsplit("/", 1)[-1]
        link = QuestionnaireLink.objects.get()
        self.assertEqual(link.token_hash, hash_token(token))
        for field in link._meta.concrete_fields:
            self.assertNotIn(token, str(field.value_from_object(link)))

    def test_the_token_has_at_least_128_random_bits(self):
        body = services.new_link_token().split(".")[0]
        self.assertGreaterEqual(len(body) * math.log2(64), 128)
        self.assertEqual(services.TOKEN_RANDOM_BYTES * 8, 192)
        tokens = {services.new_link_token() for _ in range(200)}
        self.assertEqual(len(tokens), 200)

    def test_the_link_expires_after_the_clinic_setting(self):
        self.clinic_a.settings = {"questionnaire_link_hours": 6}
        self.clinic_a.save(update_fields=["settings"])
        self.patient.clinic.refresh_from_db()
        before = timezone.now()
        link = self.send()[0].link
        self.assertAlmostEqual((link.expires_at - before).total_seconds(), 6 * 3600, delta=60)

    def test_no_contact_no_link_and_nothing_written(self):
        for channel, field in (("sms", "channel"), ("email", "channel"), ("fax", "channel")):
            with self.subTest(channel=channel), self.assertRaises(InputError) as error:
                self.send(channel=channel, patient=self.other_patient)
            self.assertEqual(error.exception.field, field)
        with self.assertRaises(InputError) as error:
            self.send(instruments=())
        self.assertEqual(error.exception.field, "instruments")
        self.assertFalse(QuestionnaireLink.objects.exists())
        self.assertFalse(OutboxMessage.objects.exists())

    def test_staff_send_a_link_from_the_patient_page_choosing_the_channel(self):
        self.sign_in(self.nurse)
        page = self.client.get(f"/patients/{self.patient.id}/questionnaire-links/new/")
        self.assertContains(page, "Text message to +1 555 010 4477")
        self.assertContains(page, "E-mail to ada@example.com")
        response = self.client.post(
            f"/patients/{self.patient.id}/questionnaire-links/new/",
            {"instruments": ["phq9", "gad7"], "channel": "email", "course": ""},
        )
        self.assertRedirects(response, f"/patients/{self.patient.id}/")
        self.assertEqual(QuestionnaireLink.objects.count(), 2)
        self.assertEqual(OutboxMessage.objects.get().channel, Channel.EMAIL)
        self.assertEqual(
            AuditEvent.objects.filter(
                action=Action.CREATE, object_type="measures.questionnairelink"
            ).count(),
            2,
        )

    def test_no_text_without_the_patients_recorded_agreement(self):
        Patient.objects.filter(pk=self.patient.pk).update(
            sms_consent_at=None, contact_channel="email"
        )
        self.patient.refresh_from_db()
        with self.assertRaisesMessage(InputError, "agreement to text messages is not recorded"):
            self.send(("phq9",), "both")
        self.assertFalse(OutboxMessage.objects.exists())
        self.sign_in(self.nurse)
        page = self.client.get(f"/patients/{self.patient.id}/questionnaire-links/new/")
        self.assertNotContains(page, "Text message to")
        # The way the patient chose is offered first.
        self.assertEqual(page.context["form"]["channel"].initial, "email")

    def test_the_front_desk_and_other_clinics_cannot_send_links(self):
        url = f"/patients/{self.patient.id}/questionnaire-links/new/"
        self.sign_in(self.front_desk)
        self.assertEqual(
            self.client.post(url, {"instruments": ["phq9"], "channel": "sms"}).status_code, 403
        )
        self.sign_in(self.prescriber_b)
        self.assertEqual(self.client.get(url).status_code, 404)
        self.assertFalse(QuestionnaireLink.objects.exists())


class AnsweringTests(LinkTestCase):
    def test_the_form_shows_one_questionnaire_and_nothing_about_the_patient(self):
        self.patient.given_name = "Augusta"
        self.patient.save(update_fields=["given_name"])
        sent = self.send(("gad7",))
        response = self.client.get(self.path(sent[0]))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Feeling nervous, anxious, or on edge")
        self.assertNotContains(response, "Little interest or pleasure")
        for private in ("Augusta", "Lovelace", self.patient.mrn, "1980", "ada@example.com", "4477"):
            self.assertNotContains(response, private)
        self.assertEqual(response["Cache-Control"], "no-store, private")
        self.assertEqual(response["Referrer-Policy"], "same-origin")

    def test_answering_records_the_measure_for_the_links_patient_and_audits_it(self):
        sent = self.send(("gad7",))
        response = self.client.post(
            self.path(sent[0]), form_data(GAD7_MILD), REMOTE_ADDR="198.51.100.4"
        )
        self.assertContains(response, "Your answers have been sent")
        measure = Measure.objects.get()
        self.assertEqual(
            (measure.patient, measure.answers, measure.entered_via),
            (self.patient, GAD7_MILD, "patient_link"),
        )
        self.assertIsNone(measure.recorded_by)
        link = QuestionnaireLink.objects.get()
        self.assertEqual(link.measure, measure)
        self.assertIsNotNone(link.used_at)
        event = AuditEvent.objects.get(object_type="measures.measure")
        self.assertEqual(
            (event.action, event.username, event.source_address, event.patient),
            (Action.CREATE, "(patient questionnaire link)", "198.51.100.4", self.patient),
        )

    def test_a_link_cannot_be_used_twice(self):
        sent = self.send()
        self.client.post(self.path(sent[0]), form_data(PHQ9_CLEAN))
        again = self.client.post(self.path(sent[0]), form_data([0] * 9))
        self.assertEqual(again.status_code, 410)
        self.assertContains(again, "already been answered", status_code=410)
        self.assertContains(again, "988", status_code=410)
        self.assertEqual(self.client.get(self.path(sent[0])).status_code, 410)
        self.assertEqual(Measure.objects.get().answers, PHQ9_CLEAN)
        with self.assertRaises(services.LinkUnusable) as refused:
            services.submit_link(self.path(sent[0]).split("/")[2], PHQ9_CLEAN)
        self.assertEqual(refused.exception.reason, "used")

    def test_an_expired_link_is_refused(self):
        sent = self.send()
        later = timezone.now() + timedelta(hours=72, seconds=1)
        with mock.patch("django.utils.timezone.now", return_value=later):
            response = self.client.post(self.path(sent[0]), form_data(PHQ9_CLEAN))
            self.assertEqual(self.client.get(self.path(sent[0])).status_code, 410)
        self.assertContains(response, "This link has expired", status_code=410)
        self.assertFalse(Measure.objects.exists())
        with mock.patch("django.utils.timezone.now", return_value=later - timedelta(seconds=2)):
            self.assertEqual(self.client.get(self.path(sent[0])).status_code, 200)

    def test_a_tampered_token_is_refused_without_a_lookup(self):
        sent = self.send()
        token = self.path(sent[0]).split("/")[2]
        body, signature = token.split(".")
        flipped = lambda text, i: text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :]  # noqa: E731
        tampered = [
            f"{flipped(body, 5)}.{signature}",
            f"{body}.{flipped(signature, 3)}",
            body,
            f"{body}.",
            token + "x",
            token.upper(),
        ]
        for bad in tampered:
            with self.subTest(token=bad), self.assertNumQueries(0):
                response = self.client.get(f"/q/{bad}/")
            self.assertEqual(response.status_code, 404)
            self.assertContains(response, "This link does not work", status_code=404)
            self.assertEqual(self.client.post(f"/q/{bad}/", form_data(PHQ9_CLEAN)).status_code, 404)
        self.assertFalse(Measure.objects.exists())

    def test_a_guessed_token_is_refused_even_when_correctly_signed(self):
        self.send()
        guessed = services.new_link_token()  # signed with our key, but never issued
        self.assertEqual(self.client.get(f"/q/{guessed}/").status_code, 404)
        self.assertEqual(self.client.post(f"/q/{guessed}/", form_data(PHQ9_CLEAN)).status_code, 404)
        self.assertFalse(Measure.objects.exists())

    def test_a_link_only_ever_records_for_its_own_patient(self):
        self.other_patient.phone = "+1 555 010 9999"
        self.other_patient.save(update_fields=["phone"])
        mine = self.send(("phq9",))[0]
        theirs = self.send(("gad7",), patient=self.other_patient)[0]
        self.client.post(self.path(theirs), form_data(GAD7_MILD))
        self.client.post(self.path(mine), form_data(PHQ9_CLEAN))
        self.assertEqual(
            sorted((m.patient.family_name, m.instrument) for m in Measure.objects.all()),
            [("Hopper", "gad7"), ("Lovelace", "phq9")],
        )
        # The URL names no patient: there is no id to swap, only the token.
        self.assertNotIn(str(self.patient.id), mine.url)
        # A link of another clinic's patient works for that patient only, in that clinic.
        self.patient_b.phone = "+1 555 010 2222"
        self.patient_b.save(update_fields=["phone"])
        other_clinic = services.send_questionnaire_links(
            actor_for(self.prescriber_b, self.clinic_b), self.patient_b, ["phq9"], "sms"
        )[0]
        response = self.client.get(self.path(other_clinic))
        self.assertContains(response, "Beta Clinic")
        self.assertNotContains(response, "Alpha Clinic")

    def test_incomplete_answers_name_the_questions_and_keep_the_link_usable(self):
        sent = self.send()
        data = form_data(PHQ9_CLEAN)
        del data["item_2"]
        response = self.client.post(self.path(sent[0]), data)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Please answer every question")
        self.assertContains(response, 'href="#q-item_2"')
        self.assertContains(response, "Please answer this question.")
        self.assertIsNone(QuestionnaireLink.objects.get().used_at)
        self.assertContains(
            self.client.post(self.path(sent[0]), form_data(PHQ9_CLEAN)), "Thank you"
        )


class ItemNineThroughTheLinkTests(LinkTestCase):
    def test_item_nine_raises_an_alert_and_shows_crisis_resources_with_no_worker_running(self):
        sent = self.send()
        response = self.client.post(self.path(sent[0]), form_data(PHQ9_ITEM9))
        # The patient sees crisis resources at once, in the answer to their own submission.
        self.assertContains(response, "988 Suicide &amp; Crisis Lifeline")
        self.assertContains(response, 'href="tel:988"')
        self.assertContains(response, 'href="sms:988"')
        self.assertContains(response, 'href="tel:911"')
        # The alert exists now: nothing was sent (no worker ran), nothing had to be.
        alert = SafetyAlert.objects.get()
        measure = Measure.objects.get()
        self.assertEqual(
            (alert.patient, alert.kind, alert.status), (self.patient, "suicide_item", "open")
        )
        self.assertEqual(alert.source_id, str(measure.pk))
        self.assertIsNone(alert.raised_by)
        self.assertIn("patient's own device", alert.summary)
        self.assertEqual(len(mail.outbox), 0)
        self.assertEqual(
            AuditEvent.objects.filter(
                object_type="safety.safetyalert", action=Action.CREATE
            ).count(),
            1,
        )
        # And it is in the clinic's queue.
        self.sign_in(self.nurse)
        self.assertContains(self.client.get("/alerts/"), "Lovelace")

    def test_without_item_nine_the_patient_sees_a_plain_thank_you(self):
        sent = self.send()
        response = self.client.post(self.path(sent[0]), form_data(PHQ9_CLEAN))
        self.assertContains(response, "Thank you")
        self.assertNotContains(response, "Please reach out now")
        self.assertFalse(SafetyAlert.objects.exists())

    def test_the_measure_and_its_alert_are_saved_together_or_not_at_all(self):
        sent = self.send()
        with (
            mock.patch(
                "trellis.safety.services.SafetyAlert.objects.create",
                side_effect=RuntimeError("disk full"),
            ),
            self.assertRaises(RuntimeError),
        ):
            services.submit_link(self.path(sent[0]).split("/")[2], PHQ9_ITEM9)
        self.assertFalse(Measure.objects.exists())
        self.assertIsNone(QuestionnaireLink.objects.get().used_at)


class ExpiryAndAddressTests(LinkTestCase):
    """Links point at the configured address; their expiry reads in the clinic's own time."""

    # Sent at 02:30 UTC on Jan 13; 72 hours later is 02:30 UTC on Jan 16, which is 9:30 PM on
    # Jan 15 in New York, the clinic's timezone. (A January to come: the link is still open.)
    SENT_AT = datetime(2030, 1, 13, 2, 30, tzinfo=UTC)

    def send_at_fixed_time(self, **extra):
        return self.send(now=self.SENT_AT, **extra)  # expires 72 hours later

    def test_the_message_gives_the_expiry_in_the_clinics_time_and_names_the_zone(self):
        self.send_at_fixed_time()
        self.assertIn("until Jan 15, 9:30 PM EST.", OutboxMessage.objects.get().body)

    def test_the_patients_page_gives_the_expiry_in_the_clinics_time_whatever_the_server_zone(self):
        sent = self.send_at_fixed_time()
        response = self.client.get(self.path(sent[0]))
        self.assertContains(response, "until Jan 15, 9:30 PM EST.")

    def test_staff_see_the_expiry_in_the_clinics_time(self):
        self.clinic_a.timezone = "America/Los_Angeles"
        self.clinic_a.save(update_fields=["timezone"])
        link = self.send()[0].link
        local = timezone.localtime(link.expires_at, self.clinic_a.tzinfo)
        self.sign_in(self.nurse)
        page = self.client.get(f"/patients/{self.patient.id}/")
        self.assertContains(page, f"until {local:%b %-d, %-I:%M %p} P")

    @override_settings(TRELLIS_BASE_URL="https://trellis.example.org")
    def test_links_use_the_configured_address_not_the_host_staff_are_on(self):
        self.sign_in(self.nurse)
        self.client.post(
            f"/patients/{self.patient.id}/questionnaire-links/new/",
            {"instruments": ["phq9"], "channel": "sms"},
            HTTP_HOST="127.0.0.1",
        )
        body = OutboxMessage.objects.get().body
        self.assertIn("https://trellis.example.org/q/", body)
        self.assertNotIn("127.0.0.1", body)
