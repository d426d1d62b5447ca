"""Voice quality with Praat's definitions: jitter (local), shimmer (local), HNR.

All three are measured on voiced speech only: jitter and shimmer on the glottal pulses of a
cross-correlation PointProcess (pulses exist only in voiced frames), HNR on Harmonicity
(cc) frames computed over the voiced stretches of the speech segments alone, which also
keeps its cost proportional to the voiced time instead of the recording length.
"""

from __future__ import annotations

import numpy as np
import parselmouth
from parselmouth.praat import call

from voice_features.segmentation import evenly_subsampled, in_segments

__all__ = ["HNR_TIME_STEP_S", "HNR_MAX_VOICED_S", "PERIOD_FLOOR_S", "PERIOD_CEILING_S", "MAX_PERIOD_FACTOR", "MAX_AMPLITUDE_FACTOR", "jitter_shimmer", "voiced_stretches", "hnr_db"]

# Praat's standard voice-report settings.
PERIOD_FLOOR_S = 0.0001
PERIOD_CEILING_S = 0.02
MAX_PERIOD_FACTOR = 1.3
MAX_AMPLITUDE_FACTOR = 1.6
HNR_TIME_STEP_S = 0.02
"""Harmonicity frame step, s: Praat's default is 0.01; 0.02 halves the cost (the costliest
analysis here) and changes the mean HNR by a few hundredths of a dB."""
HNR_MAX_VOICED_S = 20.0
"""Voiced time analysed for HNR at most, s: 1000 frames (at 20 ms) pin the mean HNR down; beyond them
recordings would pay ~0.006 CPU-s per voiced second for no gain."""
_HNR_SILENCE_THRESHOLD = 0.1  # Praat's default, relative to the whole recording's peak
_NAN = float("nan")


def _finite_or_nan(value: float) -> float:
    return float(value) if np.isfinite(value) else _NAN


def jitter_shimmer(sound: parselmouth.Sound, pitch: parselmouth.Pitch) -> dict[str, float]:
    """Local jitter and local shimmer (fractions, not %), NaN when there are too few pulses.

    Parameters
    ----------
    sound : parselmouth.Sound
        The recording.
    pitch : parselmouth.Pitch
        Its (speaker-adapted) pitch contour; guides the pulse search.
    """
    pulses = call([sound, pitch], "To PointProcess (cc)")
    if call(pulses, "Get number of points") < 3:
        return {"jitter_local": _NAN, "shimmer_local": _NAN}
    jitter = call(pulses, "Get jitter (local)", 0.0, 0.0, PERIOD_FLOOR_S, PERIOD_CEILING_S, MAX_PERIOD_FACTOR)
    shimmer = call([sound, pulses], "Get shimmer (local)", 0.0, 0.0, PERIOD_FLOOR_S, PERIOD_CEILING_S, MAX_PERIOD_FACTOR, MAX_AMPLITUDE_FACTOR)
    return {"jitter_local": _finite_or_nan(jitter), "shimmer_local": _finite_or_nan(shimmer)}


def voiced_stretches(*, pitch_times_s: np.ndarray, pitch_hz: np.ndarray, step_s: float, min_frames: int = 3) -> np.ndarray:
    """Runs of consecutive voiced pitch frames, as ``[start_s, end_s]`` rows.

    Parameters
    ----------
    pitch_times_s, pitch_hz : np.ndarray, shape (n,)
        Pitch frame centres (s) and values (Hz, 0 = unvoiced), already limited to speech.
    step_s : float
        Pitch frame step, s; frames further apart than 1.5 steps start a new stretch.
    min_frames : int
        Shorter runs are dropped.
    """
    t = pitch_times_s[pitch_hz > 0]
    if t.size == 0:
        return np.empty((0, 2))
    breaks = np.flatnonzero(np.diff(t) > 1.5 * step_s)
    starts = np.concatenate(([0], breaks + 1))
    stops = np.concatenate((breaks, [t.size - 1]))
    keep = stops - starts + 1 >= min_frames
    return np.column_stack((t[starts[keep]] - step_s / 2, t[stops[keep]] + step_s / 2))


def hnr_db(sound: parselmouth.Sound, *, stretches: np.ndarray, pitch_floor_hz: float, global_peak: float,
           time_step_s: float = HNR_TIME_STEP_S, max_voiced_s: float = HNR_MAX_VOICED_S) -> float:
    """Mean harmonics-to-noise ratio over voiced stretches (Praat Harmonicity cc), dB.

    Each stretch is analysed with enough context for the analysis window, and only frames
    whose centres lie in the stretch and that Praat rates as sounding (not -200 dB) count.
    The silence threshold is rescaled per stretch so it stays relative to the whole
    recording's peak, as it would be in one whole-file analysis.

    Parameters
    ----------
    sound : parselmouth.Sound
        The recording.
    stretches : np.ndarray, shape (n, 2)
        Voiced stretches, s.
    pitch_floor_hz : float
        Minimum pitch of the analysis, Hz (sets the window).
    global_peak : float
        Largest absolute sample of the whole recording (full scale = 1).
    time_step_s : float
        Frame step, s.
    max_voiced_s : float
        Analyse at most about this much voiced time, s: beyond it every k-th stretch is
        taken, evenly through the recording (see :data:`HNR_MAX_VOICED_S`).
    """
    stretches = evenly_subsampled(stretches, max_total_s=max_voiced_s)
    margin = 1.0 / pitch_floor_hz + time_step_s  # cc frames span one window plus one lag: 2 / floor
    values = []
    for start, end, members in _analysis_windows(stretches, margin_s=margin):
        part = sound.extract_part(from_time=max(start - margin, sound.xmin), to_time=min(end + margin, sound.xmax), preserve_times=True)
        part_peak = float(np.max(np.abs(part.values)))
        if part_peak <= 0 or part.duration < 2.0 / pitch_floor_hz + 2 * time_step_s:
            continue
        threshold = min(1.0, _HNR_SILENCE_THRESHOLD * global_peak / part_peak)
        harmonicity = part.to_harmonicity_cc(time_step=time_step_s, minimum_pitch=pitch_floor_hz, silence_threshold=threshold, periods_per_window=1.0)
        h, t = harmonicity.values[0], harmonicity.xs()
        values.append(h[in_segments(t, members) & (h > -200)])
    all_values = np.concatenate(values) if values else np.empty(0)
    return float(np.mean(all_values)) if all_values.size else _NAN


def _analysis_windows(stretches: np.ndarray, *, margin_s: float):
    """Group stretches closer than two margins, so their context is analysed only once.

    Yields ``(start_s, end_s, member_stretches)``.
    """
    if len(stretches) == 0:
        return
    new_group = np.flatnonzero(stretches[1:, 0] - stretches[:-1, 1] > 2 * margin_s) + 1
    for members in np.split(stretches, new_group):
        yield float(members[0, 0]), float(members[-1, 1]), members
