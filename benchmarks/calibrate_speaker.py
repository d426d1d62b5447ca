"""Calibrate the speaker-mismatch threshold on synthetic voices.

Synthesises different sentences with several espeak-ng voices/variants and festival's
kal_diphone voice, embeds each utterance with :func:`voice_features.embedding.embed_speech`,
scores every utterance against its own voice's 3-utterance enrolment centroid (same) and
against every other voice's centroid (different), and prints the equal error rate and the
threshold at which it occurs.

    python benchmarks/calibrate_speaker.py [--utterances 10] [--json]

Synthetic voices are not people: this checks the encoder separates clearly different
vocal tracts and prosody; it does not measure how well it tells two real siblings apart.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voice_features.embedding import embed_speech  # noqa: E402
from voice_features.speaker import equal_error_rate, speaker_trials  # noqa: E402

__all__ = ["VOICES", "SENTENCES", "synthesise", "calibrate", "main"]

# espeak-ng voice+variant names, and "festival:<voice>" for festival voices.
VOICES = [
    "en+m1",
    "en+m3",
    "en+m7",
    "en+f2",
    "en+f4",
    "en-us+m2",
    "en-gb-scotland+f3",
    "de+m4",
    "en+croak",
    "en-us+klatt4",
    "festival:kal_diphone",
]

SENTENCES = [
    "I slept badly last night and woke up before the alarm went off.",
    "The bus was late again, so I walked most of the way to work.",
    "My sister called on Sunday and we talked for almost an hour.",
    "This morning I made coffee and read the newspaper in the kitchen.",
    "The garden needs rain; the tomatoes are turning yellow at the edges.",
    "We are planning a short trip to the coast at the end of the month.",
    "I find it hard to concentrate when the neighbours are building.",
    "The doctor asked me to keep a diary of how I feel each evening.",
    "Yesterday the shop had no bread left, so I bought some crackers.",
    "On Friday evenings we usually play cards with two old friends.",
    "The new phone is easier to use than I expected it to be.",
    "It has been a quiet week, mostly reading and short walks outside.",
    "The train station was crowded because of a football match.",
    "I cooked soup with lentils, carrots and a little bit of ginger.",
    "My grandson showed me how to send photographs by message.",
    "When the weather is cold I prefer to stay indoors with the radio.",
]


def _to_16k(samples: np.ndarray, sr: int) -> np.ndarray:
    if sr == 16_000:
        return samples.astype(np.float32)
    g = gcd(16_000, sr)
    return resample_poly(samples, 16_000 // g, sr // g).astype(np.float32)


def synthesise(voice: str, text: str, *, rate_wpm: int = 165, pitch: int = 50) -> np.ndarray:
    """Speak ``text`` with an espeak-ng voice or ``festival:<voice>``; 16 kHz float32.

    Raises
    ------
    RuntimeError
        When the synthesiser is not installed.
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "u.wav"
        if voice.startswith("festival:"):
            if shutil.which("text2wave") is None:
                raise RuntimeError("festival's text2wave is not installed")
            txt = Path(tmp) / "u.txt"
            txt.write_text(text)
            cmd = ["text2wave", "-o", str(out), "-eval", f"(voice_{voice.split(':', 1)[1]})", str(txt)]
        else:
            if shutil.which("espeak-ng") is None:
                raise RuntimeError("espeak-ng is not installed")
            cmd = ["espeak-ng", "-v", voice, "-s", str(rate_wpm), "-p", str(pitch), "-w", str(out), text]
        subprocess.run(cmd, check=True, capture_output=True)
        samples, sr = sf.read(out, dtype="float32")
    return _to_16k(samples if samples.ndim == 1 else samples.mean(axis=1), sr)


def _voice_utterances(voice: str, index: int, n: int) -> list[np.ndarray]:
    """``n`` different sentences, with a little rate/pitch variation as a person would have."""
    rng = np.random.default_rng(index)
    order = np.roll(np.arange(len(SENTENCES)), -3 * index)
    return [
        synthesise(
            voice,
            SENTENCES[order[i % len(SENTENCES)]],
            rate_wpm=int(rng.integers(150, 181)),
            pitch=int(rng.integers(44, 57)),
        )
        for i in range(n)
    ]


def calibrate(*, voices: list[str] = VOICES, n_utterances: int = 10) -> dict:
    """Embed every voice's utterances and return EER, threshold and score summaries."""
    embeddings = {
        v: [embed_speech(u, sr=16_000).mean for u in _voice_utterances(v, i, n_utterances)]
        for i, v in enumerate(voices)
    }
    same, different = speaker_trials(embeddings)
    eer, threshold = equal_error_rate(same, different)
    return {
        "voices": voices,
        "utterances_per_voice": n_utterances,
        "n_same": int(same.size),
        "n_different": int(different.size),
        "eer": eer,
        "threshold": threshold,
        "same_mean": float(same.mean()),
        "same_min": float(same.min()),
        "different_mean": float(different.mean()),
        "different_max": float(different.max()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = calibrate(n_utterances=args.utterances)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"voices: {len(result['voices'])}, utterances/voice: {result['utterances_per_voice']}")
        print(f"trials: {result['n_same']} same, {result['n_different']} different")
        print(f"same-voice cosine: mean {result['same_mean']:.3f}, min {result['same_min']:.3f}")
        print(f"diff-voice cosine: mean {result['different_mean']:.3f}, max {result['different_max']:.3f}")
        print(f"EER: {100 * result['eer']:.2f} %  at threshold {result['threshold']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
