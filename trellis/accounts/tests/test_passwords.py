import re

from django.core import mail
from django.test import override_settings

from trellis.audit.models import AuditEvent
from trellis.testing import PASSWORD, TrellisTestCase

NEW_PASSWORD = "a long new passphrase 42"


class PasswordChangeTests(TrellisTestCase):
    def test_the_top_bar_links_to_the_page_which_renders(self):
        self.sign_in(self.nurse)
        self.assertContains(self.client.get("/accounts/"), 'href="/accounts/password/"')
        self.assertContains(self.client.get("/accounts/password/"), "Change password")

    def test_a_signed_in_member_changes_their_password_stays_verified_and_it_is_audited(self):
        self.sign_in(self.nurse)
        response = self.client.post(
            "/accounts/password/",
            {
                "old_password": PASSWORD,
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )
        self.assertRedirects(response, "/accounts/password/changed/")
        self.nurse.refresh_from_db()
        self.assertTrue(self.nurse.check_password(NEW_PASSWORD))
        self.assertEqual(self.client.get("/patients/").status_code, 200)
        event = AuditEvent.objects.get(object_type="accounts.user")
        self.assertEqual((event.user, event.detail["change"]), (self.nurse, "password_changed"))

    def test_a_wrong_old_password_or_a_short_one_is_refused_on_its_field(self):
        self.sign_in(self.nurse)
        response = self.client.post(
            "/accounts/password/",
            {"old_password": "wrong", "new_password1": "short", "new_password2": "short"},
        )
        self.assertEqual(response.status_code, 200)
        errors = response.context["form"].errors
        self.assertIn("old_password", errors)
        self.nurse.refresh_from_db()
        self.assertTrue(self.nurse.check_password(PASSWORD))
        response = self.client.post(
            "/accounts/password/",
            {"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"},
        )
        self.assertIn(
            "at least 12 characters", " ".join(response.context["form"].errors["new_password2"])
        )

    def test_signed_out_visitors_are_sent_to_sign_in(self):
        response = self.client.get("/accounts/password/")
        self.assertRedirects(
            response, "/accounts/login/?next=/accounts/password/", fetch_redirect_response=False
        )


@override_settings(TRELLIS_BASE_URL="https://trellis.example.org")
class PasswordResetTests(TrellisTestCase):
    def setUp(self):
        self.nurse.email = "nurse@example.org"
        self.nurse.save()

    def test_the_sign_in_page_links_to_the_reset(self):
        page = self.client.get("/accounts/login/")
        self.assertContains(page, 'href="/accounts/password/reset/"')
        self.assertContains(page, "Forgot password?")
        self.assertContains(self.client.get("/accounts/password/reset/"), "Reset your password")

    def test_it_says_the_same_whether_or_not_the_address_has_an_account(self):
        known = self.client.post("/accounts/password/reset/", {"email": "nurse@example.org"})
        unknown = self.client.post("/accounts/password/reset/", {"email": "nobody@example.org"})
        self.assertRedirects(known, "/accounts/password/reset/sent/")
        self.assertRedirects(unknown, "/accounts/password/reset/sent/")
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(mail.outbox[0].to, ["nurse@example.org"])

    def test_the_link_sets_a_new_password_once(self):
        self.client.post("/accounts/password/reset/", {"email": "nurse@example.org"})
        url = re.search(r"https://\S+", mail.outbox[0].body).group(0)
        self.assertTrue(url.startswith("https://trellis.example.org/accounts/password/reset/"))
        path = url.removeprefix("https://trellis.example.org")
        form = self.client.get(path, follow=True)
        self.assertContains(form, "Choose a new password")
        done = self.client.post(
            form.redirect_chain[-1][0],
            {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        )
        self.assertRedirects(done, "/accounts/password/reset/done/")
        self.nurse.refresh_from_db()
        self.assertTrue(self.nurse.check_password(NEW_PASSWORD))
        self.assertContains(self.client.get(path, follow=True), "This link no longer works")
        event = AuditEvent.objects.get(object_type="accounts.user")
        self.assertEqual((event.user, event.detail["change"]), (self.nurse, "password_reset"))

    def test_a_reset_does_not_lift_a_sign_in_lockout(self):
        for _ in range(5):
            self.client.post(
                "/accounts/login/", {"username": "nurse", "password": "wrong password!"}
            )
        self.client.post("/accounts/password/reset/", {"email": "nurse@example.org"})
        url = re.search(r"https://\S+", mail.outbox[0].body).group(0)
        form = self.client.get(url.removeprefix("https://trellis.example.org"), follow=True)
        self.client.post(
            form.redirect_chain[-1][0],
            {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        )
        locked = self.client.post(
            "/accounts/login/", {"username": "nurse", "password": NEW_PASSWORD}
        )
        self.assertEqual(locked.status_code, 429)
