from django.core.management.base import BaseCommand

from screening.risk_model.services import early_reference_fit


class Command(BaseCommand):
    help = ("Learn population voice norms (sex, age band, task, codec family) from the clinic's valid recordings, "
            "shrunk toward the literature, and fit the early-estimate model on its PHQ-9s; store both as the active "
            "early reference. Early estimates made from then on use them (existing ones are kept).")

    def handle(self, *args, **options):
        row = early_reference_fit()
        payload = row.payload
        model = payload["model"]
        fitted = (f"early model {model['version']} fitted on {payload['n_pairs']} PHQ-9s from {model['n_patients']} "
                  "patients (calibrated: early estimates give P(PHQ-9 >= 10))" if model else
                  f"too few PHQ-9 windows ({payload['n_pairs']}) to fit the early model: the uncalibrated prior stays "
                  "(no probability, no alert from early estimates)")
        self.stdout.write(f"{row.version}: norms from {payload['n_recordings']} recordings of "
                          f"{payload['n_patients']} patients; {fitted}")
