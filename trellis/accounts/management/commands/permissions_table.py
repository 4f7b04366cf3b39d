from django.core.management.base import BaseCommand

from trellis.accounts.permissions import matrix_markdown


class Command(BaseCommand):
    help = "Print the role permission matrix as Markdown (the table in docs/permissions.md)."

    def handle(self, **options) -> None:
        self.stdout.write(matrix_markdown(), ending="")
