from django.urls import reverse

from trellis.accounts.models import User
from trellis.testing import TrellisTestCase


class AdminTests(TrellisTestCase):
    """Staff who leave are deactivated and clinics stay: the admin deletes neither."""

    def setUp(self) -> None:
        self.root = User.objects.create_superuser("root", password="a long enough passphrase")
        self.sign_in(self.root)

    def test_staff_are_deactivated_not_deleted(self):
        delete = reverse("admin:accounts_user_delete", args=[self.nurse.pk])
        self.assertEqual(self.client.get(delete).status_code, 403)
        self.assertEqual(self.client.post(delete, {"post": "yes"}).status_code, 403)
        change = self.client.get(reverse("admin:accounts_user_change", args=[self.nurse.pk]))
        self.assertContains(change, 'name="is_active"')
        self.assertTrue(User.objects.filter(pk=self.nurse.pk).exists())

    def test_clinics_are_not_deleted(self):
        delete = reverse("admin:accounts_clinic_delete", args=[self.clinic_b.pk])
        self.assertEqual(self.client.post(delete, {"post": "yes"}).status_code, 403)

    def test_the_lists_offer_no_delete_action(self):
        for name in ("accounts_user", "accounts_clinic"):
            page = self.client.get(reverse(f"admin:{name}_changelist"))
            self.assertEqual(page.status_code, 200)
            self.assertNotContains(page, 'value="delete_selected"')
