import json

from django.core.management.base import BaseCommand, CommandError

from trellis.fhir import smart
from trellis.fhir.management.commands._clients import administrator
from trellis.lib.errors import InputError


class Command(BaseCommand):
    help = (
        "Register a SMART Backend Services client at a clinic: its public JWK set (RS384 or "
        "ES384 keys, each with a kid) and the system scopes it may ask for. Prints its client_id."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--clinic", required=True, help="slug of the clinic")
        parser.add_argument("--name", required=True, help="what the client is, e.g. 'registry'")
        parser.add_argument("--jwks", required=True, help="file holding the public JWK set")
        parser.add_argument(
            "--scope",
            required=True,
            nargs="+",
            help="system scopes, e.g. system/Patient.rs system/Observation.rs (or system/*.rs)",
        )
        parser.add_argument(
            "--by", required=True, help="username of the clinic administrator registering it"
        )

    def handle(self, clinic: str, name: str, jwks: str, scope: list[str], by: str, **options):
        actor = administrator(by, clinic)
        try:
            with open(jwks, encoding="utf-8") as handle:
                keys = json.load(handle)
        except (OSError, ValueError) as error:
            raise CommandError(f"--jwks: cannot read a JSON JWK set from {jwks}: {error}") from None
        try:
            client = smart.register_client(actor, name=name, jwks=keys, scope=" ".join(scope))
        except InputError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(client.client_id)
