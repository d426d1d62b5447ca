"""Fitting the population risk model and cross-validating it, split by patient.

One cross-validation helper (:func:`cross_validate`) serves the model fit and the
validation report; one evaluation (:func:`prospective_predictions`) scores held-out
PHQ-9s the way they were served at the time: population prediction plus the patient's
level from the PHQ-9s answered *before*, with that level's own posterior variance.
Pure pandas / statsmodels / scikit-learn / pingouin: no Django.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from screening.risk_model.calibration import patient_calibration
from screening.risk_model.deviation import DEPRESSION_DIRECTIONS, DIRECTIONAL_FEATURES
from screening.risk_model.model import PHQ9_CUTOFF, RiskModel, predict_frame
from screening.validation.stats import repeated_measures_correlation

__all__ = [
    "FitResult",
    "ModelNotBetter",
    "composite_weights",
    "fit_mixedlm",
    "group_folds",
    "prospective_predictions",
    "cross_validate",
    "repeated_measures_corr",
    "cv_metrics",
    "fit_population_model",
    "improvement_over",
]

TARGET = "phq9_total"
GROUP = "patient_id"


class ModelNotBetter(Exception):
    """A fitted model that would not improve on the active one is not activated."""


def group_folds(groups: pd.Series, n_splits: int = 5):
    """Patient-grouped folds (scikit-learn GroupKFold): no patient in train and test."""
    from sklearn.model_selection import GroupKFold  # loaded when fitting, not with the module

    n_groups = groups.nunique()
    if n_groups < 2:
        raise ValueError("cross-validation needs at least two patients")
    return GroupKFold(n_splits=min(n_splits, n_groups)).split(np.zeros(len(groups)), groups=groups)


def composite_weights(features: Sequence[str]) -> dict[str, float]:
    """The literature weights of the deviation index (|r|, :data:`DEPRESSION_DIRECTIONS`); 1 if unlisted."""
    return {key: (DEPRESSION_DIRECTIONS[key].weight if key in DEPRESSION_DIRECTIONS else 1.0) for key in features}


def fit_mixedlm(df: pd.DataFrame, features: Sequence[str] = DIRECTIONAL_FEATURES, *,
                weights: Mapping[str, float] | None = None, version: str = "cv",
                fitted_at: datetime | None = None) -> RiskModel:
    """REML MixedLM of PHQ-9 on the deviation index, its within-patient slope kept apart.

    ``PHQ-9 ~ index_within + index_between + (1 | patient)`` where ``index`` is the
    weighted mean of the signed z's (``weights``, default the literature |r|),
    ``index_between`` the patient's mean index and ``index_within`` the pair's departure
    from it. The served model uses the *within* slope, shared between features in
    proportion to their weights: one fitted slope instead of one per feature, because
    nine free coefficients on the few hundred PHQ-9s of a clinic are mostly noise (on
    simulated cohorts of 16 patients they cost a third of the within-patient signal),
    and the between-patient slope mixes who a patient is with how they change. The
    intercept is the population's mean level at baseline voice; tau2 and sigma2 are
    the MixedLM's variance components.
    """
    import statsmodels.api as sm  # loaded when fitting, not with the module
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    weights = dict(weights or composite_weights(features))
    total = sum(weights[key] for key in features)
    z = df.reindex(columns=list(features)).to_numpy(dtype=float)
    index = np.where(np.isfinite(z), z, 0.0) @ np.array([weights[key] for key in features]) / total
    between = pd.Series(index).groupby(df[GROUP].to_numpy()).transform("mean").to_numpy()
    x = sm.add_constant(np.column_stack([index - between, between]), has_constant="add")
    with warnings.catch_warnings():
        # A boundary tau2 = 0 is a legitimate answer for a small clinic; keep it.
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = sm.MixedLM(df[TARGET].to_numpy(dtype=float), x, groups=df[GROUP].to_numpy()).fit(reml=True)
    constant, slope, between_slope = (float(v) for v in np.asarray(result.fe_params, dtype=float))
    mean_between = float(np.mean(pd.Series(between).groupby(df[GROUP].to_numpy()).first()))
    return RiskModel(version=version, kind="mixedlm",
                     intercept=constant + (between_slope - slope) * mean_between,
                     coefficients={key: slope * weights[key] / total for key in features},
                     tau2=float(np.asarray(result.cov_re).ravel()[0]), sigma2=float(result.scale),
                     fitted_at=fitted_at, n_observations=len(df), n_patients=int(df[GROUP].nunique()))


def prospective_predictions(model: RiskModel, pairs: pd.DataFrame) -> pd.DataFrame:
    """Each PHQ-9's prediction as served just before it was answered.

    ``pairs`` has one row per PHQ-9 (``patient_id``, ``answered_at``, ``phq9_total`` and
    the window's mean signed z's). The patient's level comes from their earlier PHQ-9s
    only, with its own posterior variance (tau2 only for a patient's first PHQ-9).
    Returns ``oof_prediction`` (unclipped), ``oof_p_ge10``, ``n_phq9_before`` and
    ``oof_curve`` (the population prediction: the served curve up to the patient's one
    constant level, which no within-patient correlation depends on), indexed like ``pairs``.
    """
    population = predict_frame(model, pairs)["raw_prediction"]
    residual = pairs[TARGET] - population
    offsets = pd.Series(0.0, index=pairs.index)
    variances = pd.Series(model.tau2, index=pairs.index)
    n_before = pd.Series(0, index=pairs.index)
    for _, mine in pairs.sort_values([GROUP, "answered_at"], kind="stable").groupby(GROUP, sort=False):
        values = residual[mine.index].to_numpy()
        for k, index in enumerate(mine.index):
            calibration = patient_calibration(values[:k], model=model)
            offsets[index], variances[index], n_before[index] = (
                calibration.offset, calibration.variance, calibration.n)
    predicted = predict_frame(model, pairs, offsets=offsets, offset_variances=variances)
    return pd.DataFrame({"oof_prediction": predicted["raw_prediction"],
                         "oof_p_ge10": predicted["p_phq9_ge10"], "n_phq9_before": n_before,
                         "oof_curve": population}, index=pairs.index)


def cross_validate(pairs: pd.DataFrame, fit: Callable[[pd.DataFrame], RiskModel], *,
                   n_splits: int = 5) -> pd.DataFrame:
    """Out-of-fold :func:`prospective_predictions`, each fold's model fitted without its patients."""
    pairs = pairs.reset_index(drop=True)
    parts = [prospective_predictions(fit(pairs.iloc[train]), pairs.iloc[test])
             for train, test in group_folds(pairs[GROUP], n_splits)]
    return pairs[[GROUP, "answered_at", TARGET]].join(pd.concat(parts)).sort_index()


def repeated_measures_corr(df: pd.DataFrame, *, x: str, y: str, group: str = GROUP) -> float:
    """Within-patient correlation r (:func:`screening.validation.stats.repeated_measures_correlation`);
    NaN when there is too little data."""
    result = repeated_measures_correlation(df.rename(columns={group: "patient_id"}), x=x, y=y)
    return float(result["r"]) if result["status"] == "ok" else math.nan


def cv_metrics(oof: pd.DataFrame) -> dict[str, float]:
    """Error and AUC for PHQ-9 >= 10 of the prospective predictions; within/between-patient correlation."""
    # loaded when fitting, not with the module (not a cycle)
    from sklearn.metrics import mean_absolute_error, roc_auc_score, root_mean_squared_error

    positive = oof[TARGET] >= PHQ9_CUTOFF
    means = oof.groupby(GROUP)[[TARGET, "oof_prediction"]].mean()
    return {
        "mae": float(mean_absolute_error(oof[TARGET], oof["oof_prediction"])),
        "rmse": float(root_mean_squared_error(oof[TARGET], oof["oof_prediction"])),
        "auc_phq9_ge10": (float(roc_auc_score(positive, oof["oof_p_ge10"]))
                          if positive.nunique() == 2 else math.nan),
        # Within-patient tracking of the served curve (one level per patient, see
        # screening.risk_model.calibration); the prospective level's steps are in the errors.
        "rm_corr": repeated_measures_corr(oof, x="oof_curve", y=TARGET),
        "between_patient_r": (float(np.corrcoef(means[TARGET], means["oof_prediction"])[0, 1])
                              if len(means) > 2 else math.nan),
    }


@dataclass(frozen=True)
class FitResult:
    """A fitted model, its out-of-fold predictions and cross-validation metrics."""

    model: RiskModel
    oof: pd.DataFrame
    cv_metrics: Mapping[str, float]


def fit_population_model(
    df: pd.DataFrame,
    *,
    features: Sequence[str] = DIRECTIONAL_FEATURES,
    weights: Mapping[str, float] | None = None,
    n_splits: int = 5,
    fitted_at: datetime | None = None,
    version: str | None = None,
) -> FitResult:
    """Fit :func:`fit_mixedlm` on every pair and cross-validate it by patient.

    Parameters
    ----------
    df : DataFrame
        One row per PHQ-9 paired with its window's mean signed z's
        (:func:`screening.validation.pairing.pair_phq9_with_voice` with
        ``columns=DIRECTIONAL_FEATURES``): ``patient_id``, ``answered_at``,
        ``phq9_total`` and ``features``.
    weights : mapping, optional
        Feature weights of the index (default the literature |r|), see :func:`fit_mixedlm`.
    n_splits : int
        GroupKFold folds.
    fitted_at, version : optional
        Default to now (UTC) and ``"mixedlm-<timestamp>-<hash of coefficients>"``.
    """
    df = df.dropna(subset=[TARGET]).reset_index(drop=True)
    oof = cross_validate(df, lambda train: fit_mixedlm(train, features, weights=weights), n_splits=n_splits)
    metrics = cv_metrics(oof)
    fitted_at = fitted_at or datetime.now(UTC)
    full = fit_mixedlm(df, features, weights=weights, fitted_at=fitted_at)
    if version is None:
        digest = hashlib.sha256(json.dumps([full.intercept, dict(full.coefficients), full.tau2, full.sigma2],
                                           sort_keys=True).encode()).hexdigest()[:8]
        version = f"mixedlm-{fitted_at:%Y%m%dT%H%M%S}-{digest}"
    model = RiskModel(version=version, kind="mixedlm", intercept=full.intercept,
                      coefficients=full.coefficients, tau2=full.tau2, sigma2=full.sigma2, fitted_at=fitted_at,
                      n_observations=full.n_observations, n_patients=full.n_patients, cv_metrics=metrics)
    return FitResult(model=model, oof=oof, cv_metrics=metrics)


def improvement_over(result: FitResult, active: RiskModel, pairs: pd.DataFrame) -> dict[str, float]:
    """Compare a fit's out-of-fold MAE with the active model's MAE on the same PHQ-9s.

    The active model is scored as served (:func:`prospective_predictions`); if it was
    fitted on some of these patients its figure is optimistic, which only makes the
    comparison stricter. Raises :class:`ModelNotBetter` (saying why) unless the new
    model's error is lower.
    """
    pairs = pairs.dropna(subset=[TARGET]).reset_index(drop=True)
    active_oof = pairs[[GROUP, TARGET]].join(prospective_predictions(active, pairs))
    active_mae = cv_metrics(active_oof)["mae"]
    new_mae = float(result.cv_metrics["mae"])
    if not new_mae < active_mae:
        raise ModelNotBetter(
            f"the fitted model's out-of-fold mean absolute error ({new_mae:.2f} PHQ-9 points) is not lower "
            f"than the active model {active.version}'s ({active_mae:.2f}) on the same {len(pairs)} PHQ-9s; "
            "the active model stays in use.")
    return {"active_version": active.version, "active_mae": active_mae, "new_mae": new_mae}
