"""Tests for voice_features.speaker and the threshold calibration benchmark."""

import importlib.util
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from voice_features.errors import VoiceFeaturesError
from voice_features.speaker import (
    SPEAKER_MISMATCH_THRESHOLD,
    enrolment_centroid,
    equal_error_rate,
    is_speaker_mismatch,
    speaker_similarity,
    speaker_trials,
)

pytestmark = pytest.mark.slow  # scheduled first (tests/conftest.py)

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "calibrate_speaker.py"


def _unit(v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def test_it_builds_a_unit_centroid_from_unnormalised_embeddings():
    centroid = enrolment_centroid([np.array([2.0, 0.0]), np.array([0.0, 5.0])])
    assert_allclose(centroid, _unit([1.0, 1.0]))


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [([1, 0, 0], [3, 0, 0], 1.0), ([1, 0, 0], [0, 2, 0], 0.0), ([1, 1, 0], [-1, -1, 0], -1.0), ([1, 0], [1, 1], 2**-0.5)],
)
def test_it_scores_cosine_similarity(a, b, expected):
    assert_allclose(speaker_similarity(np.array(a), np.array(b)), expected, atol=1e-12)


@pytest.mark.parametrize(
    ("similarity", "mismatch"),
    [(SPEAKER_MISMATCH_THRESHOLD - 0.01, True), (SPEAKER_MISMATCH_THRESHOLD, False), (0.99, False), (float("nan"), False)],
)
def test_it_flags_a_mismatch_only_below_the_threshold(similarity, mismatch):
    assert is_speaker_mismatch(similarity) is mismatch


def test_it_refuses_empty_or_zero_enrolment():
    with pytest.raises(VoiceFeaturesError):
        enrolment_centroid([])
    with pytest.raises(VoiceFeaturesError):
        enrolment_centroid([np.zeros(4)])


@pytest.mark.parametrize(
    ("same", "different", "eer"),
    [
        ([0.9, 0.95, 0.99], [0.1, 0.2, 0.3], 0.0),  # perfectly separated
        ([0.1, 0.2, 0.3], [0.9, 0.95, 0.99], 1.0),  # perfectly inverted
        ([0.2, 0.6, 0.7, 0.8], [0.1, 0.3, 0.4, 0.65], 0.25),  # one miss, one false accept
    ],
)
def test_it_computes_the_equal_error_rate(same, different, eer):
    measured, threshold = equal_error_rate(same, different)
    assert_allclose(measured, eer, atol=1e-9)
    if eer == 0.0:
        assert 0.3 < threshold <= 0.9


def test_it_makes_same_and_different_trials_with_held_out_enrolment():
    rng = np.random.default_rng(0)
    centres = {name: _unit(rng.standard_normal(16)) for name in "abc"}
    voices = {k: [_unit(c + 0.05 * rng.standard_normal(16)) for _ in range(5)] for k, c in centres.items()}
    same, different = speaker_trials(voices)
    assert same.size == 15 and different.size == 30
    assert same.min() > different.max()


@pytest.fixture(scope="module")
def calibration():
    missing = [tool for tool in ("espeak-ng", "text2wave") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing} required in CI (apt-get install espeak-ng festival)")
        pytest.skip(f"{missing} not installed")
    spec = importlib.util.spec_from_file_location("calibrate_speaker", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.calibrate(n_utterances=10)


def test_it_separates_synthetic_voices_with_eer_at_most_five_percent(calibration):
    assert calibration["n_same"] == 110 and calibration["n_different"] == 1100
    assert calibration["eer"] <= 0.05
    assert calibration["same_mean"] > calibration["different_mean"] + 0.15


def test_it_ships_the_calibrated_threshold(calibration):
    assert abs(calibration["threshold"] - SPEAKER_MISMATCH_THRESHOLD) < 0.02


def test_each_phone_segment_enrols_the_speaker_afresh():
    from voice_features.speaker import speaker_checks

    rng = np.random.default_rng(3)
    old = rng.normal(size=64)
    old /= np.linalg.norm(old)
    side = rng.normal(size=64)
    side -= old * (side @ old)
    side /= np.linalg.norm(side)
    new = 0.75 * old + np.sqrt(1 - 0.75 ** 2) * side   # same voice through another phone
    stranger = side                                    # another voice
    embeddings = [old + rng.normal(0, 0.01, 64) for _ in range(4)] + [new + rng.normal(0, 0.01, 64) for _ in range(5)]
    embeddings.append(stranger)
    segments = [0] * 4 + [1] * 6
    checks = speaker_checks(embeddings, segments)
    assert [mismatch for _, mismatch in checks] == [False] * 9 + [True]
    assert all(similarity > 0.99 for similarity, _ in checks[:9])
    # until the new phone has its enrolment, its recordings are scored against the old phone's, never flagged
    early = speaker_checks(embeddings[:6], segments[:6])
    assert all(0.7 < similarity < 0.8 and not mismatch for similarity, mismatch in early[4:6])
    assert speaker_checks(embeddings[:2], [0, 0]) == [(None, False), (None, False)]
    with pytest.raises(VoiceFeaturesError):
        speaker_checks(embeddings[:2], [0])
