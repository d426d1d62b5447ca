"""``manage.py train_emotion_model``: train, evaluate, export and register the SER model."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from voice_features.emotion.corpora import LAYOUTS
from voice_features.emotion.inference import resolve_registry
from voice_features.emotion.train import TrainConfig, train_and_register, with_overrides
from voice_features.errors import VoiceFeaturesError


class Command(BaseCommand):
    help = (
        "Train the speech-emotion CRNN on a licensed corpus in its published layout, "
        "evaluate it on held-out speakers, export TorchScript/ONNX/INT8 and register it "
        "(active unless --no-activate)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--corpus", required=True, help="corpus root (csv: the table or a folder with labels.csv)")
        parser.add_argument("--layout", required=True, choices=LAYOUTS)
        parser.add_argument(
            "--out-registry",
            help="model registry directory (default: settings.EMOTION_MODEL_REGISTRY or $CADENCE_EMOTION_REGISTRY)",
        )
        parser.add_argument("--epochs", type=int, help=f"default {TrainConfig.epochs}")
        parser.add_argument("--seed", type=int, help=f"default {TrainConfig.seed}")
        parser.add_argument("--batch-size", type=int, help=f"default {TrainConfig.batch_size}")
        parser.add_argument("--teacher-epochs", type=int, help="epochs of the teacher (default: --epochs)")
        parser.add_argument("--no-distill", action="store_true",
                            help="train the serving model directly, without a teacher")
        parser.add_argument("--no-activate", action="store_true", help="register without making it the active model")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options) -> None:
        registry_dir = options["out_registry"] or getattr(settings, "EMOTION_MODEL_REGISTRY", None)
        registry_dir = resolve_registry(registry_dir)
        if registry_dir is None:
            raise CommandError("No registry: pass --out-registry or set CADENCE_EMOTION_REGISTRY.")
        config = with_overrides(
            TrainConfig(), epochs=options["epochs"], seed=options["seed"], batch_size=options["batch_size"],
            teacher_epochs=options["teacher_epochs"], distill=False if options["no_distill"] else None,
        )
        try:
            metadata = train_and_register(
                options["corpus"],
                layout=options["layout"],
                registry_dir=registry_dir,
                config=config,
                activate=not options["no_activate"],
                progress=not options["no_progress"],
                log=self.stdout.write,
            )
        except VoiceFeaturesError as exc:
            raise CommandError(str(exc)) from exc
        evaluation = metadata["evaluation"]
        self.stdout.write(
            self.style.SUCCESS(
                f"{metadata['version']}: UAR {evaluation['uar']:.3f} on speakers "
                f"{', '.join(metadata['split']['test_speakers'])}; report in {registry_dir / metadata['version']}"
            )
        )
