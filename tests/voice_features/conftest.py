"""Shared audio builders for the voice_features tests: audio is made at run time into tmp dirs.

Tests that need espeak-ng or sox skip locally when the binary is missing and fail in CI
(``CI=true``), so a CI image without them cannot pass silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voice_features.audio import load_audio

# Sentences and their syllable counts, counted by hand (no commas: no inner pauses).
ESPEAK_SENTENCES = (
    ("The quick brown fox jumps over the lazy dog", 11),  # the quick brown fox jumps o-ver the la-zy dog
    ("She sells sea shells by the sea shore", 8),  # she sells sea shells by the sea shore
    ("My mother baked a lovely apple pie today", 12),  # my mo-ther baked a love-ly ap-ple pie to-day
    ("We walked along the river in the morning", 11),  # we walked a-long the ri-ver in the mor-ning
    ("Peter bought a new bicycle for his daughter", 12),  # pe-ter bought a new bi-cy-cle for his daugh-ter
)
ESPEAK_SYLLABLES = 54
ESPEAK_GAPS_S = (0.6, 0.9, 0.7, 1.0)
ESPEAK_EDGE_S = 0.5
_TRIM_LEVEL = 1e-3


def require_binary(name: str) -> str:
    """Path of ``name``; skips the test locally, fails it in CI, when it is not installed."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is required in CI (apt-get install {name})")
        pytest.skip(f"{name} is not installed")
    return path


@dataclass(frozen=True)
class EspeakRecording:
    """A WAV of espeak-ng sentences joined by silences of known length, with its truth."""

    path: Path
    syllable_count: int
    pause_count: int
    speech_rate_syl_s: float  # syllables / (duration - leading - trailing silence)


def _espeak_sentence(text: str, out: Path) -> tuple[np.ndarray, int]:
    subprocess.run([require_binary("espeak-ng"), "-w", str(out), "-s", "150", text], check=True, capture_output=True)
    x, sr = sf.read(out)
    loud = np.flatnonzero(np.abs(x) > _TRIM_LEVEL)
    return x[loud[0]:loud[-1] + 1], sr


@pytest.fixture(scope="session")
def espeak_recording(tmp_path_factory) -> EspeakRecording:
    folder = tmp_path_factory.mktemp("espeak")
    parts, sr = [], 22050
    for i, (text, _) in enumerate(ESPEAK_SENTENCES):
        x, sr = _espeak_sentence(text, folder / f"s{i}.wav")
        parts.append(x)
    silences = [np.zeros(int(g * sr)) for g in (ESPEAK_EDGE_S, *ESPEAK_GAPS_S, ESPEAK_EDGE_S)]
    pieces = [silences[0]]
    for sentence, silence in zip(parts, silences[1:]):
        pieces += [sentence, silence]
    joined = np.concatenate(pieces)
    path = folder / "joined.wav"
    sf.write(path, joined, sr, subtype="PCM_16")
    span = (joined.size - 2 * int(ESPEAK_EDGE_S * sr)) / sr
    return EspeakRecording(path=path, syllable_count=ESPEAK_SYLLABLES, pause_count=len(ESPEAK_GAPS_S),
                           speech_rate_syl_s=ESPEAK_SYLLABLES / span)


def sox(src: Path, dst: Path, *effect: str) -> Path:
    """Run ``sox src dst effect...`` and return ``dst``."""
    subprocess.run([require_binary("sox"), str(src), str(dst), *effect], check=True, capture_output=True)
    return dst


def load_16k(path: Path) -> np.ndarray:
    """Samples of ``path`` through the service's own loader (mono, 16 kHz, float32)."""
    return load_audio(path).samples
