"""The synthetic voice: reproducible, and its ground truth matches its own construction."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from voice_features.synth import active_speech_power, add_white_noise, speech_layout, synth_speech

SR = 16000


def test_it_is_reproducible_with_a_seed():
    a, b, c = synth_speech(seed=1), synth_speech(seed=1), synth_speech(seed=2)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not np.array_equal(a.samples, c.samples)


def test_it_lays_out_runs_and_pauses_as_asked():
    s = synth_speech(run_durations_s=(1.0, 2.0), pause_durations_s=(0.7,), leading_s=0.3, trailing_s=0.4, syllable_rate_hz=5.0)
    assert_allclose(s.duration_s, 0.3 + 1.0 + 0.7 + 2.0 + 0.4)
    assert s.speech_intervals == ((0.3, 1.3), (2.0, 4.0))
    assert s.pause_intervals == ((1.3, 2.0),)
    assert s.syllable_count == 15
    assert_allclose(s.speech_rate_syl_s, 15 / 3.7)
    assert_allclose(s.articulation_rate_syl_s, 5.0)
    pause = s.samples[int(1.31 * SR):int(1.99 * SR)]
    assert np.all(pause == 0)


def test_it_peaks_at_the_requested_amplitude():
    assert_allclose(np.max(np.abs(synth_speech(peak=0.25).samples)), 0.25, rtol=1e-6)


@pytest.mark.parametrize("f0_hz", [100.0, 210.0])
def test_it_centres_f0_on_the_request_with_a_nontrivial_range(f0_hz):
    s = synth_speech(f0_hz=f0_hz, f0_swing_st=5.0)
    assert_allclose(s.f0_median_hz, f0_hz, rtol=0.12)


def test_it_refuses_mismatched_pauses():
    with pytest.raises(ValueError):
        synth_speech(run_durations_s=(1.0, 1.0), pause_durations_s=())


def test_it_fills_a_requested_duration():
    runs, pauses = speech_layout(duration_s=120.0, seed=4)
    total = 1.0 + sum(runs) + sum(pauses)
    assert len(pauses) == len(runs) - 1
    assert 120.0 - 5.2 < total <= 120.0


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0])
def test_it_adds_noise_at_the_requested_snr(snr_db):
    clean = synth_speech().samples
    noisy = add_white_noise(clean, snr_db=snr_db, seed=3)
    noise_power = np.mean((noisy.astype(np.float64) - clean) ** 2)
    assert_allclose(10 * np.log10(active_speech_power(clean) / noise_power), snr_db, atol=0.1)
