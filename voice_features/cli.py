"""``python -m voice_features FILE [FILE ...] [--json]``: features of audio files, without Django.

The same records as ``manage.py extract_features`` (which prints them with these
functions), from a process that loads only the analysis: no Django, DRF or Celery
start-up (about 2 CPU-s). Every file is tried; a file that cannot be read prints an error
for itself and the exit status is 1 once all files are done.

The emotion stage reads the registry given with ``--emotion-registry`` or in
``$CADENCE_EMOTION_REGISTRY``; without either it is off (``"emotion": null``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from voice_features.emotion import REGISTRY_ENV as EMOTION_REGISTRY_ENV
from voice_features.errors import VoiceFeaturesError
from voice_features.registry import FEATURE_NAMES, TASKS

__all__ = ["EMOTION_REGISTRY_ENV", "extract_record", "as_json", "as_table", "add_arguments", "main"]

_TABLE_QUALITY = ("snr_db", "clipping_fraction", "level_dbfs")


def extract_record(path: str, *, with_embedding: bool = True, emotion_registry: str | Path | None = None,
                   task: str | None = None) -> dict:
    """One file's record: ``{"file", "features", "quality", "version", "embedding", "emotion"}``, or ``{"file", "error"}``.

    ``task`` (one of :data:`voice_features.registry.TASKS`) nulls the features it has no meaning for, with the reason.
    """
    # start-up: --help and argument errors answer without loading the analysis stack
    from voice_features.pipeline import analyse_file

    try:
        payload = analyse_file(path, with_embedding=with_embedding, emotion_registry=emotion_registry, task=task)
    except VoiceFeaturesError as exc:
        return {"file": path, "error": exc.message}
    except OSError as exc:
        return {"file": path, "error": f"The file could not be opened: {exc.strerror or exc}."}
    embedding = payload["embedding"]
    return {"file": path, "features": payload["features"], "quality": payload["quality"], "version": payload["version"],
            "embedding": None if embedding is None else {k: embedding[k] for k in ("model", "dim", "vector")},
            "emotion": payload["emotion"]}


def as_json(record: dict) -> str:
    """The record as one line of JSON (undefined values are null)."""
    return json.dumps(record, allow_nan=False)


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def as_table(record: dict) -> str:
    """The record as a readable table: verdict, quality figures, then every feature."""
    lines = [f"== {record['file']}"]
    if "error" in record:
        return "\n".join(lines + [f"   error: {record['error']}"])
    quality = record["quality"]
    verdict = "accepted" if quality["accepted"] else f"rejected: {quality['rejection_reason']}"
    lines.append(f"   {verdict}   (feature set {record['version']})")
    lines += [f"   {name:<26}{_fmt(quality[name]):>12}" for name in _TABLE_QUALITY]
    lines += [f"   {name:<26}{_fmt(record['features'][name]):>12}" for name in FEATURE_NAMES]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The files and options this command and ``manage.py extract_features`` both take."""
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio files (WAV, FLAC, OGG/Opus, WebM, MP3, M4A)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per file per line")
    parser.add_argument("--no-embedding", action="store_true", help="skip the voice embedding (faster)")
    parser.add_argument("--task", choices=sorted(TASKS), default=None,
                        help="the recording task: features it has no meaning for are null with the reason")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m voice_features",
                                     description="Features, quality report and voice embedding of audio files, without Django.")
    add_arguments(parser)
    parser.add_argument("--emotion-registry", default=os.environ.get(EMOTION_REGISTRY_ENV) or None,
                        help=f"emotion model registry (default: ${EMOTION_REGISTRY_ENV}; none = stage off)")
    args = parser.parse_args(argv)
    failed = 0
    for path in args.files:
        record = extract_record(path, with_embedding=not args.no_embedding, emotion_registry=args.emotion_registry,
                                task=args.task)
        failed += "error" in record
        print(as_json(record) if args.json else as_table(record))
    if failed:
        print(f"{failed} of {len(args.files)} file(s) could not be analysed.", file=sys.stderr)
    return 1 if failed else 0
