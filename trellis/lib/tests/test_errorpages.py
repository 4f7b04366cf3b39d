"""Under DEBUG, someone not signed in sees the product's "Not found" page, never Django's
technical 404 with the site's URL patterns; signed-in staff keep the technical page."""

from django.test import override_settings

from trellis.testing import TrellisTestCase

TECHNICAL = "Using the URLconf defined in"  # Django's technical 404 page
PRODUCT = "There is no such page or record here."


@override_settings(DEBUG=True)
class DebugNotFoundTests(TrellisTestCase):
    def test_an_unknown_address_shows_the_product_page_to_someone_signed_out(self):
        response = self.client.get("/no-such-page/")
        self.assertEqual(response.status_code, 404)
        self.assertContains(response, PRODUCT, status_code=404)
        self.assertNotContains(response, TECHNICAL, status_code=404)
        self.assertNotContains(response, "api/v1/", status_code=404)

    def test_a_view_that_finds_nothing_shows_the_product_page_to_someone_signed_out(self):
        # The public request form of a clinic that does not exist: the view raises Http404.
        response = self.client.get("/request/no-such-clinic/")
        self.assertContains(response, PRODUCT, status_code=404)
        self.assertNotContains(response, TECHNICAL, status_code=404)

    def test_a_missing_slash_still_redirects(self):
        response = self.client.get("/accounts/login")
        self.assertRedirects(response, "/accounts/login/", status_code=301)

    def test_signed_in_staff_keep_the_technical_page_under_debug(self):
        self.sign_in(self.nurse)
        response = self.client.get("/no-such-page/")
        self.assertContains(response, TECHNICAL, status_code=404)


class ProductionNotFoundTests(TrellisTestCase):
    def test_without_debug_everyone_gets_the_product_page(self):
        self.sign_in(self.nurse)
        response = self.client.get("/no-such-page/")
        self.assertContains(response, PRODUCT, status_code=404)
        self.assertNotContains(response, TECHNICAL, status_code=404)
