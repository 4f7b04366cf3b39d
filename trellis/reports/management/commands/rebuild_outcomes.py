"""Compute every course's stored outcome facts again (after a bulk load, or to check that
nothing drifted): ``manage.py rebuild_outcomes [--check]``."""

from django.core.management.base import BaseCommand, CommandError

from trellis.accounts.models import Clinic
from trellis.reports import outcomes


class Command(BaseCommand):
    help = "Compute every course's stored outcome facts again, from its questionnaires."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing: fail if the stored figures differ from freshly computed ones.",
        )

    def handle(self, *args, check: bool = False, **options):
        clinic_ids = list(Clinic.objects.values_list("pk", flat=True))
        if check:
            stored = outcomes.outcome_report(clinic_ids)
            live = outcomes.outcome_report(clinic_ids, live=True)
            if stored != live:
                raise CommandError(
                    "The stored outcome facts differ from the questionnaires: run "
                    "`manage.py rebuild_outcomes`."
                )
            self.stdout.write("The stored outcome facts match the questionnaires.")
            return
        count = outcomes.rebuild()
        self.stdout.write(
            f"Outcome facts computed for {count:,} course{'s' if count != 1 else ''}."
        )
