"""analyse(): the public contract, invalid input, and edge cases that must never raise."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from voice_features import FEATURE_NAMES, FEATURE_SET_VERSION, VoiceFeaturesError, analyse
from voice_features.synth import speech_layout, synth_speech

SR = 16000
#: The keys the API has always served: the registry may grow, never lose one.
CONTRACT_KEYS = {
    "duration_s", "speech_s", "syllable_count", "speech_rate_syl_s", "articulation_rate_syl_s", "speech_rate_cv",
    "pause_count", "pause_rate_per_min", "pause_mean_s", "pause_median_s", "pause_ratio", "f0_median_hz",
    "f0_median_st", "f0_range_st", "f0_sd_st", "intensity_mean_db", "jitter_local", "shimmer_local", "hnr_db",
    "voiced_fraction",
}
QUALITY_KEYS = {"speech_s", "duration_s", "snr_db", "clipping_fraction", "voiced_fraction", "level_dbfs", "accepted", "rejection_reason",
                "rejection_code"}


@pytest.fixture(scope="module")
def speech():
    return synth_speech(run_durations_s=(2.5, 3.0, 2.0), pause_durations_s=(0.7, 0.5), seed=3)


def test_it_returns_every_design_feature_and_the_version(speech):
    result = analyse(speech.samples, sr=SR)
    assert set(result.features) == set(FEATURE_NAMES) >= CONTRACT_KEYS
    assert set(result.quality) == QUALITY_KEYS
    assert result.version == FEATURE_SET_VERSION
    assert all(math.isfinite(v) for v in result.features.values())
    assert result.quality["accepted"] is True and result.quality["rejection_reason"] is None


def test_it_serialises_nan_as_null(speech):
    silence = analyse(np.zeros(3 * SR, dtype=np.float32), sr=SR).to_json_dict()
    text = json.dumps(silence, allow_nan=False)
    assert json.loads(text)["features"]["f0_median_hz"] is None
    assert silence["features"]["duration_s"] == 3.0 and silence["features"]["speech_s"] == 0.0
    assert silence["version"] == FEATURE_SET_VERSION


def test_it_derives_rates_and_pause_features_consistently(speech):
    f = analyse(speech.samples, sr=SR).features
    assert_allclose(f["articulation_rate_syl_s"], f["syllable_count"] / f["speech_s"])
    assert_allclose(f["pause_rate_per_min"], f["pause_count"] / (f["duration_s"] / 60))
    assert_allclose(f["f0_median_st"], 12 * np.log2(f["f0_median_hz"] / 27.5))
    assert 0 < f["pause_ratio"] < 1 and 0 < f["voiced_fraction"] <= 1


@pytest.mark.parametrize(
    "samples, code",
    [
        (np.full(SR, np.nan, dtype=np.float32), "not_finite"),
        (np.full(SR, np.inf), "not_finite"),
        (np.zeros((2, SR), dtype=np.float32), "not_mono"),
        (np.zeros(SR, dtype=np.int16), "bad_dtype"),
    ],
)
def test_it_rejects_invalid_input_with_its_own_error(samples, code):
    with pytest.raises(VoiceFeaturesError) as info:
        analyse(samples, sr=SR)
    assert info.value.code == code


def _edge_case(name: str, speech) -> np.ndarray:
    rng = np.random.default_rng(5)
    t = np.arange(5 * SR) / SR
    return {
        "silence": np.zeros(5 * SR, dtype=np.float32),
        "empty": np.zeros(0, dtype=np.float32),
        "white_noise": (0.1 * rng.standard_normal(5 * SR)).astype(np.float32),
        "tone_220_hz": (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32),
        "heavy_clipping": np.clip(speech.samples * 20, -1, 1),
        "one_second": synth_speech(run_durations_s=(1.0,), pause_durations_s=(), leading_s=0.0, trailing_s=0.0).samples,
        "too_quiet": speech.samples * 1e-3,
    }[name]


@pytest.mark.parametrize(
    "name, reason_start",
    [
        ("silence", "No speech was detected"),
        ("empty", "No speech was detected"),
        ("white_noise", "No speech was detected"),
        ("tone_220_hz", "No speech was detected"),
        ("heavy_clipping", "The recording is heavily clipped"),
        ("one_second", "The recording has only"),
        ("too_quiet", "The recording is too quiet"),
    ],
)
def test_it_rejects_edge_cases_with_a_readable_reason(name, reason_start, speech):
    result = analyse(_edge_case(name, speech), sr=SR)
    assert result.quality["accepted"] is False
    assert result.quality["rejection_reason"].startswith(reason_start)
    assert set(result.features) == set(FEATURE_NAMES)
    json.dumps(result.to_json_dict(), allow_nan=False)


@pytest.mark.parametrize("name", ["silence", "white_noise", "tone_220_hz"])
def test_it_leaves_features_undefined_without_speech(name, speech):
    f = analyse(_edge_case(name, speech), sr=SR).features
    assert f["speech_s"] == 0.0
    assert all(math.isnan(f[k]) for k in ("syllable_count", "speech_rate_syl_s", "pause_count", "f0_median_hz", "hnr_db"))


def test_it_still_measures_a_rejected_but_usable_recording(speech):
    result = analyse(_edge_case("one_second", speech), sr=SR)
    assert 0.6 < result.features["speech_s"] <= 1.0
    assert result.features["pause_count"] == 0  # a real zero: speech with no pause
    assert math.isnan(result.features["pause_mean_s"]) and math.isnan(result.features["speech_rate_cv"])
    assert result.features["f0_median_hz"] > 0


def test_it_uses_the_given_clipping_fraction(speech):
    result = analyse(speech.samples, sr=SR, clipping_fraction=0.3)
    assert result.quality["clipping_fraction"] == 0.3
    assert "clipped (30% of samples)" in result.quality["rejection_reason"]


def test_it_handles_a_fifteen_minute_recording():
    runs, pauses = speech_layout(duration_s=900.0, seed=2)
    long = synth_speech(run_durations_s=runs, pause_durations_s=pauses, seed=2)
    result = analyse(long.samples, sr=SR)
    assert result.quality["accepted"] is True
    assert abs(result.features["pause_count"] - long.pause_count) <= 0.02 * long.pause_count
    assert_allclose(result.features["speech_rate_syl_s"], long.speech_rate_syl_s, rtol=0.15)
    assert long.duration_s > 890.0
    assert_allclose(result.features["duration_s"], long.duration_s)
