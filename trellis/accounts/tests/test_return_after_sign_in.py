"""After an idle sign-out the nurse signs in again and is back on the same page; the page to
return to is only ever a path on this site."""

import time

from trellis.accounts.middleware import SESSION_LAST_SEEN, local_url
from trellis.testing import PASSWORD, TrellisTestCase

PAGE = "/patients/?q=Lovelace"


class ReturnToThePageTests(TrellisTestCase):
    def go_idle(self) -> None:
        self.sign_in(self.nurse)
        self.client.get("/")
        session = self.client.session
        session[SESSION_LAST_SEEN] = time.time() - 16 * 60
        session.save()

    def sign_in_again(self, next_url: str):
        return self.client.post(
            "/accounts/login/", {"username": "nurse", "password": PASSWORD, "next": next_url}
        )

    def test_signing_in_after_an_idle_sign_out_returns_to_the_page(self):
        self.go_idle()
        response = self.client.get(PAGE)
        self.assertRedirects(
            response,
            "/accounts/login/?next=%2Fpatients%2F%3Fq%3DLovelace",
            fetch_redirect_response=False,
        )
        login = self.client.get(response.url)
        self.assertContains(login, f'name="next" value="{PAGE}"')
        self.assertRedirects(self.sign_in_again(PAGE), PAGE, fetch_redirect_response=False)

    def test_a_request_made_by_the_page_returns_to_the_page_not_to_the_request(self):
        self.go_idle()
        response = self.client.post(
            "/accounts/keepalive/",
            HTTP_HX_REQUEST="true",
            HTTP_HX_CURRENT_URL="http://testserver/patients/?q=Lovelace",
        )
        self.assertEqual(response.status_code, 204)
        self.assertEqual(
            response["HX-Redirect"], "/accounts/login/?next=%2Fpatients%2F%3Fq%3DLovelace"
        )

    def test_a_script_request_returns_to_the_page_it_came_from(self):
        self.go_idle()
        response = self.client.post(
            "/accounts/keepalive/", HTTP_REFERER="http://testserver/patients/"
        )
        self.assertRedirects(
            response, "/accounts/login/?next=%2Fpatients%2F", fetch_redirect_response=False
        )

    def test_a_page_on_another_site_is_not_a_place_to_return_to(self):
        self.go_idle()
        response = self.client.post(
            "/accounts/keepalive/", HTTP_REFERER="https://evil.example/patients/"
        )
        self.assertRedirects(response, "/accounts/login/", fetch_redirect_response=False)

    def test_sign_in_refuses_to_send_anyone_off_the_site(self):
        for unsafe in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example/",
            "http://testserver/patients/",  # even this host: only a path is taken
            "javascript:alert(1)",
            "/\t/evil.example/",
            "patients/",
        ]:
            with self.subTest(next=unsafe):
                self.client.logout()
                self.assertRedirects(self.sign_in_again(unsafe), "/", fetch_redirect_response=False)

    def test_the_sign_in_page_does_not_carry_an_unsafe_next(self):
        page = self.client.get("/accounts/login/", {"next": "//evil.example/"})
        self.assertContains(page, 'name="next" value=""')

    def test_the_second_factor_page_also_returns_only_to_this_site(self):
        self.sign_in(self.nurse)
        response = self.client.get("/accounts/mfa/", {"next": "//evil.example/"})
        self.assertRedirects(response, "/", fetch_redirect_response=False)
        response = self.client.get("/accounts/mfa/", {"next": PAGE})
        self.assertRedirects(response, PAGE, fetch_redirect_response=False)


class LocalUrlTests(TrellisTestCase):
    def test_only_paths_on_this_site_are_local(self):
        cases = [
            ("/sessions/1/", "/sessions/1/"),
            ("/patients/?q=a&b=c", "/patients/?q=a&b=c"),
            ("", None),
            ("sessions/", None),
            ("//evil.example", None),
            ("/\\evil.example", None),
            ("/\x00/evil.example", None),
            ("/\n/evil.example", None),
            ("https://evil.example/", None),
            ("http:/evil.example", None),
        ]
        for candidate, expected in cases:
            with self.subTest(candidate=candidate):
                self.assertEqual(local_url(candidate), expected)
