"""Readers for emotional-speech corpora in their own published layouts.

Every reader returns :class:`Utterance` rows with a canonical English emotion label
(``anger``, ``boredom``, ``calm``, ``disgust``, ``fear``, ``happiness``, ``neutral``,
``sadness``, ``surprise``) and a speaker id, which the speaker-independent split needs.

- ``emodb``: Berlin EMO-DB, ``wav/03a01Fa.wav`` = speaker 03, text a01, emotion letter
  (W Ärger/anger, L Langeweile/boredom, E Ekel/disgust, A Angst/fear, F Freude/happiness,
  T Trauer/sadness, N neutral), version letter.
- ``ravdess``: ``Actor_12/03-01-06-01-02-01-12.wav`` = modality (01 AV, 02 video, 03
  audio) - vocal channel (01 speech, 02 song) - emotion (01 neutral, 02 calm, 03 happy,
  04 sad, 05 angry, 06 fearful, 07 disgust, 08 surprised) - intensity (01 normal, 02
  strong) - statement - repetition - actor (odd male, even female).
- ``casia``: ``<speaker>/<emotion>/<n>.wav`` with emotions angry, fear, happy, neutral,
  sad, surprise.
- ``csv``: a table with header ``path,label,speaker`` (paths relative to the table).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from voice_features.errors import VoiceFeaturesError

__all__ = [
    "LAYOUTS",
    "Utterance",
    "parse_emodb_name",
    "parse_ravdess_name",
    "parse_casia_path",
    "read_corpus",
]

LAYOUTS = ("emodb", "ravdess", "casia", "csv")

EMODB_EMOTIONS = {
    "W": "anger",
    "L": "boredom",
    "E": "disgust",
    "A": "fear",
    "F": "happiness",
    "T": "sadness",
    "N": "neutral",
}
RAVDESS_EMOTIONS = {
    "01": "neutral",
    "02": "calm",
    "03": "happiness",
    "04": "sadness",
    "05": "anger",
    "06": "fear",
    "07": "disgust",
    "08": "surprise",
}
CASIA_EMOTIONS = {
    "angry": "anger",
    "fear": "fear",
    "happy": "happiness",
    "neutral": "neutral",
    "sad": "sadness",
    "surprise": "surprise",
}

_EMODB_NAME = re.compile(r"^(?P<speaker>\d{2})(?P<text>[ab]\d{2})(?P<emotion>[WLEAFTN])(?P<version>[a-z])\.wav$")
_RAVDESS_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})\.wav$")


@dataclass(frozen=True)
class Utterance:
    """One labelled recording of a corpus."""

    path: Path
    label: str
    speaker: str


def parse_emodb_name(name: str) -> tuple[str, str] | None:
    """``(speaker, label)`` from an EMO-DB file name such as ``03a01Fa.wav``; None if not one."""
    match = _EMODB_NAME.match(name)
    if match is None:
        return None
    return match["speaker"], EMODB_EMOTIONS[match["emotion"]]


def parse_ravdess_name(name: str) -> tuple[str, str] | None:
    """``(actor, label)`` from a RAVDESS name such as ``03-01-06-01-02-01-12.wav``.

    Video-only files (modality 02) and unknown emotion codes give None.
    """
    match = _RAVDESS_NAME.match(name)
    if match is None:
        return None
    modality, _channel, emotion, *_rest, actor = match.groups()
    if modality == "02" or emotion not in RAVDESS_EMOTIONS:
        return None
    return actor, RAVDESS_EMOTIONS[emotion]


def parse_casia_path(relative: Path) -> tuple[str, str] | None:
    """``(speaker, label)`` from ``<speaker>/<emotion>/<n>.wav`` relative to the corpus root."""
    parts = Path(relative).parts
    if len(parts) < 3 or parts[-2].lower() not in CASIA_EMOTIONS or not parts[-1].endswith(".wav"):
        return None
    return parts[-3], CASIA_EMOTIONS[parts[-2].lower()]


def _read_by_name(root: Path, parser) -> list[Utterance]:
    rows = []
    for path in sorted(root.rglob("*.wav")):
        parsed = parser(path.name)
        if parsed is not None:
            rows.append(Utterance(path=path, label=parsed[1], speaker=parsed[0]))
    return rows


def _read_casia(root: Path) -> list[Utterance]:
    rows = []
    for path in sorted(root.rglob("*.wav")):
        parsed = parse_casia_path(path.relative_to(root))
        if parsed is not None:
            rows.append(Utterance(path=path, label=parsed[1], speaker=parsed[0]))
    return rows


def _read_csv(source: Path) -> list[Utterance]:
    table = source if source.is_file() else source / "labels.csv"
    if not table.is_file():
        raise VoiceFeaturesError(f"No CSV table at {table} (expected path,label,speaker).")
    with table.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not {"path", "label", "speaker"} <= set(reader.fieldnames or ()):
            raise VoiceFeaturesError(f"{table} must have the header path,label,speaker.")
        return [
            Utterance(path=(table.parent / row["path"]).resolve(), label=row["label"].strip(), speaker=row["speaker"].strip())
            for row in reader
        ]


def read_corpus(corpus: Path | str, *, layout: str) -> list[Utterance]:
    """Every labelled utterance of ``corpus`` read with the named ``layout``.

    Parameters
    ----------
    corpus : path
        The corpus root directory (for ``csv``: the table, or a folder with ``labels.csv``).
    layout : {"emodb", "ravdess", "casia", "csv"}

    Raises
    ------
    VoiceFeaturesError
        Unknown layout, missing corpus, or no utterance recognised.
    """
    root = Path(corpus)
    if layout not in LAYOUTS:
        raise VoiceFeaturesError(f"Unknown corpus layout {layout!r}; use one of {', '.join(LAYOUTS)}.")
    if not root.exists():
        raise VoiceFeaturesError(f"Corpus {root} does not exist.")
    readers = {
        "emodb": lambda: _read_by_name(root, parse_emodb_name),
        "ravdess": lambda: _read_by_name(root, parse_ravdess_name),
        "casia": lambda: _read_casia(root),
        "csv": lambda: _read_csv(root),
    }
    rows = readers[layout]()
    if not rows:
        raise VoiceFeaturesError(f"No {layout} utterances found under {root}.")
    return rows
