"""Speech/pause segmentation on intensity contours with known answers."""

from __future__ import annotations

import numpy as np
import parselmouth
import pytest
from numpy.testing import assert_allclose

from voice_features.segmentation import (
    MIN_PAUSE_S,
    extension_threshold_db,
    in_segments,
    pauses_between,
    speech_segments,
    speech_span_s,
    speech_threshold_db,
)

STEP = 0.01


def _contour(spans, *, floor_db, speech_db, duration_s=6.0, seed=0):
    """Intensity contour at ``floor_db`` (with 0.3 dB jitter) and ``speech_db`` in ``spans``."""
    t = np.arange(0.005, duration_s, STEP)
    db = floor_db + 0.3 * np.random.default_rng(seed).standard_normal(t.size)
    for a, b in spans:
        db[(t >= a) & (t < b)] = speech_db
    return t, db


def _segments(t, db, voiced=None):
    voiced = t if voiced is None else voiced
    return speech_segments(intensity_db=db, frame_times_s=t, threshold_db=speech_threshold_db(db),
                           extension_db=extension_threshold_db(db), voiced_times_s=voiced, voiced_step_s=STEP)


SPANS = [(0.5, 1.5), (2.0, 3.2), (3.6, 4.0), (4.5, 5.5)]


@pytest.mark.parametrize("floor_db", [20.0, 55.0, 62.0])  # from clean to about 10 dB SNR
def test_it_finds_the_same_segments_whatever_the_noise_floor(floor_db):
    t, db = _contour(SPANS, floor_db=floor_db, speech_db=72.0)
    assert_allclose(_segments(t, db), SPANS, atol=0.011)


def test_it_bridges_gaps_shorter_than_a_pause():
    t, db = _contour([(0.5, 1.5), (1.5 + MIN_PAUSE_S - 0.05, 3.0)], floor_db=40.0, speech_db=70.0)
    assert_allclose(_segments(t, db), [(0.5, 3.0)], atol=0.011)


def test_it_follows_weak_stretches_down_to_the_extension_threshold():
    t, db = _contour([(0.5, 2.5)], floor_db=60.0, speech_db=75.0)
    db[(t >= 1.2) & (t < 1.6)] = 64.0  # a weak consonant: above the floor, below the upper threshold
    assert_allclose(_segments(t, db), [(0.5, 2.5)], atol=0.011)


def test_it_drops_unvoiced_segments():
    t, db = _contour(SPANS, floor_db=40.0, speech_db=70.0)
    voiced = t[(t >= 2.0) & (t < 3.2)]
    assert_allclose(_segments(t, db, voiced=voiced), [(2.0, 3.2)], atol=0.011)


@pytest.mark.parametrize("db", [np.full(500, 60.0), np.random.default_rng(1).normal(60, 0.5, 500), np.empty(0)])
def test_it_finds_no_threshold_in_steady_sound(db):
    assert np.isnan(speech_threshold_db(db)) and np.isnan(extension_threshold_db(db))


def test_it_puts_the_threshold_25_db_below_the_peak_of_clean_speech():
    t, db = _contour(SPANS, floor_db=-300.0, speech_db=70.0)
    assert_allclose(speech_threshold_db(db), 45.0)


def test_it_reports_pauses_between_segments_only():
    segments = np.array([[0.5, 1.0], [1.4, 2.0], [3.0, 3.5]])
    assert_allclose(pauses_between(segments), [[1.0, 1.4], [2.0, 3.0]])
    assert pauses_between(segments[:1]).shape == (0, 2)


def test_it_tells_which_times_are_inside_segments():
    segments = np.array([[0.5, 1.0], [2.0, 3.0]])
    mask = in_segments(np.array([0.1, 0.5, 0.7, 1.5, 2.5, 3.0, 3.1]), segments)
    assert mask.tolist() == [False, True, True, False, True, True, False]


def _burst(start_s, end_s, *, sr=16000, duration_s=1.2, noise=1e-4):
    """A 200-Hz tone (0.1 full scale) from ``start_s`` to ``end_s`` over faint white noise, and its segments
    from the service's intensity contour (64-ms window, 10-ms step)."""
    t = np.arange(round(duration_s * sr)) / sr
    x = noise * np.random.default_rng(0).standard_normal(t.size) + np.where((t >= start_s) & (t < end_s), 0.1 * np.sin(2 * np.pi * 200 * t), 0.0)
    intensity = parselmouth.Sound(x, sampling_frequency=sr).to_intensity(minimum_pitch=50.0, time_step=0.01)
    db, times = intensity.values[0], intensity.xs()
    segments = speech_segments(intensity_db=db, frame_times_s=times, threshold_db=speech_threshold_db(db),
                               extension_db=extension_threshold_db(db), voiced_times_s=times, voiced_step_s=0.01)
    return x, segments, extension_threshold_db(db)


def test_the_speech_span_undoes_the_intensity_windows_smear():
    x, segments, extension_db = _burst(0.30, 0.80)
    assert segments[0, 0] < 0.29 and segments[-1, 1] > 0.81  # the 64-ms window carries the edges outward
    assert_allclose(speech_span_s(x, sr=16000, segments=segments, extension_db=extension_db), (0.30, 0.80), atol=0.005)


def test_the_speech_span_only_moves_inward():
    x, segments, extension_db = _burst(0.30, 0.80)
    wide = segments + np.array([-0.2, 0.2])  # nothing above the threshold within reach: the edges stay
    assert_allclose(speech_span_s(x, sr=16000, segments=wide, extension_db=extension_db), (wide[0, 0], wide[-1, 1]))
    narrow = np.array([[0.4, 0.7]])  # speech already at the edges: they stay
    assert_allclose(speech_span_s(x, sr=16000, segments=narrow, extension_db=extension_db), (0.4, 0.7))
    assert speech_span_s(x, sr=16000, segments=segments, extension_db=float("nan")) == (segments[0, 0], segments[-1, 1])
