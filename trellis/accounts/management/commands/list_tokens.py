from django.core.management.base import BaseCommand, CommandError

from trellis.accounts.models import ApiToken, User


class Command(BaseCommand):
    help = "List USERNAME's API tokens (hint, name, clinic, created, last used, state)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")

    def handle(self, username: str, **options) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        tokens = ApiToken.objects.filter(user=user).select_related("clinic")
        if not tokens:
            self.stdout.write(f"{username} has no API tokens.")
        for token in tokens:
            state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            self.stdout.write(
                f"{token.id}  {token.hint}…  {token.name or '-':20}  {token.clinic.slug:12}  "
                f"created {token.created_at:%Y-%m-%d}  last used {used}  {state}"
            )
