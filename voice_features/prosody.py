"""Prosody: syllable nuclei, speech and articulation rate, pauses, and F0 statistics.

Syllable nuclei follow de Jong & Wempe (2009, Behav. Res. Methods 41:385): peaks of an
energy contour above a silence threshold that stand clear of the dips on both sides and are
voiced. Their contour is the broadband intensity; here it is the energy of the vowel region
(:data:`NUCLEUS_BAND_HZ`) smoothed over :data:`NUCLEUS_WINDOW_S`, as in sub-band syllable
detectors (Wang & Narayanan 2007): fricatives and bursts carry little energy there, and
adjacent vowels of connected speech stay apart (docs/voices.md has the measurements).
F0 statistics follow Praat conventions: unvoiced frames (0 Hz) are dropped first, and
semitones are re 27.5 Hz so speakers of different pitch are comparable.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.signal import butter, find_peaks, sosfilt

from voice_features.segmentation import in_segments

__all__ = [
    "MIN_DIP_DB",
    "NUCLEUS_BAND_HZ",
    "NUCLEUS_WINDOW_S",
    "NUCLEUS_STEP_S",
    "VOICING_TOLERANCE_S",
    "nucleus_contour_db",
    "MIN_RUN_FOR_CV_S",
    "ST_REFERENCE_HZ",
    "syllable_nuclei",
    "rate_features",
    "pause_features",
    "pitch_range_from_first_pass",
    "f0_features",
    "hz_to_semitones",
]

NUCLEUS_BAND_HZ = (400.0, 2000.0)
"""Band of the nucleus contour, Hz: the first two formants of vowels, inside the telephone band
(AMR-NB, 8-kHz mu-law keep it whole). Chosen among 300-2500, 250-3000, 300-3400 and 400-2000 Hz with
one voice family held out in turn (benchmarks/tune_nuclei.py, docs/voices.md)."""
NUCLEUS_WINDOW_S = 0.06
"""Length of the Hann window that smooths the band energy, s (chosen like the band among 30-70 ms)."""
NUCLEUS_STEP_S = 0.01
"""Frame step of the nucleus contour, s."""
MIN_DIP_DB = 1.5
"""A nucleus must rise this far above the contour's dips on both sides, dB (de Jong & Wempe use 2 dB
on broadband intensity; on the smoother band contour 1.5 dB was chosen among 1.5-3 dB by hold-out)."""
VOICING_TOLERANCE_S = 0.03
"""A nucleus counts as voiced when a voiced pitch frame lies within this distance, s (chosen among
30, 50, 80, 120 ms and no voicing check by hold-out; band-energy peaks sit on the vowel, so a
tighter reach than the 50 ms the broadband intensity needed keeps out peaks between voiced stretches)."""
_BLOCK_CHUNK_S = 10.0  # the band filter runs over chunks of this length, so memory does not grow with the recording
MIN_RUN_FOR_CV_S = 0.5
"""Speech runs shorter than this give too few syllables for a rate; left out of ``speech_rate_cv``, s."""
ST_REFERENCE_HZ = 27.5
"""Semitone reference, Hz (A0)."""
_NAN = float("nan")


def hz_to_semitones(f0_hz: np.ndarray | float) -> np.ndarray | float:
    """Semitones re :data:`ST_REFERENCE_HZ`."""
    return 12.0 * np.log2(np.asarray(f0_hz) / ST_REFERENCE_HZ)


@lru_cache(maxsize=8)
def _bandpass_sos(low_hz: float, high_hz: float, sr: int) -> np.ndarray:
    """Second-order sections of the 4th-order Butterworth band-pass, designed once per band and rate."""
    return butter(4, (low_hz, high_hz), btype="bandpass", fs=sr, output="sos")  # sosfilt reads it, never writes


def nucleus_contour_db(
    samples: np.ndarray,
    *,
    sr: int,
    band_hz: tuple[float, float] = NUCLEUS_BAND_HZ,
    window_s: float = NUCLEUS_WINDOW_S,
    step_s: float = NUCLEUS_STEP_S,
) -> tuple[np.ndarray, np.ndarray]:
    """Energy of the vowel band, smoothed, in dB re full scale: the contour whose peaks are syllable nuclei.

    The signal goes through a 4th-order Butterworth band-pass (``band_hz``; ``scipy.signal``, upper edge kept below
    Nyquist; at sample rates too low to hold the band, below about 1.1 kHz, it is left unfiltered), its power is averaged over ``step_s`` blocks, and the blocks are smoothed with a Hann
    window of about ``window_s``. Cost is one IIR pass over the samples (chunked, so memory stays
    bounded on long recordings).

    Parameters
    ----------
    samples : np.ndarray, shape (n,)
        Mono signal, full scale = 1.
    sr : int
        Sample rate, Hz.

    Returns
    -------
    (contour_db, times_s) : tuple of np.ndarray, shape (n_frames,)
        Band energy, dB re full scale (floored at -120 dB), and frame centres, s.
    """
    hop = max(1, round(step_s * sr))
    n_blocks = samples.size // hop
    if n_blocks == 0:
        return np.empty(0), np.empty(0)
    low, high = band_hz
    high = min(high, 0.45 * sr)
    sos = _bandpass_sos(float(low), float(high), int(sr)) if high > 1.25 * low else None
    state = None if sos is None else np.zeros((sos.shape[0], 2))  # the filter's state, carried from chunk to chunk
    power = np.empty(n_blocks)
    chunk = max(1, int(_BLOCK_CHUNK_S * sr) // hop) * hop
    for start in range(0, n_blocks * hop, chunk):
        stop = min(start + chunk, n_blocks * hop)
        y = np.asarray(samples[start:stop], dtype=np.float64)
        if sos is not None:
            y, state = sosfilt(sos, y, zi=state)
        power[start // hop: stop // hop] = np.mean((y * y).reshape(-1, hop), axis=1)
    taps = max(1, round(window_s / step_s))
    times = (np.arange(n_blocks) + 0.5) * hop / sr
    if taps > 1:
        kernel = np.hanning(taps + 2)[1:-1]
        power = np.convolve(power, kernel / kernel.sum(), mode="same")
        times = times - ((taps - 1) / 2 - (taps - 1) // 2) * hop / sr  # an even kernel centres half a block early
    return 10.0 * np.log10(power + 1e-12), times


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
        Nucleus contour, dB (:func:`nucleus_contour_db`; any energy contour in dB works).
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
    peaks = find_peaks(intensity_db, prominence=min_dip_db)[0]
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


def rate_features(*, nuclei_s: np.ndarray, segments: np.ndarray,
                  span_s: tuple[float, float] | None = None) -> dict[str, float]:
    """Syllable count, speech rate, articulation rate and its variability across runs.

    Parameters
    ----------
    nuclei_s : np.ndarray, shape (n_nuclei,)
        Syllable nucleus times, s.
    segments : np.ndarray, shape (n_segments, 2)
        Speech runs, s.
    span_s : (start_s, end_s), optional
        First speech onset and last offset, s, when placed more finely than the runs' edges
        (:func:`voice_features.segmentation.speech_span_s`); default: ``segments[0, 0]``, ``segments[-1, 1]``.

    Returns
    -------
    dict
        ``syllable_count``; ``speech_rate_syl_s`` (per s from first speech onset to last
        offset, ``span_s``); ``articulation_rate_syl_s`` (per s of speech); ``speech_rate_cv`` (SD/mean
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
    start, end = (segments[0, 0], segments[-1, 1]) if span_s is None else span_s
    return {
        "syllable_count": count,
        "speech_rate_syl_s": count / float(end - start),
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
