from django.core.management.base import BaseCommand, CommandError

from screening.nightly.services import run_screening
from screening.risk_model.services import ModelNotBetter, NotEnoughData, risk_model_fit


class Command(BaseCommand):
    help = ("Fit the population risk model on the clinic's paired voice/PHQ-9 data (MixedLM, cross-validated "
            "by patient); if its out-of-fold error beats the active model's, store it as a new version, make it "
            "active and re-score, otherwise say why and keep the active model.")

    def add_arguments(self, parser):
        parser.add_argument("--no-rescore", action="store_true", help="Do not re-score patients now.")

    def handle(self, *args, no_rescore: bool, **options):
        try:
            row = risk_model_fit()
        except (NotEnoughData, ModelNotBetter) as exc:
            raise CommandError(str(exc)) from exc
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in row.cv_metrics.items() if isinstance(v, float))
        compared = row.cv_metrics["compared_with"]
        metrics += (f"; out-of-fold MAE {compared['new_mae']:.2f} vs {compared['active_mae']:.2f} of "
                    f"{compared['active_version']}")
        self.stdout.write(f"fitted {row.version} on {row.payload['n_observations']} pairs from "
                          f"{row.payload['n_patients']} patients; patient-grouped CV: {metrics}")
        if not no_rescore:
            self.stdout.write(f"re-scored: {run_screening()}")
