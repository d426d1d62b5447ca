"""``manage.py extract_features FILE [FILE ...] [--json]``: features of audio files, one per line.

Every file is tried; a file that cannot be read prints an error for itself and the
command exits non-zero once all files are done. The records are those of
``python -m voice_features`` (:mod:`voice_features.cli`), with the emotion registry from settings.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from voice_features.cli import add_arguments, as_json, as_table, extract_record


class Command(BaseCommand):
    help = "Extract prosodic and voice-quality features from audio files."

    def add_arguments(self, parser) -> None:
        add_arguments(parser)

    def handle(self, *args, **options) -> None:
        files, as_json_lines = options["files"], options["json"]
        failed = 0
        for path in files:
            record = extract_record(path, with_embedding=not options["no_embedding"],
                                    emotion_registry=settings.EMOTION_MODEL_REGISTRY, task=options["task"])
            failed += "error" in record
            self.stdout.write(as_json(record) if as_json_lines else as_table(record))
        if failed:
            raise CommandError(f"{failed} of {len(files)} file(s) could not be analysed.")
