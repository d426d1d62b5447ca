"""Jitter, shimmer and HNR on pulse trains whose perturbations are known."""

from __future__ import annotations

import numpy as np
import parselmouth
import pytest
from numpy.testing import assert_allclose
from scipy.signal import lfilter

from voice_features.voice_quality import hnr_db, jitter_shimmer, voiced_stretches

SR = 16000
PERIOD = 128  # samples: 125 Hz, an exact number of samples so only the set jitter remains


def _pulse_train(*, period_delta: int = 0, amplitude_delta: float = 0.0, duration_s: float = 2.0) -> np.ndarray:
    """Glottal-like impulses whose periods alternate PERIOD +- delta and amplitudes 1 -+ delta, through vowel formants."""
    x = np.zeros(int(duration_s * SR))
    i, k = SR // 10, 0
    while i < x.size - SR // 10:
        x[i] = 1 + (amplitude_delta if k % 2 else -amplitude_delta)
        i += PERIOD + (period_delta if k % 2 else -period_delta)
        k += 1
    for freq, bw in ((700, 90), (1200, 110), (2500, 170)):
        r = np.exp(-np.pi * bw / SR)
        x = lfilter([1.0], [1.0, -2 * r * np.cos(2 * np.pi * freq / SR), r * r], x)
    return 0.5 * x / np.max(np.abs(x))


def _jitter_shimmer(x):
    sound = parselmouth.Sound(x, SR)
    return jitter_shimmer(sound, sound.to_pitch_ac(time_step=0.01, pitch_floor=90, pitch_ceiling=200))


@pytest.mark.parametrize("delta", [1, 2])
def test_it_measures_local_jitter(delta):
    # Alternating periods T+d, T-d: every consecutive difference is 2d, mean period T.
    assert_allclose(_jitter_shimmer(_pulse_train(period_delta=delta))["jitter_local"], 2 * delta / PERIOD, rtol=0.1)


@pytest.mark.parametrize("delta", [0.05, 0.1])
def test_it_measures_local_shimmer(delta):
    assert_allclose(_jitter_shimmer(_pulse_train(amplitude_delta=delta))["shimmer_local"], 2 * delta, rtol=0.2)


def test_it_finds_no_perturbation_in_a_perfectly_periodic_voice():
    measured = _jitter_shimmer(_pulse_train())
    assert measured["jitter_local"] < 1e-3 and measured["shimmer_local"] < 1e-3


def test_it_gives_nan_without_pulses():
    sound = parselmouth.Sound(np.zeros(SR), SR)
    measured = jitter_shimmer(sound, sound.to_pitch_ac(time_step=0.01, pitch_floor=90, pitch_ceiling=200))
    assert np.isnan(measured["jitter_local"]) and np.isnan(measured["shimmer_local"])


@pytest.mark.parametrize("snr_db", [5.0, 10.0, 20.0])
def test_it_measures_hnr_as_the_harmonic_to_noise_power_ratio(snr_db):
    x = _pulse_train()
    power = np.mean(x[SR // 10:-SR // 10] ** 2)
    x = x + np.random.default_rng(0).normal(0, np.sqrt(power / 10 ** (snr_db / 10)), x.size)
    stretches = np.array([[0.15, 1.85]])
    assert_allclose(hnr_db(parselmouth.Sound(x, SR), stretches=stretches, pitch_floor_hz=90, global_peak=np.max(np.abs(x))), snr_db, atol=1.5)


def test_it_subsamples_long_voicing_evenly_for_hnr():
    x = _pulse_train(duration_s=6.0)
    sound, stretches = parselmouth.Sound(x, SR), np.column_stack((np.arange(0.2, 5.6, 0.5), np.arange(0.5, 5.9, 0.5)))
    full = hnr_db(sound, stretches=stretches, pitch_floor_hz=90, global_peak=0.5)
    capped = hnr_db(sound, stretches=stretches, pitch_floor_hz=90, global_peak=0.5, max_voiced_s=1.0)
    assert_allclose(capped, full, atol=1.0)


def test_it_gives_nan_hnr_without_voiced_stretches():
    assert np.isnan(hnr_db(parselmouth.Sound(np.zeros(SR), SR), stretches=np.empty((0, 2)), pitch_floor_hz=75, global_peak=0.0))


def test_it_joins_consecutive_voiced_frames_into_stretches():
    t = np.arange(0.005, 1.0, 0.01)
    f0 = np.zeros(t.size)
    f0[10:30] = 120.0
    f0[50:52] = 120.0  # too short: dropped
    f0[60:80] = 130.0
    assert_allclose(voiced_stretches(pitch_times_s=t, pitch_hz=f0, step_s=0.01), [[0.10, 0.30], [0.60, 0.80]], atol=1e-9)
