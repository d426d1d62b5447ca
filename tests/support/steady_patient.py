"""A simulated steady patient whose phone (and, optionally, voice features) change mid-way.

Recordings are stored processed, with features and no audio (as tests/support/cohort_db.py).
"""

import hashlib
from datetime import UTC, datetime, timedelta

import numpy as np

from clinic.models import Patient, Recording
from clinic.processing.models import FeatureSet
from screening.risk_model.deviation import DEPRESSION_DIRECTIONS
from voice_features.registry import FEATURE_NAMES, SCALE_FLOOR

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)

#: A steady patient: 3 recordings a week for 10 weeks; the phone changes after week 5.
N_WEEKS, PER_WEEK, CHANGE_WEEK = 10, 3, 5
SHIFT_SD = 4.0  # the new phone moves every feature 4 noise SDs in the "more depressed" direction


def noise_sd(key: str) -> float:
    return 2.0 * max(SCALE_FLOOR.get(key, 0.0), 0.05)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def steady_patient(team, code, *, device_change: bool, shift: bool, seed: int = 7,
                   channel_similarity: float | None = None) -> Patient:
    """A patient whose voice is steady (noise only); ``shift`` moves every directional feature
    SHIFT_SD noise SDs towards "more depressed" from CHANGE_WEEK on, ``device_change`` swaps
    the phone (Galaxy A52 / AMR-NB -> iPhone 13 / AAC) at the same time.

    With ``channel_similarity`` every recording carries a GE2E-model voice embedding: the
    patient's voice seen through the old phone, and from the change on through the new one,
    whose channel moves the voice's direction to this cosine similarity (AMR vs WAV copies
    of one voice measured 0.72-0.90; docs/speaker_consistency.md)."""
    from voice_features.embedding import EMBEDDING_DIM, EMBEDDING_MODEL_NAME

    rng = np.random.default_rng(seed)
    old_voice = _unit(rng.normal(size=EMBEDDING_DIM))
    if channel_similarity is not None:
        other = rng.normal(size=EMBEDDING_DIM)
        other = _unit(other - old_voice * (other @ old_voice))  # orthogonal to the old voice
        new_voice = channel_similarity * old_voice + np.sqrt(1 - channel_similarity ** 2) * other
    patient = Patient.objects.create(code=code, care_team=team, enrolled_on=T0.date())
    for week in range(N_WEEKS):
        for k in range(PER_WEEK):
            at = T0 + timedelta(days=7 * week + 2 * k, hours=int(rng.integers(0, 8)))
            after = week >= CHANGE_WEEK
            new_phone = device_change and after
            recording = Recording.objects.create(
                patient=patient, file=f"simulated/{code}-{week}-{k}.wav",
                sha256=hashlib.sha256(f"{code}-{week}-{k}".encode()).hexdigest(), size_bytes=0,
                container="mp4" if new_phone else "amr", codec="aac" if new_phone else "amrnb",
                device_model="iPhone 13" if new_phone else "Galaxy A52", sample_rate=16000, channels=1,
                duration_s=40.0, recorded_at=at, status="done")
            features = {}
            for key in FEATURE_NAMES:
                sd = noise_sd(key)
                value = 10.0 + rng.normal(0, sd)
                direction = DEPRESSION_DIRECTIONS.get(key)
                if shift and after and direction is not None:
                    value += direction.sign * SHIFT_SD * sd
                features[key] = value
            embedding = None
            if channel_similarity is not None:
                voice = new_voice if after else old_voice
                vector = _unit(voice + rng.normal(0, 0.25 / np.sqrt(EMBEDDING_DIM), EMBEDDING_DIM))
                embedding = {"model": EMBEDDING_MODEL_NAME, "dim": EMBEDDING_DIM, "vector": vector.tolist()}
            FeatureSet.objects.create(recording=recording, version="simulated", features=features,
                                      quality={"accepted": True, "speech_s": 30.0}, embedding=embedding)
    return patient
