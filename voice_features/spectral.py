"""Spectral and cepstral voice features: CPP, formants, MFCC statistics.

CPP and formants are measured on a sample of the voiced speech (the speaker-adapted pitch
contour's voiced stretches, at most :data:`VOICED_SAMPLE_MAX_S` of them, evenly through
the recording), MFCCs on a sample of the speech runs (at most :data:`SPEECH_SAMPLE_MAX_S`),
so their cost does not grow with the length of the recording.
"""

from __future__ import annotations

import librosa
import numpy as np
import parselmouth
from parselmouth.praat import call

from voice_features.segmentation import evenly_subsampled

__all__ = ["VOICED_SAMPLE_MAX_S", "SPEECH_SAMPLE_MAX_S", "joined", "N_MFCC", "MAX_FORMANT_BW_HZ", "voiced_sample", "cpp_db", "formant_stats", "mfcc_stats"]

VOICED_SAMPLE_MAX_S = 6.0
"""Voiced time analysed for CPP and formants, s: means over 600 frames are stable."""
SPEECH_SAMPLE_MAX_S = 60.0
"""Speech time analysed for MFCC statistics, s."""
N_MFCC = 13
MAX_FORMANT_BW_HZ = 600.0
"""Widest pole counted as a formant, Hz (real F1-F3 bandwidths are well below it)."""
_CPP_STEP_S = 0.01
_CPP_PITCH_RANGE_HZ = (60.0, 330.0)
_FORMANT_STEP_S = 0.01
_HIGH_VOICE_HZ = 165.0  # median F0 above which a 5500-Hz formant ceiling fits (Praat's manual)
_MFCC_N_FFT = 400  # 25 ms at 16 kHz
_MFCC_HOP = 160  # 10 ms
_NAN = float("nan")


def joined(sound: parselmouth.Sound, *, intervals: np.ndarray, max_s: float) -> np.ndarray:
    """The samples of ``intervals`` (s) joined; every k-th interval when they last longer than ``max_s``."""
    sr, values = sound.sampling_frequency, sound.values[0]
    parts = [values[max(int(a * sr), 0): int(b * sr)] for a, b in evenly_subsampled(intervals, max_total_s=max_s)]
    return np.concatenate(parts) if parts else np.empty(0)


def voiced_sample(sound: parselmouth.Sound, *, stretches: np.ndarray, max_s: float = VOICED_SAMPLE_MAX_S) -> parselmouth.Sound | None:
    """The voiced stretches (s, shape (n, 2)) joined into one Sound, at most about ``max_s``; None without any."""
    samples = joined(sound, intervals=stretches, max_s=max_s)
    return parselmouth.Sound(samples, sampling_frequency=sound.sampling_frequency) if samples.size else None


def cpp_db(voiced: parselmouth.Sound | None) -> float:
    """Smoothed cepstral peak prominence (Praat PowerCepstrogram, "Get CPPS"), dB.

    Hillenbrand's settings: 10-ms frames, a straight trend line fitted by least squares,
    peak searched between 60 and 330 Hz. NaN without voiced speech.
    """
    if voiced is None or voiced.duration < 0.1:
        return _NAN
    cepstrogram = call(voiced, "To PowerCepstrogram", _CPP_PITCH_RANGE_HZ[0], _CPP_STEP_S, 5000.0, 50.0)
    value = call(cepstrogram, "Get CPPS", "no", 0.02, 0.0005, _CPP_PITCH_RANGE_HZ[0], _CPP_PITCH_RANGE_HZ[1], 0.05,
                 "Parabolic", 0.001, 0.0, "Straight", "Least squares")
    return float(value) if np.isfinite(value) else _NAN


def formant_stats(voiced: parselmouth.Sound | None, *, f0_median_hz: float) -> dict[str, float]:
    """Means of F1-F3 and of their bandwidths over voiced frames (Praat Burg), Hz.

    The formant ceiling is 5000 Hz, or 5500 Hz for a median F0 above 165 Hz. Burg's
    poles wider than :data:`MAX_FORMANT_BW_HZ` model spectral tilt, not a resonance:
    they are dropped, and F1-F3 of a frame are its first three remaining poles.
    """
    keys = [f"f{k}_{kind}_hz" for k in (1, 2, 3) for kind in ("mean", "bw")]
    if voiced is None or voiced.duration < 0.05:
        return dict.fromkeys(keys, _NAN)
    ceiling = 5500.0 if np.isfinite(f0_median_hz) and f0_median_hz > _HIGH_VOICE_HZ else 5000.0
    formant = voiced.to_formant_burg(time_step=_FORMANT_STEP_S, max_number_of_formants=5, maximum_formant=ceiling)
    poles = np.array([[(formant.get_value_at_time(k, t), formant.get_bandwidth_at_time(k, t)) for k in range(1, 6)]
                      for t in formant.xs()]).reshape(-1, 5, 2)
    freq, bw = np.full((len(poles), 3), np.nan), np.full((len(poles), 3), np.nan)
    for i, frame in enumerate(poles):
        kept = frame[np.isfinite(frame[:, 0]) & (frame[:, 1] <= MAX_FORMANT_BW_HZ)][:3]
        freq[i, : len(kept)], bw[i, : len(kept)] = kept[:, 0], kept[:, 1]
    result = {}
    for k in (1, 2, 3):
        ok = np.isfinite(freq[:, k - 1])
        result[f"f{k}_mean_hz"] = float(freq[ok, k - 1].mean()) if ok.any() else _NAN
        result[f"f{k}_bw_hz"] = float(bw[ok, k - 1].mean()) if ok.any() else _NAN
    return result


def mfcc_stats(speech: np.ndarray, *, sr: int) -> dict[str, float]:
    """Mean and SD (ddof=1) of MFCC 1-13 over 25-ms frames every 10 ms (librosa; c0, the level, left out).

    The speech is scaled to unit RMS first, so a phone's gain cannot move the cepstrum
    through librosa's fixed log floor.

    Parameters
    ----------
    speech : np.ndarray, shape (n,)
        The speech samples (pauses removed), full scale = 1.
    sr : int
        Sample rate, Hz.
    """
    keys = [f"mfcc{k}_{s}" for k in range(1, N_MFCC + 1) for s in ("mean", "sd")]
    n_fft = int(round(_MFCC_N_FFT * sr / 16000))
    rms = float(np.sqrt(np.mean(np.square(speech, dtype=np.float64)))) if speech.size else 0.0
    if speech.size < n_fft * 2 or rms == 0:
        return dict.fromkeys(keys, _NAN)
    mfcc = librosa.feature.mfcc(y=(np.asarray(speech) / rms).astype(np.float32), sr=sr, n_mfcc=N_MFCC + 1,
                                n_fft=n_fft, hop_length=int(round(_MFCC_HOP * sr / 16000)), n_mels=40)[1:]
    means, sds = mfcc.mean(axis=1), mfcc.std(axis=1, ddof=1)
    return {f"mfcc{k}_{s}": float(v) for k in range(1, N_MFCC + 1) for s, v in (("mean", means[k - 1]), ("sd", sds[k - 1]))}
