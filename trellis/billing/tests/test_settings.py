"""The billing settings on the clinic settings page: a payer type and a visit code to pick."""

from trellis.accounts import clinic_settings
from trellis.accounts.tests.test_clinic_settings import VALID
from trellis.billing import selectors
from trellis.billing.coding import PayerType
from trellis.lib.errors import InputError
from trellis.testing import TrellisTestCase


class BillingSettingsTests(TrellisTestCase):
    def test_the_defaults_are_commercial_and_a_level_3_visit(self):
        self.assertEqual(selectors.payer_type(self.clinic_a), PayerType.COMMERCIAL)
        self.assertEqual(selectors.visit_code(self.clinic_a), "99213")

    def test_the_administrator_picks_them_from_a_list(self):
        self.sign_in(self.admin)
        page = self.client.get("/accounts/clinic/settings/").content.decode()
        self.assertIn('<select name="setting_billing_default_payer"', page)
        self.assertIn(">Self-pay</option>", page)
        self.assertIn(">99215, level 5</option>", page)
        response = self.client.post(
            "/accounts/clinic/settings/",
            {**VALID, "setting_billing_default_payer": "3", "setting_billing_visit_code": "99214"},
        )
        self.assertRedirects(response, "/accounts/clinic/settings/")
        self.clinic_a.refresh_from_db()
        self.assertEqual(selectors.payer_type(self.clinic_a), PayerType.SELF_PAY)
        self.assertEqual(selectors.visit_code(self.clinic_a), "99214")

    def test_an_option_not_on_the_list_is_refused_by_name(self):
        self.sign_in(self.admin)
        response = self.client.post(
            "/accounts/clinic/settings/", {**VALID, "setting_billing_default_payer": "4"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.context["form"].errors["setting_billing_default_payer"])
        with self.assertRaises(InputError) as caught:
            clinic_settings.validate({"billing_default_payer": 0})
        self.assertEqual(caught.exception.field, "settings.billing_default_payer")
        self.assertEqual(
            set(selectors.PAYER_SETTING),
            {value for value, _ in clinic_settings.DEFINITIONS["billing_default_payer"].choices},
        )
