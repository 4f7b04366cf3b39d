from django.core.management.base import BaseCommand

from trellis.fhir import smart
from trellis.fhir.management.commands._clients import administrator


class Command(BaseCommand):
    help = "List a clinic's SMART Backend Services clients: client_id, name, state and scopes."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--clinic", required=True, help="slug of the clinic")
        parser.add_argument("--by", required=True, help="username of a clinic administrator")

    def handle(self, clinic: str, by: str, **options) -> None:
        actor = administrator(by, clinic)
        for client in smart.clients_of(actor.clinic):
            state = "active" if client.is_active else f"revoked {client.revoked_at:%Y-%m-%d}"
            self.stdout.write(f"{client.client_id}\t{client.name}\t{state}\t{client.scope}")
