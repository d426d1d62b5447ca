"""Prosody: syllable nuclei, speech and articulation rate, pauses, and F0 statistics.

Syllable nuclei follow de Jong & Wempe (2009, Behav. Res. Methods 41:385): intensity
peaks above the silence threshold that stand at least 2 dB above the dips on both sides
and are voiced. F0 statistics follow Praat conventions: unvoiced frames (0 Hz) are dropped
first, and semitones are re 27.5 Hz so speakers of different pitch are comparable.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import find_peaks

from voice_features.segmentation import in_segments

__all__ = [
    "MIN_DIP_DB",
    "MIN_RUN_FOR_CV_S",
    "ST_REFERENCE_HZ",
    "syllable_nuclei",
    "rate_features",
    "pause_features",
    "pitch_range_from_first_pass",
    "f0_features",
    "hz_to_semitones",
]

MIN_DIP_DB = 2.0
"""A nucleus must rise this far above the intensity dips on both sides, dB (de Jong & Wempe)."""
VOICING_TOLERANCE_S = 0.05
"""A nucleus counts as voiced when a voiced pitch frame lies within this distance, s. The intensity
window is 64 ms long, so in connected human speech its peak often sits a frame or two off the
voiced stretch of the vowel; requiring voicing at the nearest frame only dropped a quarter of the
real syllables (benchmarks/bench_voices.py)."""
MIN_RUN_FOR_CV_S = 0.5
"""Speech runs shorter than this give too few syllables for a rate; left out of ``speech_rate_cv``, s."""
ST_REFERENCE_HZ = 27.5
"""Semitone reference, Hz (A0)."""
_NAN = float("nan")


def hz_to_semitones(f0_hz: np.ndarray | float) -> np.ndarray | float:
    """Semitones re :data:`ST_REFERENCE_HZ`."""
    return 12.0 * np.log2(np.asarray(f0_hz) / ST_REFERENCE_HZ)


def syllable_nuclei(
    *,
    intensity_db: np.ndarray,
    frame_times_s: np.ndarray,
    threshold_db: float,
    segments: np.ndarray,
    pitch_times_s: np.ndarray,
    pitch_hz: np.ndarray,
    min_dip_db: float = MIN_DIP_DB,
    voicing_tolerance_s: float = VOICING_TOLERANCE_S,
) -> np.ndarray:
    """Times of the syllable nuclei, s.

    Parameters
    ----------
    intensity_db : np.ndarray, shape (n_frames,)
        Intensity contour, dB.
    frame_times_s : np.ndarray, shape (n_frames,)
        Its frame centres, s.
    threshold_db : float
        Silence threshold, dB: peaks at or below it are not nuclei.
    segments : np.ndarray, shape (n_segments, 2)
        Speech segments, s; nuclei outside them are dropped.
    pitch_times_s, pitch_hz : np.ndarray, shape (n_pitch,)
        Pitch contour (0 Hz = unvoiced), sorted times; a nucleus must have a voiced frame
        within ``voicing_tolerance_s``.
    min_dip_db : float
        Required drop on both sides before higher ground, dB (peak prominence).
    voicing_tolerance_s : float
        How far the nearest voiced frame may be, s (0: the nearest frame must be voiced).
    """
    if len(segments) == 0 or pitch_times_s.size == 0:
        return np.empty(0)
    peaks, _ = find_peaks(intensity_db, prominence=min_dip_db)
    peaks = peaks[intensity_db[peaks] > threshold_db]
    times = frame_times_s[peaks]
    times = times[in_segments(times, segments)]
    voiced_t = pitch_times_s[pitch_hz > 0]
    if voiced_t.size == 0:
        return np.empty(0)
    step = float(pitch_times_s[1] - pitch_times_s[0]) if pitch_times_s.size > 1 else 0.0
    reach = max(voicing_tolerance_s, step / 2)
    after = np.clip(np.searchsorted(voiced_t, times), 0, voiced_t.size - 1)
    before = np.clip(after - 1, 0, voiced_t.size - 1)
    gap = np.minimum(np.abs(voiced_t[after] - times), np.abs(times - voiced_t[before]))
    return times[gap <= reach + 1e-9]


def rate_features(*, nuclei_s: np.ndarray, segments: np.ndarray) -> dict[str, float]:
    """Syllable count, speech rate, articulation rate and its variability across runs.

    Parameters
    ----------
    nuclei_s : np.ndarray, shape (n_nuclei,)
        Syllable nucleus times, s.
    segments : np.ndarray, shape (n_segments, 2)
        Speech runs, s.

    Returns
    -------
    dict
        ``syllable_count``; ``speech_rate_syl_s`` (per s from first speech onset to last
        offset); ``articulation_rate_syl_s`` (per s of speech); ``speech_rate_cv`` (SD/mean
        of per-run articulation rate over runs of at least :data:`MIN_RUN_FOR_CV_S`, NaN
        with fewer than two).
    """
    if len(segments) == 0:
        return {"syllable_count": _NAN, "speech_rate_syl_s": _NAN, "articulation_rate_syl_s": _NAN, "speech_rate_cv": _NAN}
    durations = segments[:, 1] - segments[:, 0]
    per_run = np.searchsorted(nuclei_s, segments[:, 1], side="right") - np.searchsorted(nuclei_s, segments[:, 0])
    long_runs = durations >= MIN_RUN_FOR_CV_S
    rates = per_run[long_runs] / durations[long_runs]
    cv = float(np.std(rates, ddof=1) / np.mean(rates)) if rates.size >= 2 and np.mean(rates) > 0 else _NAN
    count = float(nuclei_s.size)
    return {
        "syllable_count": count,
        "speech_rate_syl_s": count / float(segments[-1, 1] - segments[0, 0]),
        "articulation_rate_syl_s": count / float(durations.sum()),
        "speech_rate_cv": cv,
    }


def pause_features(*, pauses: np.ndarray, speech_s: float, duration_s: float) -> dict[str, float]:
    """Pause count, rate, mean/median duration and pause ratio.

    Parameters
    ----------
    pauses : np.ndarray, shape (n_pauses, 2)
        Pause intervals, s.
    speech_s : float
        Time in speech, s; 0 means no speech, and then nothing about pauses is defined.
    duration_s : float
        Whole recording, s (denominator of ``pause_rate_per_min``).
    """
    if speech_s <= 0:
        return {k: _NAN for k in ("pause_count", "pause_rate_per_min", "pause_mean_s", "pause_median_s", "pause_ratio")}
    lengths = pauses[:, 1] - pauses[:, 0]
    pause_s = float(lengths.sum())
    return {
        "pause_count": float(lengths.size),
        "pause_rate_per_min": lengths.size / (duration_s / 60.0),
        "pause_mean_s": float(np.mean(lengths)) if lengths.size else _NAN,
        "pause_median_s": float(np.median(lengths)) if lengths.size else _NAN,
        "pause_ratio": pause_s / (speech_s + pause_s),
    }


def pitch_range_from_first_pass(f0_hz: np.ndarray, *, floor_factor: float = 0.75, ceiling_factor: float = 1.5) -> tuple[float, float] | None:
    """Speaker-adapted pitch floor and ceiling from a wide first pass (Hirst 2011).

    Parameters
    ----------
    f0_hz : np.ndarray
        Voiced first-pass F0 values, Hz (0-Hz frames already removed).

    Returns
    -------
    (floor_hz, ceiling_hz) or None
        ``floor_factor * q25`` and ``ceiling_factor * q75``; None with fewer than 10 frames.
    """
    if f0_hz.size < 10:
        return None
    q25, q75 = np.percentile(f0_hz, [25, 75])
    return float(max(floor_factor * q25, 40.0)), float(min(ceiling_factor * q75, 1000.0))


def f0_features(f0_hz: np.ndarray) -> dict[str, float]:
    """Median F0 (Hz and st), 5th-95th percentile range (st) and SD (st) of voiced frames.

    Parameters
    ----------
    f0_hz : np.ndarray
        Pitch values, Hz; 0 Hz (Praat's unvoiced) frames are dropped here.
    """
    voiced = f0_hz[f0_hz > 0]
    if voiced.size == 0:
        return {"f0_median_hz": _NAN, "f0_median_st": _NAN, "f0_range_st": _NAN, "f0_sd_st": _NAN}
    st = hz_to_semitones(voiced)
    p5, p95 = np.percentile(st, [5, 95])
    median_hz = float(np.median(voiced))
    return {
        "f0_median_hz": median_hz,
        "f0_median_st": float(hz_to_semitones(median_hz)),
        "f0_range_st": float(p95 - p5),
        "f0_sd_st": float(np.std(st, ddof=1)) if st.size > 1 else _NAN,
    }
