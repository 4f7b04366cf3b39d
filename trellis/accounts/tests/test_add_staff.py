import io
from unittest import mock

from django.core.management import call_command
from django.core.management.base import CommandError

from trellis.accounts.models import Membership, User
from trellis.testing import TrellisTestCase


def add_staff(*args: str, password: str = "a long enough passphrase") -> str:
    out = io.StringIO()
    with mock.patch("sys.stdin", io.StringIO(password + "\n")):
        call_command("add_staff", *args, stdout=out)
    return out.getvalue()


class AddStaffTests(TrellisTestCase):
    def test_it_creates_a_member_of_staff_with_a_role(self):
        out = add_staff("jo", "--clinic", "alpha", "--role", "nurse", "--first-name", "Jo")
        self.assertIn("jo is now Nurse at Alpha Clinic", out)
        user = User.objects.get(username="jo")
        self.assertTrue(user.check_password("a long enough passphrase"))
        self.assertEqual(Membership.objects.get(user=user).role, "nurse")

    def test_it_refuses_a_short_password(self):
        with self.assertRaisesRegex(CommandError, "password: .*at least 12 characters"):
            add_staff("jo", "--clinic", "alpha", "--role", "nurse", password="short")
        self.assertFalse(User.objects.filter(username="jo").exists())

    def test_it_refuses_an_e_mail_address_the_outbox_cannot_use(self):
        with self.assertRaisesRegex(CommandError, "^email: Enter a valid email address"):
            add_staff("jo", "--clinic", "alpha", "--role", "nurse", "--email", "jo@example")
        self.assertFalse(User.objects.filter(username="jo").exists())
        add_staff("jo", "--clinic", "alpha", "--role", "nurse", "--email", " jo@example.org ")
        self.assertEqual(User.objects.get(username="jo").email, "jo@example.org")

    def test_an_existing_member_gets_a_role_at_another_clinic(self):
        add_staff("nurse", "--clinic", "beta", "--role", "therapist")
        self.assertEqual(
            Membership.objects.get(user=self.nurse, clinic=self.clinic_b).role, "therapist"
        )
