import getpass
import sys

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from trellis.accounts.models import Clinic, Membership, User
from trellis.accounts.permissions import Role


class Command(BaseCommand):
    help = (
        "Create a member of staff (or give an existing one a role) at a clinic. The password is "
        "asked for, or read from standard input when it is not a terminal."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--clinic", required=True, help="clinic slug")
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--email", default="")

    def handle(self, username, clinic, role, first_name, last_name, email, **options) -> None:
        site = Clinic.objects.filter(slug=clinic).first()
        if site is None:
            raise CommandError(f"No clinic with slug {clinic!r}.")
        email = email.strip()
        if email:
            # Alert escalations are e-mailed to this address: refuse one the outbox cannot use.
            try:
                validate_email(email)
            except ValidationError as error:
                raise CommandError("email: " + " ".join(error.messages)) from None
        user = User.objects.filter(username=username).first()
        with transaction.atomic():
            if user is None:
                user = User(
                    username=username, first_name=first_name, last_name=last_name, email=email
                )
                password = self._password()
                try:
                    validate_password(password, user)
                except ValidationError as error:
                    raise CommandError("password: " + " ".join(error.messages)) from None
                user.set_password(password)
                user.save()
            membership, created = Membership.objects.update_or_create(
                user=user, clinic=site, defaults={"role": role, "is_active": True}
            )
        verb = "now" if created else "still"
        self.stdout.write(f"{username} is {verb} {membership.get_role_display()} at {site.name}.")

    def _password(self) -> str:
        if not sys.stdin.isatty():
            return sys.stdin.readline().rstrip("\n")
        first = getpass.getpass("Password (12 characters or more): ")
        if first != getpass.getpass("Again: "):
            raise CommandError("The two passwords differ.")
        return first
