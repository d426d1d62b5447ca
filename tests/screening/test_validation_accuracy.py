"""Accuracy of the probability: AUC with a patient bootstrap, calibration slope/intercept, decisions."""

import numpy as np
import pandas as pd
from numpy.testing import assert_allclose
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, roc_auc_score
from statsmodels.stats.proportion import proportion_confint

from screening.validation import accuracy
from tests.screening.test_validation_stats import TOL, fixed_pairs


def test_it_reports_auc_sensitivity_and_specificity():
    pairs = fixed_pairs(n_patients=30)
    result = accuracy.screening_accuracy(pairs, threshold=0.4, n_bootstrap=200, seed=1)
    y, p = pairs["phq9_total"] >= 10, pairs["prob_ge10"]
    assert_allclose(result["auc"], roc_auc_score(y, p), **TOL)
    assert result["auc_ci95"][0] < result["auc"] < result["auc_ci95"][1]
    tp, positives = int(((p >= 0.4) & y).sum()), int(y.sum())
    tn, negatives = int(((p < 0.4) & ~y).sum()), int((~y).sum())
    assert (result["sensitivity"]["successes"], result["sensitivity"]["n"]) == (tp, positives)
    assert (result["specificity"]["successes"], result["specificity"]["n"]) == (tn, negatives)
    assert_allclose(
        result["sensitivity"]["ci95"], proportion_confint(tp, positives, method="wilson"), **TOL
    )


def test_it_resamples_patients_not_pairs_in_the_bootstrap():
    # Repeating every patient's pairs five times adds no information; a bootstrap over
    # patients gives exactly the same interval, one over pairs would narrow it.
    pairs = fixed_pairs(n_patients=30)
    repeated = pd.concat([pairs] * 5).sort_values(["patient_id", "answered_at"], kind="stable")
    once = accuracy.screening_accuracy(pairs, n_bootstrap=200, seed=3)
    five = accuracy.screening_accuracy(repeated, n_bootstrap=200, seed=3)
    assert_allclose(five["auc_ci95"], once["auc_ci95"], **TOL)
    assert five["n_patients"] == once["n_patients"]


def test_it_gives_the_same_bootstrap_interval_for_the_same_seed():
    pairs = fixed_pairs(n_patients=30)
    first = accuracy.screening_accuracy(pairs, n_bootstrap=100, seed=9)["auc_ci95"]
    assert accuracy.screening_accuracy(pairs, n_bootstrap=100, seed=9)["auc_ci95"] == first
    assert accuracy.screening_accuracy(pairs, n_bootstrap=100, seed=10)["auc_ci95"] != first


# ------------------------------------------------------------------ calibration
def test_it_matches_sklearn_brier_and_reliability_curve():
    pairs = fixed_pairs(n_patients=30)
    y, p = (pairs["phq9_total"] >= 10).to_numpy(), pairs["prob_ge10"].to_numpy()
    result = accuracy.calibration(pairs, n_bins=10, n_bootstrap=100)
    assert_allclose(result["brier"], brier_score_loss(y, p), **TOL)
    observed, predicted = calibration_curve(y, p, n_bins=10, strategy="uniform")
    curve = pd.DataFrame(result["reliability"])
    assert_allclose(curve["observed_fraction"], observed, **TOL)
    assert_allclose(curve["mean_predicted"], predicted, **TOL)
    assert curve["n"].sum() == len(pairs)
    assert result["brier_ci95"][0] <= result["brier"] <= result["brier_ci95"][1]




def _calibration_pairs(n_patients: int, *, temperature: float, seed: int = 0) -> pd.DataFrame:
    """Outcomes drawn from a true risk; the stated probability is the risk sharpened by ``temperature``."""
    rng = np.random.default_rng(seed)
    patient = np.repeat(np.arange(n_patients), 6)
    logit = rng.normal(-0.3, 1.5, patient.size)
    outcome = rng.random(patient.size) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame({"patient_id": patient, "phq9_total": np.where(outcome, 14, 4),
                         "prob_ge10": 1 / (1 + np.exp(-temperature * logit))})


def test_it_finds_slope_one_for_a_calibrated_probability_and_below_one_for_an_overconfident_one():
    calibrated = accuracy.calibration(_calibration_pairs(400, temperature=1.0), n_bootstrap=20)
    overconfident = accuracy.calibration(_calibration_pairs(400, temperature=2.0), n_bootstrap=20)
    assert calibrated["slope"]["ci95"][0] < 1.0 < calibrated["slope"]["ci95"][1]
    assert calibrated["intercept"]["ci95"][0] < 0.0 < calibrated["intercept"]["ci95"][1]
    assert_allclose(overconfident["slope"]["estimate"], 0.5, atol=0.08)


def test_it_computes_the_net_benefit_of_acting_on_the_score():
    pairs = pd.DataFrame({"patient_id": np.arange(20) // 2, "phq9_total": [12] * 6 + [3] * 14,
                          "prob_ge10": [0.9] * 5 + [0.1] + [0.8] * 2 + [0.05] * 12})
    curve = pd.DataFrame(accuracy.decision_curve(pairs)["curve"]).set_index("threshold")
    # at t = 20 %: 5 true and 2 false positives of 20; odds 0.25
    assert_allclose(curve.loc[0.2, "net_benefit"], 5 / 20 - 2 / 20 * 0.25)
    assert_allclose(curve.loc[0.2, "net_benefit_all"], 0.3 - 0.7 * 0.25)
    assert list(curve.index) == [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]


def test_it_bands_the_probability_for_sensitivity_and_specificity_of_ninety_percent():
    pairs = fixed_pairs(n_patients=40)
    bands = accuracy.three_way(pairs)
    assert bands["sensitivity"]["value"] >= 0.9 and bands["specificity"]["value"] >= 0.9
    assert bands["low"]["n"] + bands["indeterminate"]["n"] + bands["high"]["n"] == bands["n_pairs"]
    p = pairs["prob_ge10"]
    assert bands["low"]["n"] == int((p < bands["low_below"]).sum())


def test_it_says_insufficient_data_instead_of_a_perfect_auc_from_three_cases():
    pairs = fixed_pairs(n_patients=30)
    few = pairs[(pairs.phq9_total < 10) | (pairs.index.isin(pairs[pairs.phq9_total >= 10].index[:3]))]
    result = accuracy.screening_accuracy(few, n_bootstrap=10)
    assert result["status"] == "insufficient data"
    assert "3 pairs with PHQ-9 \u2265 10" in result["message"]


def test_the_fast_bootstrap_auc_equals_sklearns_weighted_auc_with_ties():
    from screening.validation.accuracy import _auc

    rng = np.random.default_rng(4)
    for _ in range(20):
        y = rng.random(60) < 0.4
        s = np.round(rng.normal(size=60) + y, 1)  # rounded: many tied scores
        w = rng.integers(0, 3, 60).astype(float)
        if w[y].sum() and w[~y].sum():
            assert_allclose(_auc(y, s, w), roc_auc_score(y, s, sample_weight=w), atol=1e-12)
        assert_allclose(_auc(y, s), roc_auc_score(y, s), atol=1e-12)
    assert np.isnan(_auc(y, s, np.where(y, 1.0, 0.0)))  # a resample with one class only
