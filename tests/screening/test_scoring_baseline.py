"""Personal baselines: robust statistics, window choice, exclusions, JSON snapshots."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from numpy.testing import assert_allclose

from screening.baselines.baseline import (
    MAD_TO_SD,
    SCALE_FLOOR,
    Baseline,
    BaselinePolicy,
    BaselineRecording,
    build_baseline,
    robust_stats,
    select_baseline_recordings,
)

T0 = datetime(2025, 1, 6, 9, tzinfo=UTC)


def _rec(i, day, rate=4.0, **kw):
    return BaselineRecording(
        recording_id=f"r{i}", recorded_at=T0 + timedelta(days=day),
        features={"speech_rate_syl_s": rate, "pause_ratio": 0.2}, **kw)


def test_it_computes_median_and_scaled_mad():
    stats = robust_stats([1.0, 2.0, 3.0, 4.0, 100.0])
    # median 3; |x - 3| = 2, 1, 0, 1, 97 -> MAD 1
    assert stats.median == 3.0
    assert_allclose(stats.scale, MAD_TO_SD * 1.0)
    assert stats.n == 5


def test_it_ignores_nan_and_none():
    stats = robust_stats([np.nan, 1.0, None, 3.0])
    assert (stats.median, stats.n) == (2.0, 2)


def test_it_floors_the_scale_of_a_constant_feature():
    stats = robust_stats([4.0] * 5, floor=SCALE_FLOOR["speech_rate_syl_s"])
    assert stats.scale == SCALE_FLOOR["speech_rate_syl_s"]


def test_it_returns_nan_without_values():
    stats = robust_stats([np.nan, None])
    assert stats.n == 0 and np.isnan(stats.median) and np.isnan(stats.scale)


def test_it_has_no_baseline_before_n_initial_valid_recordings():
    recs = [_rec(i, i) for i in range(4)]
    assert build_baseline(recs, at=T0 + timedelta(days=10)) is None


def test_it_uses_the_first_n_initial_valid_recordings_at_first():
    recs = [_rec(i, i, rate=3.0 + i) for i in range(8)]
    baseline = build_baseline(recs, at=T0 + timedelta(days=8))
    assert baseline.kind == "initial"
    assert baseline.recording_ids == ("r0", "r1", "r2", "r3", "r4")
    assert baseline.features["speech_rate_syl_s"].median == 5.0


@pytest.mark.parametrize("flag", ["rejected", "speaker_mismatch"])
def test_it_never_lets_invalid_recordings_in(flag):
    recs = [_rec(i, i) for i in range(6)] + [_rec(99, 2.5, rate=9.0, **{flag: True})]
    baseline = build_baseline(recs, at=T0 + timedelta(days=10))
    assert "r99" not in baseline.recording_ids
    assert baseline.features["speech_rate_syl_s"].median == 4.0


def test_it_excludes_the_recording_being_scored_and_later_ones():
    recs = [_rec(i, i) for i in range(10)]
    at = recs[6].recorded_at
    chosen, _ = select_baseline_recordings(recs, at=at)
    assert all(r.recorded_at < at for r in chosen)


def test_it_rolls_a_lagged_window_once_old_recordings_exist():
    policy = BaselinePolicy(n_initial=5, window_days=365, guard_days=90, max_n=40)
    recs = [_rec(i, 2 * i) for i in range(100)]  # one every two days, 200 days
    at = T0 + timedelta(days=200)
    chosen, kind = select_baseline_recordings(recs, at=at, policy=policy)
    assert kind == "rolling"
    ages = [(at - r.recorded_at).days for r in chosen]
    assert min(ages) >= 90 and max(ages) <= 365
    assert len(chosen) == 40
    # the most recent 40 before the guard: days 30..108
    assert chosen[-1].recording_id == "r54" and chosen[0].recording_id == "r15"


def test_it_falls_back_to_the_enrolment_baseline_inside_the_guard():
    policy = BaselinePolicy(n_initial=5, guard_days=90)
    recs = [_rec(i, i) for i in range(60)]
    chosen, kind = select_baseline_recordings(recs, at=T0 + timedelta(days=60),
                                              policy=policy)
    assert kind == "initial" and [r.recording_id for r in chosen] == [
        "r0", "r1", "r2", "r3", "r4"]


def test_it_summarises_embeddings_with_a_centroid_and_drift_spread():
    rng = np.random.default_rng(0)
    voice = rng.normal(size=16)
    recs = [BaselineRecording(f"r{i}", T0 + timedelta(days=i), {"pause_ratio": 0.2},
                              embedding=(voice + 0.1 * rng.normal(size=16)).tolist())
            for i in range(6)]
    baseline = build_baseline(recs, at=T0 + timedelta(days=7))
    centroid = np.asarray(baseline.embedding_centroid)
    cos = centroid @ voice / np.linalg.norm(centroid) / np.linalg.norm(voice)
    assert cos > 0.99
    assert 0 < baseline.drift_median < 0.05 and baseline.drift_scale >= 0.01


def test_it_round_trips_through_json():
    rng = np.random.default_rng(1)
    recs = [BaselineRecording(f"r{i}", T0 + timedelta(days=i),
                              {"speech_rate_syl_s": float(rng.normal(4, 0.3)),
                               "f0_range_st": np.nan},
                              embedding=rng.normal(size=8).tolist())
            for i in range(7)]
    baseline = build_baseline(recs, at=T0 + timedelta(days=7))
    again = Baseline.from_json(baseline.to_json())
    assert again == baseline
    assert "f0_range_st" not in again.features


def test_it_needs_recordings_from_several_days_not_a_burst_of_uploads():
    burst = [BaselineRecording(recording_id=f"b{i}", recorded_at=T0 + timedelta(seconds=4 * i),
                               features={"speech_rate_syl_s": 4.0}) for i in range(5)]
    assert select_baseline_recordings(burst, at=T0 + timedelta(days=1)) == ([], "none")

    later = [_rec(10, 1), _rec(11, 2)]
    chosen, kind = select_baseline_recordings(burst + later, at=T0 + timedelta(days=3))
    assert kind == "initial"
    assert [r.recording_id for r in chosen] == ["b0", "b1", "b2", "b3", "b4", "r10", "r11"]
    assert len({r.recorded_at.date() for r in chosen}) == BaselinePolicy().min_days
