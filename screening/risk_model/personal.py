"""Reliability-weighted personal combination of the voice features (empirical Bayes).

The population model shares one slope between features in fixed proportions (the literature
|r|). Patients differ: one slows down when low, another pauses longer, a third's voice does not
move with mood at all. This module weighs each feature for *this* patient by

* how reliably it repeats (the clinic's test–retest ICC for the recording's task, the factor of
  :func:`screening.risk_model.deviation.reliability_weights`): an unreliable feature is a noisier
  measurement of the same change;
* how well it has tracked this patient's own PHQ-9s: its **loading** ``lambda`` (signed z per
  PHQ-9 point), estimated from the patient's PHQ-9 windows and **shrunk toward the population's
  loading** by a normal hierarchical model: ``lambda_p ~ N(mu, omega2)``, the patient's least-squares
  estimate ``lambda_hat ~ N(lambda_p, se2)``, posterior mean
  ``(lambda_hat / se2 + mu / omega2) / (1 / se2 + 1 / omega2)``. With few pairs ``se2`` is large and
  the population loading stands; a patient's residual variance is itself shrunk toward the
  population's (a scaled inverse-chi-square prior worth :data:`PRIOR_DOF` pairs), so three lucky
  points cannot make a feature look exact. ``mu`` and ``omega2`` are learnt across the clinic's
  patients (DerSimonian–Laird moments, :func:`fit_loading_prior`) or taken from the literature.

Severity then follows from the features as the best linear predictor of a one-factor model,
``z_f = lambda_f * s + e_f`` with ``var(e_f) = v_f / rho_f`` and ``var(s) = S``:
``s_hat = sum_f w_f z_f`` with ``w_f = (rho_f lambda_f / v_f) / (sum_g rho_g lambda_g^2 / v_g + 1 / S)``.
A feature whose loading shrinks to 0 drops out, and a patient whose voice does not move with mood
gets small weights everywhere: a flat voice score rather than noise.

The served model keeps the clinic's population model in charge of the scale: a patient's
coefficients are their weights times the factor that makes the population weights add up to the
model's coefficients (:func:`personalise_model`); a patient without usable PHQ-9 pairs gets the
population weights, which still differ from the model's fixed shares by the features' reliability
and the clinic's population loadings. The feature shares (:attr:`PersonalCombination.shares`) say how much of the score rests on
which feature. Pure Python / NumPy / pandas: no Django.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from screening.risk_model.deviation import DEPRESSION_DIRECTIONS, DIRECTIONAL_FEATURES
from screening.risk_model.model import RiskModel

__all__ = [
    "LoadingPrior",
    "LITERATURE_LOADINGS",
    "PRIOR_DOF",
    "MIN_PAIRS",
    "PersonalCombination",
    "patient_loading_estimates",
    "fit_loading_prior",
    "personal_combination",
    "personalise_model",
]

#: Within-patient SD of PHQ-9 the literature effect sizes refer to (points).
_PHQ9_WITHIN_SD = 4.0
#: Pairs' worth of the population residual variance in a patient's own.
PRIOR_DOF = 4.0
#: Pairs (PHQ-9 windows with voice) before a patient's own loadings are estimated at all.
MIN_PAIRS = 3


@dataclass(frozen=True)
class LoadingPrior:
    """Population loadings: per feature the mean ``mu`` and between-patient variance ``omega2`` of the
    loading (signed z per PHQ-9 point), the noise variance ``noise`` of a window-mean z around it, and
    the within-patient variance of severity ``severity_var`` (points^2)."""

    mu: Mapping[str, float]
    omega2: Mapping[str, float]
    noise: Mapping[str, float]
    severity_var: float = _PHQ9_WITHIN_SD ** 2
    n_patients: int = 0
    source: str = "literature"

    def to_dict(self) -> dict[str, Any]:
        return {"mu": dict(self.mu), "omega2": dict(self.omega2), "noise": dict(self.noise),
                "severity_var": self.severity_var, "n_patients": self.n_patients, "source": self.source}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LoadingPrior:
        return cls(mu={k: float(v) for k, v in data["mu"].items()},
                   omega2={k: float(v) for k, v in data["omega2"].items()},
                   noise={k: float(v) for k, v in data["noise"].items()},
                   severity_var=float(data.get("severity_var", _PHQ9_WITHIN_SD ** 2)),
                   n_patients=int(data.get("n_patients", 0)), source=str(data.get("source", "literature")))


def _literature() -> LoadingPrior:
    # A feature correlating r with PHQ-9 within patients moves r / sqrt(1 - r^2) day-SDs per within-patient
    # PHQ-9 SD; a robust z is in day-SDs. Patients differ: omega = the loading itself (a patient may show
    # twice the average or nothing). A window mean of ~3 recordings has noise variance ~1/3 of a z's.
    mu = {k: d.weight / math.sqrt(1 - d.weight ** 2) / _PHQ9_WITHIN_SD for k, d in DEPRESSION_DIRECTIONS.items()}
    return LoadingPrior(mu=mu, omega2={k: m ** 2 for k, m in mu.items()},
                        noise={k: 1 / 3 for k in DEPRESSION_DIRECTIONS})


#: Loadings from the published effect sizes, used until the clinic has enough patients with pairs.
LITERATURE_LOADINGS: LoadingPrior = _literature()


def patient_loading_estimates(pairs: pd.DataFrame, *, features: Sequence[str] = DIRECTIONAL_FEATURES,
                              prior: LoadingPrior = LITERATURE_LOADINGS, min_pairs: int = MIN_PAIRS,
                              ) -> dict[str, tuple[float, float, int]]:
    """One patient's least-squares loading per feature: ``(lambda_hat, se2, n)``.

    ``pairs``: the patient's PHQ-9 windows, ``phq9_total`` and the window-mean signed z per feature.
    The slope of z on PHQ-9 (patient-centred); its residual variance is shrunk toward the prior's noise
    with :data:`PRIOR_DOF` pairs. Features with fewer than ``min_pairs`` pairs or no PHQ-9 change are left out.
    """
    out = {}
    y_all = pairs["phq9_total"].to_numpy(dtype=float)
    for key in features:
        if key not in pairs:
            continue
        z = pairs[key].to_numpy(dtype=float)
        ok = np.isfinite(z) & np.isfinite(y_all)
        n = int(ok.sum())
        if n < min_pairs:
            continue
        y, z = y_all[ok] - y_all[ok].mean(), z[ok] - z[ok].mean()
        syy = float(y @ y)
        if syy <= 0:
            continue
        slope = float(y @ z) / syy
        resid = z - slope * y
        dof = n - 2
        noise = prior.noise.get(key, 1 / 3)
        var = (float(resid @ resid) + PRIOR_DOF * noise) / (max(dof, 0) + PRIOR_DOF)
        out[key] = (slope, var / syy, n)
    return out


def fit_loading_prior(pairs: pd.DataFrame, *, features: Sequence[str] = DIRECTIONAL_FEATURES,
                      min_patients: int = 8, prior: LoadingPrior = LITERATURE_LOADINGS) -> LoadingPrior:
    """Population loadings from the clinic's patients (random-effects meta-analysis, DerSimonian–Laird).

    ``pairs``: one row per PHQ-9 window, ``patient_id``, ``phq9_total`` and the window-mean signed z's.
    With fewer than ``min_patients`` patients with estimates the ``prior`` is returned.
    """
    per_patient = {pid: patient_loading_estimates(group, features=features, prior=prior)
                   for pid, group in pairs.groupby("patient_id", sort=True)}
    mu, omega2, noise = dict(prior.mu), dict(prior.omega2), dict(prior.noise)
    n_used = 0
    for key in features:
        est = [(lam, se2) for loads in per_patient.values() if key in loads for lam, se2, _ in [loads[key]]]
        if len(est) < min_patients:
            continue
        n_used = max(n_used, len(est))
        lam = np.array([e[0] for e in est])
        se2 = np.array([e[1] for e in est])
        w = 1 / se2
        fixed = float((w * lam).sum() / w.sum())
        q = float((w * (lam - fixed) ** 2).sum())
        c = float(w.sum() - (w ** 2).sum() / w.sum())
        tau2 = max((q - (len(lam) - 1)) / c, 0.0) if c > 0 else 0.0
        # A floor keeps every patient's own evidence able to move their loading.
        tau2 = max(tau2, 0.05 * fixed ** 2)
        wr = 1 / (se2 + tau2)
        mu[key], omega2[key] = float((wr * lam).sum() / wr.sum()), float(tau2)
        resid = [((g[key] - g[key].mean()) - lamp * (g["phq9_total"] - g["phq9_total"].mean())).dropna()
                 for pid, g in pairs.groupby("patient_id") if key in per_patient[pid]
                 for lamp in [per_patient[pid][key][0]]]
        ss = sum(float((r ** 2).sum()) for r in resid)
        dof = sum(max(len(r) - 2, 0) for r in resid)
        if dof > 0:
            noise[key] = ss / dof
    centred = pairs["phq9_total"] - pairs.groupby("patient_id")["phq9_total"].transform("mean")
    counts = pairs.groupby("patient_id").size()
    dof = int(len(pairs) - len(counts))
    severity_var = float((centred ** 2).sum() / dof) if dof > 0 else prior.severity_var
    if n_used == 0:
        return prior
    return LoadingPrior(mu=mu, omega2=omega2, noise=noise, severity_var=severity_var, n_patients=n_used,
                        source="clinic")


@dataclass(frozen=True)
class PersonalCombination:
    """A patient's feature weights.

    Attributes
    ----------
    loadings : dict
        Feature -> posterior loading (signed z per PHQ-9 point, floored at 0).
    weights : dict
        Feature -> PHQ-9 points per unit z of the one-factor predictor (see the module's docstring).
    population_weights : dict
        The same for the population loadings (the patient's weights with no pairs).
    shares : dict
        Feature -> share (0-1) of the patient's weights: how much of the score rests on it.
    n_pairs : int
        PHQ-9 windows behind the patient's own loadings.
    """

    loadings: Mapping[str, float]
    weights: Mapping[str, float]
    population_weights: Mapping[str, float]
    shares: Mapping[str, float]
    n_pairs: int

    def coefficients(self, model: RiskModel) -> dict[str, float]:
        """PHQ-9 points per unit z for ``model``'s features: the patient's weights, scaled so that the
        population weights would add up to the model's coefficients (the fitted model keeps the scale)."""
        population = sum(self.population_weights.get(k, 0.0) for k in model.coefficients)
        total = sum(model.coefficients.values())
        scale = total / population if population > 0 else 0.0
        return {k: (self.weights[k] * scale if k in self.weights else v) for k, v in model.coefficients.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"loadings": dict(self.loadings), "weights": dict(self.weights), "shares": dict(self.shares),
                "n_pairs": self.n_pairs}


def _blup_weights(loadings: Mapping[str, float], prior: LoadingPrior,
                  reliability: Mapping[str, float] | None) -> dict[str, float]:
    precision = {k: (reliability.get(k, 1.0) if reliability else 1.0) / max(prior.noise.get(k, 1 / 3), 1e-9)
                 for k in loadings}
    denominator = sum(precision[k] * loadings[k] ** 2 for k in loadings) + 1 / prior.severity_var
    return {k: precision[k] * loadings[k] / denominator for k in loadings}


def personal_combination(pairs: pd.DataFrame | None, *, prior: LoadingPrior = LITERATURE_LOADINGS,
                         reliability: Mapping[str, float] | None = None,
                         features: Sequence[str] = DIRECTIONAL_FEATURES) -> PersonalCombination:
    """A patient's weights from their PHQ-9 windows (``phq9_total`` and window-mean z's; None or empty
    for none), the population ``prior`` and the task's ``reliability`` factors (feature -> 0-1)."""
    estimates = ({} if pairs is None or pairs.empty else
                 patient_loading_estimates(pairs, features=features, prior=prior))
    loadings = {}
    for key in features:
        mu, omega2 = prior.mu.get(key, 0.0), max(prior.omega2.get(key, 0.0), 1e-12)
        if key in estimates:
            lam, se2, _ = estimates[key]
            post = (lam / se2 + mu / omega2) / (1 / se2 + 1 / omega2)
        else:
            post = mu
        loadings[key] = max(post, 0.0)
    weights = _blup_weights(loadings, prior, reliability)
    population = _blup_weights({k: max(prior.mu.get(k, 0.0), 0.0) for k in features}, prior, reliability)
    total = sum(abs(w) for w in weights.values())
    shares = {k: (abs(w) / total if total > 0 else 0.0) for k, w in weights.items()}
    n_pairs = max((n for _, _, n in estimates.values()), default=0)
    return PersonalCombination(loadings, weights, population, shares, n_pairs)


def personalise_model(model: RiskModel, combination: PersonalCombination) -> RiskModel:
    """The population model with this patient's coefficients (:meth:`PersonalCombination.coefficients`;
    same version, intercept and variances)."""
    return replace(model, coefficients=combination.coefficients(model))
