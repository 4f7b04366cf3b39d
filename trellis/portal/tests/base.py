"""Two patients of two clinics, each able to set up a portal sign-in."""

import re
import time

from django.test import Client

from trellis.aftercare.tests.base import AftercareTestCase
from trellis.messaging.models import OutboxMessage
from trellis.portal import totp
from trellis.portal.models import PortalAccount

PASSWORD = "lantern orchard velvet 42"


class PortalTestCase(AftercareTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.patient_b.email = "alan@example.org"
        cls.patient_b.save(update_fields=["email"])

    def invite(self, patient, staff) -> str:
        """The token of a new invitation sent by ``staff``, read from the queued message."""
        self.sign_in(staff)
        before = OutboxMessage.objects.filter(patient=patient).count()
        response = self.client.post(f"/patients/{patient.id}/portal-invitation/")
        self.assertEqual(response.status_code, 302)
        messages = OutboxMessage.objects.filter(patient=patient).order_by("created_at")
        self.assertEqual(messages.count(), before + 1)
        match = re.search(r"/portal/welcome/([^/\s]+)/", messages.last().body)
        self.assertIsNotNone(match)
        self.client.logout()
        return match.group(1)

    def enrol(self, patient, staff, login: str) -> tuple[Client, PortalAccount]:
        """Invitation, password and authenticator: a patient client that is signed in."""
        token = self.invite(patient, staff)
        browser = Client()
        response = browser.post(
            f"/portal/welcome/{token}/",
            {"login": login, "password": PASSWORD, "password_again": PASSWORD},
        )
        self.assertRedirects(response, "/portal/authenticator/", fetch_redirect_response=False)
        account = PortalAccount.objects.get(patient=patient)
        response = browser.post(
            "/portal/authenticator/", {"code": totp.code_at(account.totp_key, time.time())}
        )
        self.assertRedirects(response, "/portal/sign-in/", fetch_redirect_response=False)
        self.portal_sign_in(browser, login)
        account.refresh_from_db()
        return browser, account

    def portal_sign_in(self, browser: Client, login: str, password: str = PASSWORD):
        account = PortalAccount.objects.get(login=login)
        # The authenticator's next code: the current step was spent enrolling it.
        code = totp.code_at(account.totp_key, time.time() + totp.STEP)
        PortalAccount.objects.filter(pk=account.pk).update(totp_last_t=-1)
        response = browser.post(
            "/portal/sign-in/", {"login": login, "password": password, "code": code}
        )
        self.assertRedirects(response, "/portal/", fetch_redirect_response=False)
        return response
