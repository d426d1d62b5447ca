"""Feature functions: each reads a :class:`~voice_features.speech.SpeechAnalysis` and
returns the features it computes, keyed as declared in :mod:`voice_features.registry`.

The maths lives in the topic modules (prosody, voice_quality, ...); these functions only
pick the shared objects each one needs.
"""

from __future__ import annotations

import numpy as np

from voice_features import prosody, spectral, voice_quality
from voice_features.speech import SpeechAnalysis

__all__ = ["durations", "timing", "pauses", "pause_variability", "f0", "f0_relative_variability", "intensity", "intensity_variability", "jitter_shimmer", "hnr", "voicing", "cpp", "formants", "mfcc"]

_NAN = float("nan")


def durations(a: SpeechAnalysis) -> dict[str, float]:
    """``duration_s`` and ``speech_s``, s."""
    return {"duration_s": a.duration_s, "speech_s": a.speech_s}


def timing(a: SpeechAnalysis) -> dict[str, float]:
    """Syllable count, speech and articulation rate and its variability."""
    return prosody.rate_features(nuclei_s=a.syllable_nuclei_s, segments=a.segments, span_s=a.speech_span_s)


def pauses(a: SpeechAnalysis) -> dict[str, float]:
    """Pause count, rate, mean and median duration, pause ratio."""
    return prosody.pause_features(pauses=a.pauses, speech_s=a.speech_s, duration_s=a.duration_s)


def pause_variability(a: SpeechAnalysis) -> dict[str, float]:
    """Median absolute deviation of pause durations, s (unscaled, as ``scipy.stats.median_abs_deviation``); NaN with fewer than 2 pauses."""
    lengths = a.pauses[:, 1] - a.pauses[:, 0]
    return {"pause_mad_s": float(np.median(np.abs(lengths - np.median(lengths)))) if lengths.size >= 2 else _NAN}


def f0(a: SpeechAnalysis) -> dict[str, float]:
    """Median F0 (Hz, st), F0 range and SD (st) over voiced speech frames."""
    return prosody.f0_features(a.speech_f0_hz)


def f0_relative_variability(a: SpeechAnalysis) -> dict[str, float]:
    """SD / mean of F0 in Hz over voiced speech frames (ddof=1); NaN with fewer than 2."""
    voiced = a.speech_f0_hz[a.speech_f0_hz > 0]
    return {"f0_rel_sd": float(np.std(voiced, ddof=1) / np.mean(voiced)) if voiced.size >= 2 else _NAN}


def intensity(a: SpeechAnalysis) -> dict[str, float]:
    """Mean intensity over speech on the power scale (Praat's 'energy' averaging), dB."""
    values_db = a.intensity_db[a.intensity_in_speech]
    if values_db.size == 0:
        return {"intensity_mean_db": _NAN}
    return {"intensity_mean_db": float(10.0 * np.log10(np.mean(10.0 ** (values_db / 10.0))))}


def intensity_variability(a: SpeechAnalysis) -> dict[str, float]:
    """SD of the intensity contour (dB) over speech frames; gain-independent."""
    values_db = a.intensity_db[a.intensity_in_speech]
    return {"intensity_sd_db": float(np.std(values_db, ddof=1)) if values_db.size > 1 else _NAN}


def jitter_shimmer(a: SpeechAnalysis) -> dict[str, float]:
    """Local jitter and shimmer (Praat)."""
    return voice_quality.jitter_shimmer(a.sound, a.pitch)


def hnr(a: SpeechAnalysis) -> dict[str, float]:
    """Mean harmonics-to-noise ratio over voiced stretches, dB."""
    return {"hnr_db": voice_quality.hnr_db(a.sound, stretches=a.voiced_stretches, pitch_floor_hz=a.pitch_floor_hz,
                                           global_peak=a.global_peak)}


def voicing(a: SpeechAnalysis) -> dict[str, float]:
    """Voiced frames / speech frames."""
    n_speech = np.count_nonzero(a.pitch_in_speech)
    return {"voiced_fraction": float(np.count_nonzero(a.speech_f0_hz > 0) / n_speech) if n_speech else _NAN}


def cpp(a: SpeechAnalysis) -> dict[str, float]:
    """Smoothed cepstral peak prominence over a sample of the voiced speech, dB."""
    return {"cpp_db": spectral.cpp_db(a.voiced_sample)}


def formants(a: SpeechAnalysis) -> dict[str, float]:
    """F1-F3 means and bandwidths over a sample of the voiced speech, Hz."""
    voiced = a.speech_f0_hz[a.speech_f0_hz > 0]
    return spectral.formant_stats(a.voiced_sample, f0_median_hz=float(np.median(voiced)) if voiced.size else _NAN)


def mfcc(a: SpeechAnalysis) -> dict[str, float]:
    """MFCC 1-13 means and SDs over (a sample of) the speech."""
    return spectral.mfcc_stats(a.speech_sample, sr=int(a.sound.sampling_frequency))
