"""Depression risk from voice deviation: predicted PHQ-9, interval, P(PHQ-9 >= 10).

The model is linear and Gaussian::

    PHQ-9 = intercept + sum_f beta_f * z_f + u_patient + e,
    u_patient ~ N(0, tau2),  e ~ N(0, sigma2)

where ``z_f`` are the signed deviations from the patient's own baseline (see
:mod:`screening.scoring.deviation`). It is personalised twice: inputs are deviations
from the patient's own normal, and ``u_patient`` is estimated from the patient's own
PHQ-9 history by empirical-Bayes shrinkage (none -> the population model).

Until :func:`fit_population_model` has been run on the clinic's paired data, the
documented :data:`PRIOR_MODEL` is used and every prediction says ``calibrated=False``.
Pure Python / NumPy / pandas / statsmodels: no Django.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from screening.scoring.deviation import DEPRESSION_DIRECTIONS, DIRECTIONAL_FEATURES, Deviation

__all__ = [
    "PHQ9_MAX",
    "PHQ9_CUTOFF",
    "RiskModel",
    "PRIOR_MODEL",
    "PatientCalibration",
    "Driver",
    "RiskPrediction",
    "FitResult",
    "patient_calibration",
    "population_phq9",
    "phq9_residuals",
    "Calibrations",
    "predict_risk",
    "predict_frame",
    "pair_phq9_with_voice",
    "repeated_measures_corr",
    "mean_within_patient_corr",
    "fit_population_model",
]

PHQ9_MAX = 27
#: The usual screening cut-off; P(PHQ-9 >= 10) uses 9.5 (totals are integers).
PHQ9_CUTOFF = 10


@dataclass(frozen=True)
class RiskModel:
    """A versioned, JSON-serialisable risk model.

    Attributes
    ----------
    version : str
        Stored with every prediction.
    kind : str
        ``"prior"`` (literature, uncalibrated) or ``"mixedlm"`` (fitted).
    intercept : float
        PHQ-9 points at baseline voice (all z = 0) for an average patient.
    coefficients : dict
        Feature -> PHQ-9 points per unit signed z.
    tau2 : float
        Between-patient variance of the random intercept, points^2.
    sigma2 : float
        Residual (within-patient) variance, points^2.
    fitted_at : datetime or None
    n_observations, n_patients : int
        Training size (0 for the prior).
    cv_metrics : dict
        Patient-grouped cross-validation metrics of the fit.
    """

    version: str
    kind: str
    intercept: float
    coefficients: Mapping[str, float]
    tau2: float
    sigma2: float
    fitted_at: datetime | None = None
    n_observations: int = 0
    n_patients: int = 0
    cv_metrics: Mapping[str, float] = field(default_factory=dict)

    @property
    def calibrated(self) -> bool:
        return self.kind != "prior"

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(self.coefficients)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "kind": self.kind,
            "intercept": self.intercept,
            "coefficients": dict(self.coefficients),
            "tau2": self.tau2,
            "sigma2": self.sigma2,
            "fitted_at": None if self.fitted_at is None else self.fitted_at.isoformat(),
            "n_observations": self.n_observations,
            "n_patients": self.n_patients,
            "cv_metrics": {k: _none_if_nan(v) for k, v in self.cv_metrics.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RiskModel:
        fitted_at = data.get("fitted_at")
        return cls(
            version=str(data["version"]),
            kind=str(data["kind"]),
            intercept=float(data["intercept"]),
            coefficients={k: float(v) for k, v in data["coefficients"].items()},
            tau2=float(data["tau2"]),
            sigma2=float(data["sigma2"]),
            fitted_at=None if fitted_at is None else datetime.fromisoformat(fitted_at),
            n_observations=int(data.get("n_observations", 0)),
            n_patients=int(data.get("n_patients", 0)),
            cv_metrics={k: (math.nan if v is None else float(v))
                        for k, v in data.get("cv_metrics", {}).items()},
        )

    @classmethod
    def from_json(cls, text: str) -> RiskModel:
        return cls.from_dict(json.loads(text))


def _none_if_nan(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _prior_model() -> RiskModel:
    """The literature prior (docs/screening.md, "Prior model").

    A uniform 1-SD move of every feature in the depression direction (composite = 1)
    is worth ``PRIOR_POINTS_PER_COMPOSITE_SD`` PHQ-9 points, shared between features
    in proportion to their published |r|.
    """
    total_weight = sum(d.weight for d in DEPRESSION_DIRECTIONS.values())
    coefficients = {
        key: round(PRIOR_POINTS_PER_COMPOSITE_SD * d.weight / total_weight, 6)
        for key, d in DEPRESSION_DIRECTIONS.items()
    }
    return RiskModel(
        version="prior-2025.1",
        kind="prior",
        intercept=PRIOR_INTERCEPT,
        coefficients=coefficients,
        tau2=PRIOR_TAU**2,
        sigma2=PRIOR_SIGMA**2,
    )


#: Mean PHQ-9 of patients in outpatient depression monitoring at their usual voice.
PRIOR_INTERCEPT = 8.0
#: PHQ-9 points for composite = 1: within-person PHQ-9 SD (~4 points) x composite r (~0.4)
#: / composite SD (~0.55 for features inter-correlated at ~0.3) ~= 3.
PRIOR_POINTS_PER_COMPOSITE_SD = 3.0
#: Between-patient SD of PHQ-9 level (points).
PRIOR_TAU = 5.0
#: Within-patient SD of PHQ-9 not explained by voice (points).
PRIOR_SIGMA = 3.5

PRIOR_MODEL: RiskModel = _prior_model()


@dataclass(frozen=True)
class PatientCalibration:
    """Empirical-Bayes estimate of one patient's offset from the population model.

    ``offset = shrinkage * mean_residual`` with
    ``shrinkage = n * tau2 / (n * tau2 + sigma2)``; ``variance`` is the posterior
    variance ``tau2 * sigma2 / (n * tau2 + sigma2)`` (= tau2 with n = 0).
    """

    offset: float
    variance: float
    n: int
    shrinkage: float

    def to_dict(self) -> dict[str, Any]:
        return {"offset": self.offset, "variance": self.variance, "n": self.n,
                "shrinkage": self.shrinkage}


def patient_calibration(
    residuals: Sequence[float], *, model: RiskModel
) -> PatientCalibration:
    """Shrink the mean residual of a patient's PHQ-9s toward the population.

    Parameters
    ----------
    residuals : sequence of float
        ``observed PHQ-9 - population prediction`` (points) for each of the patient's
        PHQ-9s with voice data; NaN entries are ignored.
    model : RiskModel
        Supplies ``tau2`` and ``sigma2``.

    Returns
    -------
    PatientCalibration
        Offset 0 and variance ``tau2`` when there is no residual.
    """
    r = np.asarray(residuals, dtype=float)
    r = r[np.isfinite(r)]
    n = int(r.size)
    denominator = n * model.tau2 + model.sigma2
    shrinkage = n * model.tau2 / denominator if denominator > 0 else 0.0
    offset = shrinkage * float(r.mean()) if n else 0.0
    variance = model.tau2 * model.sigma2 / denominator if denominator > 0 else 0.0
    return PatientCalibration(offset=offset, variance=variance, n=n, shrinkage=shrinkage)


def population_phq9(z: Mapping[str, float], *, model: RiskModel) -> float:
    """The population model's PHQ-9 for one set of signed z's: no personal offset, on the 0-27 scale."""
    coefficients = np.array(list(model.coefficients.values()))
    return _clip_phq9(model.intercept + float(_model_inputs(z, model.features) @ coefficients))


def phq9_residuals(
    phq9: Sequence[tuple[datetime, float]],
    population: Sequence[tuple[datetime, float]],
    *,
    window_days: float = 14.0,
) -> list[tuple[datetime, float]]:
    """Each PHQ-9 total minus the mean population PHQ-9 of the recordings in its window.

    Parameters
    ----------
    phq9 : sequence of (answered_at, total)
    population : sequence of (recorded_at, population PHQ-9), one per recording
    window_days : float
        The window ``(answered_at - window_days, answered_at]`` the PHQ-9 asks about.

    Returns
    -------
    list of (answered_at, residual)
        Only PHQ-9s with at least one recording in their window, in the given order.
    """
    window = timedelta(days=window_days)
    residuals = []
    for answered_at, total in phq9:
        inside = [value for t, value in population if answered_at - window < t <= answered_at]
        if inside:
            residuals.append((answered_at, total - sum(inside) / len(inside)))
    return residuals


class Calibrations:
    """A patient's offset as of any time, from the PHQ-9 residuals answered up to then.

    ``residuals`` must be in time order; :meth:`at` is prospective: a score made at
    ``when`` uses only PHQ-9s answered at or before ``when``.
    """

    def __init__(self, residuals: Sequence[tuple[datetime, float]], model: RiskModel) -> None:
        self.times = [t for t, _ in residuals]
        values = [r for _, r in residuals]
        self.by_count = [patient_calibration(values[:k], model=model) for k in range(len(values) + 1)]

    def at(self, when: datetime) -> PatientCalibration:
        return self.by_count[bisect_right(self.times, when)]


@dataclass(frozen=True)
class Driver:
    """One feature's contribution to a prediction, with a sentence for clinicians."""

    feature: str
    z: float
    contribution: float
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "z": self.z, "contribution": self.contribution,
                "text": self.text}


@dataclass(frozen=True)
class RiskPrediction:
    """Predicted PHQ-9 (points, 0-27), its interval, P(PHQ-9 >= 10) and drivers."""

    predicted_phq9: float
    interval_low: float
    interval_high: float
    interval_level: float
    p_phq9_ge10: float
    drivers: tuple[Driver, ...]
    calibrated: bool
    model_version: str
    personal_offset: float
    n_phq9: int
    n_recordings: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "predicted_phq9": self.predicted_phq9,
            "interval": [self.interval_low, self.interval_high],
            "interval_level": self.interval_level,
            "p_phq9_ge10": self.p_phq9_ge10,
            "drivers": [d.to_dict() for d in self.drivers],
            "calibrated": self.calibrated,
            "model_version": self.model_version,
            "personal_offset": self.personal_offset,
            "n_phq9": self.n_phq9,
            "n_recordings": self.n_recordings,
        }


def _model_inputs(z: Mapping[str, float], features: Sequence[str]) -> np.ndarray:
    # A missing feature is treated as "at baseline" (z = 0): it adds nothing.
    x = np.array([z.get(k, math.nan) for k in features], dtype=float)
    return np.where(np.isfinite(x), x, 0.0)


def _driver_text(feature: str, z: float) -> str:
    direction = DEPRESSION_DIRECTIONS.get(feature)
    if direction is None:
        return f"{feature} changed (z = {z:.1f})"
    phrase = direction.phrase if z >= 0 else direction.opposite
    return f"{phrase} than usual (z = {abs(z):.1f})"


def _drivers(z: Mapping[str, float], model: RiskModel, top: int) -> tuple[Driver, ...]:
    x = _model_inputs(z, model.features)
    contributions = x * np.array(list(model.coefficients.values()))
    order = np.argsort(-np.abs(contributions), kind="stable")
    return tuple(
        Driver(model.features[i], float(x[i]), float(contributions[i]),
               _driver_text(model.features[i], float(x[i])))
        for i in order[:top] if abs(contributions[i]) > 0.05
    )


def predict_risk(
    deviation: Deviation,
    *,
    model: RiskModel = PRIOR_MODEL,
    calibration: PatientCalibration | None = None,
    interval_level: float = 0.8,
    n_drivers: int = 3,
) -> RiskPrediction:
    """Predict PHQ-9 for one recording or an aggregate of recordings.

    Parameters
    ----------
    deviation : Deviation
        From :func:`deviation_from_baseline` or :func:`aggregate_deviations`.
    model : RiskModel
        Fitted model, or the prior.
    calibration : PatientCalibration, optional
        The patient's offset; None means no PHQ-9 history (population model).
    interval_level : float
        Coverage of the prediction interval (0-1).
    n_drivers : int
        How many drivers to report (largest absolute contributions).

    Returns
    -------
    RiskPrediction
        The interval includes between-patient uncertainty left after calibration,
        and is clipped to the 0-27 scale like the prediction itself.
    """
    calibration = calibration or patient_calibration([], model=model)
    x = _model_inputs(deviation.z, model.features)
    mean = model.intercept + float(x @ np.array(list(model.coefficients.values())))
    mean += calibration.offset
    sd = math.sqrt(model.sigma2 + calibration.variance)
    half = stats.norm.ppf(0.5 + interval_level / 2) * sd
    return RiskPrediction(
        predicted_phq9=_clip_phq9(mean),
        interval_low=_clip_phq9(mean - half),
        interval_high=_clip_phq9(mean + half),
        interval_level=interval_level,
        p_phq9_ge10=float(stats.norm.sf(PHQ9_CUTOFF - 0.5, loc=mean, scale=sd)),
        drivers=_drivers(deviation.z, model, n_drivers),
        calibrated=model.calibrated,
        model_version=model.version,
        personal_offset=calibration.offset,
        n_phq9=calibration.n,
        n_recordings=deviation.n_recordings,
    )


def _clip_phq9(value: float) -> float:
    return float(min(max(value, 0.0), PHQ9_MAX))


def predict_frame(
    model: RiskModel,
    z: pd.DataFrame,
    *,
    offsets: pd.Series | np.ndarray | None = None,
    offset_variances: pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """Vectorised :func:`predict_risk` for many rows (nightly batch, evaluation).

    Parameters
    ----------
    model : RiskModel
    z : DataFrame
        One row per recording/aggregate; columns include ``model.features``
        (signed z, NaN -> 0). Missing columns count as 0.
    offsets, offset_variances : array-like, optional
        Per-row patient offset and its variance (default 0 and ``tau2``).

    Returns
    -------
    DataFrame
        ``predicted_phq9`` (clipped 0-27), ``raw_prediction`` (unclipped) and
        ``p_phq9_ge10``, indexed like ``z``.
    """
    x = z.reindex(columns=list(model.features)).to_numpy(dtype=float)
    x = np.where(np.isfinite(x), x, 0.0)
    mean = model.intercept + x @ np.array(list(model.coefficients.values()))
    mean = mean + (0.0 if offsets is None else np.asarray(offsets, dtype=float))
    variance = model.tau2 if offset_variances is None else np.asarray(offset_variances)
    sd = np.sqrt(model.sigma2 + variance)
    return pd.DataFrame(
        {
            "predicted_phq9": np.clip(mean, 0, PHQ9_MAX),
            "raw_prediction": mean,
            "p_phq9_ge10": stats.norm.sf(PHQ9_CUTOFF - 0.5, loc=mean, scale=sd),
        },
        index=z.index,
    )


def pair_phq9_with_voice(
    scores: pd.DataFrame,
    phq9: pd.DataFrame,
    *,
    columns: Sequence[str],
    window_days: float = 14.0,
    time_col: str = "recorded_at",
    phq9_time_col: str = "answered_at",
) -> pd.DataFrame:
    """Pair each PHQ-9 with the mean voice values of the ``window_days`` before it.

    PHQ-9 asks about the last two weeks, so its voice counterpart is the aggregate of
    that patient's recordings in ``(answered_at - window_days, answered_at]``.

    Parameters
    ----------
    scores : DataFrame
        One row per recording: ``patient_id``, ``time_col`` and ``columns``.
    phq9 : DataFrame
        One row per PHQ-9: ``patient_id``, ``phq9_time_col`` and any other columns
        (kept).
    columns : sequence of str
        Voice columns to average (NaN-aware).

    Returns
    -------
    DataFrame
        The PHQ-9 rows that have at least one recording in their window, with the
        averaged ``columns`` and ``n_recordings``.
    """
    left = phq9.reset_index(drop=True).rename_axis("_phq9_row").reset_index()
    merged = left[["_phq9_row", "patient_id", phq9_time_col]].merge(
        scores[["patient_id", time_col, *columns]], on="patient_id")
    delta = merged[phq9_time_col] - merged[time_col]
    inside = (delta >= pd.Timedelta(0)) & (delta < pd.Timedelta(days=window_days))
    grouped = merged.loc[inside].groupby("_phq9_row")
    voice = grouped[list(columns)].mean()
    voice["n_recordings"] = grouped.size()
    return left.drop(columns=[c for c in columns if c in left]).merge(
        voice, left_on="_phq9_row", right_index=True).drop(columns="_phq9_row")


def repeated_measures_corr(
    df: pd.DataFrame, *, x: str, y: str, group: str = "patient_id"
) -> float:
    """Repeated-measures correlation (Bakdash & Marusich 2017): within-patient r.

    The correlation of ``x`` and ``y`` after removing each patient's means; patients
    with fewer than two rows contribute nothing.
    """
    d = df[[x, y, group]].dropna()
    d = d[d.groupby(group)[x].transform("size") >= 2]
    dx = d[x] - d.groupby(group)[x].transform("mean")
    dy = d[y] - d.groupby(group)[y].transform("mean")
    denominator = math.sqrt(float((dx**2).sum() * (dy**2).sum()))
    return float((dx * dy).sum() / denominator) if denominator > 0 else math.nan


def mean_within_patient_corr(
    df: pd.DataFrame, *, x: str, y: str, group: str = "patient_id", min_n: int = 3
) -> float:
    """Mean over patients of the Pearson r between ``x`` and ``y`` (Fisher-z averaged).

    Patients with fewer than ``min_n`` rows or no variation are skipped.
    """
    rs = []
    for _, g in df[[x, y, group]].dropna().groupby(group):
        if len(g) >= min_n and g[x].std() > 0 and g[y].std() > 0:
            rs.append(np.corrcoef(g[x], g[y])[0, 1])
    if not rs:
        return math.nan
    return float(np.tanh(np.mean(np.arctanh(np.clip(rs, -0.999, 0.999)))))


@dataclass(frozen=True)
class FitResult:
    """A fitted model, its out-of-fold predictions and cross-validation metrics."""

    model: RiskModel
    oof: pd.DataFrame
    cv_metrics: Mapping[str, float]


def _fit_mixedlm(df: pd.DataFrame, features: Sequence[str], target: str,
                 group: str) -> tuple[float, dict[str, float], float, float]:
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    x = df.reindex(columns=list(features)).to_numpy(dtype=float)
    x = sm.add_constant(np.where(np.isfinite(x), x, 0.0), has_constant="add")
    with warnings.catch_warnings():
        # A boundary tau2 = 0 is a legitimate answer for a small clinic; keep it.
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = sm.MixedLM(df[target].to_numpy(dtype=float), x,
                            groups=df[group].to_numpy()).fit(reml=True)
    params = np.asarray(result.fe_params, dtype=float)
    tau2 = float(np.asarray(result.cov_re).ravel()[0])
    return float(params[0]), dict(zip(features, map(float, params[1:]))), tau2, float(
        result.scale)


def _cv_metrics(oof: pd.DataFrame, *, target: str, group: str) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    error = oof["oof_prediction"] - oof[target]
    positive = oof[target] >= PHQ9_CUTOFF
    auc = (float(roc_auc_score(positive, oof["oof_p_ge10"]))
           if positive.nunique() == 2 else math.nan)
    means = oof.groupby(group)[[target, "oof_prediction"]].mean()
    between = (float(np.corrcoef(means[target], means["oof_prediction"])[0, 1])
               if len(means) > 2 else math.nan)
    return {
        "mae": float(error.abs().mean()),
        "rmse": float(np.sqrt((error**2).mean())),
        "auc_phq9_ge10": auc,
        "rm_corr": repeated_measures_corr(oof, x="oof_prediction", y=target, group=group),
        "mean_within_patient_r": mean_within_patient_corr(
            oof, x="oof_prediction", y=target, group=group),
        "between_patient_r": between,
    }


def fit_population_model(
    df: pd.DataFrame,
    *,
    features: Sequence[str] = DIRECTIONAL_FEATURES,
    target: str = "phq9_total",
    group: str = "patient_id",
    n_splits: int = 5,
    fitted_at: datetime | None = None,
    version: str | None = None,
) -> FitResult:
    """Fit the population part: MixedLM of PHQ-9 on signed z's + patient intercept.

    Parameters
    ----------
    df : DataFrame
        One row per PHQ-9 paired with its 14-day voice aggregate (see
        :func:`pair_phq9_with_voice`): ``group``, ``target`` and ``features``.
    features : sequence of str
        Model inputs (signed z; NaN -> 0).
    n_splits : int
        GroupKFold folds; folds split by patient so no patient is in both the
        training and the evaluation part.
    fitted_at : datetime, optional
        Defaults to now (UTC).
    version : str, optional
        Defaults to ``"mixedlm-<timestamp>-<hash of coefficients>"``.

    Returns
    -------
    FitResult
        The model fitted on all rows; out-of-fold population predictions (no patient
        offset, as for a new patient); and the CV metrics (also stored in the model).
    """
    from sklearn.model_selection import GroupKFold

    df = df.dropna(subset=[target]).reset_index(drop=True)
    n_groups = df[group].nunique()
    oof = df[[group, target]].copy()
    oof["oof_prediction"] = np.nan
    oof["oof_p_ge10"] = np.nan
    for train, test in GroupKFold(n_splits=min(n_splits, n_groups)).split(
            df, groups=df[group]):
        intercept, coefs, tau2, sigma2 = _fit_mixedlm(df.iloc[train], features, target,
                                                      group)
        fold_model = RiskModel("cv", "mixedlm", intercept, coefs, tau2, sigma2)
        pred = predict_frame(fold_model, df.iloc[test])
        oof.loc[oof.index[test], "oof_prediction"] = pred["raw_prediction"].to_numpy()
        oof.loc[oof.index[test], "oof_p_ge10"] = pred["p_phq9_ge10"].to_numpy()
    metrics = _cv_metrics(oof, target=target, group=group)
    intercept, coefs, tau2, sigma2 = _fit_mixedlm(df, features, target, group)
    fitted_at = fitted_at or datetime.now(UTC)
    if version is None:
        digest = hashlib.sha256(json.dumps([intercept, coefs, tau2, sigma2],
                                           sort_keys=True).encode()).hexdigest()[:8]
        version = f"mixedlm-{fitted_at:%Y%m%dT%H%M%S}-{digest}"
    model = RiskModel(version=version, kind="mixedlm", intercept=intercept,
                      coefficients=coefs, tau2=tau2, sigma2=sigma2, fitted_at=fitted_at,
                      n_observations=len(df), n_patients=int(n_groups), cv_metrics=metrics)
    return FitResult(model=model, oof=oof, cv_metrics=metrics)
