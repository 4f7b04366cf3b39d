from uuid import UUID

from django.core.management.base import BaseCommand, CommandError

from trellis.accounts.models import ApiToken
from trellis.accounts.services import revoke_token


class Command(BaseCommand):
    help = "Revoke an API token by its id (see list_tokens)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("token_id")

    def handle(self, token_id: str, **options) -> None:
        try:
            token = ApiToken.objects.filter(pk=UUID(token_id)).first()
        except ValueError:
            token = None
        if token is None:
            raise CommandError(f"No token with id {token_id!r}.")
        revoke_token(token)
        self.stdout.write(f"Revoked {token.hint}… ({token.user.username}).")
