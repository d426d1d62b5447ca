"""One call from samples to features, quality report and feature-set version.

Every Praat object is computed once and shared: one intensity contour (segmentation,
syllable nuclei, intensity, SNR), a cheap wide first pitch pass (voicing for segmentation,
speaker range), one speaker-adapted second pitch pass (F0 statistics, nucleus voicing,
voiced fraction, pulses for jitter/shimmer, stretches for HNR). They are gathered in a
:class:`~voice_features.speech.SpeechAnalysis`, and every feature function declared in
:mod:`voice_features.registry` runs once on it.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import parselmouth

from voice_features import prosody, quality, segmentation
from voice_features.errors import VoiceFeaturesError
from voice_features.registry import FEATURE_NAMES, FEATURE_SET_VERSION, FEATURES
from voice_features.speech import SpeechAnalysis

__all__ = ["FEATURE_SET_VERSION", "FEATURE_NAMES", "AnalysisResult", "analyse", "compute_features"]

INTENSITY_MIN_PITCH_HZ = 50.0
"""Sets the intensity window (3.2 / 50 Hz = 64 ms), as in de Jong & Wempe's script."""
FRAME_STEP_S = 0.01
FIRST_PASS_STEP_S = 0.04
"""The first pass only gives voicing for segmentation and the quartiles; a coarse step halves its cost."""
FIRST_PASS_RANGE_HZ = (60.0, 700.0)
DEFAULT_RANGE_HZ = (75.0, 600.0)
"""Second-pass range when the first pass finds too little voicing to adapt to the speaker."""
SECOND_PASS_CANDIDATES = 5
"""Within the speaker's own range few candidates compete; 5 instead of Praat's 15 gives the same
path here and saves ~20 MB per 15 minutes (Praat keeps every candidate of every frame)."""
MIN_ANALYSABLE_S = 0.3
"""Shorter input is too short for Praat's pitch and intensity windows; it has no speech."""
_NAN = float("nan")


@dataclass(frozen=True)
class AnalysisResult:
    """Features, quality report and feature-set version of one recording.

    Attributes
    ----------
    features : dict[str, float]
        Every key of :data:`FEATURE_NAMES`; NaN where undefined.
    quality : dict
        See :func:`voice_features.quality.quality_report`.
    version : str
        :data:`FEATURE_SET_VERSION`.
    speech_intervals : tuple of (start_s, end_s)
        The detected speech, seconds (for the embedding and emotion stages).
    """

    features: dict[str, float]
    quality: dict
    version: str = field(default=FEATURE_SET_VERSION)
    speech_intervals: tuple[tuple[float, float], ...] = ()

    def to_json_dict(self) -> dict:
        """The result as JSON-ready builtins, NaN turned into None."""
        return {"features": _json_safe(self.features), "quality": _json_safe(self.quality), "version": self.version}


def _json_safe(mapping: dict) -> dict:
    def convert(value):
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        if isinstance(value, (float, np.floating, int, np.integer)):
            return None if not math.isfinite(float(value)) else (int(value) if isinstance(value, (int, np.integer)) else float(value))
        return value

    return {key: convert(value) for key, value in mapping.items()}


def _validated(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples)
    if x.ndim != 1:
        raise VoiceFeaturesError(f"Expected a mono signal (1-D samples), got an array of shape {x.shape}.", code="not_mono")
    if not np.issubdtype(x.dtype, np.floating):
        raise VoiceFeaturesError(f"Expected floating-point samples (full scale = 1), got dtype {x.dtype}.", code="bad_dtype")
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        raise VoiceFeaturesError("The samples contain NaN or infinite values.", code="not_finite")
    return x


def analyse(samples: np.ndarray, *, sr: int = 16000, clipping_fraction: float | None = None) -> AnalysisResult:
    """Prosodic and voice-quality features with a quality report.

    Parameters
    ----------
    samples : np.ndarray, shape (n,)
        Mono signal, full scale = 1.
    sr : int
        Sample rate, Hz.
    clipping_fraction : float or None
        Share of clipped samples measured on the original file (before resampling); when
        None it is measured here on ``samples``.

    Returns
    -------
    AnalysisResult
        Never raises for a finite 1-D array: silence, noise or a tone give NaN features and
        a rejection.

    Raises
    ------
    VoiceFeaturesError
        When ``samples`` is not 1-D, not floating point, or holds NaN/Inf, or ``sr`` is not positive.
    """
    x = _validated(samples)
    if not sr or sr <= 0:
        raise VoiceFeaturesError(f"The sample rate must be positive, got {sr}.", code="bad_sample_rate")
    clipping = quality.clipping_fraction(x) if clipping_fraction is None else float(clipping_fraction)
    duration_s = x.size / sr
    if duration_s < MIN_ANALYSABLE_S or not np.any(x):
        return _without_speech(x, sr=sr, duration_s=duration_s, clipping=clipping)
    return _analyse_sound(x, sr=sr, duration_s=duration_s, clipping=clipping)


def _without_speech(x: np.ndarray, *, sr: int, duration_s: float, clipping: float) -> AnalysisResult:
    features = {name: _NAN for name in FEATURE_NAMES}
    features.update(duration_s=duration_s, speech_s=0.0)
    report = quality.quality_report(duration_s=duration_s, speech_s=0.0, snr_db=_NAN, clipping=clipping, voiced_fraction=_NAN,
                                    level_dbfs=quality.speech_level_dbfs(x, sr=sr, segments=np.empty((0, 2))))
    return AnalysisResult(features=features, quality=report)


def _pitch_arrays(pitch: parselmouth.Pitch) -> tuple[np.ndarray, np.ndarray]:
    return pitch.xs(), pitch.selected_array["frequency"]


def _to_sound(x: np.ndarray, *, sr: int) -> parselmouth.Sound:
    """A Praat Sound filled in place, so no float64 copy of the whole recording is made first."""
    sound = parselmouth.Sound(np.zeros(x.size), sampling_frequency=sr)  # calloc'd: untouched pages cost nothing
    sound.values[0, :] = x
    return sound


def _analyse_sound(x: np.ndarray, *, sr: int, duration_s: float, clipping: float) -> AnalysisResult:
    sound = _to_sound(x, sr=sr)
    intensity = sound.to_intensity(minimum_pitch=INTENSITY_MIN_PITCH_HZ, time_step=FRAME_STEP_S)
    i_db, i_t = intensity.values[0], intensity.xs()
    t1, f1 = _pitch_arrays(sound.to_pitch_ac(time_step=FIRST_PASS_STEP_S, pitch_floor=FIRST_PASS_RANGE_HZ[0], pitch_ceiling=FIRST_PASS_RANGE_HZ[1]))
    threshold = segmentation.speech_threshold_db(i_db)
    segments = segmentation.speech_segments(intensity_db=i_db, frame_times_s=i_t, threshold_db=threshold,
                                            extension_db=segmentation.extension_threshold_db(i_db), voiced_times_s=t1[f1 > 0], voiced_step_s=FIRST_PASS_STEP_S)
    if len(segments) == 0:
        return _without_speech(x, sr=sr, duration_s=duration_s, clipping=clipping)
    floor, ceiling = prosody.pitch_range_from_first_pass(f1[(f1 > 0) & segmentation.in_segments(t1, segments)]) or DEFAULT_RANGE_HZ
    pitch = sound.to_pitch_ac(time_step=FRAME_STEP_S, pitch_floor=floor, pitch_ceiling=ceiling,
                              max_number_of_candidates=SECOND_PASS_CANDIDATES)
    t2, f2 = _pitch_arrays(pitch)
    features = compute_features(SpeechAnalysis(
        sound=sound, pitch=pitch, intensity_db=i_db, intensity_times_s=i_t, pitch_times_s=t2, pitch_hz=f2, segments=segments,
        threshold_db=threshold, pitch_floor_hz=floor, duration_s=duration_s, global_peak=max(float(x.max()), -float(x.min())),
        frame_step_s=FRAME_STEP_S))
    report = quality.quality_report(
        duration_s=duration_s, speech_s=features["speech_s"], clipping=clipping, voiced_fraction=features["voiced_fraction"],
        snr_db=quality.estimate_snr_db(power=10.0 ** (i_db / 10.0) * segmentation.PRAAT_POWER_REF, frame_times_s=i_t, segments=segments),
        level_dbfs=quality.speech_level_dbfs(x, sr=sr, segments=segments),
    )
    return AnalysisResult(features=features, quality=report,
                          speech_intervals=tuple((float(a), float(b)) for a, b in segments))


@cache
def _function(dotted: str) -> Callable[[SpeechAnalysis], Mapping[str, float]]:
    module, name = dotted.split(":")
    return getattr(importlib.import_module(module), name)


def compute_features(analysis: SpeechAnalysis) -> dict[str, float]:
    """Every registered feature of one analysed recording: each feature function runs once.

    Returns
    -------
    dict
        Key -> float (NaN where undefined), in registry order.
    """
    values: dict[str, float] = {}
    for dotted in dict.fromkeys(f.computed_by for f in FEATURES):
        values.update(_function(dotted)(analysis))
    return {name: float(values[name]) for name in FEATURE_NAMES}
