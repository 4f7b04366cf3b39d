from django.core.management.base import BaseCommand, CommandError

from trellis.fhir import smart
from trellis.fhir.management.commands._clients import administrator
from trellis.fhir.models import SystemClient


class Command(BaseCommand):
    help = "Revoke a SMART Backend Services client: its tokens stop working at once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("client_id")
        parser.add_argument("--clinic", required=True, help="slug of the clinic")
        parser.add_argument("--by", required=True, help="username of a clinic administrator")

    def handle(self, client_id: str, clinic: str, by: str, **options) -> None:
        actor = administrator(by, clinic)
        client = SystemClient.objects.filter(client_id=client_id, clinic=actor.clinic).first()
        if client is None:
            raise CommandError(f"No system client {client_id!r} at {clinic}.")
        smart.revoke_client(actor, client)
        self.stdout.write(f"Revoked {client.name} ({client.client_id}).")
