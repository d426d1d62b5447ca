"""Speech/pause segmentation from an intensity contour with a noise-adaptive threshold.

The threshold sits between the recording's own noise floor (a low percentile of frame
intensity) and its speech peak level (a high percentile), so it follows the background
noise instead of assuming a quiet room: at 10 dB SNR the same pauses are found as on the
clean signal. Stretches above the threshold that hold no voicing are noise, not speech.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "evenly_subsampled",
    "MIN_PAUSE_S",
    "NOISE_FLOOR_PERCENTILE",
    "SPEECH_PEAK_PERCENTILE",
    "SILENCE_DROP_DB",
    "THRESHOLD_FRACTION",
    "MIN_DYNAMIC_RANGE_DB",
    "MIN_VOICED_S",
    "speech_threshold_db",
    "extension_threshold_db",
    "EXTENSION_MARGIN_DB",
    "EXTENSION_FRACTION",
    "speech_segments",
    "PRAAT_POWER_REF",
    "SPAN_BLOCK_S",
    "SPAN_REACH_S",
    "speech_span_s",
    "pauses_between",
    "in_segments",
]

MIN_PAUSE_S = 0.25
"""Shortest silence between speech that counts as a pause, s (shorter gaps are speech)."""
NOISE_FLOOR_PERCENTILE = 5.0
"""Percentile of frame intensity taken as the noise floor."""
SPEECH_PEAK_PERCENTILE = 99.0
"""Percentile of frame intensity taken as the speech peak level (de Jong & Wempe 2009)."""
SILENCE_DROP_DB = 25.0
"""On clean audio the threshold is this many dB below the peak level (de Jong & Wempe's -25 dB)."""
THRESHOLD_FRACTION = 0.35
"""On noisy audio the threshold is at least this fraction of the way from floor to peak."""
MIN_DYNAMIC_RANGE_DB = 6.0
"""Below this peak-to-floor range there is nothing but steady sound (noise, a tone): no speech."""
MIN_VOICED_S = 0.05
"""A speech segment must hold at least this much voicing, s; otherwise it is noise."""
EXTENSION_MARGIN_DB = 3.0
"""The extension threshold stays at least this far above the noise floor, dB (steady noise varies by < 1 dB)."""
EXTENSION_FRACTION = 0.15
"""... and at least this fraction of the way from floor to peak."""
PRAAT_POWER_REF = 4e-10
"""Power of 0 dB on Praat's intensity scale: dB re (2e-5)^2, samples read as pascal."""
SPAN_BLOCK_S = 0.01
"""Block of the short-window level that places the outer edges of the speech span, s: the contour's frame
step (20 ms did as well in the hold-out, benchmarks/tune_nuclei.py --span, but shares the 20-ms frame grid of
the test suite's reference trim)."""
SPAN_REACH_S = 0.064
"""How far inside the first onset and the last offset that level looks, s: the length of the intensity
window (3.2 / 50 Hz) whose smoothing carries the segment edges outward."""
_MAX_RANGE_DB = 60.0  # digital silence has no floor; clamp it so the threshold stays finite


def _floor_and_peak(intensity_db: np.ndarray) -> tuple[float, float]:
    peak = float(np.percentile(intensity_db, SPEECH_PEAK_PERCENTILE))
    floor = max(float(np.percentile(intensity_db, NOISE_FLOOR_PERCENTILE)), peak - _MAX_RANGE_DB)
    return floor, peak


def speech_threshold_db(intensity_db: np.ndarray) -> float:
    """Intensity a speech segment must reach somewhere, dB; NaN when there is no speech-like range.

    Parameters
    ----------
    intensity_db : np.ndarray, shape (n_frames,)
        Frame intensities, dB (any reference).

    Returns
    -------
    float
        ``max(peak - SILENCE_DROP_DB, floor + THRESHOLD_FRACTION * (peak - floor))``, dB.
    """
    if intensity_db.size == 0:
        return float("nan")
    floor, peak = _floor_and_peak(intensity_db)
    if peak - floor < MIN_DYNAMIC_RANGE_DB:
        return float("nan")
    return max(peak - SILENCE_DROP_DB, floor + THRESHOLD_FRACTION * (peak - floor))


def extension_threshold_db(intensity_db: np.ndarray) -> float:
    """Lower threshold down to which a segment extends (hysteresis), dB; NaN like the other.

    Weak stretches inside words (a soft consonant, a stop closure) dip below the upper
    threshold when noise is high; following them down to just above the noise floor keeps
    them from splitting a phrase into false pauses.

    Returns
    -------
    float
        ``max(peak - SILENCE_DROP_DB - 10, floor + max(EXTENSION_MARGIN_DB, EXTENSION_FRACTION * (peak - floor)))``, dB.
    """
    if intensity_db.size == 0:
        return float("nan")
    floor, peak = _floor_and_peak(intensity_db)
    if peak - floor < MIN_DYNAMIC_RANGE_DB:
        return float("nan")
    return max(peak - SILENCE_DROP_DB - 10.0, floor + max(EXTENSION_MARGIN_DB, EXTENSION_FRACTION * (peak - floor)))


def _runs(mask: np.ndarray) -> np.ndarray:
    """(start, stop) index pairs of the True runs of a boolean array, stop exclusive."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return edges.reshape(-1, 2)


def speech_segments(
    *,
    intensity_db: np.ndarray,
    frame_times_s: np.ndarray,
    threshold_db: float,
    extension_db: float,
    voiced_times_s: np.ndarray,
    voiced_step_s: float,
    min_pause_s: float = MIN_PAUSE_S,
) -> np.ndarray:
    """Speech segments: runs above ``extension_db`` that reach ``threshold_db``, short gaps bridged, voiced.

    Parameters
    ----------
    intensity_db : np.ndarray, shape (n_frames,)
        Frame intensities, dB.
    frame_times_s : np.ndarray, shape (n_frames,)
        Frame centres, s, evenly spaced.
    threshold_db : float
        From :func:`speech_threshold_db`; NaN gives no segments.
    extension_db : float
        From :func:`extension_threshold_db`; segments extend down to it.
    voiced_times_s : np.ndarray, shape (n_voiced,)
        Centres of the voiced pitch frames, s.
    voiced_step_s : float
        Pitch frame step, s.
    min_pause_s : float
        Gaps shorter than this are bridged, s.

    Returns
    -------
    np.ndarray, shape (n_segments, 2)
        ``[start_s, end_s]`` rows in time order; separated by at least ``min_pause_s``.
    """
    if np.isnan(threshold_db) or frame_times_s.size < 2:
        return np.empty((0, 2))
    step = float(frame_times_s[1] - frame_times_s[0])
    idx = _runs(intensity_db > min(extension_db, threshold_db))
    reaches = np.maximum.reduceat(intensity_db, idx[:, 0]) > threshold_db if len(idx) else np.empty(0, dtype=bool)
    idx = idx[reaches]
    segments = np.column_stack((frame_times_s[idx[:, 0]] - step / 2, frame_times_s[idx[:, 1] - 1] + step / 2))
    segments = _bridge(segments, min_gap_s=min_pause_s)
    voiced_s = _count_in(segments, voiced_times_s) * voiced_step_s
    return segments[voiced_s >= MIN_VOICED_S]


def speech_span_s(
    samples: np.ndarray,
    *,
    sr: int,
    segments: np.ndarray,
    extension_db: float,
    block_s: float = SPAN_BLOCK_S,
    reach_s: float = SPAN_REACH_S,
) -> tuple[float, float]:
    """First speech onset and last offset, s, placed with a short window: the span of ``speech_rate_syl_s``.

    Segment edges come from the intensity contour, whose 64-ms window carries energy past the
    edges of speech, so the first onset tends to sit early and the last offset late (the segment
    span is 1-1.3 % too long on the synthesised voices, whose edges are exact; docs/voices.md). Here
    the level of ``block_s`` blocks (same dB scale as the contour, :data:`PRAAT_POWER_REF`) is
    compared with the same extension threshold within ``reach_s`` inside each of the two edges: the
    onset moves to the first block above it, the offset to the end of the last. The edges only move
    inward (the smoothing moves them outward), so noise near an edge leaves it where it was. Cost:
    two windows of ``reach_s``.

    Parameters
    ----------
    samples : np.ndarray, shape (n,)
        Mono signal, full scale = 1 (as the intensity contour read it).
    sr : int
        Sample rate, Hz.
    segments : np.ndarray, shape (n_segments, 2)
        Speech segments, s (:func:`speech_segments`); at least one.
    extension_db : float
        From :func:`extension_threshold_db` of the intensity contour; NaN keeps the segment edges.

    Returns
    -------
    (start_s, end_s) : tuple of float
        The refined first onset and last offset, within ``segments[0, 0]`` ... ``segments[-1, 1]``.
    """
    start, end = float(segments[0, 0]), float(segments[-1, 1])
    hop = max(1, round(block_s * sr))
    n_blocks = samples.size // hop
    if np.isnan(extension_db) or n_blocks == 0:
        return start, end

    def blocks_above(t0: float, t1: float) -> tuple[int, np.ndarray]:
        i0 = min(max(0, round(t0 * sr / hop)), n_blocks)
        i1 = min(max(i0, round(t1 * sr / hop)), n_blocks)
        y = np.asarray(samples[i0 * hop: i1 * hop], dtype=np.float64).reshape(-1, hop)
        power = np.mean(y * y, axis=1)
        return i0, np.flatnonzero(power > PRAAT_POWER_REF * 10.0 ** (extension_db / 10.0))

    i0, above = blocks_above(start, min(start + reach_s, end))
    new_start = (i0 + above[0]) * hop / sr if above.size else start
    i0, above = blocks_above(max(end - reach_s, start), end)
    new_end = (i0 + above[-1] + 1) * hop / sr if above.size else end
    new_start, new_end = max(new_start, start), min(new_end, end)
    return (new_start, new_end) if new_end > new_start else (start, end)


def _bridge(segments: np.ndarray, *, min_gap_s: float) -> np.ndarray:
    """Merge segments separated by less than ``min_gap_s``."""
    if len(segments) < 2:
        return segments
    keep_gap = segments[1:, 0] - segments[:-1, 1] >= min_gap_s
    starts = np.concatenate(([segments[0, 0]], segments[1:, 0][keep_gap]))
    ends = np.concatenate((segments[:-1, 1][keep_gap], [segments[-1, 1]]))
    return np.column_stack((starts, ends))


def _count_in(segments: np.ndarray, times_s: np.ndarray) -> np.ndarray:
    """How many of the sorted ``times_s`` fall in each segment."""
    return np.searchsorted(times_s, segments[:, 1]) - np.searchsorted(times_s, segments[:, 0])


def in_segments(times_s: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Boolean mask, shape like ``times_s``: which times fall inside any of the sorted, disjoint ``segments``."""
    pos = np.searchsorted(segments[:, 0], times_s, side="right") - 1
    ok = pos >= 0
    ok[ok] = times_s[ok] <= segments[pos[ok], 1]
    return ok


def pauses_between(segments: np.ndarray) -> np.ndarray:
    """The silences between consecutive speech segments (leading/trailing silence excluded).

    Returns
    -------
    np.ndarray, shape (n_segments - 1, 2)
        ``[start_s, end_s]`` of each pause, s.
    """
    if len(segments) < 2:
        return np.empty((0, 2))
    return np.column_stack((segments[:-1, 1], segments[1:, 0]))


def evenly_subsampled(intervals: np.ndarray, *, max_total_s: float) -> np.ndarray:
    """Every k-th interval, k chosen so their total is about ``max_total_s`` at most (all if shorter).

    Keeps whole intervals spread evenly through the recording, so a bounded sample of a
    long recording represents all of it.
    """
    total = float(np.sum(intervals[:, 1] - intervals[:, 0])) if len(intervals) else 0.0
    if total <= max_total_s:
        return intervals
    return intervals[:: int(np.ceil(total / max_total_s))]
