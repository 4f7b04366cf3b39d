import time

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from trellis import settings as project_settings
from trellis.accounts.middleware import SESSION_LAST_SEEN
from trellis.audit.models import Action, AuditEvent
from trellis.testing import PASSWORD, TrellisTestCase


class PasswordTests(TrellisTestCase):
    def test_production_hashes_passwords_with_argon2(self):
        self.assertEqual(
            project_settings.PASSWORD_HASHERS[0], "django.contrib.auth.hashers.Argon2PasswordHasher"
        )

    def test_it_refuses_passwords_shorter_than_twelve_characters(self):
        with self.assertRaises(ValidationError) as raised:
            validate_password("Kx9!mq2#Lp4")  # 11 characters
        self.assertIn("at least 12 characters", " ".join(raised.exception.messages))

    def test_it_accepts_a_twelve_character_password(self):
        self.assertIsNone(validate_password("Kx9!mq2#Lp4v"))


class LockoutTests(TrellisTestCase):
    def attempt(self, password: str, username: str = "nurse"):
        return self.client.post(
            "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR="10.0.0.9"
        )

    def test_it_locks_the_account_after_five_failures(self):
        for _ in range(4):
            self.assertEqual(self.attempt("wrong password!").status_code, 200)
        locked = self.attempt("wrong password!")
        self.assertEqual(locked.status_code, 429)
        self.assertContains(locked, "Sign-in locked", status_code=429)
        self.assertContains(locked, "Try again in 15 minutes", status_code=429)

    def test_a_locked_account_refuses_even_the_right_password(self):
        for _ in range(5):
            self.attempt("wrong password!")
        response = self.attempt(PASSWORD)
        self.assertEqual(response.status_code, 429)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_a_success_before_the_limit_resets_the_count(self):
        for _ in range(4):
            self.attempt("wrong password!")
        self.assertRedirects(self.attempt(PASSWORD), "/", fetch_redirect_response=False)
        self.client.logout()
        for _ in range(4):
            self.assertEqual(self.attempt("wrong password!").status_code, 200)

    def test_someone_elses_sign_in_from_the_same_address_does_not_unlock_an_account(self):
        for _ in range(5):
            self.attempt("wrong password!", username="nurse")
        self.assertRedirects(
            self.attempt(PASSWORD, username="therapist"), "/", fetch_redirect_response=False
        )
        self.client.logout()
        self.assertEqual(self.attempt(PASSWORD, username="nurse").status_code, 429)
        self.assertEqual(self.attempt("wrong password!", username="nurse").status_code, 429)

    def test_a_locked_account_stays_locked_from_another_address(self):
        for _ in range(5):
            self.attempt("wrong password!", username="nurse")
        response = self.client.post(
            "/accounts/login/", {"username": "nurse", "password": PASSWORD}, REMOTE_ADDR="10.0.0.77"
        )
        self.assertEqual(response.status_code, 429)

    def test_one_persons_failures_do_not_lock_out_colleagues_behind_the_same_address(self):
        for _ in range(5):
            self.attempt("wrong password!", username="nurse")
        self.assertRedirects(
            self.attempt(PASSWORD, username="therapist"), "/", fetch_redirect_response=False
        )

    def test_a_success_clears_only_its_own_username(self):
        for _ in range(4):
            self.attempt("wrong password!", username="nurse")
        self.attempt(PASSWORD, username="therapist")
        self.client.logout()
        self.assertEqual(self.attempt("wrong password!", username="nurse").status_code, 429)

    @override_settings(TRELLIS_LOCKOUT_ADDRESS_FAILURES=8)
    def test_an_address_guessing_many_usernames_is_locked_and_a_success_does_not_free_it(self):
        for i in range(4):
            self.attempt("wrong password!", username=f"guess{i}")
        self.assertRedirects(
            self.attempt(PASSWORD, username="therapist"), "/", fetch_redirect_response=False
        )
        self.client.logout()
        for i in range(4, 7):
            self.assertEqual(self.attempt("wrong password!", username=f"guess{i}").status_code, 200)
        self.assertEqual(self.attempt("wrong password!", username="guess7").status_code, 429)
        self.assertEqual(self.attempt(PASSWORD, username="therapist").status_code, 429)
        other_address = self.client.post(
            "/accounts/login/", {"username": "nurse", "password": PASSWORD}, REMOTE_ADDR="10.0.0.77"
        )
        self.assertRedirects(other_address, "/", fetch_redirect_response=False)

    def test_failed_and_successful_sign_ins_are_audited(self):
        self.attempt("wrong password!")
        self.attempt(PASSWORD)
        events = list(AuditEvent.objects.order_by("-seq")[:2])
        self.assertEqual([e.action for e in events], [Action.LOGIN, Action.LOGIN_FAILED])
        self.assertEqual(events[1].username, "nurse")
        self.assertEqual(events[1].source_address, "10.0.0.9")

    def test_the_error_does_not_tell_whether_the_username_exists(self):
        unknown = self.attempt("wrong password!", username="nobody")
        known = self.attempt("wrong password!", username="therapist")
        self.assertContains(unknown, "Please enter a correct username and password")
        self.assertContains(known, "Please enter a correct username and password")


class IdleLogoffTests(TrellisTestCase):
    def go_idle(self, seconds: float) -> None:
        session = self.client.session
        session[SESSION_LAST_SEEN] = time.time() - seconds
        session.save()

    def test_it_signs_out_after_fifteen_idle_minutes(self):
        self.sign_in(self.nurse)
        self.client.get("/")
        self.go_idle(15 * 60 + 5)
        response = self.client.get(f"/patients/{self.patient.id}/")
        self.assertRedirects(
            response,
            f"/accounts/login/?next=/patients/{self.patient.id}/",
            fetch_redirect_response=False,
        )
        self.assertNotIn("_auth_user_id", self.client.session)
        page = self.client.get(response.url)
        self.assertContains(page, "signed out after 15 minutes without activity")

    def test_fourteen_idle_minutes_keep_the_session(self):
        self.sign_in(self.nurse)
        self.client.get("/")
        self.go_idle(14 * 60)
        self.assertEqual(self.client.get("/").status_code, 200)

    def test_the_clinic_sets_the_idle_time(self):
        self.clinic_a.settings = {"idle_logoff_minutes": 5}
        self.clinic_a.save(update_fields=["settings"])
        self.sign_in(self.nurse)
        self.client.get("/")
        self.go_idle(5 * 60 + 5)
        self.assertEqual(self.client.get("/").status_code, 302)

    def test_htmx_requests_are_redirected_by_header(self):
        self.sign_in(self.nurse)
        self.client.get("/")
        self.go_idle(16 * 60)
        response = self.client.get("/patients/", {"q": "a"}, HTTP_HX_REQUEST="true")
        self.assertTrue(response["HX-Redirect"].startswith("/accounts/login/"))

    def test_htmx_requests_without_a_session_send_the_page_to_sign_in(self):
        response = self.client.get(
            "/patients/",
            {"q": "a"},
            HTTP_HX_REQUEST="true",
            HTTP_HX_CURRENT_URL="http://testserver/calendar/?date=2026-12-07",
        )
        self.assertEqual(response.status_code, 204)
        self.assertEqual(
            response["HX-Redirect"], "/accounts/login/?next=%2Fcalendar%2F%3Fdate%3D2026-12-07"
        )
        # A page asked for by the browser itself still answers with a plain redirect.
        plain = self.client.get("/patients/")
        self.assertEqual(plain.status_code, 302)
        self.assertFalse(plain.has_header("HX-Redirect"))

    def test_keepalive_answers_no_content_and_counts_as_activity(self):
        self.sign_in(self.nurse)
        self.client.get("/")
        self.go_idle(10 * 60)
        self.assertEqual(self.client.post("/accounts/keepalive/").status_code, 204)
        self.go_idle(0)  # the keepalive refreshed the clock; simulate it being recent
        self.assertEqual(self.client.get("/").status_code, 200)

    def test_pages_tell_the_browser_the_idle_time(self):
        self.sign_in(self.nurse)
        self.assertContains(self.client.get("/"), 'data-idle-seconds="900"')


class MfaTests(TrellisTestCase):
    def sign_in_password_only(self, user) -> None:
        self.client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})

    def test_every_role_must_set_up_a_second_factor_before_seeing_patients(self):
        for user in [*self.staff_a.values(), self.prescriber_b]:
            with self.subTest(user=user.username):
                self.client.logout()
                self.sign_in_password_only(user)
                response = self.client.get(f"/patients/{self.patient.id}/")
                self.assertEqual(response.status_code, 302)
                self.assertTrue(response.url.startswith("/accounts/mfa/"))

    def test_setting_up_an_authenticator_with_a_valid_code_lets_the_user_in(self):
        self.sign_in_password_only(self.prescriber)
        page = self.client.get("/accounts/mfa/")
        self.assertContains(page, "Set up two-step sign-in")
        device = TOTPDevice.objects.get(user=self.prescriber, confirmed=False)
        code = f"{totp(device.bin_key):06d}"
        response = self.client.post("/accounts/mfa/", {"code": code, "next": "/patients/"})
        self.assertRedirects(response, "/patients/", fetch_redirect_response=False)
        device.refresh_from_db()
        self.assertTrue(device.confirmed)
        self.assertEqual(self.client.get("/patients/").status_code, 200)

    def test_a_wrong_code_is_refused_with_a_message(self):
        self.sign_in_password_only(self.prescriber)
        self.client.get("/accounts/mfa/")
        response = self.client.post("/accounts/mfa/", {"code": "000000"})
        self.assertContains(response, "That code is not valid")
        self.assertEqual(self.client.get("/patients/").status_code, 302)

    def test_a_returning_user_verifies_with_the_existing_device(self):
        device = TOTPDevice.objects.create(user=self.nurse, name="phone", confirmed=True)
        self.sign_in_password_only(self.nurse)
        self.assertContains(self.client.get("/accounts/mfa/"), "Enter the six-digit code")
        response = self.client.post("/accounts/mfa/", {"code": f"{totp(device.bin_key):06d}"})
        self.assertRedirects(response, "/", fetch_redirect_response=False)
        self.assertEqual(self.client.get(f"/patients/{self.patient.id}/").status_code, 200)

    def test_the_next_parameter_cannot_send_the_user_off_site(self):
        device = TOTPDevice.objects.create(user=self.nurse, name="phone", confirmed=True)
        self.sign_in_password_only(self.nurse)
        response = self.client.post(
            "/accounts/mfa/",
            {"code": f"{totp(device.bin_key):06d}", "next": "https://evil.example/"},
        )
        self.assertRedirects(response, "/", fetch_redirect_response=False)

    @override_settings(TRELLIS_MFA_REQUIRED=False)
    def test_the_demo_can_waive_mfa_and_says_so(self):
        self.sign_in_password_only(self.nurse)
        response = self.client.get("/")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "multi-factor sign-in is waived")
