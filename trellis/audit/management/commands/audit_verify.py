from django.core.management.base import BaseCommand, CommandError

from trellis.audit.chain import verify
from trellis.audit.models import AuditEvent


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain: prints OK, or names the first broken event."

    def handle(self, **options) -> None:
        events = (
            e.chain_fields() | {"prev_hash": e.prev_hash, "hash": e.hash}
            for e in AuditEvent.objects.order_by("seq").iterator(chunk_size=5000)
        )
        result = verify(events)
        if not result.ok:
            raise CommandError(
                f"Audit chain BROKEN at {result.first_break} "
                f"({result.count} events before it verified)."
            )
        self.stdout.write(f"OK: {result.count} audit events verified; head {result.head}")
