"""A tiny EMO-DB-layout corpus whose classes differ only in prosody, made with NumPy.

Each utterance is a run of vowel-like syllables: a harmonic source with an F0 contour,
shaped by two formant resonators and a syllable envelope. Classes differ as acted
emotions do in the literature: anger is loud, fast, with high F0 and a flat spectral
tilt; sadness is quiet, slow, low and monotonous; happiness is high with a wide F0
range; neutral sits in between. Speakers differ in base F0 and formants, so a
speaker-independent split is a real test. These are NOT emotions; they only check that
the training recipe learns prosodic classes.
"""

from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import lfilter

SR = 16_000

# emotion letter: (F0 factor, F0 range in semitones, syllables/s, amplitude, source tilt exponent)
CLASSES = {
    "N": (1.00, 2.0, 4.0, 0.10, 1.6),
    "W": (1.25, 4.0, 5.5, 0.30, 0.9),
    "T": (0.85, 0.7, 2.5, 0.04, 2.0),
    "F": (1.40, 9.0, 4.8, 0.16, 1.3),
}
# EMO-DB speaker ids with base F0 (Hz) and a formant scale (vocal-tract length)
SPEAKERS = {"03": (110, 1.00), "08": (210, 1.15), "09": (190, 1.12), "10": (120, 0.97), "11": (105, 1.02), "12": (220, 1.18)}
TEXTS = ["a01", "a02", "a04", "a05", "b01", "b02"]
VOWELS = [(700, 1200), (400, 2000), (300, 2300), (500, 900), (600, 1700)]


def _resonator(x, freq, bandwidth):
    r = np.exp(-np.pi * bandwidth / SR)
    theta = 2 * np.pi * freq / SR
    return lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], x)


def synthesise_utterance(letter: str, speaker: str, rng: np.random.Generator) -> np.ndarray:
    f0_factor, range_st, rate, amplitude, tilt = CLASSES[letter]
    base_f0, formant_scale = SPEAKERS[speaker]
    rate *= rng.uniform(0.9, 1.1)
    n_syllables = int(rng.integers(7, 11))
    pieces = []
    for k in range(n_syllables):
        dur = rng.uniform(0.6, 1.0) / rate
        t = np.arange(int(dur * SR)) / SR
        accent = range_st * (rng.uniform(-0.5, 0.5) + 0.5 * np.sin(np.pi * t / dur))
        declination = -1.5 * k / n_syllables
        f0 = base_f0 * f0_factor * 2 ** ((accent + declination) / 12) * rng.uniform(0.97, 1.03)
        phase = 2 * np.pi * np.cumsum(f0) / SR
        source = sum(np.sin(h * phase) / h**tilt for h in range(1, 30) if h * f0.max() < SR / 2)
        f1, f2 = VOWELS[int(rng.integers(len(VOWELS)))]
        voiced = _resonator(source, f1 * formant_scale, 90) + 0.5 * _resonator(source, f2 * formant_scale, 120)
        envelope = np.sin(np.pi * t / dur) ** 0.6
        gap = np.zeros(int(rng.uniform(0.02, 0.25) / rate * SR))
        pieces += [voiced * envelope, gap]
    wave = np.concatenate(pieces)
    wave = amplitude * rng.uniform(0.85, 1.15) * wave / np.max(np.abs(wave))
    return (wave + 0.001 * rng.standard_normal(wave.size)).astype(np.float32)


def write_emodb_corpus(root: Path, *, seed: int = 0, texts: list[str] = TEXTS) -> Path:
    """Write ``root/wav/<speaker><text><emotion><version>.wav`` files; returns ``root``. ``texts``: which of
    the sentences each speaker says in each emotion (all six by default: 144 utterances)."""
    rng = np.random.default_rng(seed)
    (root / "wav").mkdir(parents=True, exist_ok=True)
    for speaker in SPEAKERS:
        for text in texts:
            for letter in CLASSES:
                wave = synthesise_utterance(letter, speaker, rng)
                sf.write(root / "wav" / f"{speaker}{text}{letter}a.wav", wave, SR, subtype="PCM_16")
    return root
