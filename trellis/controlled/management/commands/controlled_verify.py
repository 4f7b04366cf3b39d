from django.core.management.base import BaseCommand, CommandError

from trellis.accounts.models import Clinic
from trellis.controlled import services
from trellis.controlled.models import Container


class Command(BaseCommand):
    help = (
        "Verify each clinic's controlled-substance ledger: its hash chain, and every container's "
        "balance against its entries. Prints OK, or names what does not fit."
    )

    def handle(self, **options) -> None:
        problems = []
        entries = containers = 0
        for clinic in Clinic.objects.order_by("slug"):
            result = services.verify_chain(clinic)
            entries += result.count
            if not result.ok:
                problems.append(f"{clinic.slug}: ledger chain broken at {result.first_break}")
            for container in Container.objects.filter(clinic=clinic).iterator(chunk_size=2000):
                containers += 1
                problems.extend(
                    f"{clinic.slug}: {container} ({container.pk}): {problem}"
                    for problem in services.verify_container(container)
                )
        if problems:
            raise CommandError(
                "Controlled-substance ledger does NOT verify:\n" + "\n".join(problems)
            )
        self.stdout.write(f"OK: {entries} ledger entries and {containers} containers verified")
