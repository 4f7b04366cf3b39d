from django.core.management.base import BaseCommand, CommandError

from trellis.accounts.models import Clinic, User
from trellis.accounts.services import issue_token


class Command(BaseCommand):
    help = "Print a new API token for USERNAME (shown once; only its hash is stored)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--clinic",
            help="slug of the clinic the token acts at (needed when the user works at several)",
        )
        parser.add_argument("--name", default="", help="what the token is for, e.g. 'lab import'")

    def handle(self, username: str, clinic: str | None, name: str, **options) -> None:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}.")
        clinics = Clinic.objects.filter(memberships__user=user, memberships__is_active=True)
        if clinic:
            clinics = clinics.filter(slug=clinic)
        found = list(clinics)
        if not found:
            raise CommandError(f"{username} has no active role at {clinic or 'any clinic'}.")
        if len(found) > 1:
            slugs = ", ".join(c.slug for c in found)
            raise CommandError(
                f"{username} works at several clinics ({slugs}); choose with --clinic."
            )
        _, token = issue_token(user, found[0], name)
        self.stdout.write(token)
