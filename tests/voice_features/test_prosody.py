"""Prosody building blocks: syllable nuclei, rates, pauses and F0 statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from voice_features import prosody
from voice_features.prosody import (
    MIN_DIP_DB,
    VOICING_TOLERANCE_S,
    f0_features,
    hz_to_semitones,
    nucleus_contour_db,
    pause_features,
    pitch_range_from_first_pass,
    rate_features,
    syllable_nuclei,
)

STEP = 0.01


def _bumps(centres, *, dip_db, peak_db=70.0, duration_s=3.0):
    """Intensity with Gaussian-shaped peaks at ``centres`` that dip ``dip_db`` between them."""
    t = np.arange(0.005, duration_s, STEP)
    db = np.full(t.size, peak_db - dip_db)
    for c in centres:
        db = np.maximum(db, peak_db - dip_db + dip_db * np.exp(-0.5 * ((t - c) / 0.04) ** 2))
    db[(t < 0.3) | (t > duration_s - 0.3)] = 20.0
    return t, db


def _nuclei(t, db, *, voiced=None):
    f0 = np.full(t.size, 120.0) if voiced is None else np.where(voiced, 120.0, 0.0)
    return syllable_nuclei(intensity_db=db, frame_times_s=t, threshold_db=50.0, segments=np.array([[0.3, 2.7]]),
                           pitch_times_s=t, pitch_hz=f0)


CENTRES = [0.6, 0.85, 1.1, 1.4, 1.7, 2.0, 2.3]


def test_it_finds_one_nucleus_per_peak_with_deep_enough_dips():
    t, db = _bumps(CENTRES, dip_db=6.0)
    assert_allclose(_nuclei(t, db), CENTRES, atol=0.006)


def test_it_merges_peaks_whose_dip_is_under_the_minimum():
    t, db = _bumps(CENTRES, dip_db=MIN_DIP_DB - 0.5)
    db[(t >= 0.3) & (t <= 2.7)] += 10 * np.exp(-0.5 * ((t[(t >= 0.3) & (t <= 2.7)] - 1.5) / 0.5) ** 2)
    assert len(_nuclei(t, db)) == 1


def test_it_drops_unvoiced_peaks():
    t, db = _bumps(CENTRES, dip_db=6.0)
    voiced = np.abs(t - 1.4) > VOICING_TOLERANCE_S + 0.03  # no voicing within reach of the peak
    assert_allclose(_nuclei(t, db, voiced=voiced), [c for c in CENTRES if c != 1.4], atol=0.006)


def test_it_keeps_a_peak_a_frame_or_two_off_the_voiced_vowel():
    t, db = _bumps(CENTRES, dip_db=6.0)
    voiced = (t < 1.38) | (t > 1.56)  # last voiced frame 1.375 s, peak frame 1.395 s: 20 ms, within VOICING_TOLERANCE_S
    assert_allclose(_nuclei(t, db, voiced=voiced), CENTRES, atol=0.006)


def _bursts(centres, *, sr, carrier, duration_s=3.0, seed=0):
    """Hann-shaped 120-ms bursts at ``centres``: a tone of ``carrier`` Hz, or white noise high-passed above it."""
    t = np.arange(int(duration_s * sr)) / sr
    if carrier == "noise":
        from scipy.signal import butter, sosfilt
        source = sosfilt(butter(6, 4500, btype="highpass", fs=sr, output="sos"), np.random.default_rng(seed).standard_normal(t.size))
        source /= np.sqrt(np.mean(source**2)) * np.sqrt(2)
    else:
        source = np.sin(2 * np.pi * carrier * t)
    envelope = np.zeros(t.size)
    for c in centres:
        near = np.abs(t - c) < 0.06
        envelope[near] = np.maximum(envelope[near], np.cos(np.pi * (t[near] - c) / 0.12) ** 2)
    return 0.3 * source * envelope


def test_the_nucleus_contour_peaks_at_vowel_band_bursts():
    from scipy.signal import find_peaks
    db, t = nucleus_contour_db(_bursts(CENTRES, sr=16000, carrier=800.0), sr=16000)
    peaks, _ = find_peaks(db, prominence=MIN_DIP_DB)
    assert_allclose(t[peaks], CENTRES, atol=0.01)


@pytest.mark.parametrize("sr", [8000, 16000])
def test_the_nucleus_contour_leaves_out_fricative_band_energy(sr):
    vowel, _ = nucleus_contour_db(_bursts([1.5], sr=sr, carrier=1000.0), sr=sr)
    hiss, _ = nucleus_contour_db(_bursts([1.5], sr=sr, carrier="noise" if sr > 10000 else 3800.0), sr=sr)
    assert vowel.max() - hiss.max() >= 20.0  # same power, 4.5-8 kHz hiss (or a 3.8-kHz tone at 8 kHz)


def test_the_nucleus_contour_takes_sample_rates_too_low_for_the_band():
    db, t = nucleus_contour_db(_bursts([0.5, 1.0], sr=800, carrier=200.0, duration_s=1.5), sr=800)
    assert db.size == t.size == 150 and np.isfinite(db).all()
    assert abs(t[np.argmax(db)] - 0.5) < 0.02 or abs(t[np.argmax(db)] - 1.0) < 0.02


def test_the_nucleus_contour_is_the_same_in_chunks(monkeypatch):
    x = _bursts(np.arange(0.5, 24.5, 0.3), sr=16000, carrier=600.0, duration_s=25.0)
    chunked, t1 = nucleus_contour_db(x, sr=16000)  # 10-s chunks with the filter state carried over
    monkeypatch.setattr(prosody, "_BLOCK_CHUNK_S", 100.0)
    whole, t2 = nucleus_contour_db(x, sr=16000)
    assert_allclose(chunked, whole, atol=1e-6)
    assert_allclose(t1, t2) and t1.size == 2500


def test_it_computes_rates_over_runs():
    segments = np.array([[1.0, 3.0], [4.0, 5.0]])
    nuclei = np.concatenate([np.linspace(1.1, 2.9, 8), np.linspace(4.1, 4.9, 5)])
    f = rate_features(nuclei_s=nuclei, segments=segments)
    assert f["syllable_count"] == 13
    assert_allclose(f["speech_rate_syl_s"], 13 / 4.0)
    assert_allclose(f["articulation_rate_syl_s"], 13 / 3.0)
    assert_allclose(f["speech_rate_cv"], np.std([4.0, 5.0], ddof=1) / 4.5)


def test_it_leaves_rate_variability_undefined_with_one_run():
    f = rate_features(nuclei_s=np.array([1.2, 1.5]), segments=np.array([[1.0, 2.0]]))
    assert math.isnan(f["speech_rate_cv"]) and f["syllable_count"] == 2


def test_it_summarises_pauses():
    f = pause_features(pauses=np.array([[1.0, 1.5], [3.0, 4.0], [6.0, 6.3]]), speech_s=8.2, duration_s=30.0)
    assert f["pause_count"] == 3 and f["pause_rate_per_min"] == 6.0
    assert_allclose([f["pause_mean_s"], f["pause_median_s"], f["pause_ratio"]], [0.6, 0.5, 1.8 / 10.0])


def test_it_leaves_pauses_undefined_without_speech():
    f = pause_features(pauses=np.empty((0, 2)), speech_s=0.0, duration_s=5.0)
    assert all(math.isnan(v) for v in f.values())


def test_it_drops_unvoiced_frames_before_f0_statistics():
    f0 = np.array([0.0, 110.0, 0.0, 110.0, 110.0, 0.0])
    f = f0_features(f0)
    assert f["f0_median_hz"] == 110.0 and f["f0_sd_st"] == 0.0 and f["f0_range_st"] == 0.0


def test_it_measures_f0_in_semitones_re_27_5_hz():
    assert_allclose(hz_to_semitones(55.0), 12.0)
    f0 = 110.0 * 2 ** (np.linspace(-3, 3, 1001) / 12)
    f = f0_features(f0)
    assert_allclose(f["f0_median_st"], 24.0, atol=1e-9)
    assert_allclose(f["f0_range_st"], 6.0 * 0.9, atol=0.01)


@pytest.mark.parametrize("shift_st", [-3.0, 3.0, 12.0])
def test_it_keeps_f0_range_and_sd_under_a_pitch_shift(shift_st):
    f0 = np.random.default_rng(0).uniform(90, 160, 500)
    a, b = f0_features(f0), f0_features(f0 * 2 ** (shift_st / 12))
    assert_allclose(b["f0_median_st"] - a["f0_median_st"], shift_st, atol=1e-9)
    assert_allclose([b["f0_range_st"], b["f0_sd_st"]], [a["f0_range_st"], a["f0_sd_st"]], atol=1e-9)


def test_it_gives_nan_f0_without_voicing():
    assert all(math.isnan(v) for v in f0_features(np.zeros(10)).values())


def test_it_adapts_the_pitch_range_to_the_speaker():
    f0 = np.random.default_rng(0).uniform(100, 200, 1000)
    floor, ceiling = pitch_range_from_first_pass(f0)
    q25, q75 = np.percentile(f0, [25, 75])
    assert_allclose([floor, ceiling], [0.75 * q25, 1.5 * q75])
    assert pitch_range_from_first_pass(f0[:5]) is None
