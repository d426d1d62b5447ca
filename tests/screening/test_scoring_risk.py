"""Risk model: prior, empirical-Bayes calibration, prediction, fitting, serialisation."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from screening.baselines.baseline import Baseline, BaselineRecording, build_baseline
from screening.risk_model.calibration import Calibrations, patient_calibration, phq9_residuals
from screening.risk_model.deviation import DEPRESSION_DIRECTIONS, Deviation, deviation_from_baseline
from screening.risk_model.fitting import (
    ModelNotBetter,
    fit_population_model,
    improvement_over,
    repeated_measures_corr,
)
from screening.risk_model.model import (
    MODEL_Z_CLIP,
    PRIOR_MODEL,
    PRIOR_POINTS_PER_COMPOSITE_SD,
    RiskModel,
    predict_frame,
    predict_risk,
)
from screening.validation.pairing import pair_phq9_with_voice

T0 = datetime(2025, 1, 6, tzinfo=UTC)
TOY = RiskModel(version="toy-1", kind="mixedlm", intercept=8.0,
                coefficients={"speech_rate_syl_s": 2.0, "pause_ratio": 1.0},
                tau2=4.0, sigma2=4.0)


def _dev(**z):
    return Deviation(z=z, composite=np.nan, embedding_drift=np.nan,
                     embedding_drift_z=np.nan)


def test_it_has_an_uncalibrated_prior_in_the_literature_directions():
    assert not PRIOR_MODEL.calibrated and PRIOR_MODEL.version.startswith("prior")
    assert set(PRIOR_MODEL.coefficients) == set(DEPRESSION_DIRECTIONS)
    assert all(b > 0 for b in PRIOR_MODEL.coefficients.values())
    assert_allclose(sum(PRIOR_MODEL.coefficients.values()), PRIOR_POINTS_PER_COMPOSITE_SD,
                    atol=1e-5)


def test_it_uses_the_population_model_without_phq9():
    cal = patient_calibration([], model=TOY)
    assert (cal.offset, cal.variance, cal.n, cal.shrinkage) == (0.0, 4.0, 0, 0.0)


def test_it_shrinks_one_phq9_halfway_when_tau2_equals_sigma2():
    cal = patient_calibration([2.0], model=TOY)
    assert_allclose([cal.shrinkage, cal.offset, cal.variance], [0.5, 1.0, 2.0])


def test_it_trusts_many_phq9s_almost_fully():
    cal = patient_calibration(np.full(400, 3.0), model=TOY)
    assert_allclose(cal.offset, 3.0, rtol=0.01)
    assert cal.variance < 0.01


def test_it_predicts_the_intercept_at_baseline_voice():
    pred = predict_risk(_dev(), model=TOY)
    assert_allclose(pred.predicted_phq9, 8.0)
    assert_allclose(pred.p_phq9_ge10, stats.norm.sf(9.5, loc=8.0, scale=np.sqrt(8.0)))
    half = stats.norm.ppf(0.9) * np.sqrt(8.0)
    assert_allclose([pred.interval_low, pred.interval_high], [8 - half, 8 + half])
    assert pred.calibrated and pred.model_version == "toy-1"


def test_it_adds_contributions_and_the_personal_offset():
    cal = patient_calibration([4.0], model=TOY)  # offset 2, variance 2
    pred = predict_risk(_dev(speech_rate_syl_s=1.5, pause_ratio=np.nan), model=TOY,
                        calibration=cal)
    assert_allclose(pred.predicted_phq9, 8.0 + 3.0 + 2.0)
    assert pred.n_phq9 == 1
    half = stats.norm.ppf(0.9) * np.sqrt(6.0)
    assert_allclose(pred.interval_high - pred.interval_low, 2 * half)


def test_it_clips_predictions_to_the_phq9_scale():
    pred = predict_risk(_dev(speech_rate_syl_s=-6.0, pause_ratio=-6.0), model=TOY)
    assert pred.predicted_phq9 == 0.0 and pred.interval_low == 0.0
    assert pred.p_phq9_ge10 < 0.01


def test_one_extreme_feature_counts_as_three_sds_but_is_reported_as_it_is():
    extreme = predict_risk(_dev(speech_rate_syl_s=6.0), model=TOY)
    assert extreme.predicted_phq9 == predict_risk(_dev(speech_rate_syl_s=MODEL_Z_CLIP), model=TOY).predicted_phq9
    assert_allclose(extreme.predicted_phq9, 8.0 + 2.0 * MODEL_Z_CLIP)
    assert extreme.drivers[0].text == "speech slower than usual (z = 6.0)"
    assert_allclose(extreme.drivers[0].contribution, 2.0 * MODEL_Z_CLIP)
    frame = predict_frame(TOY, pd.DataFrame({"speech_rate_syl_s": [6.0, -6.0], "pause_ratio": [0.0, -6.0]}))
    assert_allclose(frame["raw_prediction"], [8.0 + 2.0 * MODEL_Z_CLIP, 8.0 - 3.0 * MODEL_Z_CLIP])


def test_it_explains_drivers_in_plain_language():
    pred = predict_risk(_dev(speech_rate_syl_s=1.8, pause_ratio=-0.5), model=TOY)
    assert pred.drivers[0].text == "speech slower than usual (z = 1.8)"
    assert pred.drivers[1].text == "less time in pauses than usual (z = 0.5)"
    assert_allclose(pred.drivers[0].contribution, 3.6)


def test_it_round_trips_models_through_json():
    assert RiskModel.from_json(PRIOR_MODEL.to_json()) == PRIOR_MODEL
    fitted = RiskModel(**{**TOY.__dict__, "fitted_at": T0, "cv_metrics": {"mae": 3.1}})
    assert RiskModel.from_json(fitted.to_json()) == fitted


def test_it_reproduces_a_past_score_from_stored_snapshots():
    rng = np.random.default_rng(3)
    recs = [BaselineRecording(f"r{i}", T0 + timedelta(days=i),
                              {k: float(rng.normal(1, 0.2)) for k in DEPRESSION_DIRECTIONS},
                              embedding=rng.normal(size=8).tolist()) for i in range(8)]
    baseline = build_baseline(recs, at=recs[-1].recorded_at)
    cal = patient_calibration([1.0, 3.0], model=PRIOR_MODEL)
    new = recs[-1]
    before = predict_risk(deviation_from_baseline(new.features, baseline,
                                                  embedding=new.embedding),
                          model=PRIOR_MODEL, calibration=cal)
    stored_baseline, stored_model = baseline.to_json(), PRIOR_MODEL.to_json()
    after = predict_risk(deviation_from_baseline(new.features,
                                                 Baseline.from_json(stored_baseline),
                                                 embedding=new.embedding),
                         model=RiskModel.from_json(stored_model), calibration=cal)
    assert after.to_dict() == before.to_dict()


def test_it_predicts_frames_like_single_rows():
    z = pd.DataFrame({"speech_rate_syl_s": [1.0, np.nan], "pause_ratio": [0.5, -1.0]})
    out = predict_frame(TOY, z, offsets=[1.0, 0.0], offset_variances=[2.0, 4.0])
    single = predict_risk(_dev(speech_rate_syl_s=1.0, pause_ratio=0.5), model=TOY,
                          calibration=patient_calibration([2.0], model=TOY))
    assert_allclose(out["predicted_phq9"].iloc[0], single.predicted_phq9)
    assert_allclose(out["p_phq9_ge10"].iloc[0], single.p_phq9_ge10)
    assert_allclose(out["predicted_phq9"].iloc[1], 7.0)


def test_it_pairs_z_for_fitting_by_the_same_rule_as_validation():
    scores = pd.DataFrame({
        "patient_id": ["a", "a", "a", "b"],
        "recorded_at": [T0 + timedelta(days=d) for d in (0, 5, 13)] + [T0],
        "voice_score": 1.0,
        "z1": [10.0, 1.0, 3.0, 7.0],
    })
    phq9 = pd.DataFrame({"patient_id": ["a", "a"], "phq9_id": [1, 2], "total": [5, 9], "item9": 0,
                         "answered_at": [T0 + timedelta(days=15), T0 + timedelta(days=60)]})
    paired = pair_phq9_with_voice(phq9, scores, columns=("z1",)).pairs
    assert len(paired) == 1  # the second PHQ-9 has no voice in its window
    assert_allclose([paired["z1"].iloc[0], paired["n_recordings"].iloc[0]], [2.0, 2])
    assert paired["phq9_total"].iloc[0] == 5
    # the calibration residuals use the same window: (answered - 14 days, answered]
    residuals = phq9_residuals([(T0 + timedelta(days=15), 5)], [(T0 + timedelta(days=d), 4.0) for d in (0, 5, 13)])
    assert_allclose(residuals[0][1], 1.0)


def test_it_gives_the_whole_curve_one_level_and_keeps_the_prospective_one_for_evaluation():
    residuals = [(T0 + timedelta(days=14), 4.0), (T0 + timedelta(days=28), 0.0)]
    calibrations = Calibrations(residuals, TOY)
    assert calibrations.latest == patient_calibration([4.0, 0.0], model=TOY)
    assert calibrations.at(T0 + timedelta(days=20)) == patient_calibration([4.0], model=TOY)
    assert calibrations.at(T0).n == 0


def test_it_separates_within_from_between_patient_correlation():
    # within each patient y rises with x; between patients the means go the other way
    x = np.tile(np.arange(5.0), 4)
    pid = np.repeat(["a", "b", "c", "d"], 5)
    y = x + np.repeat([30.0, 20.0, 10.0, 0.0], 5) + np.tile([0, 0.1, -0.1, 0, 0], 4)
    x = x + np.repeat([0.0, 10.0, 20.0, 30.0], 5)
    df = pd.DataFrame({"x": x, "y": y, "patient_id": pid})
    assert np.corrcoef(df.x, df.y)[0, 1] < 0
    assert repeated_measures_corr(df, x="x", y="y") > 0.99


#: Data generated with coefficients 2.0 and 0.5 = a slope of 2.5 on the 0.8/0.2-weighted index.
WEIGHTS = {"z1": 0.8, "z2": 0.2}


def _mixed_data(seed=0, n_patients=40, per_patient=8):
    rng = np.random.default_rng(seed)
    pid = np.repeat([f"p{i}" for i in range(n_patients)], per_patient)
    z1, z2 = rng.normal(size=(2, pid.size))
    u = np.repeat(rng.normal(0, 3.0, n_patients), per_patient)
    y = 9.0 + 2.0 * z1 + 0.5 * z2 + u + rng.normal(0, 2.0, pid.size)
    answered = [T0 + timedelta(days=14 * int(k)) for k in np.tile(np.arange(per_patient), n_patients)]
    return pd.DataFrame({"patient_id": pid, "answered_at": answered, "z1": z1, "z2": z2, "phq9_total": y})


def test_it_fits_a_mixed_model_with_known_answers():
    result = fit_population_model(_mixed_data(), features=["z1", "z2"], weights=WEIGHTS, fitted_at=T0)
    model = result.model
    assert_allclose([model.intercept, model.coefficients["z1"], model.coefficients["z2"]],
                    [9.0, 2.0, 0.5], atol=0.6)
    assert_allclose([model.tau2, model.sigma2], [9.0, 4.0], rtol=0.5)
    assert model.calibrated and model.n_patients == 40 and model.n_observations == 320
    assert result.oof["oof_prediction"].notna().all()
    assert result.cv_metrics["rm_corr"] > 0.5 and result.cv_metrics["mae"] < 5
    assert RiskModel.from_json(model.to_json()) == model


def test_it_cross_validates_by_patient_and_never_with_the_phq9_it_predicts():
    df = _mixed_data(seed=1)
    base = fit_population_model(df, features=["z1", "z2"], weights=WEIGHTS, fitted_at=T0).oof
    own = df.patient_id == "p0"
    last = own & (df.answered_at == df.loc[own, "answered_at"].max())
    changed = df.copy()
    changed.loc[last, "phq9_total"] += 10.0
    again = fit_population_model(changed, features=["z1", "z2"], weights=WEIGHTS, fitted_at=T0).oof
    # p0's predictions never saw p0's last PHQ-9: not its own, not the earlier ones'
    assert_allclose(again.loc[own, "oof_prediction"], base.loc[own, "oof_prediction"])
    # the other patients' folds were fitted with it
    assert not np.allclose(again.loc[~own, "oof_prediction"], base.loc[~own, "oof_prediction"])
    # each prediction uses the patient's earlier PHQ-9s only
    assert (base.sort_values("answered_at").groupby("patient_id")["n_phq9_before"]
            .apply(lambda n: list(n) == list(range(len(n))))).all()


def test_it_refuses_a_model_that_does_not_beat_the_active_one():
    df = _mixed_data(seed=0, n_patients=10, per_patient=3)
    fitted = fit_population_model(df, features=["z1", "z2"], weights=WEIGHTS, fitted_at=T0)
    # the generating model itself is active; 30 PHQ-9s of a small clinic fit a worse one
    truth = RiskModel("truth", "mixedlm", 9.0, {"z1": 2.0, "z2": 0.5}, tau2=9.0, sigma2=4.0)
    with pytest.raises(ModelNotBetter, match="not lower than the active model truth"):
        improvement_over(fitted, truth, df)
    good = fitted
    compared = improvement_over(good, RiskModel("flat", "mixedlm", 9.0, {"z1": 0.0, "z2": 0.0}, 9.0, 4.0), df)
    assert compared["new_mae"] < compared["active_mae"]
