"""The risk model and its predictions: predicted PHQ-9, interval, P(PHQ-9 >= 10).

The model is linear and Gaussian::

    PHQ-9 = intercept + sum_f beta_f * z_f + u_patient + e,
    u_patient ~ N(0, tau2),  e ~ N(0, sigma2)

where ``z_f`` are the signed deviations from the patient's own baseline (see
:mod:`screening.risk_model.deviation`). It is personalised twice: inputs are deviations
from the patient's own normal, and ``u_patient`` (the patient's personal level) is
estimated from the patient's own PHQ-9 history by empirical-Bayes shrinkage
(:mod:`screening.risk_model.calibration`; none -> the population model).

Until a model has been fitted (:mod:`screening.risk_model.fitting`) on the clinic's paired
data, the documented :data:`PRIOR_MODEL` is used and every prediction says
``calibrated=False``. Pure Python / NumPy / pandas: no Django.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import special, stats

from clinic.phq9 import MAX_TOTAL as PHQ9_MAX
from clinic.phq9 import SCREENING_CUTOFF as PHQ9_CUTOFF
from screening.numbers import nan_if_none, none_if_nan
from screening.risk_model.deviation import DEPRESSION_DIRECTIONS, Deviation

if TYPE_CHECKING:
    from screening.risk_model.calibration import PatientCalibration

__all__ = [
    "RiskModel",
    "PRIOR_MODEL",
    "MODEL_Z_CLIP",
    "PRIOR_POINTS_PER_COMPOSITE_SD",
    "Driver",
    "RiskPrediction",
    "linear_predictor",
    "population_phq9",
    "predict_risk",
    "predict_frame",
    "PredictiveNumbers",
    "predictive_numbers",
    "unclipped_population",
]


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
            "cv_metrics": {k: none_if_nan(v) for k, v in self.cv_metrics.items()},
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
            cv_metrics={k: nan_if_none(v) for k, v in data.get("cv_metrics", {}).items()},
        )

    @classmethod
    def from_json(cls, text: str) -> RiskModel:
        return cls.from_dict(json.loads(text))


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
        version="prior-2026.1",
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


def linear_predictor(z: Mapping[str, float], *, model: RiskModel) -> float:
    """The population model's unclipped linear predictor (``intercept + x @ beta``) for one set of signed z's: the
    input of :func:`predictive_numbers`."""
    return model.intercept + float(_model_inputs(z, _features(model)) @ _coefficients(model))


def population_phq9(z: Mapping[str, float], *, model: RiskModel) -> float:
    """The population model's PHQ-9 for one set of signed z's: no personal offset, on the 0-27 scale."""
    return _clip_phq9(linear_predictor(z, model=model))


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


_COEFFICIENTS: dict[int, tuple[RiskModel, tuple[str, ...], np.ndarray]] = {}


def _cached(model: RiskModel) -> tuple[RiskModel, tuple[str, ...], np.ndarray]:
    cached = _COEFFICIENTS.get(id(model))
    if cached is None or cached[0] is not model:
        array = np.array(list(model.coefficients.values()))
        array.flags.writeable = False
        if len(_COEFFICIENTS) > 64:
            _COEFFICIENTS.clear()
        cached = _COEFFICIENTS[id(model)] = (model, model.features, array)
    return cached


def _coefficients(model: RiskModel) -> np.ndarray:
    """The model's coefficients as an array, built once per model object (read-only)."""
    return _cached(model)[2]


def _features(model: RiskModel) -> tuple[str, ...]:
    """``model.features``, built once per model object: read for every prediction of a nightly run."""
    return _cached(model)[1]


#: Largest |z| the linear predictor takes (a winsorised input): a feature beyond 3 SDs of the patient's
#: baseline is more often a baseline whose spread five recordings underestimated, a cold or an artefact
#: than three times a 1-SD change of mood, and one such feature should not carry the estimate. The stored
#: and displayed z's keep :data:`screening.risk_model.deviation.Z_CLIP`. On the harder simulation this
#: raised the served curve's rm-corr with PHQ-9 on every seed (docs/screening.md, 2026-12-07).
MODEL_Z_CLIP = 3.0


def _model_inputs(z: Mapping[str, float], features: Sequence[str], *, clip: bool = True) -> np.ndarray:
    # A missing feature is treated as "at baseline" (z = 0): it adds nothing.
    x = np.array([z.get(k, math.nan) for k in features], dtype=float)
    x = np.where(np.isfinite(x), x, 0.0)
    return np.clip(x, -MODEL_Z_CLIP, MODEL_Z_CLIP) if clip else x


def _driver_text(feature: str, z: float) -> str:
    direction = DEPRESSION_DIRECTIONS.get(feature)
    if direction is None:
        return f"{feature} changed (z = {z:.1f})"
    phrase = direction.phrase if z >= 0 else direction.opposite
    return f"{phrase} than usual (z = {abs(z):.1f})"


def _drivers(z: Mapping[str, float], model: RiskModel, top: int, x: np.ndarray | None = None) -> tuple[Driver, ...]:
    x = _model_inputs(z, _features(model)) if x is None else x
    contributions = x * _coefficients(model)
    order = np.argsort(-np.abs(contributions), kind="stable")[:top].tolist()
    # The contribution is the winsorised input's; the z reported is the recording's own.
    xs, cs = _model_inputs(z, _features(model), clip=False).tolist(), contributions.tolist()
    features = _features(model)
    return tuple(
        Driver(features[i], xs[i], cs[i], _driver_text(features[i], xs[i]))
        for i in order if abs(cs[i]) > 0.05
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
    x = _model_inputs(deviation.z, _features(model))
    numbers = predictive_numbers(model.intercept + float(x @ _coefficients(model)), model=model,
                                 calibration=calibration, interval_level=interval_level)
    return RiskPrediction(
        predicted_phq9=numbers.predicted_phq9,
        interval_low=numbers.interval_low,
        interval_high=numbers.interval_high,
        interval_level=interval_level,
        p_phq9_ge10=numbers.p_phq9_ge10,
        drivers=_drivers(deviation.z, model, n_drivers, x),
        calibrated=model.calibrated,
        model_version=model.version,
        personal_offset=numbers.personal_offset,
        n_phq9=numbers.n_phq9,
        n_recordings=deviation.n_recordings,
    )


@dataclass(frozen=True)
class PredictiveNumbers:
    """The numbers of a prediction that depend on the patient's level; the drivers do not."""

    predicted_phq9: float
    interval_low: float
    interval_high: float
    p_phq9_ge10: float
    personal_offset: float
    n_phq9: int


def predictive_numbers(
    linear: float,
    *,
    model: RiskModel,
    calibration: PatientCalibration | None = None,
    interval_level: float = 0.8,
) -> PredictiveNumbers:
    """Predicted PHQ-9, interval and P(PHQ-9 >= 10) from the population model's unclipped linear predictor
    (``intercept + x @ beta``) and the patient's level: what :func:`predict_risk` computes, in the same
    operations, so that a stored score whose level changed is re-predicted from its stored population PHQ-9
    (where that was not clipped) to the same floats a full prediction gives."""
    offset, variance = (0.0, model.tau2) if calibration is None else (calibration.offset,
                                                                      calibration.variance)
    mean = linear + offset
    sd = math.sqrt(model.sigma2 + variance)
    half = _normal_quantile(0.5 + interval_level / 2) * sd
    return PredictiveNumbers(
        predicted_phq9=_clip_phq9(mean),
        interval_low=_clip_phq9(mean - half),
        interval_high=_clip_phq9(mean + half),
        p_phq9_ge10=_normal_sf((PHQ9_CUTOFF - 0.5 - mean) / sd),
        personal_offset=offset,
        n_phq9=0 if calibration is None else calibration.n,
    )


def unclipped_population(population: float | None) -> float | None:
    """A stored population PHQ-9 as the linear predictor it came from, or None where clipping to 0-27 may
    have changed it (then the prediction needs the deviations)."""
    return population if population is not None and 0.0 < population < PHQ9_MAX else None


@functools.lru_cache(maxsize=16)
def _normal_quantile(p: float) -> float:
    return float(stats.norm.ppf(p))


def _normal_sf(x: float) -> float:
    """Standard normal survival function of one number: scipy's ``norm.sf`` (``ndtr(-x)``) without
    its per-call array machinery, which cost ~0.1 ms a prediction (half a minute of a nightly run)."""
    return float(special.ndtr(-x))


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
        (signed z, NaN -> 0, winsorised at ±:data:`MODEL_Z_CLIP`). Missing columns count as 0.
    offsets, offset_variances : array-like, optional
        Per-row patient offset and its variance (default 0 and ``tau2``).

    Returns
    -------
    DataFrame
        ``predicted_phq9`` (clipped 0-27), ``raw_prediction`` (unclipped) and
        ``p_phq9_ge10``, indexed like ``z``.
    """
    x = z.reindex(columns=list(model.features)).to_numpy(dtype=float)
    x = np.clip(np.where(np.isfinite(x), x, 0.0), -MODEL_Z_CLIP, MODEL_Z_CLIP)
    mean = model.intercept + x @ _coefficients(model)
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
