import time
from datetime import timedelta
from unittest import mock

from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from trellis.audit.models import Action, AuditEvent
from trellis.lib import signed_tokens
from trellis.messaging.models import OutboxMessage
from trellis.patients.models import ContactChannel
from trellis.portal import services, session, totp
from trellis.portal.models import PortalAccount, PortalInvitation, SignInFailure
from trellis.portal.tests.base import PASSWORD, PortalTestCase


class InvitationTests(PortalTestCase):
    def test_the_clinic_invites_by_the_patients_channel_and_stores_only_the_hash(self):
        token = self.invite(self.patient, self.front_desk)
        invitation = PortalInvitation.objects.get(patient=self.patient)
        self.assertEqual(invitation.token_hash, signed_tokens.hash_token(token))
        self.assertNotIn(token, invitation.token_hash)
        message = OutboxMessage.objects.get(patient=self.patient, purpose="portal_invitation")
        self.assertEqual(message.channel, "email")
        self.assertEqual(message.recipient, "ada@example.org")
        self.assertIn("988", message.body)
        self.assertEqual(invitation.expires_at - invitation.created_at, timedelta(days=3))

    def test_a_patient_who_asked_for_texts_is_texted(self):
        self.patient.phone = "+1 555 010 4477"
        self.patient.contact_channel = ContactChannel.TEXT
        self.patient.sms_consent_at = timezone.now()
        self.patient.save(update_fields=["phone", "contact_channel", "sms_consent_at"])
        self.invite(self.patient, self.front_desk)
        message = OutboxMessage.objects.get(patient=self.patient, purpose="portal_invitation")
        self.assertEqual((message.channel, message.recipient), ("sms", "+15550104477"))

    def test_a_patient_with_no_way_to_be_reached_is_not_invited(self):
        self.sign_in(self.front_desk)
        response = self.client.post(
            f"/patients/{self.other_patient.id}/portal-invitation/", follow=True
        )
        self.assertContains(response, "No invitation sent")
        self.assertFalse(PortalInvitation.objects.filter(patient=self.other_patient).exists())

    def test_staff_of_another_clinic_get_404(self):
        self.sign_in(self.prescriber_b)
        response = self.client.post(f"/patients/{self.patient.id}/portal-invitation/")
        self.assertEqual(response.status_code, 404)
        self.assertFalse(PortalInvitation.objects.exists())

    def test_the_card_on_the_patients_page_offers_the_invitation(self):
        self.sign_in(self.front_desk)
        response = self.client.get(f"/patients/{self.patient.id}/")
        self.assertContains(response, "Invite to the portal")

    def test_an_invitation_works_once_and_a_new_one_retires_the_old(self):
        first = self.invite(self.patient, self.front_desk)
        second = self.invite(self.patient, self.front_desk)
        self.assertEqual(Client().get(f"/portal/welcome/{first}/").status_code, 410)
        browser = Client()
        data = {"login": "ada", "password": PASSWORD, "password_again": PASSWORD}
        self.assertEqual(browser.post(f"/portal/welcome/{second}/", data).status_code, 302)
        self.assertEqual(Client().post(f"/portal/welcome/{second}/", data).status_code, 410)
        self.assertEqual(Client().get("/portal/welcome/not-a-token/").status_code, 404)

    def test_an_expired_invitation_is_refused(self):
        token = self.invite(self.patient, self.front_desk)
        PortalInvitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        response = Client().get(f"/portal/welcome/{token}/")
        self.assertEqual(response.status_code, 410)
        self.assertContains(response, "expired", status_code=410)

    def test_the_password_meets_djangos_validators(self):
        token = self.invite(self.patient, self.front_desk)
        browser = Client()
        response = browser.post(
            f"/portal/welcome/{token}/",
            {"login": "ada", "password": "short", "password_again": "short"},
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "too short")
        response = browser.post(
            f"/portal/welcome/{token}/",
            {"login": "ada", "password": PASSWORD, "password_again": PASSWORD + "x"},
        )
        self.assertContains(response, "not the same")
        self.assertFalse(PortalAccount.objects.exists())
        self.assertIsNone(PortalInvitation.objects.get().used_at)


class EnrolmentTests(PortalTestCase):
    def test_invitation_password_authenticator_then_sign_in(self):
        browser, account = self.enrol(self.patient, self.front_desk, "ada@example.org")
        self.assertTrue(account.ready)
        self.assertTrue(account.password.startswith("argon2") or "$" in account.password)
        self.assertNotIn(PASSWORD, account.password)
        response = browser.get("/portal/")
        self.assertContains(response, "Hello, Ada")
        self.assertContains(response, "not monitored for emergencies")
        self.assertTrue(
            AuditEvent.objects.filter(
                action=Action.LOGIN, patient=self.patient, username="(patient portal)"
            ).exists()
        )
        # The portal's cookie is its own, and sent only under /portal/.
        cookie = browser.cookies[session.COOKIE]
        self.assertEqual(cookie["path"], "/portal/")
        self.assertTrue(cookie["httponly"])
        self.assertNotIn(settings.SESSION_COOKIE_NAME, browser.cookies)

    def test_a_wrong_first_code_does_not_enrol(self):
        token = self.invite(self.patient, self.front_desk)
        browser = Client()
        browser.post(
            f"/portal/welcome/{token}/",
            {"login": "ada", "password": PASSWORD, "password_again": PASSWORD},
        )
        response = browser.post("/portal/authenticator/", {"code": "000000"})
        self.assertContains(response, "6-digit code")
        self.assertIsNone(PortalAccount.objects.get().totp_confirmed_at)
        # Without an enrolled authenticator the password alone signs nobody in.
        response = Client().post(
            "/portal/sign-in/", {"login": "ada", "password": PASSWORD, "code": "123456"}
        )
        self.assertContains(response, "do not match")

    def test_the_authenticator_page_needs_an_account_being_set_up(self):
        response = Client().get("/portal/authenticator/")
        self.assertRedirects(response, "/portal/sign-in/", fetch_redirect_response=False)


class SignInTests(PortalTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()

    def setUp(self):
        self.browser, self.account = self.enrol(self.patient, self.front_desk, "ada")
        self.browser.post("/portal/sign-out/")

    def attempt(self, password=PASSWORD, code=None, login="ada", browser=None):
        code = code or totp.code_at(self.account.totp_key, time.time() + totp.STEP)
        PortalAccount.objects.filter(pk=self.account.pk).update(totp_last_t=-1)
        return (browser or Client()).post(
            "/portal/sign-in/", {"login": login, "password": password, "code": code}
        )

    def test_a_wrong_password_or_code_is_refused_without_saying_which(self):
        for response in (self.attempt(password="wrong password here"), self.attempt(code="000000")):
            self.assertContains(response, "do not match")
        self.assertEqual(SignInFailure.objects.filter(login="ada").count(), 2)

    def test_a_code_is_never_accepted_twice(self):
        code = totp.code_at(self.account.totp_key, time.time() + totp.STEP)
        self.assertEqual(self.attempt(code=code).status_code, 302)
        response = Client().post(
            "/portal/sign-in/", {"login": "ada", "password": PASSWORD, "code": code}
        )
        self.assertContains(response, "do not match")

    def test_the_name_is_locked_after_the_staff_limit_of_failures(self):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            self.assertEqual(self.attempt(password="wrong password here").status_code, 200)
        response = self.attempt(password="wrong password here")
        self.assertEqual(response.status_code, 429)
        self.assertContains(response, "paused", status_code=429)
        # Locked: even the right password and code are refused until the lock ends.
        self.assertEqual(self.attempt().status_code, 429)
        SignInFailure.objects.update(at=timezone.now() - settings.AXES_COOLOFF_TIME)
        self.assertEqual(self.attempt().status_code, 302)
        self.assertFalse(SignInFailure.objects.filter(login="ada").exists())

    def test_an_address_is_locked_after_failures_across_names(self):
        limit = settings.TRELLIS_LOCKOUT_ADDRESS_FAILURES
        SignInFailure.objects.bulk_create(
            SignInFailure(login=f"guess{n}", address="127.0.0.1") for n in range(limit)
        )
        self.assertEqual(self.attempt().status_code, 429)

    @override_settings(AXES_FAILURE_LIMIT=2)
    def test_unknown_names_count_too(self):
        self.attempt(login="nobody")
        self.assertEqual(self.attempt(login="nobody").status_code, 429)

    def test_the_session_ends_after_idle_minutes(self):
        browser = Client()
        self.assertEqual(self.attempt(browser=browser).status_code, 302)
        self.assertEqual(browser.get("/portal/").status_code, 200)
        later = time.time() + session.IDLE_MINUTES * 60 + 5
        with mock.patch("trellis.portal.session.time.time", return_value=later):
            response = browser.get("/portal/")
        self.assertRedirects(
            response, "/portal/sign-in/?next=%2Fportal%2F&idle=1", fetch_redirect_response=False
        )
        self.assertEqual(browser.get("/portal/").status_code, 302)

    def test_signing_out_ends_the_session(self):
        browser = Client()
        self.attempt(browser=browser)
        browser.post("/portal/sign-out/")
        self.assertEqual(browser.get("/portal/").status_code, 302)
        self.assertTrue(AuditEvent.objects.filter(action=Action.LOGOUT, patient=self.patient))

    def test_old_failures_are_forgotten_by_the_worker(self):
        self.attempt(password="wrong password here")
        SignInFailure.objects.create(
            login="ada", at=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
        )
        from trellis.messaging import jobs

        self.assertIn("portal_sign_in_failures", [job.name for job in jobs.registered()])
        self.assertEqual(services.prune_sign_in_failures(), 1)
        self.assertEqual(SignInFailure.objects.count(), 1)
