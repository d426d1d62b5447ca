"""Simulated cohort with known truth: personalisation must pay off on held-out patients.

Run with ``-s`` to see the figures.
"""

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from screening.alerts.kinds import Priority
from screening.alerts.rules import Phq9Point, ScorePoint, evaluate_alerts
from screening.risk_model.calibration import patient_calibration
from screening.risk_model.deviation import DEPRESSION_DIRECTIONS, DIRECTIONAL_FEATURES
from screening.risk_model.fitting import fit_population_model, repeated_measures_corr
from screening.risk_model.model import predict_frame
from screening.validation.pairing import pair_phq9_with_voice
from tests.support.scoring import deviation_frame
from tests.support.simulation import phq9_items_for_total, simulate_cohort

FEATURES = list(DIRECTIONAL_FEATURES)


@pytest.fixture(scope="module")
def cohort():
    return simulate_cohort(n_patients=80, n_weeks=16, recordings_per_week=4, seed=11)


@pytest.fixture(scope="module")
def scored(cohort):
    deviations = deviation_frame(cohort.recordings)
    ids = cohort.patients["patient_id"].to_numpy().copy()
    np.random.default_rng(5).shuffle(ids)
    return {"deviations": deviations, "train": set(ids[:40]), "held_out": set(ids[40:])}


def _pairs(recordings: pd.DataFrame, phq9: pd.DataFrame) -> pd.DataFrame:
    """The product's pairing rule on simulated tables (one PHQ-9 -> its window's mean z's)."""
    answers = phq9.rename(columns={"response_id": "phq9_id", "phq9_total": "total"})
    return pair_phq9_with_voice(answers, recordings, columns=tuple(FEATURES), min_recordings=1).pairs


def _sequential_offsets(paired: pd.DataFrame, model) -> pd.DataFrame:
    """Offset for each PHQ-9 from that patient's earlier PHQ-9s only (no peeking)."""
    paired = paired.sort_values(["patient_id", "answered_at"]).copy()
    paired["population"] = predict_frame(model, paired)["raw_prediction"]
    paired["residual"] = paired["phq9_total"] - paired["population"]
    offsets, variances = [], []
    for _, g in paired.groupby("patient_id", sort=False):
        for k in range(len(g)):
            cal = patient_calibration(g["residual"].iloc[:k], model=model)
            offsets.append(cal.offset)
            variances.append(cal.variance)
    paired["offset"], paired["offset_var"] = offsets, variances
    return paired


@pytest.fixture(scope="module")
def comparison(cohort, scored):
    train, held_out = scored["train"], scored["held_out"]
    z_pairs = _pairs(scored["deviations"].rename(columns={"composite": "voice_score"}), cohort.phq9)
    fit = fit_population_model(z_pairs[z_pairs.patient_id.isin(train)])
    test = _sequential_offsets(z_pairs[z_pairs.patient_id.isin(held_out)], fit.model)
    test["personalised"] = predict_frame(fit.model, test, offsets=test["offset"],
                                         offset_variances=test["offset_var"])[
        "predicted_phq9"]
    # Population-only comparator: OLS of PHQ-9 on the raw features (no personal baseline)
    recs = cohort.recordings
    valid = recs[~recs.rejected & ~recs.speaker_mismatch]
    raw_pairs = _pairs(valid.assign(voice_score=0.0), cohort.phq9).dropna(subset=FEATURES)
    raw_train = raw_pairs[raw_pairs.patient_id.isin(train)]
    ols = sm.OLS(raw_train["phq9_total"], sm.add_constant(raw_train[FEATURES])).fit()
    raw_test = raw_pairs[raw_pairs.patient_id.isin(held_out)].copy()
    raw_test["population"] = np.clip(
        ols.predict(sm.add_constant(raw_test[FEATURES], has_constant="add")), 0, 27)
    # Within-patient r of the personalised score: its patient offset is a constant per
    # patient (here the final one), which cannot change a within-patient correlation;
    # the calibration's worth shows in the error of the sequentially calibrated score.
    final_offset = test.groupby("patient_id")["offset"].transform("last")
    test["personalised_score"] = test["population"] + final_offset
    figures = {
        "personalised_rm_corr": repeated_measures_corr(test, x="personalised_score",
                                                       y="phq9_total"),
        "population_rm_corr": repeated_measures_corr(raw_test, x="population",
                                                     y="phq9_total"),
        "personalised_mae": float((test["personalised"] - test["phq9_total"]).abs().mean()),
        "uncalibrated_mae": float(
            (test["population"].clip(0, 27) - test["phq9_total"]).abs().mean()),
        "population_mae": float((raw_test["population"] - raw_test["phq9_total"]).abs()
                                .mean()),
        "cv_train": dict(fit.cv_metrics),
        "n_held_out_phq9": len(test),
    }
    print("\ncohort figures:", {k: (round(v, 3) if isinstance(v, float) else v)
                                for k, v in figures.items()})
    return {"figures": figures, "model": fit.model, "test": test}


def test_it_simulates_published_effect_sizes(cohort):
    sev = cohort.truth["severity"]
    recs = cohort.recordings[~cohort.recordings.speaker_mismatch].copy()
    day = (recs["recorded_at"] - recs["recorded_at"].min().normalize()).dt.days
    recs = recs.assign(day=day).merge(sev, on=["patient_id", "day"])
    changing = cohort.patients.loc[cohort.patients.trajectory != "stable", "patient_id"]
    recs = recs[recs.patient_id.isin(changing)]
    for key, direction in DEPRESSION_DIRECTIONS.items():
        recs["signed"] = direction.sign * recs[key]
        r = repeated_measures_corr(recs, x="signed", y="severity")
        assert 0.12 <= r <= 0.5, (key, r)


def test_it_gives_women_and_men_different_natural_voices(cohort):
    recs = cohort.recordings.merge(cohort.patients[["patient_id", "sex"]])
    f0 = recs.groupby("sex")["f0_median_hz"].median()
    assert f0["F"] > 170 > 140 > f0["M"]


def test_it_personalised_score_beats_population_only_within_patients(comparison):
    f = comparison["figures"]
    assert f["personalised_rm_corr"] > f["population_rm_corr"]


def test_it_calibration_to_own_phq9_history_lowers_error(comparison):
    f = comparison["figures"]
    assert f["personalised_mae"] < f["uncalibrated_mae"]
    assert f["personalised_mae"] < f["population_mae"]


def test_it_fitted_model_keeps_the_literature_directions(comparison):
    coefficients = comparison["model"].coefficients
    assert sum(b > 0 for b in coefficients.values()) >= 7
    assert coefficients["speech_rate_syl_s"] > 0 and coefficients["pause_ratio"] > 0


def test_it_raises_item9_even_when_the_voice_looks_normal(cohort, comparison):
    test = comparison["test"]
    model = comparison["model"]
    calm = test.groupby("patient_id")["personalised"].max().idxmin()
    rows = test[test.patient_id == calm]
    last = rows.iloc[-1]
    baseline = model.intercept + last["offset"]
    scores = [ScorePoint(f"s{i}", r.answered_at, r.personalised, 0.05)
              for i, r in enumerate(rows.itertuples())]
    phq9 = [Phq9Point("q-new", last["answered_at"] + timedelta(hours=1), 6, 1)]
    alerts = evaluate_alerts(patient_id=calm, now=last["answered_at"] + timedelta(days=1),
                             scores=scores, phq9s=phq9, baseline_phq9=baseline,
                             last_recording_at=last["answered_at"])
    assert [(a.kind, a.priority) for a in alerts] == [("self_harm", Priority.HIGH)]


def test_it_opens_one_alert_per_episode_over_nightly_runs(cohort, scored, comparison):
    model = comparison["model"]
    deviations = scored["deviations"]
    worsening = cohort.patients.query("trajectory == 'worsening'")["patient_id"]
    pid = next(p for p in worsening if p in scored["held_out"])
    rows = deviations[deviations.patient_id == pid].sort_values("recorded_at")
    # patient-level view: 7-day rolling mean of deviations, like a patient-week score
    weekly = rows.set_index("recorded_at")[FEATURES].rolling("7D").mean()
    pred = predict_frame(model, weekly)
    scores = [ScorePoint(rid, at, p, q) for rid, at, p, q in zip(
        rows["recording_id"], rows["recorded_at"], pred["predicted_phq9"],
        pred["p_phq9_ge10"])]
    opened: dict[str, str] = {}
    for night in range(1, len(scores) + 1):
        now = scores[night - 1].recorded_at + timedelta(hours=1)
        for alert in evaluate_alerts(patient_id=pid, now=now, scores=scores[:night],
                                     baseline_phq9=model.intercept):
            opened.setdefault(alert.episode_key, alert.kind)
    final = evaluate_alerts(patient_id=pid, now=now, scores=scores,
                            baseline_phq9=model.intercept)
    assert "phq9_rise" in opened.values() or "risk_threshold" in opened.values()
    # every key opened along the way is an episode of the full history: no duplicates
    assert set(opened) == {a.episode_key for a in final}
    print(f"\nnightly alert keys for worsening patient {pid}: {sorted(opened)}")


def test_it_simulates_reproducibly_from_the_seed():
    a = simulate_cohort(n_patients=4, n_weeks=3, seed=7)
    b = simulate_cohort(n_patients=4, n_weeks=3, seed=7)
    c = simulate_cohort(n_patients=4, n_weeks=3, seed=8)
    pd.testing.assert_frame_equal(a.recordings, b.recordings)
    assert not a.recordings["speech_rate_syl_s"].equals(c.recordings["speech_rate_syl_s"])


def test_it_simulates_valid_phq9_answers(cohort):
    items = cohort.phq9[[f"item{i}" for i in range(1, 10)]]
    assert items.isin([0, 1, 2, 3]).all().all()
    assert (items.sum(axis=1) == cohort.phq9["phq9_total"]).all()
    assert (cohort.phq9["item9"] > 0).any()


@pytest.mark.parametrize("total", [0, 1, 13, 27])
def test_it_splits_a_total_into_items(total):
    items = phq9_items_for_total(total, np.random.default_rng(0), item9_probability=1.0)
    assert items.sum() == total and items.max() <= 3
    assert (items[8] > 0) == (total > 0)
