"""A demo cohort: a dozen patients over several weeks, synthesised voices, PHQ-9 trajectories.

Recordings go through the real upload service and pipeline; voices come from espeak-ng
when it is installed (different voices, speaking slower with longer pauses as PHQ-9 rises),
otherwise from Cadence's own signal generator.
"""

import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import soundfile as sf

SENTENCES = (
    "This morning I made a cup of tea and looked out of the window.",
    "The bus was late again, so I walked to the market instead.",
    "My sister called me yesterday and we talked about the garden.",
    "I have been reading a book about old sailing ships.",
    "The weather has been grey and cold for most of the week.",
    "On Sunday we cooked soup with carrots, onions and potatoes.",
    "I would like to visit the seaside when the spring comes.",
    "The neighbours have a new dog that barks at the postman.",
)
VOICES = ("en+m1", "en+f2", "en+m3", "en+f4", "en+m4", "en+f1", "en+m7", "en+f5", "en+m2", "en+f3", "en+m6", "en+f2")


@dataclass(frozen=True)
class DemoPatient:
    code: str
    sex: str
    birth_year: int
    voice: str
    base_wpm: int
    pitch: int
    phq9_start: float
    phq9_slope_per_week: float


def demo_patients(count: int = 12, *, seed: int = 7) -> list[DemoPatient]:
    rng = np.random.default_rng(seed)
    slopes = [2.0, 1.5, -1.5, 0.0, 0.3, -1.0, 1.2, 0.0, -0.5, 2.2, 0.0, 0.8]
    return [
        DemoPatient(
            code=f"DEMO-{n + 1:03d}", sex="male" if "+m" in VOICES[n % len(VOICES)] else "female",
            birth_year=int(rng.integers(1950, 2004)), voice=VOICES[n % len(VOICES)],
            base_wpm=int(rng.integers(150, 185)), pitch=int(rng.integers(35, 65)),
            phq9_start=float(rng.uniform(2, 11)), phq9_slope_per_week=slopes[n % len(slopes)],
        )
        for n in range(count)
    ]


def phq9_level(patient: DemoPatient, week: float) -> float:
    return float(np.clip(patient.phq9_start + patient.phq9_slope_per_week * week, 0, 27))


def phq9_items(total: int, *, rng: np.random.Generator, item9: int = 0) -> list[int]:
    """Nine item scores (0-3) that add up to ``total`` (item 9 fixed)."""
    items = [0] * 8
    remaining = max(0, min(total - item9, 24))
    while remaining > 0:
        index = int(rng.integers(0, 8))
        if items[index] < 3:
            items[index] += 1
            remaining -= 1
    return items + [item9]


def speak(patient: DemoPatient, *, phq9: float, seed: int) -> bytes:
    """A WAV of 4 sentences, slower and with longer pauses at higher PHQ-9."""
    rng = np.random.default_rng(seed)
    wpm = int(patient.base_wpm * (1 - 0.018 * phq9) * rng.uniform(0.96, 1.04))
    pause_ms = int((350 + 45 * phq9) * rng.uniform(0.85, 1.15))
    sentences = rng.choice(SENTENCES, size=4, replace=False)
    if shutil.which("espeak-ng"):
        return _espeak(patient, sentences=list(sentences), wpm=wpm, pause_ms=pause_ms, rng=rng)
    return _generated(patient, wpm=wpm, pause_ms=pause_ms, seed=seed)


def _espeak(patient: DemoPatient, *, sentences: list[str], wpm: int, pause_ms: int, rng) -> bytes:
    ssml = "<speak>" + "".join(f'{s}<break time="{pause_ms}ms"/>' for s in sentences) + "</speak>"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-m", "-v", patient.voice, "-s", str(wpm), "-p", str(patient.pitch),
                        "-w", str(out), ssml], check=True, capture_output=True, timeout=60)
        samples, sr = sf.read(out, dtype="float32")
    samples = np.concatenate([np.zeros(int(0.4 * sr), np.float32), samples, np.zeros(int(0.5 * sr), np.float32)])
    samples += rng.normal(0, 0.002, samples.size).astype(np.float32)  # a quiet room, not digital silence
    buf = io.BytesIO()
    sf.write(buf, samples, sr, subtype="PCM_16", format="WAV")
    return buf.getvalue()


def _generated(patient: DemoPatient, *, wpm: int, pause_ms: int, seed: int) -> bytes:
    # start-up: synth imports scipy.signal (about 1 CPU-s), needed only to generate the demo cohort
    from voice_features.synth import synth_speech

    f0 = 110.0 if patient.sex == "male" else 200.0
    speech = synth_speech(run_durations_s=(2.2, 2.0, 2.5, 1.9), pause_durations_s=(pause_ms / 1000,) * 3,
                          syllable_rate_hz=wpm / 60 * 1.4, f0_hz=f0 * (0.9 + patient.pitch / 250), seed=seed)
    buf = io.BytesIO()
    sf.write(buf, speech.samples, speech.sample_rate, subtype="PCM_16", format="WAV")
    return buf.getvalue()


def recording_times(*, weeks: int, per_week: int, now: datetime, rng: np.random.Generator) -> list[datetime]:
    start = now - timedelta(weeks=weeks)
    times = []
    for week in range(weeks):
        for k in range(per_week):
            day = week * 7 + k * (7 // per_week) + int(rng.integers(0, 2))
            times.append(start + timedelta(days=day, hours=int(rng.integers(8, 20))))
    return [t for t in times if t < now]
