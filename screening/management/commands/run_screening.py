from django.core.management.base import BaseCommand

from screening.nightly.services import run_screening


class Command(BaseCommand):
    help = "Run the periodic screening once, now: re-score active patients, weekly scores, alerts."

    def handle(self, *args, **options):
        summary = run_screening()
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in summary.items()))
