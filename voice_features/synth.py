"""Synthetic voice-like speech with known answers (for tests, benchmarks and demo data).

NumPy (plus SciPy's IIR filter) and seeded: the same arguments always give the same samples. The signal is a
Rosenberg glottal-flow pulse train (differentiated for lip radiation) whose F0 follows a
phrase contour (declination plus pitch accents), shaped by three vowel formants and cut
into syllables by amplitude pulses, each led by a short fricative-like noise onset.
Speech runs are separated by digital-silence pauses of set lengths.

The ground truth follows the feature definitions of ``DESIGN.md``: a syllable is one
amplitude pulse (one vowel nucleus), speech time is the total length of the runs, and the
speech rate is syllables per second from the start of the first run to the end of the last.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

__all__ = ["SyntheticSpeech", "synth_speech", "speech_layout", "add_white_noise", "active_speech_power"]

# (F1, F2, F3) in Hz of a few vowels, so consecutive syllables do not sound identical.
_VOWEL_FORMANTS_HZ = ((730.0, 1090.0, 2440.0), (530.0, 1840.0, 2480.0), (300.0, 870.0, 2240.0), (570.0, 840.0, 2410.0))
_FORMANT_BANDWIDTHS_HZ = (90.0, 110.0, 170.0)
_NUCLEUS_FRACTION = 0.62  # share of a syllable taken by its voiced nucleus; the rest is the dip
_ONSET_FRACTION = 0.18  # share of a syllable taken by its unvoiced onset noise
_ONSET_GAIN = 0.06  # onset noise amplitude relative to the nucleus (about -24 dB)


@dataclass(frozen=True)
class SyntheticSpeech:
    """Samples and their ground truth.

    Attributes
    ----------
    samples : np.ndarray, shape (n,), float32
        Mono signal in [-1, 1].
    sample_rate : int
        Hz.
    syllable_count : int
        Number of syllable nuclei.
    speech_intervals : tuple of (start_s, end_s)
        The speech runs, in seconds.
    pause_intervals : tuple of (start_s, end_s)
        Silences between runs (leading and trailing silence excluded), in seconds.
    speech_rate_syl_s : float
        Syllables per second from the first run's start to the last run's end.
    f0_median_hz : float
        Median of the F0 contour over the voiced nuclei, Hz.
    """

    samples: np.ndarray
    sample_rate: int
    syllable_count: int
    speech_intervals: tuple[tuple[float, float], ...]
    pause_intervals: tuple[tuple[float, float], ...]
    speech_rate_syl_s: float
    f0_median_hz: float

    @property
    def duration_s(self) -> float:
        """Whole signal length, s."""
        return self.samples.size / self.sample_rate

    @property
    def speech_s(self) -> float:
        """Total time in speech runs, s."""
        return float(sum(end - start for start, end in self.speech_intervals))

    @property
    def pause_count(self) -> int:
        """Number of pauses between runs."""
        return len(self.pause_intervals)

    @property
    def articulation_rate_syl_s(self) -> float:
        """Syllables per second of speech time."""
        return self.syllable_count / self.speech_s


def speech_layout(*, duration_s: float, seed: int = 0, leading_s: float = 0.5, trailing_s: float = 0.5) -> tuple[list[float], list[float]]:
    """Random run and pause lengths that fill ``duration_s`` seconds.

    Runs last 1.5-4 s and pauses 0.4-1.2 s, like read speech.

    Returns
    -------
    run_durations_s, pause_durations_s : list of float
        ``len(pause_durations_s) == len(run_durations_s) - 1``.
    """
    rng = np.random.default_rng(seed)
    budget = duration_s - leading_s - trailing_s
    runs, pauses = [float(rng.uniform(1.5, 4.0))], []
    while True:
        pause, run = float(rng.uniform(0.4, 1.2)), float(rng.uniform(1.5, 4.0))
        if sum(runs) + sum(pauses) + pause + run > budget:
            break
        pauses.append(pause)
        runs.append(run)
    return runs, pauses


def synth_speech(
    *,
    run_durations_s: tuple[float, ...] | list[float] = (2.0, 2.6, 1.8),
    pause_durations_s: tuple[float, ...] | list[float] = (0.6, 0.9),
    syllable_rate_hz: float = 4.5,
    f0_hz: float = 120.0,
    f0_swing_st: float = 5.0,
    leading_s: float = 0.5,
    trailing_s: float = 0.5,
    peak: float = 0.5,
    sample_rate: int = 16000,
    seed: int = 0,
) -> SyntheticSpeech:
    """Voice-like speech with set runs, pauses, syllable rate and F0.

    Parameters
    ----------
    run_durations_s : sequence of float
        Length of each speech run, s.
    pause_durations_s : sequence of float
        Silence between consecutive runs, s; one fewer than runs.
    syllable_rate_hz : float
        Syllables per second of speech (articulation rate); each run holds
        ``round(duration * rate)`` syllables (at least one).
    f0_hz : float
        Centre of the F0 contour, Hz.
    f0_swing_st : float
        Declination across a run plus accent height, semitones; sets the F0 range.
    leading_s, trailing_s : float
        Silence before the first and after the last run, s.
    peak : float
        Peak amplitude of the output (full scale is 1).
    sample_rate : int
        Hz.
    seed : int
        Seed for the random onset noise, syllable timing and F0 jitter.
    """
    if len(pause_durations_s) != len(run_durations_s) - 1:
        raise ValueError("pause_durations_s needs exactly one fewer entry than run_durations_s")
    rng = np.random.default_rng(seed)
    total_s = leading_s + sum(run_durations_s) + sum(pause_durations_s) + trailing_s
    out = np.zeros(int(round(total_s * sample_rate)), dtype=np.float32)
    runs, pauses, f0_values, n_syllables = [], [], [], 0
    t = leading_s
    for i, run_s in enumerate(run_durations_s):
        n_syllables += _synth_run(out, start_s=t, duration_s=run_s, rate_hz=syllable_rate_hz, f0_hz=f0_hz,
                                  swing_st=f0_swing_st, sr=sample_rate, rng=rng, f0_values=f0_values)
        runs.append((t, t + run_s))
        t += run_s
        if i < len(pause_durations_s):
            pauses.append((t, t + pause_durations_s[i]))
            t += pause_durations_s[i]
    out *= peak / max(float(np.max(np.abs(out))), 1e-12)
    span = runs[-1][1] - runs[0][0]
    return SyntheticSpeech(samples=out, sample_rate=sample_rate, syllable_count=n_syllables, speech_intervals=tuple(runs),
                           pause_intervals=tuple(pauses), speech_rate_syl_s=n_syllables / span,
                           f0_median_hz=float(np.median(np.concatenate(f0_values))))


def _synth_run(out: np.ndarray, *, start_s: float, duration_s: float, rate_hz: float, f0_hz: float, swing_st: float,
               sr: int, rng: np.random.Generator, f0_values: list) -> int:
    """Write one run of syllables into ``out``; returns its syllable count."""
    n = max(1, int(round(duration_s * rate_hz)))
    # Syllable boundaries with +-15 % timing jitter, pinned to the run's ends.
    edges = np.linspace(0.0, duration_s, n + 1)
    edges[1:-1] += rng.uniform(-0.15, 0.15, n - 1) * (duration_s / n)
    phase = float(rng.uniform())
    for k in range(n):
        a, b = start_s + edges[k], start_s + edges[k + 1]
        phase = _synth_syllable(out, start_s=a, end_s=b, run_start_s=start_s, run_s=duration_s, index=k, phase=phase,
                                f0_hz=f0_hz, swing_st=swing_st, sr=sr, rng=rng, f0_values=f0_values)
    return n


def _f0_contour(t_in_run: np.ndarray, *, run_s: float, f0_hz: float, swing_st: float, accent: bool) -> np.ndarray:
    """Declination from +swing/2 to -swing/2 semitones, plus a rise-fall accent."""
    st = swing_st * (0.5 - t_in_run / run_s) * 0.6
    if accent:
        centre = 0.5 * (t_in_run[0] + t_in_run[-1])
        width = max(t_in_run[-1] - t_in_run[0], 1e-3) / 3
        st = st + 0.4 * swing_st * np.exp(-0.5 * ((t_in_run - centre) / width) ** 2)
    return f0_hz * 2.0 ** (st / 12.0)


def _rosenberg_derivative(phase: np.ndarray) -> np.ndarray:
    """Differentiated Rosenberg glottal flow at fractional phase in [0, 1)."""
    open_rise, close_fall = 0.4, 0.16
    flow = np.where(phase < open_rise, 0.5 * (1 - np.cos(np.pi * phase / open_rise)),
                    np.where(phase < open_rise + close_fall, np.cos(0.5 * np.pi * (phase - open_rise) / close_fall), 0.0))
    return np.diff(flow, prepend=flow[0])


def _formant_filter(x: np.ndarray, formants_hz: tuple[float, float, float], sr: int) -> np.ndarray:
    """Cascade of two-pole resonators (Klatt style), unity gain at 0 Hz."""
    y = x
    for freq, bw in zip(formants_hz, _FORMANT_BANDWIDTHS_HZ):
        r = np.exp(-np.pi * bw / sr)
        a1, a2 = 2 * r * np.cos(2 * np.pi * freq / sr), -r * r
        y = _two_pole(y, a1, a2, gain=1 - a1 - a2)
    return y


def _two_pole(x: np.ndarray, a1: float, a2: float, *, gain: float) -> np.ndarray:
    return lfilter([gain], [1.0, -a1, -a2], x)


def _synth_syllable(out: np.ndarray, *, start_s: float, end_s: float, run_start_s: float, run_s: float, index: int,
                    phase: float, f0_hz: float, swing_st: float, sr: int, rng: np.random.Generator, f0_values: list) -> float:
    i0, i1 = int(round(start_s * sr)), int(round(end_s * sr))
    n = i1 - i0
    n_onset, n_nucleus = int(n * _ONSET_FRACTION), int(n * _NUCLEUS_FRACTION)
    # Unvoiced onset: high-passed noise with a raised-sine envelope.
    onset = np.diff(rng.standard_normal(n_onset + 1)) * np.sin(np.linspace(0, np.pi, n_onset)) ** 2
    out[i0:i0 + n_onset] += _ONSET_GAIN * 0.5 * onset.astype(np.float32)
    # Voiced nucleus: glottal pulses with a slightly jittered F0 contour, vowel formants.
    t = (i0 + n_onset + np.arange(n_nucleus)) / sr - run_start_s
    f0 = _f0_contour(t, run_s=run_s, f0_hz=f0_hz, swing_st=swing_st, accent=index % 2 == 0)
    f0 *= 1 + 0.004 * np.repeat(rng.standard_normal(n_nucleus // 64 + 1), 64)[:n_nucleus]
    cycle = phase + np.cumsum(f0) / sr
    voiced = _formant_filter(_rosenberg_derivative(np.mod(cycle, 1.0)), _VOWEL_FORMANTS_HZ[index % 4], sr)
    envelope = np.sin(np.linspace(0, np.pi, n_nucleus)) ** 1.5
    out[i0 + n_onset:i0 + n_onset + n_nucleus] += (voiced * envelope / max(np.max(np.abs(voiced)), 1e-12)).astype(np.float32)
    f0_values.append(f0[envelope > 0.3])
    return float(np.mod(cycle[-1], 1.0)) if n_nucleus else phase


def active_speech_power(samples: np.ndarray, *, sample_rate: int = 16000, frame_s: float = 0.02) -> float:
    """Mean power of the active frames: those within 30 dB of the 99th-percentile frame.

    A simple stand-in for the ITU-T P.56 active speech level, in full-scale units squared.
    """
    frame = max(1, int(frame_s * sample_rate))
    n = samples.size // frame
    power = np.mean(np.square(samples[: n * frame].astype(np.float64).reshape(n, frame)), axis=1)
    active = power[power > np.percentile(power, 99) * 1e-3]
    return float(np.mean(active)) if active.size else 0.0


def add_white_noise(samples: np.ndarray, *, snr_db: float, sample_rate: int = 16000, seed: int = 0) -> np.ndarray:
    """Add Gaussian white noise at ``snr_db`` dB below the active speech power."""
    noise_power = active_speech_power(samples, sample_rate=sample_rate) / 10 ** (snr_db / 10)
    noise = np.random.default_rng(seed).standard_normal(samples.size) * np.sqrt(noise_power)
    return (samples + noise).astype(np.float32)
