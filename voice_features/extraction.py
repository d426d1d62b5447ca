"""One call from samples to features, quality report and feature-set version.

Every Praat object is computed once and shared: one intensity contour (segmentation,
syllable nuclei, intensity, SNR), a cheap wide first pitch pass (voicing for segmentation,
speaker range), one speaker-adapted second pitch pass (F0 statistics, nucleus voicing,
voiced fraction, pulses for jitter/shimmer, stretches for HNR).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import parselmouth

from voice_features import prosody, quality, segmentation, voice_quality
from voice_features.errors import VoiceFeaturesError
from voice_features.feature_names import FEATURE_NAMES as CONTRACT_FEATURE_NAMES

__all__ = ["FEATURE_SET_VERSION", "FEATURE_NAMES", "AnalysisResult", "analyse"]

FEATURE_SET_VERSION = "1.0.0"
"""Bump the major part whenever a feature's definition or a threshold changes its values."""

FEATURE_NAMES = CONTRACT_FEATURE_NAMES

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
_PRAAT_POWER_REF = 4e-10  # Praat intensity is dB re (2e-5)^2 with samples read as pascal
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
    in_speech = segmentation.in_segments(t2, segments)
    features = _features(sound=sound, pitch=pitch, i_db=i_db, i_t=i_t, t2=t2, f2=f2, in_speech=in_speech, segments=segments,
                         threshold=threshold, floor=floor, duration_s=duration_s, global_peak=max(float(x.max()), -float(x.min())))
    report = quality.quality_report(
        duration_s=duration_s, speech_s=features["speech_s"], clipping=clipping, voiced_fraction=features["voiced_fraction"],
        snr_db=quality.estimate_snr_db(power=10.0 ** (i_db / 10.0) * _PRAAT_POWER_REF, frame_times_s=i_t, segments=segments),
        level_dbfs=quality.speech_level_dbfs(x, sr=sr, segments=segments),
    )
    return AnalysisResult(features=features, quality=report,
                          speech_intervals=tuple((float(a), float(b)) for a, b in segments))


def _features(*, sound, pitch, i_db, i_t, t2, f2, in_speech, segments, threshold, floor, duration_s, global_peak) -> dict[str, float]:
    speech_s = float(np.sum(segments[:, 1] - segments[:, 0]))
    nuclei = prosody.syllable_nuclei(intensity_db=i_db, frame_times_s=i_t, threshold_db=threshold, segments=segments,
                                     pitch_times_s=t2, pitch_hz=f2)
    speech_frames = segmentation.in_segments(i_t, segments)
    stretches = voice_quality.voiced_stretches(pitch_times_s=t2[in_speech], pitch_hz=f2[in_speech], step_s=FRAME_STEP_S)
    features = {"duration_s": duration_s, "speech_s": speech_s}
    features.update(prosody.rate_features(nuclei_s=nuclei, segments=segments))
    features.update(prosody.pause_features(pauses=segmentation.pauses_between(segments), speech_s=speech_s, duration_s=duration_s))
    features.update(prosody.f0_features(f2[in_speech]))
    features["intensity_mean_db"] = _energy_mean_db(i_db[speech_frames])
    features.update(voice_quality.jitter_shimmer(sound, pitch))
    features["hnr_db"] = voice_quality.hnr_db(sound, stretches=stretches, pitch_floor_hz=floor, global_peak=global_peak)
    features["voiced_fraction"] = float(np.count_nonzero(f2[in_speech] > 0) / max(np.count_nonzero(in_speech), 1)) if in_speech.any() else _NAN
    return {name: float(features[name]) for name in FEATURE_NAMES}


def _energy_mean_db(values_db: np.ndarray) -> float:
    """Mean of dB values on the power scale (Praat's 'energy' averaging), dB."""
    if values_db.size == 0:
        return _NAN
    return float(10.0 * np.log10(np.mean(10.0 ** (values_db / 10.0))))
