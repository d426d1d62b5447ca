"""Signed robust z, embedding drift, composite index and aggregation."""

import json
from datetime import UTC, datetime

import numpy as np
import pytest
from numpy.testing import assert_allclose

from screening.baselines.baseline import Baseline, FeatureStats
from screening.risk_model.deviation import (
    DEPRESSION_DIRECTIONS,
    Z_CLIP,
    Deviation,
    aggregate_deviations,
    composite_index,
    deviation_from_baseline,
    embedding_drift,
    reliability_weights,
    robust_z,
)

T0 = datetime(2025, 1, 6, tzinfo=UTC)


def _baseline(**extra):
    features = {
        "speech_rate_syl_s": FeatureStats(4.0, 0.5, 5),
        "articulation_rate_syl_s": FeatureStats(5.0, 0.5, 5),
        "pause_rate_per_min": FeatureStats(10.0, 2.0, 5),
        "pause_mean_s": FeatureStats(0.6, 0.1, 5),
        "pause_ratio": FeatureStats(0.2, 0.05, 5),
        "speech_rate_cv": FeatureStats(0.25, 0.05, 5),
        "f0_range_st": FeatureStats(7.0, 1.0, 5),
        "f0_sd_st": FeatureStats(2.0, 0.5, 5),
        "intensity_mean_db": FeatureStats(60.0, 2.0, 5),
        "f0_median_hz": FeatureStats(200.0, 10.0, 5),
    }
    return Baseline(features=features, recording_ids=("a", "b", "c", "d", "e"),
                    built_at=T0, kind="initial", **{
                        "embedding_centroid": None, "drift_median": np.nan,
                        "drift_scale": np.nan, **extra})


# one step of one scale in the depression direction for each feature
DEPRESSED_STEP = {
    "speech_rate_syl_s": 3.5,
    "articulation_rate_syl_s": 4.5,
    "pause_rate_per_min": 12.0,
    "pause_mean_s": 0.7,
    "pause_ratio": 0.25,
    "speech_rate_cv": 0.30,
    "f0_range_st": 6.0,
    "f0_sd_st": 1.5,
    "intensity_mean_db": 58.0,
}


@pytest.mark.parametrize("feature", sorted(DEPRESSED_STEP))
def test_it_signs_each_feature_positive_in_the_depression_direction(feature):
    dev = deviation_from_baseline({feature: DEPRESSED_STEP[feature]}, _baseline())
    assert_allclose(dev.z[feature], 1.0)


def test_it_has_the_published_directions():
    lower = {"speech_rate_syl_s", "articulation_rate_syl_s", "f0_range_st", "f0_sd_st",
             "intensity_mean_db"}
    higher = {"pause_rate_per_min", "pause_mean_s", "pause_ratio", "speech_rate_cv"}
    assert {k for k, d in DEPRESSION_DIRECTIONS.items() if d.sign < 0} == lower
    assert {k for k, d in DEPRESSION_DIRECTIONS.items() if d.sign > 0} == higher


def test_it_reports_undirected_features_unsigned_and_outside_the_composite():
    dev = deviation_from_baseline({"f0_median_hz": 180.0}, _baseline())
    assert_allclose(dev.z["f0_median_hz"], -2.0)
    assert np.isnan(dev.composite)


def test_it_clips_extreme_z():
    assert robust_z(100.0, median=0.0, scale=1.0) == Z_CLIP
    assert robust_z(-100.0, median=0.0, scale=1.0, sign=-1) == Z_CLIP


@pytest.mark.parametrize("value,median,scale", [(np.nan, 0, 1), (None, 0, 1), (1, 0, 0),
                                                (1, np.nan, 1)])
def test_it_gives_nan_z_for_missing_inputs(value, median, scale):
    assert np.isnan(robust_z(value, median=median, scale=scale))


def test_it_weights_the_composite_and_skips_nan():
    z = {"speech_rate_syl_s": 2.0, "f0_sd_st": -1.0, "pause_ratio": np.nan}
    w1 = DEPRESSION_DIRECTIONS["speech_rate_syl_s"].weight
    w2 = DEPRESSION_DIRECTIONS["f0_sd_st"].weight
    assert_allclose(composite_index(z), (2.0 * w1 - w2) / (w1 + w2))
    assert np.isnan(composite_index({}))


def test_it_weights_the_composite_by_test_retest_reliability():
    z = {"speech_rate_syl_s": 2.0, "f0_sd_st": -1.0, "pause_ratio": 4.0}
    factors = reliability_weights({"speech_rate_syl_s": 0.9, "f0_sd_st": 0.3, "pause_ratio": -0.2,
                                   "f0_median_hz": 0.99, "jitter_local": None})
    assert factors["speech_rate_syl_s"] == 0.9 and factors["f0_sd_st"] == 0.3
    assert factors["pause_ratio"] == 0.0          # does not repeat: drops out
    assert "f0_median_hz" not in factors          # not directional: never in the composite
    # directional but not measured (too few pairs): the median of the measured factors
    assert_allclose(factors["pause_mean_s"], np.median([0.9, 0.3, 0.0]))
    w1, w2 = (DEPRESSION_DIRECTIONS[k].weight for k in ("speech_rate_syl_s", "f0_sd_st"))
    assert_allclose(composite_index(z, factors), (0.9 * w1 * 2.0 - 0.3 * w2) / (0.9 * w1 + 0.3 * w2))
    assert reliability_weights({"jitter_local": None}) == {}   # nothing measured: registry weights unchanged


def test_a_reliability_weighted_deviation_keeps_its_factors():
    factors = reliability_weights({"speech_rate_syl_s": 0.8, "f0_range_st": 0.1})
    dev = deviation_from_baseline({"speech_rate_syl_s": 3.0, "f0_range_st": 9.0}, _baseline(), reliability=factors)
    assert_allclose(dev.composite, composite_index(dev.z, factors))
    assert dev.composite != composite_index(dev.z)
    again = Deviation.from_dict(json.loads(dev.to_json()))
    assert again.reliability == factors and again.composite == dev.composite
    week = aggregate_deviations([dev, again])
    assert_allclose(week.composite, composite_index(week.z, factors))


def test_it_measures_embedding_drift_as_one_minus_cosine():
    assert_allclose(embedding_drift([1, 0], [2, 0]), 0.0)
    assert_allclose(embedding_drift([1, 0], [0, 3]), 1.0)
    assert_allclose(embedding_drift([1, 1], [1, 0]), 1 - np.sqrt(0.5))
    assert np.isnan(embedding_drift([0, 0], [1, 0]))


def test_it_turns_drift_into_a_z_against_the_baseline_spread():
    baseline = _baseline(embedding_centroid=(1.0, 0.0), drift_median=0.1,
                         drift_scale=0.05)
    dev = deviation_from_baseline({}, baseline, embedding=[0.0, 1.0])
    assert_allclose(dev.embedding_drift, 1.0)
    assert_allclose(dev.embedding_drift_z, Z_CLIP)
    near = deviation_from_baseline({}, baseline, embedding=[np.cos(0.5), np.sin(0.5)])
    assert_allclose(near.embedding_drift_z, (1 - np.cos(0.5) - 0.1) / 0.05)


def test_it_aggregates_by_nan_aware_mean():
    a = Deviation({"speech_rate_syl_s": 1.0, "pause_ratio": np.nan}, 1.0, 0.1, 0.0, ("x",))
    b = Deviation({"speech_rate_syl_s": 3.0, "pause_ratio": 2.0}, 2.0, 0.3, 2.0, ("x",))
    agg = aggregate_deviations([a, b])
    assert_allclose([agg.z["speech_rate_syl_s"], agg.z["pause_ratio"]], [2.0, 2.0])
    assert_allclose(agg.embedding_drift, 0.2)
    assert agg.n_recordings == 2 and agg.baseline_recording_ids == ("x",)
    assert_allclose(agg.composite, composite_index(agg.z))


def test_it_serialises_nan_as_null():
    dev = deviation_from_baseline({"speech_rate_syl_s": 3.0}, _baseline())
    data = json.loads(dev.to_json())
    assert data["z"]["pause_ratio"] is None
    again = Deviation.from_dict(data)
    assert_allclose(again.z["speech_rate_syl_s"], dev.z["speech_rate_syl_s"])
    assert np.isnan(again.z["pause_ratio"])
