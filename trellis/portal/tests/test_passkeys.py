"""Passkeys in the portal, against a software authenticator: an EC P-256 key that answers the
server's options as a phone would (attestation "none", user present and verified)."""

import hashlib
import json
import os
import time
from unittest import mock

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from trellis.audit.models import Action, AuditEvent
from trellis.portal import passkeys, totp
from trellis.portal.models import PortalAccount, PortalPasskey, SignInFailure
from trellis.portal.tests.base import PASSWORD, PortalTestCase

ORIGIN = "http://testserver"  # the test client's scheme and host
UP, UV, AT = 0x01, 0x04, 0x40  # authenticator data flags: user present, verified, attested


class SoftAuthenticator:
    """One passkey on one device."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.sign_count = 0
        self.user_handle: bytes | None = None

    def cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        # EC2 key (kty 2), ES256 (alg -7), curve P-256 (crv 1), x and y.
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def authenticator_data(self, rp_id: str, flags: int, attested: bool = False) -> bytes:
        data = hashlib.sha256(rp_id.encode()).digest()
        data += bytes([flags]) + self.sign_count.to_bytes(4, "big")
        if attested:
            data += bytes(16)  # AAGUID: none given with attestation "none"
            data += len(self.credential_id).to_bytes(2, "big") + self.credential_id
            data += self.cose_key()
        return data

    def create(self, options: dict, *, origin: str = ORIGIN, flags: int = UP | UV | AT) -> dict:
        """The answer of navigator.credentials.create() as passkeys.js posts it."""
        self.user_handle = base64url_to_bytes(options["user"]["id"])
        client_data = json.dumps(
            {"type": "webauthn.create", "challenge": options["challenge"], "origin": origin}
        ).encode()
        attestation = cbor2.dumps(
            {
                "fmt": "none",
                "attStmt": {},
                "authData": self.authenticator_data(options["rp"]["id"], flags, attested=True),
            }
        )
        return {
            "id": bytes_to_base64url(self.credential_id),
            "rawId": bytes_to_base64url(self.credential_id),
            "type": "public-key",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "attestationObject": bytes_to_base64url(attestation),
                "transports": ["internal", "hybrid"],
            },
        }

    def get(
        self,
        options: dict,
        *,
        origin: str = ORIGIN,
        step: int = 1,
        credential_id: bytes | None = None,
        user_handle: bytes | None = None,
    ) -> dict:
        """The answer of navigator.credentials.get(); the counter moves on by ``step``."""
        self.sign_count += step
        client_data = json.dumps(
            {"type": "webauthn.get", "challenge": options["challenge"], "origin": origin}
        ).encode()
        data = self.authenticator_data(options["rpId"], UP | UV)
        signature = self.key.sign(
            data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        credential_id = credential_id or self.credential_id
        return {
            "id": bytes_to_base64url(credential_id),
            "rawId": bytes_to_base64url(credential_id),
            "type": "public-key",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "authenticatorData": bytes_to_base64url(data),
                "signature": bytes_to_base64url(signature),
                "userHandle": bytes_to_base64url(user_handle or self.user_handle),
            },
        }


def post_json(browser: Client, url: str, body: dict | None = None):
    return browser.post(url, json.dumps(body or {}), content_type="application/json")


class PasskeyTestCase(PortalTestCase):
    def setUp(self):
        self.browser, self.account = self.enrol(self.patient, self.front_desk, "ada")

    def register(self, browser=None, authenticator=None, name="My phone", **create):
        browser = browser or self.browser
        authenticator = authenticator or SoftAuthenticator()
        options = post_json(browser, "/portal/passkeys/options/").json()
        answer = authenticator.create(options, **create)
        response = post_json(browser, "/portal/passkeys/add/", {"name": name, "credential": answer})
        return response, authenticator

    def passkey_sign_in(self, authenticator, browser=None, next_url="", **get):
        browser = browser or Client()
        options = post_json(browser, "/portal/sign-in/passkey/options/").json()
        answer = authenticator.get(options, **get)
        return post_json(
            browser, "/portal/sign-in/passkey/", {"credential": answer, "next": next_url}
        )


class RegistrationTests(PasskeyTestCase):
    def test_a_signed_in_patient_adds_a_passkey_and_signs_in_with_it(self):
        options = post_json(self.browser, "/portal/passkeys/options/").json()
        self.assertEqual(options["rp"]["id"], "testserver")
        self.assertEqual(options["attestation"], "none")
        self.assertEqual(options["authenticatorSelection"]["userVerification"], "required")
        self.assertEqual(options["authenticatorSelection"]["residentKey"], "required")
        # The user handle is the account's random id: nothing about the patient.
        self.assertEqual(base64url_to_bytes(options["user"]["id"]), self.account.pk.bytes)

        response, authenticator = self.register()
        self.assertEqual(response.status_code, 201)
        passkey = PortalPasskey.objects.get(account=self.account)
        self.assertEqual(passkey.name, "My phone")
        self.assertEqual(passkey.clinic_id, self.patient.clinic_id)
        self.assertEqual(passkey.transports, ["internal", "hybrid"])
        self.assertEqual(passkey.credential_id, bytes_to_base64url(authenticator.credential_id))
        added = AuditEvent.objects.get(action=Action.CREATE, object_id=str(passkey.pk))
        self.assertEqual(added.patient_id, self.patient.pk)

        browser = Client()
        response = self.passkey_sign_in(authenticator, browser, next_url="/portal/journal/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"redirect": "/portal/journal/"})
        self.assertContains(browser.get("/portal/"), "Hello, Ada")
        passkey.refresh_from_db()
        self.assertEqual(passkey.sign_count, 1)
        self.assertIsNotNone(passkey.last_used_at)
        login = AuditEvent.objects.filter(action=Action.LOGIN).latest("id")
        self.assertEqual((login.patient_id, login.detail["passkey"]), (self.patient.pk, "My phone"))

    def test_the_passkeys_page_lists_them_and_home_offers_it(self):
        self.assertContains(self.browser.get("/portal/"), 'href="/portal/passkeys/"')
        self.assertContains(self.browser.get("/portal/passkeys/"), "You have no passkeys yet")
        self.register(name="Work laptop")
        page = self.browser.get("/portal/passkeys/")
        self.assertContains(page, "Work laptop")
        self.assertContains(page, "not used yet")
        self.assertContains(page, "passkeys.js")
        self.assertNotContains(page, "<script>")

    def test_the_sign_in_page_offers_a_passkey(self):
        page = Client().get("/portal/sign-in/")
        self.assertContains(page, "Sign in with a passkey")
        self.assertContains(page, 'data-sign-in-url="/portal/sign-in/passkey/"')

    def test_a_passkey_made_for_another_origin_is_refused(self):
        response, _ = self.register(origin="https://portal.example.net")
        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["field"], "credential")
        self.assertFalse(PortalPasskey.objects.exists())

    def test_a_device_that_does_not_verify_its_holder_is_refused(self):
        response, _ = self.register(flags=UP | AT)
        self.assertEqual(response.status_code, 422)
        self.assertFalse(PortalPasskey.objects.exists())

    def test_a_name_is_required(self):
        response, _ = self.register(name="   ")
        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["field"], "name")

    def test_each_passkey_has_its_own_name(self):
        self.assertEqual(self.register(name="My phone")[0].status_code, 201)
        response, _ = self.register(name="my  PHONE")
        self.assertEqual(response.status_code, 422)
        self.assertIn("another of your passkeys", response.json()["detail"])
        # Another patient may use the same name.
        browser_b, _ = self.enrol(self.patient_b, self.prescriber_b, "alan")
        self.assertEqual(self.register(browser_b, name="My phone")[0].status_code, 201)

    def test_a_registration_challenge_is_used_once_and_expires(self):
        authenticator = SoftAuthenticator()
        options = post_json(self.browser, "/portal/passkeys/options/").json()
        answer = authenticator.create(options)
        stale = mock.Mock(time=mock.Mock(return_value=time.time() + passkeys.CHALLENGE_SECONDS + 1))
        with mock.patch("trellis.portal.passkeys.time", stale):
            response = post_json(
                self.browser, "/portal/passkeys/add/", {"name": "Phone", "credential": answer}
            )
        self.assertEqual(response.status_code, 422)
        # Expired is gone: the same answer again finds no challenge either.
        response = post_json(
            self.browser, "/portal/passkeys/add/", {"name": "Phone", "credential": answer}
        )
        self.assertEqual(response.status_code, 422)
        self.assertFalse(PortalPasskey.objects.exists())

    def test_signed_out_the_json_answers_401(self):
        for url in ("/portal/passkeys/options/", "/portal/passkeys/add/"):
            self.assertEqual(post_json(Client(), url).status_code, 401)
        self.assertRedirects(
            Client().get("/portal/passkeys/"),
            "/portal/sign-in/?next=%2Fportal%2Fpasskeys%2F",
            fetch_redirect_response=False,
        )

    def test_a_new_invitation_removes_the_old_passkeys(self):
        self.register()
        token = self.invite(self.patient, self.front_desk)
        Client().post(
            f"/portal/welcome/{token}/",
            {"login": "ada", "password": PASSWORD, "password_again": PASSWORD},
        )
        self.assertFalse(PortalPasskey.objects.exists())


class PasskeySignInTests(PasskeyTestCase):
    def setUp(self):
        super().setUp()
        _, self.authenticator = self.register()
        self.passkey = PortalPasskey.objects.get(account=self.account)

    def refused(self, response, status=401):
        self.assertEqual(response.status_code, status)
        return response.json()["reason"]

    def test_an_answer_for_another_origin_is_refused(self):
        response = self.passkey_sign_in(self.authenticator, origin="https://portal.example.net")
        self.assertEqual(self.refused(response), "invalid")
        self.assertEqual(SignInFailure.objects.filter(login="ada").count(), 1)

    def test_a_replayed_answer_is_refused(self):
        browser = Client()
        options = post_json(browser, "/portal/sign-in/passkey/options/").json()
        answer = self.authenticator.get(options)
        first = post_json(browser, "/portal/sign-in/passkey/", {"credential": answer})
        self.assertEqual(first.status_code, 200)
        # The challenge was used: the same answer, in this browser or another, signs nobody in.
        self.assertEqual(
            self.refused(post_json(browser, "/portal/sign-in/passkey/", {"credential": answer})),
            "invalid",
        )
        other = Client()
        post_json(other, "/portal/sign-in/passkey/options/")
        self.assertEqual(
            self.refused(post_json(other, "/portal/sign-in/passkey/", {"credential": answer})),
            "invalid",
        )

    def test_a_stale_challenge_is_refused(self):
        browser = Client()
        options = post_json(browser, "/portal/sign-in/passkey/options/").json()
        answer = self.authenticator.get(options)
        stale = mock.Mock(time=mock.Mock(return_value=time.time() + passkeys.CHALLENGE_SECONDS + 1))
        with mock.patch("trellis.portal.passkeys.time", stale):
            response = post_json(browser, "/portal/sign-in/passkey/", {"credential": answer})
        self.assertEqual(self.refused(response), "invalid")

    def test_a_counter_that_does_not_grow_is_refused_as_a_possible_clone(self):
        self.assertEqual(self.passkey_sign_in(self.authenticator, step=5).status_code, 200)
        # A copy of the key, behind the original's counter.
        response = self.passkey_sign_in(self.authenticator, step=-2)
        self.assertEqual(self.refused(response), "invalid")
        self.passkey.refresh_from_db()
        self.assertEqual(self.passkey.sign_count, 5)
        event = AuditEvent.objects.filter(action=Action.LOGIN_FAILED).latest("id")
        self.assertTrue(event.detail["possible_clone"])
        self.assertEqual((event.detail["stored_count"], event.detail["presented_count"]), (5, 3))
        self.assertEqual(event.patient_id, self.patient.pk)
        # Equal is not greater either.
        self.assertEqual(self.refused(self.passkey_sign_in(self.authenticator, step=2)), "invalid")

    def test_a_counter_that_stays_at_zero_is_accepted(self):
        # Many passkey managers do not count at all: zero and zero is no sign of a copy.
        for _ in range(2):
            self.assertEqual(self.passkey_sign_in(self.authenticator, step=0).status_code, 200)

    def test_another_patients_passkey_cannot_sign_in_to_this_account(self):
        browser_b, _ = self.enrol(self.patient_b, self.prescriber_b, "alan")
        _, authenticator_b = self.register(browser_b, name="Alan's phone")
        # Alan's key, presented as Ada's passkey: the signature is not by Ada's key.
        response = self.passkey_sign_in(
            authenticator_b, credential_id=self.authenticator.credential_id
        )
        self.assertEqual(self.refused(response), "invalid")
        # Alan's passkey, claiming Ada's account: refused too.
        response = self.passkey_sign_in(authenticator_b, user_handle=self.account.pk.bytes)
        self.assertEqual(self.refused(response), "invalid")
        # Alan's passkey signs in Alan, and only Alan.
        browser = Client()
        self.assertEqual(self.passkey_sign_in(authenticator_b, browser).status_code, 200)
        page = browser.get("/portal/")
        self.assertContains(page, "Hello, Alan")
        self.assertNotContains(page, "Ada")

    def test_a_removed_passkey_no_longer_signs_in(self):
        response = self.browser.post(f"/portal/passkeys/{self.passkey.pk}/remove/")
        self.assertRedirects(response, "/portal/passkeys/", fetch_redirect_response=False)
        self.assertFalse(PortalPasskey.objects.exists())
        self.assertTrue(
            AuditEvent.objects.filter(action=Action.DELETE, object_id=str(self.passkey.pk)).exists()
        )
        response = self.passkey_sign_in(self.authenticator)
        self.assertEqual(self.refused(response), "unknown")
        self.assertIn("not registered", response.json()["detail"])

    def test_a_stopped_sign_in_stops_its_passkeys(self):
        self.sign_in(self.front_desk)
        self.client.post(f"/patients/{self.patient.id}/portal-sign-in/revoke/")
        self.assertEqual(self.refused(self.passkey_sign_in(self.authenticator)), "invalid")

    def test_failures_lock_passkey_and_password_sign_in_alike(self):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            response = self.passkey_sign_in(self.authenticator, origin="https://evil.example")
            self.assertEqual(self.refused(response), "invalid")
        response = self.passkey_sign_in(self.authenticator, origin="https://evil.example")
        self.assertEqual(self.refused(response, 429), "locked")
        self.assertIn("paused", response.json()["detail"])
        # Locked: the right passkey is refused, and so is the right password and code.
        self.assertEqual(self.refused(self.passkey_sign_in(self.authenticator), 429), "locked")
        password = Client().post(
            "/portal/sign-in/", {"login": "ada", "password": PASSWORD, "code": "000000"}
        )
        self.assertEqual(password.status_code, 429)
        # After the lock's time the passkey signs in and the failures are forgotten.
        SignInFailure.objects.update(at=timezone.now() - settings.AXES_COOLOFF_TIME)
        self.assertEqual(self.passkey_sign_in(self.authenticator).status_code, 200)
        self.assertFalse(SignInFailure.objects.filter(login="ada").exists())

    def test_password_failures_count_toward_the_passkey_lock(self):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            Client().post(
                "/portal/sign-in/", {"login": "ada", "password": "wrong", "code": "000000"}
            )
        self.assertEqual(self.refused(self.passkey_sign_in(self.authenticator), 429), "locked")

    @override_settings(TRELLIS_LOCKOUT_ADDRESS_FAILURES=3)
    def test_unknown_passkeys_count_toward_the_addresss_lock(self):
        stranger = SoftAuthenticator()
        stranger.user_handle = os.urandom(16)
        for _ in range(2):
            self.assertEqual(self.refused(self.passkey_sign_in(stranger)), "unknown")
        self.assertEqual(self.refused(self.passkey_sign_in(stranger), 429), "locked")
        self.assertEqual(self.refused(self.passkey_sign_in(self.authenticator), 429), "locked")

    def test_a_malformed_answer_is_refused_without_error(self):
        browser = Client()
        post_json(browser, "/portal/sign-in/passkey/options/")
        for body in ({"credential": "nonsense"}, {"credential": {"id": "x"}}, {}):
            self.assertEqual(
                self.refused(post_json(browser, "/portal/sign-in/passkey/", body)), "unknown"
            )
        response = browser.post("/portal/sign-in/passkey/", "{", content_type="application/json")
        self.assertEqual(self.refused(response), "unknown")


class PasskeyWallTests(PasskeyTestCase):
    def test_a_patient_cannot_list_or_remove_anothers_passkeys(self):
        self.register(name="Ada's phone")
        ada_passkey = PortalPasskey.objects.get(account=self.account)
        browser_b, _ = self.enrol(self.patient_b, self.prescriber_b, "alan")
        self.assertNotContains(browser_b.get("/portal/passkeys/"), "Ada&#x27;s phone")
        response = browser_b.post(f"/portal/passkeys/{ada_passkey.pk}/remove/")
        self.assertEqual(response.status_code, 404)
        self.assertTrue(PortalPasskey.objects.filter(pk=ada_passkey.pk).exists())

    def test_staff_signed_in_are_nobody_on_the_passkeys_page(self):
        self.sign_in(self.front_desk)
        self.assertEqual(self.client.get("/portal/passkeys/").status_code, 302)
        self.assertEqual(post_json(self.client, "/portal/passkeys/options/").status_code, 401)


class EnrolmentTests(PortalTestCase):
    """A passkey in place of the authenticator app, when the invitation is accepted."""

    def accept(self) -> Client:
        token = self.invite(self.patient, self.front_desk)
        browser = Client()
        response = browser.post(
            f"/portal/welcome/{token}/",
            {"login": "ada", "password": PASSWORD, "password_again": PASSWORD},
        )
        self.assertRedirects(response, "/portal/authenticator/", fetch_redirect_response=False)
        return browser

    def test_a_passkey_finishes_the_set_up_and_signs_in_alone(self):
        browser = self.accept()
        self.assertContains(browser.get("/portal/authenticator/"), "Use a passkey instead")
        authenticator = SoftAuthenticator()
        options = post_json(browser, "/portal/authenticator/passkey/options/").json()
        answer = authenticator.create(options)
        response = post_json(
            browser, "/portal/authenticator/passkey/", {"name": "My phone", "credential": answer}
        )
        self.assertEqual(response.status_code, 201)
        self.assertEqual(response.json()["redirect"], "/portal/sign-in/")
        account = PortalAccount.objects.get(patient=self.patient)
        self.assertTrue(account.ready)
        self.assertIsNone(account.totp_confirmed_at)
        event = AuditEvent.objects.get(
            action=Action.CREATE, object_id=str(account.passkeys.get().pk)
        )
        self.assertEqual(event.detail["portal"], "passkey added at set-up")
        self.sign_in(self.front_desk)
        self.assertContains(self.client.get(f"/patients/{self.patient.id}/"), "Signed up as")
        # The set-up session is over: it is nobody, and cannot add another passkey.
        self.assertEqual(browser.get("/portal/").status_code, 302)
        self.assertEqual(
            post_json(browser, "/portal/authenticator/passkey/options/").status_code, 401
        )

        signed_in = Client()
        options = post_json(signed_in, "/portal/sign-in/passkey/options/").json()
        response = post_json(
            signed_in, "/portal/sign-in/passkey/", {"credential": authenticator.get(options)}
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(signed_in.get("/portal/"), "Hello, Ada")

    def test_with_a_passkey_and_no_app_the_password_alone_never_signs_in(self):
        browser = self.accept()
        options = post_json(browser, "/portal/authenticator/passkey/options/").json()
        answer = SoftAuthenticator().create(options)
        post_json(
            browser, "/portal/authenticator/passkey/", {"name": "Phone", "credential": answer}
        )
        account = PortalAccount.objects.get(patient=self.patient)
        # Even the code of the app key that was shown, but never confirmed, is refused.
        code = totp.code_at(account.totp_key, time.time())
        response = Client().post(
            "/portal/sign-in/", {"login": "ada", "password": PASSWORD, "code": code}
        )
        self.assertContains(response, "do not match")

    def test_the_last_passkey_of_a_sign_in_without_an_app_is_kept(self):
        browser = self.accept()
        authenticator = SoftAuthenticator()
        options = post_json(browser, "/portal/authenticator/passkey/options/").json()
        post_json(
            browser,
            "/portal/authenticator/passkey/",
            {"name": "Phone", "credential": authenticator.create(options)},
        )
        signed_in = Client()
        options = post_json(signed_in, "/portal/sign-in/passkey/options/").json()
        post_json(signed_in, "/portal/sign-in/passkey/", {"credential": authenticator.get(options)})
        passkey = PortalPasskey.objects.get()
        response = signed_in.post(f"/portal/passkeys/{passkey.pk}/remove/", follow=True)
        self.assertContains(response, "only way to sign in")
        self.assertTrue(PortalPasskey.objects.filter(pk=passkey.pk).exists())

    def test_without_an_invitation_there_is_nothing_to_set_up(self):
        for url in ("/portal/authenticator/passkey/options/", "/portal/authenticator/passkey/"):
            self.assertEqual(post_json(Client(), url).status_code, 401)
