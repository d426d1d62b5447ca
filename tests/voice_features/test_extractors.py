"""Known-answer tests of the feature functions declared in the registry."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from voice_features import analyse, extractors
from voice_features.speech import SpeechAnalysis
from voice_features.synth import synth_speech

SR = 16000
STEP = 0.01


def _analysis(*, intensity_db=(), segments=((0.0, 1.0),), pitch_hz=(), duration_s=1.0) -> SpeechAnalysis:
    """An analysis built from given contours (no Praat objects: the functions under test read only arrays)."""
    i_db, f0 = np.asarray(intensity_db, dtype=float), np.asarray(pitch_hz, dtype=float)
    return SpeechAnalysis(sound=None, pitch=None, intensity_db=i_db, intensity_times_s=(np.arange(i_db.size) + 0.5) * STEP,
                          pitch_times_s=(np.arange(f0.size) + 0.5) * STEP, pitch_hz=f0,
                          segments=np.asarray(segments, dtype=float).reshape(-1, 2), threshold_db=50.0,
                          pitch_floor_hz=75.0, duration_s=duration_s, global_peak=1.0, frame_step_s=STEP)


@pytest.fixture(scope="module")
def speech():
    return synth_speech(run_durations_s=(2.5, 3.0, 2.0), pause_durations_s=(0.7, 0.5), seed=3).samples


def test_it_measures_intensity_sd_over_speech_frames_only():
    # 50 frames of speech alternating 60/70 dB, then 50 frames of silence at 20 dB outside the segment.
    contour = np.r_[np.tile([60.0, 70.0], 25), np.full(50, 20.0)]
    value = extractors.intensity_variability(_analysis(intensity_db=contour, segments=[(0.0, 0.5)]))["intensity_sd_db"]
    assert_allclose(value, np.std(np.tile([60.0, 70.0], 25), ddof=1))
    assert math.isnan(extractors.intensity_variability(_analysis(intensity_db=[60.0], segments=[(0.0, 0.01)]))["intensity_sd_db"])


def test_intensity_sd_does_not_depend_on_the_phone_gain(speech):
    loud = analyse(speech, sr=SR).features["intensity_sd_db"]
    quiet = analyse(speech * 0.25, sr=SR).features["intensity_sd_db"]
    assert 2.0 < loud < 20.0
    assert_allclose(quiet, loud, atol=0.05)


def test_it_measures_pause_mad_and_needs_two_pauses():
    # Speech runs leave pauses of 0.3, 0.5 and 0.9 s: median 0.5, deviations 0.2, 0, 0.4 -> MAD 0.2.
    segments = [(0.0, 1.0), (1.3, 2.0), (2.5, 3.0), (3.9, 4.5)]
    assert_allclose(extractors.pause_variability(_analysis(segments=segments))["pause_mad_s"], 0.2)
    assert math.isnan(extractors.pause_variability(_analysis(segments=segments[:2]))["pause_mad_s"])


def test_it_measures_relative_f0_sd_over_voiced_speech_frames():
    # Voiced 90/110 Hz inside speech, unvoiced zeros and a 300-Hz frame outside speech are ignored.
    f0 = np.r_[np.tile([90.0, 110.0], 20), np.zeros(10), np.full(10, 300.0)]
    value = extractors.f0_relative_variability(_analysis(pitch_hz=f0, segments=[(0.0, 0.5)]))["f0_rel_sd"]
    voiced = np.tile([90.0, 110.0], 20)
    assert_allclose(value, np.std(voiced, ddof=1) / 100.0)


def test_relative_f0_sd_follows_the_pitch_swing(speech):
    narrow = synth_speech(run_durations_s=(2.5, 3.0, 2.0), pause_durations_s=(0.7, 0.5), f0_swing_st=2.0, seed=3).samples
    assert analyse(narrow, sr=SR).features["f0_rel_sd"] < analyse(speech, sr=SR).features["f0_rel_sd"]


def _vowel(*, formants_hz=(700.0, 1220.0, 2600.0, 3300.0, 3750.0), bandwidths_hz=(80.0, 90.0, 120.0, 250.0, 200.0), f0_hz=120.0, seconds=1.5,
           noise=0.0, seed=0) -> np.ndarray:
    """A Klatt-style vowel: an impulse train through second-order resonators of known frequency and bandwidth."""
    from scipy.signal import lfilter

    x = np.zeros(int(seconds * SR))
    x[:: int(SR / f0_hz)] = 1.0
    for f, bw in zip(formants_hz, bandwidths_hz):
        r = np.exp(-np.pi * bw / SR)
        x = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / SR), r * r], x)
    x = lfilter([1.0], [1.0, -0.9], x)  # glottal roll-off
    x = x / np.max(np.abs(x)) * 0.5
    return x + noise * np.random.default_rng(seed).standard_normal(x.size)


def _sound(x):
    import parselmouth

    return parselmouth.Sound(np.asarray(x, dtype=np.float64), sampling_frequency=SR)


@pytest.mark.parametrize("formants", [(700.0, 1220.0, 2600.0), (300.0, 2300.0, 3000.0)])  # /a/ and /i/
def test_it_finds_the_formants_of_a_synthetic_vowel(formants):
    from voice_features.spectral import formant_stats

    stats = formant_stats(_sound(_vowel(formants_hz=(*formants, 3500.0, 4200.0))), f0_median_hz=120.0)
    # 40 Hz: LPC pulls a low F1 towards the nearest harmonic of F0 (a known bias of Burg formants).
    assert_allclose([stats[f"f{k}_mean_hz"] for k in (1, 2, 3)], formants, rtol=0.05, atol=40.0)
    assert all(0 < stats[f"f{k}_bw_hz"] < 600.0 for k in (1, 2, 3))


def test_cpp_is_high_for_a_periodic_voice_and_falls_with_noise():
    from voice_features.spectral import cpp_db

    clean, noisy = cpp_db(_sound(_vowel())), cpp_db(_sound(_vowel(noise=0.05)))
    assert clean > 15.0 and noisy < clean - 3.0
    assert math.isnan(cpp_db(None))


def test_mfcc1_tells_a_dark_from_a_bright_spectrum_whatever_the_level():
    from scipy.signal import butter, sosfilt

    from voice_features.spectral import mfcc_stats

    noise = np.random.default_rng(0).standard_normal(2 * SR)
    dark = sosfilt(butter(4, 1000, "lowpass", fs=SR, output="sos"), noise) * 0.1
    bright = sosfilt(butter(4, 3000, "highpass", fs=SR, output="sos"), noise) * 0.1
    assert mfcc_stats(dark, sr=SR)["mfcc1_mean"] > 0 > mfcc_stats(bright, sr=SR)["mfcc1_mean"]
    loud, quiet = mfcc_stats(dark, sr=SR), mfcc_stats(dark * 0.1, sr=SR)
    assert_allclose([loud[f"mfcc{k}_mean"] for k in range(1, 14)], [quiet[f"mfcc{k}_mean"] for k in range(1, 14)], atol=0.5)
    assert all(math.isnan(v) for v in mfcc_stats(np.zeros(100), sr=SR).values())
