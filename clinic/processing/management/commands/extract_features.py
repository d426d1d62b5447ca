"""``manage.py extract_features FILE [FILE ...] [--json]``: features of audio files, one per line.

Every file is tried; a file that cannot be read prints an error for itself and the
command exits non-zero once all files are done.
"""

from __future__ import annotations

import json
import math

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from voice_features import FEATURE_NAMES
from voice_features.errors import VoiceFeaturesError
from voice_features.pipeline import analyse_file
from voice_features.registry import TASKS

_TABLE_QUALITY = ("snr_db", "clipping_fraction", "level_dbfs")


class Command(BaseCommand):
    help = "Extract prosodic and voice-quality features from audio files."

    def add_arguments(self, parser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="audio files (WAV, FLAC, OGG/Opus, WebM, MP3, M4A)")
        parser.add_argument("--json", action="store_true", help="print one JSON object per file per line")
        parser.add_argument("--no-embedding", action="store_true", help="skip the voice embedding (faster)")
        parser.add_argument("--task", choices=sorted(TASKS), default=None,
                            help="the recording task: features it has no meaning for are null with the reason")

    def handle(self, *args, **options) -> None:
        files, as_json = options["files"], options["json"]
        failed = 0
        for path in files:
            record = _extract(path, with_embedding=not options["no_embedding"], task=options["task"])
            failed += "error" in record
            self.stdout.write(_as_json(record) if as_json else _as_table(record))
        if failed:
            raise CommandError(f"{failed} of {len(files)} file(s) could not be analysed.")


def _extract(path: str, *, with_embedding: bool, task: str | None) -> dict:
    try:
        payload = analyse_file(path, with_embedding=with_embedding, emotion_registry=settings.EMOTION_MODEL_REGISTRY,
                               task=task)
    except VoiceFeaturesError as exc:
        return {"file": path, "error": exc.message}
    except OSError as exc:
        return {"file": path, "error": f"The file could not be opened: {exc.strerror or exc}."}
    embedding = payload["embedding"]
    return {"file": path, "features": payload["features"], "quality": payload["quality"], "version": payload["version"],
            "embedding": None if embedding is None else {k: embedding[k] for k in ("model", "dim", "vector")},
            "emotion": payload["emotion"]}


def _as_json(record: dict) -> str:
    return json.dumps(record, allow_nan=False)


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _as_table(record: dict) -> str:
    lines = [f"== {record['file']}"]
    if "error" in record:
        return "\n".join(lines + [f"   error: {record['error']}"])
    quality = record["quality"]
    verdict = "accepted" if quality["accepted"] else f"rejected: {quality['rejection_reason']}"
    lines.append(f"   {verdict}   (feature set {record['version']})")
    lines += [f"   {name:<26}{_fmt(quality[name]):>12}" for name in _TABLE_QUALITY]
    lines += [f"   {name:<26}{_fmt(record['features'][name]):>12}" for name in FEATURE_NAMES]
    return "\n".join(lines)
