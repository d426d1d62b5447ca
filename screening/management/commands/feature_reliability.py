from django.core.management.base import BaseCommand

from screening.reliability.service import reliability_compute


class Command(BaseCommand):
    help = ("Test-retest reliability of every voice feature per recording task: ICC(3,1) and the minimal detectable "
            "change (MDC95) from pairs of recordings 2-14 days apart in stable periods; stored and shown on the dashboard.")

    def handle(self, *args, **options):
        rows = reliability_compute()
        if not rows:
            self.stdout.write("No retest pairs yet: reliability needs patients with recordings 2-14 days apart.")
            return
        self.stdout.write(f"{'task':<16} {'feature':<26} {'pairs':>5} {'ICC(3,1)':>9} {'95% CI':>15} {'MDC95':>10}")
        for row in rows:
            if row.icc is None:
                self.stdout.write(f"{row.task:<16} {row.feature:<26} {row.n_pairs:>5}  {row.reason}")
                continue
            ci = f"{row.icc_ci_low:.2f}-{row.icc_ci_high:.2f}"
            self.stdout.write(f"{row.task:<16} {row.feature:<26} {row.n_pairs:>5} {row.icc:>9.2f} {ci:>15} "
                              f"{row.mdc95:>10.4g}")
