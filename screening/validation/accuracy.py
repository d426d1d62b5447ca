"""Accuracy of the probability P(PHQ-9 >= cut-off): discrimination, calibration, decisions.

AUC, ROC and the Brier score come from scikit-learn, the Wilson intervals and the
logistic recalibration from statsmodels. Cadence's own code is what no library does:
the bootstrap that resamples *patients* (pairs of one patient are not independent),
decision-curve net benefit and the three-way band. Every function takes the pairs of
:func:`~screening.validation.pairing.pair_phq9_with_voice` and returns a JSON-ready dict
with ``status`` "ok" or "insufficient data" (with why).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_curve

from clinic.phq9 import SCREENING_CUTOFF
from screening.validation.stats import (
    CONFIDENCE,
    PHQ9,
    SUBJECT,
    _counts,
    _insufficient,
    _rate,
    _too_little,
)
from screening.validation.text import gettext_noop, ngettext

__all__ = [
    "DECISION_THRESHOLDS",
    "MIN_PER_CLASS",
    "screening_accuracy",
    "calibration",
    "decision_curve",
    "three_way",
]

#: Risk thresholds of the decision curve, 5-50 %.
DECISION_THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.05, 0.501, 0.05))
#: Fewest pairs on each side of the cut-off for AUC, calibration slope and bands: with
#: fewer, an AUC of 1.00 (1.00-1.00) says more about the sample than the score.
MIN_PER_CLASS = 5


def _cluster_weights(codes: np.ndarray, n_boot: int, seed: int | None):
    """Yield pair weights of patient-level bootstrap resamples (patients drawn with
    replacement; a patient drawn twice counts twice)."""
    rng = np.random.default_rng(seed)
    n_patients = int(codes.max()) + 1
    for _ in range(n_boot):
        drawn = np.bincount(rng.integers(0, n_patients, n_patients), minlength=n_patients)
        yield drawn[codes].astype(float)


def _percentile_ci(values: np.ndarray, confidence: float) -> list[float]:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return [float("nan"), float("nan")]
    tail = (1 - confidence) / 2
    return [float(np.quantile(values, tail)), float(np.quantile(values, 1 - tail))]


def _scored(pairs: pd.DataFrame, column: str, cutoff: int) -> pd.DataFrame:
    data = pairs[[SUBJECT, PHQ9, column]].dropna()
    return data.assign(positive=data[PHQ9] >= cutoff, code=pd.factorize(data[SUBJECT], sort=True)[0])


def _short(data: pd.DataFrame, cutoff: int) -> dict[str, Any] | None:
    short = _too_little(data)
    if short:
        return short
    n_pos = int(data["positive"].sum())
    n_neg = len(data) - n_pos
    if min(n_pos, n_neg) < MIN_PER_CLASS:
        return _insufficient(ngettext("%(n_positive)s pair with PHQ-9 ≥ %(cutoff)s and %(n_negative)s below "
                                      "(at least %(least)s of each needed)",
                                      "%(n_positive)s pairs with PHQ-9 ≥ %(cutoff)s and %(n_negative)s below "
                                      "(at least %(least)s of each needed)", n_pos, n_positive=n_pos, cutoff=cutoff,
                                      n_negative=n_neg, least=MIN_PER_CLASS), data)
    return None


def _auc(y: np.ndarray, s: np.ndarray, w: np.ndarray | None = None,
         groups: tuple[np.ndarray, int] | None = None) -> float:
    """Weighted ROC AUC as the weighted Mann-Whitney statistic (ties count one half), equal to
    :func:`sklearn.metrics.roc_auc_score` with ``sample_weight``, without its per-call checks
    (the patient bootstrap calls it thousands of times). ``groups`` is ``(rank of each score among the
    distinct scores, number of distinct scores)``, computed once per bootstrap."""
    w = np.ones(len(y)) if w is None else w
    if groups is None:
        ranks = np.unique(s, return_inverse=True)[1]
        groups = (ranks, int(ranks.max()) + 1 if len(ranks) else 0)
    ranks, n_groups = groups
    positive = np.bincount(ranks, weights=w * y, minlength=n_groups)
    negative = np.bincount(ranks, weights=w * ~y, minlength=n_groups)
    total_pos, total_neg = positive.sum(), negative.sum()
    if total_pos == 0 or total_neg == 0:
        return float("nan")  # a resample with one class only: skipped, and counted
    below = np.cumsum(negative) - negative
    return float(np.dot(positive, below + negative / 2) / (total_pos * total_neg))


def screening_accuracy(
    pairs: pd.DataFrame,
    *,
    cutoff: int = SCREENING_CUTOFF,
    threshold: float = 0.5,
    n_bootstrap: int = 2000,
    seed: int | None = 0,
    confidence: float = CONFIDENCE,
    score: str = "prob_ge10",
) -> dict[str, Any]:
    """AUC of ``score`` for PHQ-9 >= ``cutoff`` with a patient-bootstrap interval; sensitivity and
    specificity of ``score >= threshold`` with Wilson intervals (which treat pairs as independent,
    so with several pairs per patient they are somewhat too narrow); the ROC curve."""
    data = _scored(pairs, score, cutoff)
    short = _short(data, cutoff)
    if short:
        return short
    y, s = data["positive"].to_numpy(), data[score].to_numpy(float)
    ranks = np.unique(s, return_inverse=True)[1]
    groups = (ranks, int(ranks.max()) + 1)
    boot = np.array([_auc(y, s, w, groups) for w in _cluster_weights(data["code"].to_numpy(), n_bootstrap, seed)])
    called = s >= threshold
    fpr, tpr, thresholds = roc_curve(y, s, drop_intermediate=False)
    return {
        "status": "ok",
        **_counts(data),
        "cutoff": cutoff,
        "threshold": threshold,
        "n_positive": int(y.sum()),
        "n_negative": int((~y).sum()),
        "auc": _auc(y, s),
        "auc_ci95": _percentile_ci(boot, confidence),
        "n_bootstrap": int(n_bootstrap),
        "n_bootstrap_used": int(np.isfinite(boot).sum()),
        "sensitivity": _rate(int((called & y).sum()), int(y.sum()), confidence),
        "specificity": _rate(int((~called & ~y).sum()), int((~y).sum()), confidence),
        "roc": {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": thresholds.tolist()},
    }


def _reliability(y: np.ndarray, p: np.ndarray, n_bins: int) -> list[dict[str, float]]:
    # The binning of sklearn.calibration.calibration_curve(strategy="uniform"), with each bin's n.
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.searchsorted(edges[1:-1], p)
    return [{"bin_low": float(edges[b]), "bin_high": float(edges[b + 1]),
             "mean_predicted": float(p[bins == b].mean()), "observed_fraction": float(y[bins == b].mean()),
             "n": int((bins == b).sum())} for b in np.unique(bins)]


def _logistic_recalibration(data: pd.DataFrame, y: np.ndarray, p: np.ndarray,
                            confidence: float) -> dict[str, Any]:
    """Calibration slope (logit(y) ~ logit(p)) and intercept (calibration-in-the-large, slope fixed at 1),
    with intervals from patient-clustered standard errors (statsmodels GLM)."""
    import statsmodels.api as sm  # loaded for a report, not with the module

    eps = 1e-6
    lp = np.log(np.clip(p, eps, 1 - eps) / (1 - np.clip(p, eps, 1 - eps)))
    fit_kwargs = {"cov_type": "cluster", "cov_kwds": {"groups": data["code"].to_numpy()}}
    alpha = 1 - confidence
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slope_fit = sm.GLM(y, sm.add_constant(lp), family=sm.families.Binomial()).fit(**fit_kwargs)
        large_fit = sm.GLM(y, np.ones((len(y), 1)), family=sm.families.Binomial(), offset=lp).fit(**fit_kwargs)
    slope_ci = slope_fit.conf_int(alpha)[1]
    intercept_ci = large_fit.conf_int(alpha)[0]
    return {
        "slope": {"estimate": float(slope_fit.params[1]), "ci95": [float(v) for v in slope_ci],
                  "ideal": 1.0},
        "intercept": {"estimate": float(large_fit.params[0]), "ci95": [float(v) for v in intercept_ci],
                      "ideal": 0.0},
    }


def calibration(
    pairs: pd.DataFrame,
    *,
    cutoff: int = SCREENING_CUTOFF,
    n_bins: int = 10,
    n_bootstrap: int = 2000,
    seed: int | None = 0,
    confidence: float = CONFIDENCE,
    score: str = "prob_ge10",
) -> dict[str, Any]:
    """Brier score (patient-bootstrap interval), calibration slope and intercept by logistic
    recalibration, and a reliability curve over ``n_bins`` equal-width bins (empty bins left out)."""
    data = _scored(pairs, score, cutoff)
    short = _short(data, cutoff)
    if short:
        return short
    y, p = data["positive"].to_numpy(float), data[score].to_numpy(float)
    if p.min() < 0 or p.max() > 1:
        return _insufficient(gettext_noop("%(score)s has values outside 0-1", score=score), data)
    boot = np.array([brier_score_loss(y, p, sample_weight=w)
                     for w in _cluster_weights(data["code"].to_numpy(), n_bootstrap, seed)])
    return {
        "status": "ok",
        **_counts(data),
        "cutoff": cutoff,
        "brier": float(brier_score_loss(y, p)),
        "brier_ci95": _percentile_ci(boot, confidence),
        "n_bootstrap": int(n_bootstrap),
        **_logistic_recalibration(data, y, p, confidence),
        "reliability": _reliability(y, p, n_bins),
    }


def decision_curve(pairs: pd.DataFrame, *, cutoff: int = SCREENING_CUTOFF, score: str = "prob_ge10",
                   thresholds: tuple[float, ...] = DECISION_THRESHOLDS) -> dict[str, Any]:
    """Net benefit of acting on ``score >= t`` against acting on everyone (Vickers & Elkin 2006).

    ``net_benefit = TP/n - FP/n * t/(1-t)``; ``net_benefit_all = prevalence - (1 - prevalence) * t/(1-t)``;
    acting on no one is 0.
    """
    data = _scored(pairs, score, cutoff)
    short = _short(data, cutoff)
    if short:
        return short
    y, s, n = data["positive"].to_numpy(), data[score].to_numpy(float), len(data)
    prevalence = float(y.mean())
    rows = []
    for t in thresholds:
        odds = t / (1 - t)
        called = s >= t
        rows.append({"threshold": float(t),
                     "net_benefit": float((called & y).sum() / n - (called & ~y).sum() / n * odds),
                     "net_benefit_all": prevalence - (1 - prevalence) * odds})
    return {"status": "ok", **_counts(data), "cutoff": cutoff, "prevalence": prevalence, "curve": rows}


def three_way(pairs: pd.DataFrame, *, cutoff: int = SCREENING_CUTOFF, score: str = "prob_ge10",
              target: float = 0.9, confidence: float = CONFIDENCE) -> dict[str, Any]:
    """Low / indeterminate / high bands of ``score`` and how many pairs fall in each.

    "low" is below the highest threshold that keeps sensitivity >= ``target`` (few cases
    are called low), "high" from the lowest threshold with specificity >= ``target``;
    between them the score does not decide. ``sensitivity`` is the share of PHQ-9 >=
    cut-off not called low, ``specificity`` the share below it not called high.
    """
    data = _scored(pairs, score, cutoff)
    short = _short(data, cutoff)
    if short:
        return short
    y, s = data["positive"].to_numpy(), data[score].to_numpy(float)
    levels = np.unique(s)
    sensitivity = np.array([(s[y] >= t).mean() for t in levels])
    specificity = np.array([(s[~y] < t).mean() for t in levels])
    low_edge = float(levels[sensitivity >= target].max())
    high_candidates = levels[specificity >= target]
    high_edge = float(high_candidates.min()) if len(high_candidates) else float("inf")
    high_edge = max(high_edge, low_edge)
    band = np.where(s < low_edge, "low", np.where(s >= high_edge, "high", "indeterminate"))
    out: dict[str, Any] = {"status": "ok", **_counts(data), "cutoff": cutoff, "target": target,
                           "low_below": low_edge, "high_from": None if np.isinf(high_edge) else high_edge}
    for name in ("low", "indeterminate", "high"):
        inside = band == name
        out[name] = {"n": int(inside.sum()), "n_positive": int((inside & y).sum()),
                     "fraction": float(inside.mean())}
    out["sensitivity"] = _rate(int((band[y] != "low").sum()), int(y.sum()), confidence)
    out["specificity"] = _rate(int((band[~y] != "high").sum()), int((~y).sum()), confidence)
    return out
