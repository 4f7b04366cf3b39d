from django.core.management.base import BaseCommand

from trellis.demo import network


class Command(BaseCommand):
    help = "Load the demo clinic network (safe to run again: it changes nothing the second time)."

    def handle(self, **options) -> None:
        added = network.build()
        self.stdout.write(
            f"Demo network ready (password {network.DEMO_PASSWORD!r} for every account). Added "
            f"{added.clinics} clinics, {added.staff} staff, {added.patients} patients, "
            f"{added.screenings} screenings, {added.requests} assessment requests, "
            f"{added.courses} treatment courses, {added.appointments} appointments."
        )
