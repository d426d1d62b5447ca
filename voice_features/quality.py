"""Recording quality: SNR, clipping, level, and whether the recording can be trusted.

A rejected recording still carries whatever features could be computed; the rejection
says why its numbers should not enter a patient's baseline, in a sentence a person can
read. The thresholds below are the whole policy.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "MIN_SPEECH_S",
    "MIN_SNR_DB",
    "MAX_CLIPPING_FRACTION",
    "MIN_LEVEL_DBFS",
    "CLIP_LEVEL",
    "clipping_fraction",
    "speech_level_dbfs",
    "estimate_snr_db",
    "quality_report",
]

MIN_SPEECH_S = 3.0
"""Less speech than this (s) gives too few syllables and pauses for stable rates."""
MIN_SNR_DB = 5.0
"""Below this estimated SNR (dB) voicing and syllable detection become unreliable."""
MAX_CLIPPING_FRACTION = 0.02
"""Above this share of clipped samples, jitter, shimmer, HNR and intensity are distorted."""
MIN_LEVEL_DBFS = -50.0
"""Speech quieter than this (RMS, dBFS) is near the noise of a phone's input chain."""
CLIP_LEVEL = 0.999
"""A sample at or above this absolute value (full scale = 1) counts as clipped."""
_QUANTISATION_POWER = (2.0**-15) ** 2 / 12  # 16-bit noise: the lowest noise floor a real file can have
_NON_SPEECH_MARGIN_S = 0.05  # intensity frames this close to speech still carry its energy
_MIN_NOISE_S = 0.5  # with less non-speech than this, the floor comes from the quietest frames


def clipping_fraction(samples: np.ndarray) -> float:
    """Share of samples at or above :data:`CLIP_LEVEL` in absolute value, 0-1 (NaN when empty)."""
    if samples.size == 0:
        return float("nan")
    return (np.count_nonzero(samples >= CLIP_LEVEL) + np.count_nonzero(samples <= -CLIP_LEVEL)) / samples.size


def speech_level_dbfs(samples: np.ndarray, *, sr: int, segments: np.ndarray) -> float:
    """RMS level over the speech segments (the whole recording when there are none), dBFS.

    NaN for digital silence, whose level has no finite value.
    """
    if len(segments):
        parts = [samples[int(a * sr):int(b * sr)] for a, b in segments]
        energy = sum(float(np.dot(p, p)) for p in parts)
        count = sum(p.size for p in parts)
    else:
        energy, count = float(np.dot(samples, samples)), samples.size
    if count == 0 or energy <= 0:
        return float("nan")
    return 10.0 * math.log10(energy / count)


def estimate_snr_db(*, power: np.ndarray, frame_times_s: np.ndarray, segments: np.ndarray) -> float:
    """Speech-to-noise ratio from frame powers inside and outside speech, dB.

    Parameters
    ----------
    power : np.ndarray, shape (n_frames,)
        Frame mean-square values, full-scale units squared.
    frame_times_s : np.ndarray, shape (n_frames,)
        Frame centres, s.
    segments : np.ndarray, shape (n_segments, 2)
        Speech segments, s. Without speech the SNR is undefined (NaN).

    Notes
    -----
    Noise power is the mean over frames at least 50 ms from speech; when there is less
    than 0.5 s of those, the 5th percentile of all frames stands in. It never goes below
    16-bit quantisation noise, so digital silence gives a large but finite SNR.
    """
    if len(segments) == 0 or power.size == 0:
        return float("nan")
    speech = _mask_in(frame_times_s, segments, margin_s=0.0)
    away = ~_mask_in(frame_times_s, segments, margin_s=_NON_SPEECH_MARGIN_S)
    step = float(frame_times_s[1] - frame_times_s[0]) if frame_times_s.size > 1 else 0.01
    if np.count_nonzero(away) * step >= _MIN_NOISE_S:
        noise = float(np.mean(power[away]))
    else:
        noise = float(np.percentile(power, 5))
    noise = max(noise, _QUANTISATION_POWER)
    signal = float(np.mean(power[speech])) - noise if speech.any() else 0.0
    return 10.0 * math.log10(max(signal, _QUANTISATION_POWER) / noise)


def _mask_in(times_s: np.ndarray, segments: np.ndarray, *, margin_s: float) -> np.ndarray:
    starts = np.searchsorted(times_s, segments[:, 0] - margin_s)
    stops = np.searchsorted(times_s, segments[:, 1] + margin_s, side="right")
    delta = np.zeros(times_s.size + 1, dtype=np.int64)
    np.add.at(delta, starts, 1)
    np.add.at(delta, stops, -1)
    return np.cumsum(delta[:-1]) > 0


def _rejection(*, speech_s: float, snr_db: float, clipping: float, level_dbfs: float) -> tuple[str, str] | None:
    """(code, reason) of the first quality check that fails, or None: the code is what apps translate."""
    if speech_s <= 0:
        return "no_speech", "No speech was detected in the recording."
    if np.isfinite(clipping) and clipping > MAX_CLIPPING_FRACTION:
        return "clipped", (f"The recording is heavily clipped ({clipping:.0%} of samples); please record further from "
                           "the microphone or at a lower volume.")
    if np.isfinite(level_dbfs) and level_dbfs < MIN_LEVEL_DBFS:
        return "too_quiet", (f"The recording is too quiet (speech level {level_dbfs:.0f} dBFS; at least "
                             f"{MIN_LEVEL_DBFS:.0f} dBFS is needed).")
    if speech_s < MIN_SPEECH_S:
        return "too_little_speech", (f"The recording has only {speech_s:.1f} s of speech; at least "
                                     f"{MIN_SPEECH_S:.0f} s are needed.")
    if np.isfinite(snr_db) and snr_db < MIN_SNR_DB:
        return "too_noisy", (f"The recording is too noisy (estimated SNR {snr_db:.0f} dB; at least "
                             f"{MIN_SNR_DB:.0f} dB is needed).")
    return None


def quality_report(*, duration_s: float, speech_s: float, snr_db: float, clipping: float, voiced_fraction: float, level_dbfs: float) -> dict:
    """The quality mapping of an analysis, with the accept/reject decision.

    Returns
    -------
    dict
        ``speech_s``, ``duration_s``, ``snr_db``, ``clipping_fraction``, ``voiced_fraction``,
        ``level_dbfs`` (floats, NaN when undefined), ``accepted`` (bool), ``rejection_reason`` (str or None)
        and ``rejection_code`` (``no_speech``, ``clipped``, ``too_quiet``, ``too_little_speech``,
        ``too_noisy``, or None).
    """
    rejection = _rejection(speech_s=speech_s, snr_db=snr_db, clipping=clipping, level_dbfs=level_dbfs)
    code, reason = rejection if rejection else (None, None)
    return {
        "speech_s": float(speech_s),
        "duration_s": float(duration_s),
        "snr_db": float(snr_db),
        "clipping_fraction": float(clipping),
        "voiced_fraction": float(voiced_fraction),
        "level_dbfs": float(level_dbfs),
        "accepted": reason is None,
        "rejection_reason": reason,
        "rejection_code": code,
    }
