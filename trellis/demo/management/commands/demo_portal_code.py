from django.core.management.base import BaseCommand

from trellis.demo import portal


class Command(BaseCommand):
    help = (
        "Print the six-digit code the demo patient's authenticator shows now (sign-in "
        f"{portal.LOGIN!r} at /portal/sign-in/; the demo only)."
    )

    def handle(self, **options) -> None:
        self.stdout.write(portal.current_code())
