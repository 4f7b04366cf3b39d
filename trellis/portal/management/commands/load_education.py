from django.core.management.base import BaseCommand, CommandError

from trellis.accounts.models import Clinic
from trellis.portal import education


class Command(BaseCommand):
    help = (
        "Copy the education pages Trellis ships into a clinic as drafts, and bring pages the "
        "clinic has not edited up to the shipped text. Pages need a clinician's review before "
        "they can be published."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--clinic", required=True, help="clinic slug")

    def handle(self, clinic, **options) -> None:
        site = Clinic.objects.filter(slug=clinic).first()
        if site is None:
            raise CommandError(f"No clinic with slug {clinic!r}.")
        result = education.load_shipped(site)
        self.stdout.write(
            f"{result.added} added, {result.refreshed} brought up to date, "
            f"{result.current} already current, {result.edited} kept as the clinic edited them."
        )
