"""Emotion posteriors and embedding for one recording, from the active registry model.

When no registry is configured or no model is active, :func:`analyse_emotion` returns
None and :func:`emotion_stage_status` says ``"off"``: Cadence ships no emotion model, and
nothing is ever inferred from a model that was not trained on real labels by the clinic.

The registry directory is passed in, or read from the ``CADENCE_EMOTION_REGISTRY``
environment variable.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from voice_features.embedding import join_speech
from voice_features.emotion import registry
from voice_features.emotion.features import SAMPLE_RATE_HZ, log_mel, sliding_windows
from voice_features.emotion.model import EmotionCRNN
from voice_features.errors import VoiceFeaturesError

__all__ = ["REGISTRY_ENV", "EmotionResult", "analyse_emotion", "emotion_stage_status", "resolve_registry"]

REGISTRY_ENV = "CADENCE_EMOTION_REGISTRY"

_cache_lock = threading.Lock()
_cache: dict[tuple[str, str], EmotionCRNN] = {}


@dataclass(frozen=True)
class EmotionResult:
    """Per-window emotion posteriors and the mean emotion embedding of a recording.

    Attributes
    ----------
    labels : tuple of str
        Class names, the column order of ``window_posteriors``.
    window_starts_s : np.ndarray, shape (n_windows,)
        Start of each 2-s window in the joined speech, seconds.
    window_posteriors : np.ndarray, shape (n_windows, n_classes)
    mean_posterior : np.ndarray, shape (n_classes,)
    embedding : np.ndarray, shape (embedding_dim,)
        Mean over windows of the penultimate-layer activations.
    model_version : str
    """

    labels: tuple[str, ...]
    window_starts_s: np.ndarray
    window_posteriors: np.ndarray
    mean_posterior: np.ndarray
    embedding: np.ndarray
    model_version: str

    def to_json_dict(self) -> dict:
        """Plain-JSON form for storage with the recording."""
        return {
            "model_version": self.model_version,
            "labels": list(self.labels),
            "window_s": 2.0,
            "hop_s": 0.5,
            "window_starts_s": [float(s) for s in self.window_starts_s],
            "window_posteriors": [[float(p) for p in row] for row in self.window_posteriors],
            "mean_posterior": {label: float(p) for label, p in zip(self.labels, self.mean_posterior)},
            "embedding": [float(v) for v in self.embedding],
        }


def resolve_registry(registry_dir: Path | str | None = None) -> Path | None:
    """``registry_dir``, else ``$CADENCE_EMOTION_REGISTRY``, else None."""
    if registry_dir is not None:
        return Path(registry_dir)
    env = os.environ.get(REGISTRY_ENV)
    return Path(env) if env else None


def emotion_stage_status(registry_dir: Path | str | None = None) -> str:
    """``"off"`` when no model is active, else the active model's version."""
    return registry.active_version(resolve_registry(registry_dir)) or "off"


def _active_model(root: Path | None) -> tuple[str, EmotionCRNN] | None:
    version = registry.active_version(root)
    if version is None:
        return None
    key = (str(root.resolve()), version)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = registry.load_model(root, version)
    return version, _cache[key]


def analyse_emotion(
    samples: np.ndarray,
    *,
    sr: int = SAMPLE_RATE_HZ,
    speech_intervals: Sequence[tuple[float, float]] | None = None,
    registry_dir: Path | str | None = None,
) -> EmotionResult | None:
    """Emotion posteriors over 2-s / 0.5-s windows of the speech, or None if the stage is off.

    Parameters
    ----------
    samples : np.ndarray, shape (n,)
        Mono 16-kHz audio, full scale ±1.
    sr : int
        Must be 16 000.
    speech_intervals : sequence of (start_s, end_s), optional
        Speech regions (seconds); None uses the whole signal.
    registry_dir : path, optional
        Model registry; defaults to ``$CADENCE_EMOTION_REGISTRY``.
    """
    active = _active_model(resolve_registry(registry_dir))
    if active is None:
        return None
    if sr != SAMPLE_RATE_HZ:
        raise VoiceFeaturesError(f"Emotion analysis needs 16 kHz audio, got {sr} Hz.", code="bad_rate")
    speech = join_speech(samples, sr=sr, speech_intervals=speech_intervals)
    if speech.size == 0:
        raise VoiceFeaturesError("There is no speech to analyse.", code="no_speech")
    version, model = active
    windows, starts = sliding_windows(log_mel(speech))
    with torch.inference_mode():
        embedding = model.embed(torch.from_numpy(windows))
        posteriors = torch.softmax(model.classifier(embedding), dim=-1).numpy()
    return EmotionResult(
        labels=model.config.labels,
        window_starts_s=starts,
        window_posteriors=posteriors,
        mean_posterior=posteriors.mean(axis=0),
        embedding=embedding.numpy().mean(axis=0),
        model_version=version,
    )
