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
